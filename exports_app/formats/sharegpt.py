"""ShareGPT lines as LLaMA-Factory reads them: {"conversations": [{"from", "value"}, ...], "tools": "<JSON>"?}.

LLaMA-Factory's ShareGPT converter keeps an example only when, after an optional first `system`
turn, `human` or `observation` turns stand in odd places and `gpt` or `function_call` turns in even
ones, and the count is even (it ends with the model). So:
- a tool call is a `function_call` turn whose value is the JSON of {"name", "arguments"} (a list for
  several calls), arguments as the object the stored string holds; the text said along with a call
  has no place and is left out;
- a tool result is an `observation`; consecutive turns of one kind are joined;
- turns before the first user message, and unanswered turns at the end, are left out;
- a call without its result, or a result without a call, skips the example with that reason;
- the session's tools are a JSON string under `tools`. Axolotl and Unsloth read the same lines.
"""

import orjson

from .base import BASE_COLUMNS, TOOL_COLUMNS, Format, Skip, json_line_example, parsed_arguments, system_prompt_of

PLACE = {"human": 1, "observation": 1, "gpt": 0, "function_call": 0}  # 1: odd places, 0: even ones
JOINED_WITH = {"human": "\n\n", "gpt": "\n\n", "observation": "\n"}


def call_value(calls: list) -> str:
    described = [{"name": call["function"]["name"], "arguments": parsed_arguments(call)} for call in calls]
    return orjson.dumps(described[0] if len(described) == 1 else described).decode()


class ShareGPTFormat(Format):
    name = "sharegpt"
    label = "ShareGPT"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"
    file_suffix = "_sharegpt"
    columns = {**BASE_COLUMNS, **TOOL_COLUMNS}

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        turns = []  # [speaker, value, calls, stored messages, tokens]
        for turn in conversation.turns:
            if turn.role == "system":
                if turns:
                    raise Skip("a system message inside the conversation")
                if turn.content:
                    system_prompt = f"{system_prompt}\n\n{turn.content}" if system_prompt else turn.content
                continue
            if turn.role == "assistant" and turn.tool_calls:
                speaker, value, calls = "function_call", None, list(turn.tool_calls)
            elif turn.role == "tool":
                speaker, value, calls = "observation", turn.content, None
            elif turn.content:
                speaker, value, calls = ("human" if turn.role == "user" else "gpt"), turn.content, None
            else:
                continue
            if not turns and speaker != "human":
                continue  # the model spoke first: no user message to answer yet
            self._add(turns, speaker, value, calls, turn.token_count)
        while turns and PLACE[turns[-1][0]]:
            turns.pop()  # nothing answers them
        if not turns:
            raise Skip("no assistant message")
        lines = [{"from": "system", "value": system_prompt}] if system_prompt else []
        lines += [
            {"from": speaker, "value": call_value(calls) if speaker == "function_call" else value}
            for speaker, value, calls, _, _ in turns
        ]
        payload = {"conversations": lines}
        if conversation.tools:
            payload["tools"] = orjson.dumps(conversation.tools).decode()
        yield json_line_example(
            payload,
            conversation=conversation,
            message_count=sum(turn[3] for turn in turns),  # stored messages only
            token_count=sum(turn[4] for turn in turns),
            system_prompt=system_prompt,
        )

    @staticmethod
    def _add(turns: list, speaker: str, value, calls, tokens: int) -> None:
        """Append a turn, joining it to the one before when both stand in the same kind of place."""
        if not turns or PLACE[turns[-1][0]] != PLACE[speaker]:
            turns.append([speaker, value, calls, 1, tokens])
            return
        previous = turns[-1]
        if previous[0] == speaker == "function_call":
            previous[2] += calls
        elif previous[0] == speaker:
            previous[1] = f"{previous[1]}{JOINED_WITH[speaker]}{value}"
        elif (previous[0], speaker) == ("gpt", "function_call"):
            previous[0], previous[1], previous[2] = speaker, None, calls  # the text said with a call
        elif previous[0] == "function_call":
            raise Skip("a tool call without its result")
        elif previous[0] == "observation":
            raise Skip("a tool result the model did not answer")
        else:
            raise Skip("a tool result without a call")
        previous[3] += 1
        previous[4] += tokens
