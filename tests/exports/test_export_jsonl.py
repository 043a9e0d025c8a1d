import json
from datetime import UTC, datetime

import pytest
from django.core.management.base import CommandError

from sessions_app.logging_system import LoggingSystem
from tests.exports.helpers import lines_of, rate, run_export
from tests.exports.openai_rules import chat_errors
from tests.factories import add_messages, make_conversation, make_session


def messages_of(line: str) -> list[dict]:
    return json.loads(line)["messages"]


def test_every_line_passes_openai_checks_and_broken_sessions_are_skipped_with_reasons(alice):
    make_conversation(alice, system_prompt="You are terse.", turns=(("user", "2+2?"), ("assistant", "4")))
    make_conversation(alice, turns=(("user", "Résumé of «War and Peace»? 🙂"), ("assistant", "Long.\n\"Quoted\"")))
    make_conversation(alice, turns=(("user", "Nobody answered"),))
    make_session(alice, title="empty")
    with_tool = make_conversation(
        alice, turns=(("user", "Weather?"), ("assistant", "Checking."), ("tool", '{"t": 21}'), ("assistant", "21 °C"))
    )
    add_messages(with_tool, ("user", ""))  # empty content: OpenAI rejects it, the message is left out

    summary, [path] = run_export("jsonl")

    lines = lines_of(path)
    assert len(lines) == 3
    assert all(chat_errors(line) == [] for line in lines)
    assert messages_of(lines[0])[0] == {"role": "system", "content": "You are terse."}
    assert {"role": "assistant", "content": "Long.\n\"Quoted\""} in messages_of(lines[1])
    # The tool result has no call id, so it has no place; the answers around it are joined into one.
    assert messages_of(lines[2])[1:] == [{"role": "assistant", "content": "Checking.\n\n21 °C"}]
    assert "from 5 sessions" in summary and "skipped 2 (2 no assistant message)" in summary
    assert str(path) in summary


def test_the_default_system_prompt_comes_first_when_the_session_has_none(alice, settings):
    settings.NOVAFORGE = {**settings.NOVAFORGE, "DEFAULT_SYSTEM_PROMPT": "You are NovaForge."}
    make_conversation(alice)

    _, [path] = run_export("jsonl")

    assert messages_of(lines_of(path)[0])[0] == {"role": "system", "content": "You are NovaForge."}


def test_a_downvoted_answer_gets_weight_zero_and_all_downvoted_is_skipped(alice):
    session = make_session(alice)
    _, good, _, bad = add_messages(session, ("user", "a"), ("assistant", "good"), ("user", "b"), ("assistant", "bad"))
    rate(good, 1)
    rate(bad, -1)
    hopeless = make_session(alice)
    _, only = add_messages(hopeless, ("user", "c"), ("assistant", "wrong"))
    rate(only, -1)

    summary, [path] = run_export("jsonl")

    [line] = lines_of(path)
    assert chat_errors(line) == []
    assert messages_of(line) == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "good"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "bad", "weight": 0},
    ]
    assert "1 every answer rated down" in summary


def test_rating_positive_keeps_only_sessions_whose_rated_answers_are_all_up(alice):
    liked = make_session(alice, title="liked")
    rate(add_messages(liked, ("user", "q1"), ("assistant", "a1"))[1], 1)
    mixed = make_session(alice)
    _, up, _, down = add_messages(mixed, ("user", "q2"), ("assistant", "a2"), ("user", "q3"), ("assistant", "a3"))
    rate(up, 1)
    rate(down, -1)
    make_conversation(alice, turns=(("user", "q4"), ("assistant", "unrated")))

    summary, [path] = run_export("jsonl", "--rating", "positive")

    [line] = lines_of(path)
    assert messages_of(line)[-1] == {"role": "assistant", "content": "a1"}
    assert "1 an answer rated down" in summary and "1 not rated" in summary


def test_duplicate_conversations_are_written_once_unless_no_dedupe(alice):
    for _ in range(3):
        make_conversation(alice)

    summary, [path] = run_export("jsonl")
    assert len(lines_of(path)) == 1
    assert "2 duplicate" in summary

    _, [path] = run_export("jsonl", "--no-dedupe")
    assert len(lines_of(path)) == 3


def test_examples_over_max_tokens_are_skipped(alice):
    make_conversation(alice, turns=(("user", "hi"), ("assistant", "ok")))
    make_conversation(alice, turns=(("user", "tell me " * 50), ("assistant", "a long answer " * 50)))

    summary, [path] = run_export("jsonl", "--max-tokens", "20")

    assert len(lines_of(path)) == 1
    assert "1 over 20 tokens" in summary


def test_redact_pii_replaces_emails_phones_cards_and_secrets(alice):
    make_conversation(
        alice,
        turns=(
            ("user", "Mail me at jane.doe@example.com or call +1 (555) 123-4567. Card 4111 1111 1111 1111."),
            ("assistant", "Use key sk-proj-abcdefghijklmnopqrstuvwx with Authorization: Bearer abcdef0123456789xyz"),
            ("user", "And AKIAIOSFODNN7EXAMPLE, ghp_abcdefghijklmnopqrstuvwxyz0123456789; order 4111 1111 1111 1112"),
            ("assistant", "Released 2024-01-15, version 3.11.4, server 192.168.1.10."),
        ),
    )

    _, [path] = run_export("jsonl", "--redact-pii")

    text = path.read_text()
    assert "[EMAIL]" in text and "[PHONE]" in text and "[CARD]" in text and text.count("[SECRET]") == 4
    for secret in ("jane.doe", "555", "4111 1111 1111 1111", "sk-proj", "abcdef0123456789", "AKIA", "ghp_"):
        assert secret not in text
    assert "4111 1111 1111 1112" in text  # fails the Luhn check: not a card number
    assert "2024-01-15, version 3.11.4, server 192.168.1.10" in text


def test_the_validation_split_is_deterministic_and_complete(alice):
    sessions = [make_conversation(alice, turns=(("user", f"q{n}"), ("assistant", f"a{n}"))) for n in range(40)]

    def by_split(paths):
        return {path.stem.rsplit("_", 1)[1]: path.read_text() for path in paths}

    summary, paths = run_export("jsonl", "--validation-fraction", "0.25")
    first = {path.name: path.read_text() for path in paths}
    _, again = run_export("jsonl", "--validation-fraction", "0.25")

    assert by_split(again) == by_split(paths)  # the rerun writes new files with the same lines
    [train, validation] = sorted(first, key=lambda name: "validation" in name)
    assert train.endswith("_train.jsonl") and validation.endswith("_validation.jsonl")
    train_lines, validation_lines = first[train].splitlines(), first[validation].splitlines()
    assert len(train_lines) + len(validation_lines) == len(sessions)
    assert 0 < len(validation_lines) < len(train_lines)
    assert not set(train_lines) & set(validation_lines)
    assert train in summary and validation in summary


@pytest.mark.parametrize(
    "args, message",
    [
        (["--validation-fraction", "1.5"], "fraction"),
        (["--max-tokens", "0"], "1 or more"),
        (["--since", "yesterday"], "YYYY-MM-DD"),
        (["--user", "nobody"], "No user 'nobody'"),
        (["--format", "dpo", "--rating", "positive"], "rating"),
    ],
)
def test_bad_arguments_are_errors_that_say_what_to_fix(alice, args, message):
    fmt = args[1] if args[0] == "--format" else "jsonl"
    rest = args[2:] if args[0] == "--format" else args
    with pytest.raises(CommandError, match=message):
        run_export(fmt, *rest)


def test_filters_select_sessions_by_user_dates_mode_and_size(alice, bob):
    make_conversation(alice, started_at=datetime(2026, 3, 1, 12, tzinfo=UTC), metadata={"mode": "coding"},
                      turns=(("user", "march"), ("assistant", "coding"), ("user", "more"), ("assistant", "sure")))
    make_conversation(alice, started_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
                      turns=(("user", "march 2"), ("assistant", "chat")))
    make_conversation(alice, started_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
                      turns=(("user", "april"), ("assistant", "later")))
    make_conversation(bob, started_at=datetime(2026, 3, 1, 13, tzinfo=UTC),
                      turns=(("user", "bob"), ("assistant", "bob's")))

    def contents(*args):
        _, paths = run_export("jsonl", "--no-dedupe", *args)
        return sorted(messages_of(line)[0]["content"] for line in lines_of(paths[0]))

    assert contents("--user", "alice", "--since", "2026-03-01", "--until", "2026-03-31") == ["march", "march 2"]
    assert contents("--until", "2026-03-01") == ["bob", "march"]
    assert contents("--mode", "coding") == ["march"]
    assert contents("--min-messages", "4") == ["march"]


def test_output_path_and_python_api_write_the_same_file(alice, tmp_path):
    make_conversation(alice)
    target = tmp_path / "out" / "mine.jsonl"

    summary, _ = run_export("jsonl", "--output", str(target))
    path = LoggingSystem(user=alice).export_for_training("jsonl", output=tmp_path / "api.jsonl")

    assert str(target) in summary
    assert path == str(tmp_path / "api.jsonl")
    assert target.read_text() == (tmp_path / "api.jsonl").read_text() != ""


def test_max_tokens_counts_the_system_prompt_too(alice):
    make_conversation(alice, system_prompt="You are a careful assistant. " * 20, turns=(("user", "hi"), ("assistant", "ok")))
    make_conversation(alice, turns=(("user", "hi"), ("assistant", "ok")))

    summary, [path] = run_export("jsonl", "--max-tokens", "50")

    [line] = lines_of(path)
    assert messages_of(line)[0] == {"role": "user", "content": "hi"}
    assert "1 over 50 tokens" in summary
