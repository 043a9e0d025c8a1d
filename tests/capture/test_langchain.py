"""The LangChain chat message history backed by NovaForge behaves as LangChain's own Postgres history
does (empty, add, order, clear, async), and keeps tool calls, tool results and reasoning as NovaForge
fields."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db import connections
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from capture_app.langchain import NovaForgeChatMessageHistory

THREE = [SystemMessage(content="Meow"), AIMessage(content="woof"), HumanMessage(content="bark")]


@pytest.fixture
def history(alice):
    return NovaForgeChatMessageHistory(user=alice)


def test_a_history_starts_empty_keeps_messages_in_order_and_clears(history):
    assert history.messages == []

    history.add_messages(THREE)
    assert history.messages == THREE

    history.add_messages(THREE)
    assert history.messages == THREE + THREE

    history.clear()
    assert history.messages == []
    history.add_messages([HumanMessage(content="again")])
    assert history.messages == [HumanMessage(content="again")]


@pytest.mark.django_db(transaction=True)
def test_the_async_methods_behave_as_the_sync_ones(alice):
    history = NovaForgeChatMessageHistory(user=alice)

    async def scenario():
        seen = [await history.aget_messages()]
        await history.aadd_messages(THREE)
        seen.append(await history.aget_messages())
        await history.aadd_messages(THREE)
        seen.append(await history.aget_messages())
        await history.aclear()
        seen.append(await history.aget_messages())
        # The ORM ran on asgiref's shared thread: its connection would outlive the test database.
        await sync_to_async(connections.close_all)()
        return seen

    # A loop of its own on a thread of its own, as an async application would call it.
    with ThreadPoolExecutor(max_workers=1) as thread:
        assert thread.submit(asyncio.run, scenario()).result() == [[], THREE, THREE + THREE, []]


def test_a_second_history_on_the_same_session_reads_what_the_first_wrote(history, alice):
    history.add_messages(THREE)
    assert NovaForgeChatMessageHistory(history.session_id, user=alice).messages == THREE


def test_tool_calls_tool_results_and_reasoning_are_stored_in_their_fields(history, alice_api):
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_weather", "type": "tool_call"}
    messages = [
        HumanMessage(content="Weather in Paris?", id="question-1"),
        AIMessage(content="", tool_calls=[call], additional_kwargs={"reasoning_content": "Look it up."}),
        ToolMessage(content="sunny", tool_call_id="call_weather"),
        AIMessage(content="Sunny.", response_metadata={"model_name": "m"}),
    ]
    history.add_messages(messages)

    assert history.messages == messages
    stored = alice_api.get(f"/api/sessions/{history.session_id}/messages/").json()["results"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1]["tool_calls"] == [
        {
            "id": "call_weather",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert stored[1]["reasoning"] == "Look it up."
    assert stored[2]["tool_call_id"] == "call_weather"


def test_a_session_id_naming_another_users_session_is_never_read_nor_written(history, bob):
    history.add_messages(THREE)
    intruder = NovaForgeChatMessageHistory(history.session_id, user=bob)

    assert intruder.messages == []
    with pytest.raises(ValidationError) as raised:
        intruder.add_messages([HumanMessage(content="mine now")])
    assert "session_id" in raised.value.message_dict
    assert history.messages == THREE


def test_a_session_id_that_is_not_one_is_refused_by_name(alice):
    with pytest.raises(ValidationError) as raised:
        NovaForgeChatMessageHistory("a1b2c3d4-0000-0000-0000-000000000000", user=alice)
    assert "session_id" in raised.value.message_dict
