import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.base import CommandError

from tests.exports.helpers import lines_of, rate, run_export
from tests.exports.openai_rules import preference_errors
from tests.factories import add_messages, make_session


def test_dpo_pairs_an_upvoted_and_a_downvoted_answer_to_the_same_prompt(alice):
    first = make_session(alice, system_prompt="Be kind.")
    _, good, _, unpaired = add_messages(
        first, ("user", "Explain DNS"), ("assistant", "DNS maps names to addresses."), ("user", "Thanks"), ("assistant", "Welcome")
    )
    rate(good, 1)
    rate(unpaired, 1)
    second = make_session(alice, system_prompt="Be kind.")
    _, bad = add_messages(second, ("user", "Explain DNS"), ("assistant", "No idea."))
    rate(bad, -1)
    other_prompt = make_session(alice)
    rate(add_messages(other_prompt, ("user", "Explain DNS"), ("assistant", "Unrelated system prompt"))[1], -1)
    add_messages(make_session(alice), ("user", "unrated"), ("assistant", "unrated"))

    summary, [path] = run_export("dpo")

    [line] = lines_of(path)
    assert path.name.endswith("_dpo.jsonl")
    assert preference_errors(line) == []
    assert json.loads(line) == {
        "input": {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Explain DNS"}]},
        "preferred_output": [{"role": "assistant", "content": "DNS maps names to addresses."}],
        "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
    }
    assert "2 rated answer without an opposite rating for its prompt" in summary
    assert "1 no rated answer to a prompt" in summary


def test_regenerated_answers_in_one_session_pair_up(alice):
    session = make_session(alice)
    messages = add_messages(
        session, ("user", "Haiku about rain"), ("assistant", "Rain rain rain"),
        ("user", "Haiku about rain"), ("assistant", "Soft rain on the roof / ..."),
    )
    rate(messages[1], -1)
    rate(messages[3], 1)

    _, [path] = run_export("dpo")

    [line] = lines_of(path)
    assert preference_errors(line) == []
    assert json.loads(line)["preferred_output"][0]["content"] == "Soft rain on the roof / ..."


def test_a_dpo_export_without_pairs_says_why_and_writes_no_file(alice):
    for question in ("Explain DNS", "Explain TLS", "Explain HTTP"):
        session = make_session(alice)
        rate(add_messages(session, ("user", question), ("assistant", f"{question}: an answer"))[1], 1)
    add_messages(make_session(alice), ("user", "unrated"), ("assistant", "unrated"))

    with pytest.raises(CommandError) as error:
        run_export("dpo")

    assert "no preference pairs: 3 rated answers (3 up, 0 down), 0 prompts with both an up- and a down-rated answer" in str(error.value)
    assert "4 sessions read" in str(error.value) and "No file was written" in str(error.value)
    assert not (Path(settings.DATA_DIR) / "training_data").exists() or not any((Path(settings.DATA_DIR) / "training_data").iterdir())


def test_a_dpo_download_without_pairs_is_422_with_the_reason(alice, alice_api):
    rate(add_messages(make_session(alice), ("user", "Explain DNS"), ("assistant", "No idea."))[1], -1)

    response = alice_api.post("/api/sessions/export", {"format": "dpo"}, format="json")

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    assert "no preference pairs: 1 rated answers (0 up, 1 down)" in response.json()["detail"]


def test_any_export_with_no_example_says_why(alice, alice_api):
    make_session(alice)
    add_messages(make_session(alice), ("user", "a question nobody answered"))

    with pytest.raises(CommandError, match=r"Nothing to export as jsonl: no jsonl examples, from 2 sessions read \(skipped: 2 "):
        run_export("jsonl")
    response = alice_api.post("/api/sessions/export", {"format": "csv", "mode": "nothing-has-this-mode"}, format="json")
    assert response.status_code == 422
    assert response.json() == {"detail": "Nothing to export as csv: no sessions selected."}
