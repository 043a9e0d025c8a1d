"""Exports of conversations with tool use, branches, reasoning and images, checked by their consumers'
rules: OpenAI's chat checks, LLaMA-Factory's ShareGPT converter, Hugging Face `datasets`."""

import csv
import io
import json

import pytest

from sessions_app import services
from sessions_app.logging_system import LoggingSystem
from sessions_app.services import NewMessage
from tests.exports.helpers import lines_of, rate, run_export
from tests.exports.llama_factory_rules import sharegpt_errors
from tests.exports.openai_rules import chat_errors, preference_errors
from tests.exports.tool_corpus import IMAGE_URL, PARIS_ARGUMENTS, WEATHER_TOOLS, build_tool_corpus


def by_first_user_text(lines: list[str], key: str = "messages") -> dict[str, dict]:
    examples = {}
    for line in lines:
        example = json.loads(line)
        first = next(m for m in example[key] if m.get("role", m.get("from")) in ("user", "human"))
        text = first.get("content", first.get("value"))
        examples[text if isinstance(text, str) else text[0]["text"]] = example
    return examples


def test_jsonl_carries_tool_calls_results_and_tools_and_passes_openai_checks(alice):
    build_tool_corpus(alice)

    summary, [path] = run_export("jsonl")

    lines = lines_of(path)
    assert [chat_errors(line) for line in lines] == [[]] * len(lines)
    examples = by_first_user_text(lines)
    weather = examples["Weather in Paris and Rome?"]
    assert weather["tools"] == WEATHER_TOOLS
    assert [m["role"] for m in weather["messages"]] == [
        "system", "user", "assistant", "tool", "tool", "assistant", "user", "assistant"]
    call = weather["messages"][2]["tool_calls"][0]
    assert call == {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": PARIS_ARGUMENTS}}
    assert weather["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 21}'}
    assert PARIS_ARGUMENTS.replace('"', '\\"') in path.read_text()  # the arguments string, byte for byte
    assert "reasoning" not in path.read_text() and "Two cities" not in path.read_text()
    news = examples["Search today's news"]["messages"]
    assert news[4] == {"role": "assistant", "content": "Markets are up.\n\nAnd rain is expected."}  # joined
    picture = examples["What is this?"]["messages"][0]
    assert picture["content"] == [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": IMAGE_URL}}]
    assert "skipped 0" in summary


def test_jsonl_of_a_branched_session_is_its_active_branch_and_switching_moves_it(alice):
    sessions = build_tool_corpus(alice)

    _, [path] = run_export("jsonl")
    poems = by_first_user_text(lines_of(path))["Write a haiku about rain"]["messages"]
    assert [m["content"] for m in poems[1:]] == [
        "Write a haiku about rain", "Soft rain on the roof", "Now a sonnet", "Shall I compare thee to a rainy day?"]

    services.update_session(session=sessions["branched"], current_seq=4)
    _, [path] = run_export("jsonl")
    poems = by_first_user_text(lines_of(path))["Write a haiku about rain"]["messages"]
    assert [m["content"] for m in poems[1:]] == ["Write a haiku about rain", "Soft rain on the roof", "Now a limerick"]


def test_openai_rules_reject_tool_messages_out_of_place():
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    orphan = {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "c1", "content": "r"},
                           {"role": "assistant", "content": "a"}]}
    unanswered = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [call]},
                               {"role": "assistant", "content": "a"}]}
    wrong_id = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [call]},
                             {"role": "tool", "tool_call_id": "c2", "content": "r"}, {"role": "assistant", "content": "a"}]}
    bad_tools = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "tools": [{"name": "f"}]}

    assert "tool_message_without_matching_call" in chat_errors(json.dumps(orphan))
    assert "tool_call_without_result" in chat_errors(json.dumps(unanswered))
    assert "tool_message_without_matching_call" in chat_errors(json.dumps(wrong_id))
    assert "invalid_tool" in chat_errors(json.dumps(bad_tools))


def test_a_tool_call_left_without_its_result_skips_the_jsonl_example_with_the_reason(alice):
    session = services.start_session(owner=alice)
    services.append_messages(session=session, messages=[
        NewMessage(role="user", content="Weather?"),
        NewMessage(role="assistant", content="", tool_calls=[
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]),
        NewMessage(role="assistant", content="I could not check."),
    ])
    build_tool_corpus(alice)

    summary, _ = run_export("jsonl")

    assert "1 a tool call without its result" in summary


def test_llama_factory_keeps_every_sharegpt_example_with_tool_use(alice):
    build_tool_corpus(alice)

    summary, [path] = run_export("sharegpt")

    lines = lines_of(path)
    assert [sharegpt_errors(line) for line in lines] == [[]] * len(lines) != []
    examples = by_first_user_text(lines, "conversations")
    weather = examples["Weather in Paris and Rome?"]
    assert [turn["from"] for turn in weather["conversations"]] == [
        "system", "human", "function_call", "observation", "gpt", "human", "gpt"]
    assert json.loads(weather["conversations"][2]["value"]) == [
        {"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Rome"}}]
    assert json.loads(weather["tools"]) == WEATHER_TOOLS
    # The greeting before the first question and the unanswered question at the end are left out.
    assert [turn["from"] for turn in examples["Search today's news"]["conversations"]] == [
        "human", "function_call", "observation", "gpt"]
    assert "1 tool-call arguments that are not JSON" in summary


def test_hf_is_read_by_datasets_with_arguments_as_objects(alice, tmp_path):
    datasets = pytest.importorskip("datasets")
    build_tool_corpus(alice)

    summary, [path] = run_export("hf")

    assert path.name.endswith("_hf.jsonl")
    loaded = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == len(lines_of(path)) == 4
    weather = next(row for row in loaded if row["tools"])
    assert weather["messages"][2]["tool_calls"][0]["function"]["arguments"]["city"] == "Paris"
    assert weather["messages"][3]["tool_call_id"] == "call_1"
    example = json.loads(lines_of(path)[0])
    assert example["messages"][2]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert example["tools"] == WEATHER_TOOLS
    assert "reasoning_content" not in path.read_text()
    assert "1 tool-call arguments that are not JSON" in summary


def test_reasoning_is_included_only_when_asked_and_where_the_format_has_a_place(alice, alice_api, tmp_path):
    build_tool_corpus(alice)

    _, [hf] = run_export("hf", "--reasoning")
    _, [markdown] = run_export("markdown", "--reasoning")
    _, [plain_markdown] = run_export("markdown")
    _, [table] = run_export("csv")
    _, [jsonl] = run_export("jsonl", "--reasoning")
    response = alice_api.post("/api/sessions/export", {"format": "hf", "reasoning": True}, format="json")
    python_api = LoggingSystem(user=alice).export_for_training("hf", reasoning=True, output=tmp_path / "api.jsonl")

    answer = json.loads(lines_of(hf)[0])["messages"][2]
    assert answer["reasoning_content"] == "Two cities: two calls."
    assert "### Thinking\n\nTwo cities: two calls." in markdown.read_text()
    assert "Thinking" not in plain_markdown.read_text() and "Two cities" not in plain_markdown.read_text()
    rows = list(csv.DictReader(io.StringIO(table.read_bytes().decode(), newline="")))
    assert [row["reasoning"] for row in rows if row["reasoning"]] == ["Two cities: two calls.", "Rome is warmer."]
    assert "Two cities" not in jsonl.read_text()
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == hf.read_bytes()
    assert open(python_api, "rb").read() == hf.read_bytes()


def test_csv_rows_carry_parent_tool_calls_and_results_of_the_active_branch(alice):
    sessions = build_tool_corpus(alice)

    _, [path] = run_export("csv")

    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode(), newline="")))
    weather = [row for row in rows if row["session_id"] == sessions["weather"].session_id]
    assert json.loads(weather[1]["tool_calls"])[0]["function"]["arguments"] == PARIS_ARGUMENTS
    assert (weather[2]["parent_seq"], weather[2]["tool_call_id"]) == ("2", "call_1")
    assert weather[0]["parent_seq"] == ""
    poems = [row for row in rows if row["session_id"] == sessions["branched"].session_id]
    assert [(row["seq"], row["parent_seq"]) for row in poems] == [("1", ""), ("3", "1"), ("5", "3"), ("6", "5")]


def test_csv_and_markdown_keep_duplicate_sessions_and_training_formats_drop_them(alice):
    for _ in range(2):
        build_tool_corpus(alice)

    for fmt, kept in (("csv", 10), ("markdown", 10), ("jsonl", 5), ("sharegpt", 4), ("hf", 4)):
        summary, [path] = run_export(fmt)
        assert f"Exported {kept} {fmt} examples" in summary
    summary, _ = run_export("csv", "--dedupe")
    assert "Exported 5 csv examples" in summary and "5 duplicate" in summary


def test_dpo_pairs_sibling_answers_with_the_whole_conversation_before_them(alice):
    session = services.start_session(owner=alice, system_prompt="You write poems.")
    stored = services.append_messages(session=session, messages=[
        NewMessage(role="user", content="Hello"),
        NewMessage(role="assistant", content="Hi! Which poem?"),
        NewMessage(role="user", content="A haiku about rain"),
        NewMessage(role="assistant", content="Rain rain rain"),
        NewMessage(role="assistant", content="Soft rain on the roof", parent_seq=3),  # a regeneration
    ]).messages
    rate(stored[3], -1)
    rate(stored[4], 1)

    _, [path] = run_export("dpo")

    [line] = lines_of(path)
    assert preference_errors(line) == []
    assert json.loads(line) == {
        "input": {"messages": [
            {"role": "system", "content": "You write poems."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi! Which poem?"},
            {"role": "user", "content": "A haiku about rain"},
        ]},
        "preferred_output": [{"role": "assistant", "content": "Soft rain on the roof"}],
        "non_preferred_output": [{"role": "assistant", "content": "Rain rain rain"}],
    }


def test_redact_pii_reaches_tool_arguments_results_and_reasoning(alice):
    session = services.start_session(owner=alice)
    services.append_messages(session=session, messages=[
        NewMessage(role="user", content="Mail Jane"),
        NewMessage(role="assistant", content="", reasoning="Jane is jane@example.com", tool_calls=[
            {"id": "c1", "type": "function", "function": {"name": "send", "arguments": '{"to": "jane@example.com"}'}}]),
        NewMessage(role="tool", content="sent to jane@example.com", tool_call_id="c1"),
        NewMessage(role="assistant", content="Sent."),
    ])

    for fmt in ("jsonl", "hf", "csv"):
        _, [path] = run_export(fmt, "--redact-pii", "--reasoning")
        assert "jane@example.com" not in path.read_text() and "[EMAIL]" in path.read_text()


def test_the_hf_format_is_a_button_on_the_conversation_page(alice, client):
    session = build_tool_corpus(alice)["weather"]
    client.force_login(alice)

    page = client.get(f"/sessions/{session.session_id}/")

    assert b'value="hf"' in page.content
    assert b'value="dpo"' not in page.content


def test_hf_stops_before_the_first_answer_rated_down(alice):
    session = services.start_session(owner=alice)
    stored = services.append_messages(session=session, messages=[
        NewMessage(role="user", content="q1"), NewMessage(role="assistant", content="good"),
        NewMessage(role="user", content="q2"), NewMessage(role="assistant", content="bad"),
        NewMessage(role="user", content="q3"), NewMessage(role="assistant", content="after"),
    ]).messages
    rate(stored[3], -1)
    hopeless = services.start_session(owner=alice)
    rate(services.append_messages(session=hopeless, messages=[
        NewMessage(role="user", content="q"), NewMessage(role="assistant", content="wrong")]).messages[1], -1)

    summary, [path] = run_export("hf")

    [line] = lines_of(path)
    assert [m["content"] for m in json.loads(line)["messages"]] == ["q1", "good"]
    assert "1 first answer rated down" in summary
