import csv
import json
import re

from sessions_app.models import Message
from tests.exports.helpers import lines_of, rate, run_export
from tests.factories import add_messages, make_conversation, make_session

TRICKY = 'Line one,\r\nline "two"; comma, quote " and\ttab\nünïcødé 🚀 and a lone \r'


def test_sharegpt_lines_use_llama_factory_speakers_and_a_tool_result_is_an_observation(alice):
    make_conversation(
        alice, system_prompt="Be brief.",
        turns=(("user", "Hi"), ("assistant", "Hello"), ("tool", "{}"), ("assistant", "Done")),
    )
    make_conversation(alice, turns=(("user", "unanswered"),))

    summary, [path] = run_export("sharegpt")

    [line] = lines_of(path)
    assert path.name.endswith("_sharegpt.jsonl")
    assert json.loads(line) == {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello"},
            {"from": "observation", "value": "{}"},
            {"from": "gpt", "value": "Done"},
        ]
    }
    assert "1 no assistant message" in summary


def test_csv_reads_back_exactly_as_stored(alice):
    session = make_session(alice, metadata={"mode": "coding"})
    add_messages(session, ("user", TRICKY), ("assistant", '=SUM(A1)\n```py\nprint("x")\n```'))
    add_messages(
        session, ("assistant", ""),
        metadata={"tools": ["search", "calc"], "latency_ms": 812, "model": "gpt-4o",
                  "prompt_tokens": 12, "completion_tokens": 34, "mode": "research"},
    )

    _, [path] = run_export("csv")

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    stored = list(Message.objects.filter(session=session).order_by("seq"))
    assert [(row["session_id"], int(row["seq"]), row["role"], row["content"], int(row["token_count"])) for row in rows] == [
        (session.session_id, message.seq, message.role, message.content, message.token_count) for message in stored
    ]
    assert [row["created_at"] for row in rows] == [message.created_at.isoformat() for message in stored]
    assert [row["mode"] for row in rows] == ["coding", "coding", "research"]
    assert (rows[2]["tools"], rows[2]["latency_ms"], rows[2]["model"]) == ('["search","calc"]', "812", "gpt-4o")
    assert (rows[2]["prompt_tokens"], rows[2]["completion_tokens"]) == ("12", "34")
    assert path.read_bytes().count(b"\r\n") >= 4  # RFC 4180 line ends


def test_markdown_keeps_code_blocks_and_fences_unclosed_content(alice):
    answer = "Here:\n\n```python\nprint('hi')\n```\n\nDone."
    broken = "Truncated: ```` and\n```js\nlet x = 1;"
    session = make_conversation(
        alice, title="Code talk", system_prompt="You code.", metadata={"mode": "coding"},
        turns=(("user", "Show code"), ("assistant", answer), ("assistant", broken)),
    )
    rate(session.messages.get(seq=2), 1)

    _, [path] = run_export("markdown")

    text = path.read_text()
    assert text.startswith("# Code talk\n")
    assert f"- Session: `{session.session_id}`" in text and "- Mode: coding" in text
    assert f"- Started: {session.started_at.isoformat(timespec='seconds')}" in text
    assert "## System prompt\n\nYou code." in text
    assert re.search(r"## 2\. Assistant · \S+ \(rated up\)\n\n" + re.escape(answer), text)
    # The unclosed fence is wrapped in a longer fence, so the transcript after it stays intact.
    assert f"`````text\n{broken}\n`````" in text


def test_messages_of_all_sessions_are_read_in_two_queries(alice, django_assert_max_num_queries):
    for n in range(30):
        make_conversation(alice, turns=(("user", f"q{n}"), ("assistant", f"a{n}")))

    with django_assert_max_num_queries(6):  # user lookup, message total, sessions, messages (+ savepoints)
        _, [path] = run_export("jsonl", "--user", "alice")

    assert len(lines_of(path)) == 30
