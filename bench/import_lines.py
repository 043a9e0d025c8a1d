"""Import throughput and peak memory on a generated ChatGPT export as large as the big corpus
(BENCH_MESSAGES messages: about 1 GB for the full run's 1,000,000)."""

import json
import subprocess
import sys
from pathlib import Path

import orjson
from django.contrib.auth import get_user_model

from .http import BASE_DIR
from .table import Line

GROUP = "Big corpus"
TURNS = 5  # user/assistant pairs per conversation; one answer in each is a tool call and its result
FILLER = "The quick brown fox jumps over the lazy dog, then checks the logs again. " * 11


def _node(node_id: str, parent: str | None, role: str | None, text: str, at: float, **message) -> dict:
    body = None
    if role:
        body = {"id": node_id, "author": {"role": role, "name": message.pop("name", None), "metadata": {}},
                "create_time": at, "content": {"content_type": "text", "parts": [text]}, "status": "finished_successfully",
                "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {}, "recipient": "all", **message}
    return {"id": node_id, "parent": parent, "children": [], "message": body}


def conversation(index: int) -> dict:
    """One conversation of 2 * TURNS + 2 messages with a regenerated answer and a browsing call."""
    at, parent, mapping = 1_700_000_000.0 + index * 600, f"r{index}", {}
    mapping[parent] = _node(parent, None, None, "", at)
    for turn in range(TURNS):
        user, answer = f"u{index}-{turn}", f"a{index}-{turn}"
        mapping[user] = _node(user, parent, "user", f"Question {turn}: {FILLER}", at + turn * 10)
        parent = user
        if turn == 1:  # a browsing call and its result
            call, result = f"c{index}", f"t{index}"
            mapping[call] = _node(call, user, "assistant", f'search("question {index}")', at + turn * 10 + 1, recipient="browser")
            mapping[result] = _node(result, call, "tool", FILLER, at + turn * 10 + 2, name="browser")
            parent = result
        if turn == 2:  # a regeneration: a sibling answer left behind
            mapping[f"{answer}b"] = _node(f"{answer}b", user, "assistant", FILLER, at + turn * 10 + 3)
        mapping[answer] = _node(answer, parent, "assistant", f"Answer {turn}: {FILLER}", at + turn * 10 + 5)
        parent = answer
    return {"title": f"Conversation {index}", "create_time": at, "update_time": at + 100,
            "conversation_id": f"bench-{index:08d}", "current_node": parent, "mapping": mapping}


MESSAGES_PER_CONVERSATION = 2 * TURNS + 3


def write_export(path: Path, messages: int) -> int:
    """Write an export of about `messages` messages, one conversation at a time; returns the count."""
    count = max(1, messages // MESSAGES_PER_CONVERSATION)
    with open(path, "wb", buffering=1024 * 1024) as out:
        out.write(b"[")
        for index in range(count):
            out.write((b",\n" if index else b"\n") + orjson.dumps(conversation(index)))
        out.write(b"\n]\n")
    return count * MESSAGES_PER_CONVERSATION


def chatgpt_import(bench) -> Line:
    path = bench.data_dir / "chatgpt-conversations.json"
    messages = write_export(path, bench.sizes.corpus)
    owner, _ = get_user_model().objects.get_or_create(username="bench-import")
    megabytes = path.stat().st_size / 1024 / 1024
    finished = subprocess.run([sys.executable, "-m", "bench.import_child", str(path), owner.username],
                              cwd=BASE_DIR, capture_output=True, text=True, check=True)
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    path.unlink()
    return Line(group=GROUP, name=f"import_sessions --format chatgpt, a {megabytes:,.0f} MB export of {messages:,} messages",
                unit="msg/s", ours=messages / figures["seconds"],
                note=f"the command in a process of its own, timed after Django's start-up; every branch and tool call "
                     f"kept; peak memory (max RSS) {figures['peak_mb']:.0f} MB, of which {figures['started_mb']:.0f} MB "
                     "is the process once Django has started: the file is read as a stream, so the peak does not "
                     "grow with its size.")
