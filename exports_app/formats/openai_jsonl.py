"""OpenAI chat fine-tuning lines: {"messages": [...], "tools": [...]?}.

OpenAI's checks (https://cookbook.openai.com/examples/chat_finetuning_data_prep and the fine-tuning
guide): known roles, content that is not empty (an assistant message may carry `tool_calls` instead),
at least one assistant message, no unknown keys, `weight` 0 or 1 on assistant messages only, and a
`tool` message only as the answer, by `tool_call_id`, to a `tool_calls` entry of the assistant message
just before it. So:
- assistant messages carry their `tool_calls` as stored (arguments byte-exact), and each call's
  result follows as a `tool` message; a call left without its result skips the example;
- a tool result stored without the id of its call has no place and is left out;
- consecutive assistant messages (e.g. once such a result is left out) are joined into one;
- a user message with images keeps its text and image_url parts; every other message is its text;
- the model's reasoning has no place in this format and is never written.
"""

from sessions_app import blobs

from ..conversations import JSONText
from .base import BASE_COLUMNS, TOOL_COLUMNS, Format, Skip, json_line_example, system_prompt_of

TRAINED_ROLES = {"system", "user", "assistant"}
USER_PART_TYPES = {"text", "image_url"}


def exact_calls(tool_calls: list) -> list[dict]:
    """The calls in OpenAI's shape, `arguments` the string as stored."""
    return [
        {"id": call["id"], "type": "function",
         "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}}
        for call in tool_calls
    ]


def user_parts(turn) -> list | None:
    """The text and image_url parts of a user message that has an image, data restored; else None."""
    parts = turn.parts
    if not parts or not any(isinstance(part, dict) and part.get("type") == "image_url" for part in parts):
        return None
    row = {"parts": parts, "part_blobs": turn.part_blobs}
    blobs.restore([row])
    return [part for part in row["parts"] if isinstance(part, dict) and part.get("type") in USER_PART_TYPES]


class OpenAIChatFormat(Format):
    name = "jsonl"
    label = "JSONL"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"
    columns = {**BASE_COLUMNS, **TOOL_COLUMNS, "parts": JSONText("parts"), "part_blobs": JSONText("part_blobs")}

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        tokens = stored = 0
        unanswered: set[str] = set()  # ids of the last assistant message's calls still without a result
        for turn in conversation.turns:
            if turn.role == "tool":
                if not turn.tool_call_id:
                    continue
                if turn.tool_call_id not in unanswered:
                    raise Skip("a tool result apart from its call")
                if not turn.content:
                    raise Skip("an empty tool result")
                unanswered.discard(turn.tool_call_id)
                messages.append({"role": "tool", "tool_call_id": turn.tool_call_id, "content": turn.content})
            else:
                if turn.role not in TRAINED_ROLES or not (turn.content or turn.tool_calls):
                    continue
                if unanswered:
                    raise Skip("a tool call without its result")
                if turn.role == "assistant":
                    if turn.tool_calls:
                        unanswered = {call["id"] for call in turn.tool_calls}
                    if messages and messages[-1]["role"] == "assistant":
                        self._join(messages[-1], turn)
                        tokens += turn.token_count
                        stored += 1
                        continue
                if turn.parts is None and not turn.tool_calls and not turn.name:
                    # Most messages: text alone (checked first, as this runs for every message exported).
                    message = {"role": turn.role, "content": turn.content}
                    if turn.rating == -1 and turn.role == "assistant":
                        message["weight"] = 0  # a downvoted answer stays as context but is not trained on
                    messages.append(message)
                else:
                    messages.append(self._message(turn))
            tokens += turn.token_count
            stored += 1
        if unanswered:
            raise Skip("a tool call without its result")
        answers = [message for message in messages if message["role"] == "assistant"]
        if not answers:
            raise Skip("no assistant message")
        if all(message.get("weight") == 0 for message in answers):
            raise Skip("every answer rated down")
        payload = {"messages": messages}
        if conversation.tools:
            payload["tools"] = conversation.tools
        yield json_line_example(
            payload,
            conversation=conversation,
            message_count=stored,  # stored messages only
            token_count=tokens,
            system_prompt=system_prompt,
        )

    @staticmethod
    def _message(turn) -> dict:
        content = (user_parts(turn) if turn.role == "user" else None) or turn.content
        message = {"role": turn.role}
        if content:
            message["content"] = content
        if turn.name and turn.role != "system":
            message["name"] = turn.name
        if turn.tool_calls:
            message["tool_calls"] = exact_calls(turn.tool_calls)
        # A downvoted answer stays as context but is not trained on.
        if turn.role == "assistant" and turn.rating == -1:
            message["weight"] = 0
        return message

    @staticmethod
    def _join(previous: dict, turn) -> None:
        """Fold an assistant turn into the assistant message before it: texts, calls, and no training
        on the whole when either part was rated down."""
        if turn.content:
            previous["content"] = f"{previous['content']}\n\n{turn.content}" if previous.get("content") else turn.content
        if turn.tool_calls:
            previous["tool_calls"] = [*previous.get("tool_calls", ()), *exact_calls(turn.tool_calls)]
        weight = previous.pop("weight", None)
        if weight == 0 or turn.rating == -1:
            previous["weight"] = 0
