"""Conversations with what real ones hold: parallel tool calls and their results, the session's tools,
browsing turns, regenerations and edits on branches, reasoning, an image, and broken tool arguments."""

from curation_app.models import MessageFeedback
from sessions_app import services
from sessions_app.services import NewMessage

WEATHER_TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]
# Exactly as the model sent it: spacing kept, so exports must not re-encode it.
PARIS_ARGUMENTS = '{"city": "Paris"}'
IMAGE_URL = "data:image/png;base64," + "iVBORw0KGgo" * 200


def call(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def append(session, *messages: NewMessage) -> list:
    return services.append_messages(session=session, messages=list(messages)).messages


def build_tool_corpus(owner) -> dict:
    """Store the conversations; returns the sessions by name."""
    sessions = {}

    weather = sessions["weather"] = services.start_session(
        owner=owner, title="Weather", system_prompt="You report the weather.", tools=WEATHER_TOOLS)
    append(
        weather,
        NewMessage(role="user", content="Weather in Paris and Rome?"),
        NewMessage(role="assistant", content="Let me check.", reasoning="Two cities: two calls.",
                   tool_calls=[call("call_1", "get_weather", PARIS_ARGUMENTS),
                               call("call_2", "get_weather", '{"city":"Rome"}')]),
        NewMessage(role="tool", content='{"celsius": 21}', tool_call_id="call_1", name="get_weather"),
        NewMessage(role="tool", content='{"celsius": 25}', tool_call_id="call_2", name="get_weather"),
        NewMessage(role="assistant", content="Paris 21 °C, Rome 25 °C.", reasoning="Rome is warmer."),
        NewMessage(role="user", content="Thanks"),
        NewMessage(role="assistant", content="You're welcome."),
    )

    browsing = sessions["browsing"] = services.start_session(owner=owner, title="News")
    append(
        browsing,
        NewMessage(role="assistant", content="Hi! What shall I look up?"),
        NewMessage(role="user", content="Search today's news"),
        NewMessage(role="assistant", content="", tool_calls=[call("turn0search", "browser.search", '{"query": "news"}')]),
        NewMessage(role="tool", content="1. Markets up\n2. Rain expected", tool_call_id="turn0search"),
        NewMessage(role="assistant", content="Markets are up."),
        NewMessage(role="assistant", content="And rain is expected."),
        NewMessage(role="user", content="Anything else?"),
    )

    # A regeneration (3 answers 1 again) and an edit (5 replaces 4); the active branch is 1, 3, 5, 6.
    branched = sessions["branched"] = services.start_session(owner=owner, title="Poems", system_prompt="You write poems.")
    stored = append(
        branched,
        NewMessage(role="user", content="Write a haiku about rain"),
        NewMessage(role="assistant", content="Rain rain rain rain rain"),
        NewMessage(role="assistant", content="Soft rain on the roof", parent_seq=1),
        NewMessage(role="user", content="Now a limerick", parent_seq=3),
        NewMessage(role="user", content="Now a sonnet", parent_seq=3),
        NewMessage(role="assistant", content="Shall I compare thee to a rainy day?"),
    )
    MessageFeedback.objects.create(message=stored[1], rating=-1)
    MessageFeedback.objects.create(message=stored[2], rating=1)

    picture = sessions["picture"] = services.start_session(owner=owner, title="Picture")
    append(
        picture,
        NewMessage(role="user", content="What is this?", parts=[
            {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": IMAGE_URL}}]),
        NewMessage(role="assistant", content="A cat."),
    )

    broken = sessions["broken"] = services.start_session(owner=owner, title="Broken arguments")
    append(
        broken,
        NewMessage(role="user", content="Weather in Oslo?"),
        NewMessage(role="assistant", content="", tool_calls=[call("call_9", "get_weather", '{"city": "Oslo"')]),
        NewMessage(role="tool", content='{"celsius": -3}', tool_call_id="call_9"),
        NewMessage(role="assistant", content="-3 °C in Oslo."),
    )
    for session in sessions.values():
        session.refresh_from_db()
    return sessions
