"""Recording in a process of its own, so that writing a call down never competes with relaying the
next ones for the serving process's interpreter (its GIL).

The serving process hands each finished call to a feeding thread, which pickles it onto the recorder
process's standard input; the recorder (`manage.py record_captures`) reads the calls in order and
records each through the sessions services (recording.record_exchange). It runs at a lower CPU
priority: when the machine is busy, serving comes first and recordings catch up as the load drops.
One writer for every recording also means no two recordings of one conversation race.

When its standard input closes (the server stopped, or died), the recorder records what it has read
and exits; at a clean shutdown the server waits for that (Recorder.stop).
"""

import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import close_old_connections

from .assembly import Reply, StreamCapture
from .recording import Exchange, Target, record_exchange

logger = logging.getLogger(__name__)

NICENESS = 10  # below the server's, so a busy machine serves before it records
BACKLOG_WARNING = 1000  # calls waiting to be recorded: logged once each time the queue grows past it
_FRAME_HEADER_BYTES = 8


@dataclass(frozen=True)
class Job:
    """One proxied call to record: who made it, the client's request body as it came, and its outcome (a
    reply, a stream still to be read into one, or an upstream error)."""

    owner: object
    target: Target
    request_body: bytes
    reply: Reply | None = None
    stream: StreamCapture | None = None
    stream_ended_at: float | None = None
    error: dict | None = None
    cut_off_by: str | None = None

    def exchange(self) -> Exchange:
        reply = self.stream.finish(at=self.stream_ended_at) if self.stream is not None else self.reply
        return Exchange(owner=self.owner, target=self.target, request=orjson.loads(self.request_body),
                        reply=reply, error=self.error, cut_off_by=self.cut_off_by)  # fmt: skip


class Recorder:
    """The serving process's side: a queue, the thread that feeds the recorder process, and that process
    (started on first use, started again if it died)."""

    _STOP = object()

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._feeder: threading.Thread | None = None
        self._starting = threading.Lock()

    def start(self) -> None:
        with self._starting:
            if self._feeder is None:
                self._feeder = threading.Thread(target=self._feed, name="capture-recorder-feed", daemon=True)
                self._feeder.start()

    def submit(self, job: Job) -> None:
        """Queue `job`; it never waits for the recorder."""
        if self._feeder is None:
            self.start()
        self._jobs.put(job)
        if self._jobs.qsize() == BACKLOG_WARNING:
            logger.warning("%d proxied calls are waiting to be recorded: the recorder is not keeping up.",
                           BACKLOG_WARNING)  # fmt: skip

    def stop(self, timeout: float) -> None:
        """Let the recorder record everything queued, then stop it (waiting up to `timeout` seconds)."""
        feeder = self._feeder
        if feeder is None:
            return
        self._jobs.put(self._STOP)
        feeder.join(timeout)

    def _feed(self) -> None:
        process = _start_recorder_process()  # now: its start-up (Django's) overlaps the server's
        while True:
            job = self._jobs.get()
            if job is self._STOP:
                break
            frame = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            process = self._send(process, len(frame).to_bytes(_FRAME_HEADER_BYTES, "big") + frame, job)
        if process is not None:
            process.stdin.close()  # the recorder records what it has read, then exits
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                logger.error("The capture recorder did not finish in time; calls it had not recorded are lost.")
        self._feeder = None

    def _send(self, process, frame: bytes, job: Job):
        for _ in range(2):  # a recorder that died is replaced once per call
            if process is None or process.poll() is not None:
                if process is not None:
                    logger.error(
                        "The capture recorder stopped (exit status %s); starting it again.", process.returncode
                    )
                process = _start_recorder_process()
            try:
                process.stdin.write(frame)
                process.stdin.flush()
                return process
            except OSError:
                logger.error("The capture recorder stopped reading; starting it again.")
                process.kill()
                process.wait()
                process = None
        logger.error("The capture recorder could not be reached; the call in session %s is not recorded.",
                     job.target.session_id)  # fmt: skip
        return None


def _start_recorder_process() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "record_captures"],
        stdin=subprocess.PIPE,
        cwd=settings.BASE_DIR,
    )


recorder = Recorder()


# The recorder process.


def _read_jobs(stream):
    while header := stream.read(_FRAME_HEADER_BYTES):
        frame = stream.read(int.from_bytes(header, "big"))
        yield pickle.loads(frame)


def record_jobs(stream) -> None:
    """Record every job read from `stream` (the recorder's standard input), in order, until it ends."""
    os.nice(NICENESS)
    # Ctrl-C and a stop signal reach the whole process group: the recorder stops when its input ends,
    # after recording what it read, not halfway through the queue.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for job in _read_jobs(stream):
        close_old_connections()  # a connection too old or broken is replaced, as around a request
        try:
            record_exchange(job.exchange())
        except Exception:
            # Names the session only: the request and its headers (with keys) stay out of logs.
            logger.exception("Recording a chat completion in session %s failed.", job.target.session_id)
