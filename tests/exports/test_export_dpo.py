import json

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
