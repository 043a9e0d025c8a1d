"""Recording in a process of its own, so that writing a call down never competes with relaying the
next ones for the serving process's interpreter (its GIL).

The serving process hands each finished call to a feeding thread, which pickles it onto the recorder
process's standard input; the recorder (`manage.py record_captures`) reads the calls in order and
records each through the sessions services (recording.record_exchange). It runs at a lower CPU
priority: when the machine is busy, serving comes first and recordings catch up as the load drops.
One writer for every recording also means no two recordings of one conversation race.

When its standard input closes (the server stopped, or died), the recorder records what it has read
and exits; at a clean shutdown the server waits for that (Recorder.stop).

The recorder answers each call's number on its standard output once it is recorded: a client's next
call (an agent sending a tool's result a millisecond after the reply) can then wait for its previous
ones before its session is chosen (Recorder.caught_up), instead of missing them and starting anew.
"""

import asyncio
import itertools
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, replace

import orjson
from django.conf import settings
from django.db import close_old_connections

from .assembly import Reply, StreamCapture
from .connections import check_connection_now_and_then
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
    number: int = 0  # in the order calls were handed over; answered once recorded

    def exchange(self) -> Exchange:
        reply = self.stream.finish(at=self.stream_ended_at) if self.stream is not None else self.reply
        return Exchange(owner=self.owner, target=self.target, request=orjson.loads(self.request_body),
                        reply=reply, error=self.error, cut_off_by=self.cut_off_by)  # fmt: skip


class Recorder:
    """The serving process's side: a queue, the thread that feeds the recorder process, that process
    (started on first use, started again if it died), and a thread reading what it has recorded."""

    _STOP = object()

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._feeder: threading.Thread | None = None
        self._starting = threading.Lock()
        self._numbers = itertools.count(1)
        self._last_of_owner: dict[object, int] = {}  # owner's pk -> number of their newest call
        self._settled = 0  # every call numbered up to this one is recorded (or lost with a recorder)
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._waiters_lock = threading.Lock()

    def start(self) -> None:
        with self._starting:
            if self._feeder is None:
                self._feeder = threading.Thread(target=self._feed, name="capture-recorder-feed", daemon=True)
                self._feeder.start()

    def submit(self, job: Job) -> None:
        """Queue `job`; it never waits for the recorder."""
        if self._feeder is None:
            self.start()
        job = replace(job, number=next(self._numbers))
        self._last_of_owner[job.owner.pk] = job.number
        self._jobs.put(job)
        if self._jobs.qsize() == BACKLOG_WARNING:
            logger.warning("%d proxied calls are waiting to be recorded: the recorder is not keeping up.",
                           BACKLOG_WARNING)  # fmt: skip

    async def caught_up(self, owner, *, unless: asyncio.Event) -> None:
        """Return once every call `owner` made before is recorded, or as soon as `unless` is set."""
        number = self._last_of_owner.get(owner.pk, 0)
        if number <= self._settled:
            return
        loop = asyncio.get_running_loop()
        recorded = loop.create_future()
        with self._waiters_lock:
            if number <= self._settled:
                return
            self._waiters.append((number, loop, recorded))
        giving_up = loop.create_task(unless.wait())
        try:
            await asyncio.wait((recorded, giving_up), return_when=asyncio.FIRST_COMPLETED)
        finally:
            giving_up.cancel()
            with self._waiters_lock:
                self._waiters = [waiter for waiter in self._waiters if waiter[2] is not recorded]

    def _settle(self, number: int) -> None:
        """Calls up to `number` are recorded: wake who waits for them."""
        with self._waiters_lock:
            self._settled = max(self._settled, number)
            ready = [waiter for waiter in self._waiters if waiter[0] <= self._settled]
            self._waiters = [waiter for waiter in self._waiters if waiter[0] > self._settled]
        for _, loop, future in ready:
            loop.call_soon_threadsafe(_resolve, future)

    def stop(self, timeout: float) -> None:
        """Let the recorder record everything queued, then stop it (waiting up to `timeout` seconds)."""
        feeder = self._feeder
        if feeder is None:
            return
        self._jobs.put(self._STOP)
        feeder.join(timeout)

    def _feed(self) -> None:
        process = self._start_process()  # now: its start-up (Django's) overlaps the server's
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

    def _start_process(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "record_captures"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=settings.BASE_DIR,
        )
        process.last_sent = 0
        threading.Thread(target=self._read_answers, args=(process,), name="capture-recorder-answers",
                         daemon=True).start()  # fmt: skip
        return process

    def _read_answers(self, process: subprocess.Popen) -> None:
        while answer := process.stdout.read(_FRAME_HEADER_BYTES):
            self._settle(int.from_bytes(answer, "big"))
        self._settle(process.last_sent)  # it has ended: what it did not record, it never will

    def _send(self, process, frame: bytes, job: Job):
        for _ in range(2):  # a recorder that died is replaced once per call
            if process is None or process.poll() is not None:
                if process is not None:
                    logger.error(
                        "The capture recorder stopped (exit status %s); starting it again.", process.returncode
                    )
                process = self._start_process()
            try:
                process.stdin.write(frame)
                process.stdin.flush()
                process.last_sent = job.number
                return process
            except OSError:
                logger.error("The capture recorder stopped reading; starting it again.")
                process.kill()
                process.wait()
                process = None
        logger.error("The capture recorder could not be reached; the call in session %s is not recorded.",
                     job.target.session_id)  # fmt: skip
        self._settle(job.number)
        return None


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


recorder = Recorder()


# The recorder process.


def _read_jobs(stream):
    while header := stream.read(_FRAME_HEADER_BYTES):
        frame = stream.read(int.from_bytes(header, "big"))
        yield pickle.loads(frame)


def record_jobs(stream, answers) -> None:
    """Record every job read from `stream` (the recorder's standard input), in order, until it ends;
    write each one's number to `answers` once it is done with it."""
    os.nice(NICENESS)
    # Ctrl-C and a stop signal reach the whole process group: the recorder stops when its input ends,
    # after recording what it read, not halfway through the queue.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for job in _read_jobs(stream):
        check_connection_now_and_then()
        try:
            record_exchange(job.exchange())
        except Exception:
            close_old_connections()  # a connection left broken is replaced before the next call
            # Names the session only: the request and its headers (with keys) stay out of logs.
            logger.exception("Recording a chat completion in session %s failed.", job.target.session_id)
        try:
            answers.write(job.number.to_bytes(_FRAME_HEADER_BYTES, "big"))
            answers.flush()
        except OSError:
            pass  # the server is gone: nobody waits for the answer, the recording goes on
