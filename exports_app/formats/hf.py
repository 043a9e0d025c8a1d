"""Hugging Face conversational lines, as TRL's SFTTrainer and Axolotl's `chat_template` read them:

    {"messages": [{"role", "content", "tool_calls"?, "reasoning_content"?}, ...], "tools": [...]?}

Chat templates take tool-call `arguments` as an object, so the stored string is parsed (an example
whose arguments are not a JSON object is skipped with that reason). A tool result keeps its
`tool_call_id` and `name`. With --reasoning an answer's thinking is `reasoning_content`, the field the
Qwen3 and DeepSeek templates render. The format has no place for a rating: the conversation is cut
before its first answer rated down (and the question it answered).
"""

from .base import BASE_COLUMNS, TOOL_COLUMNS, Format, Skip, json_line_example, parsed_arguments, system_prompt_of


class HuggingFaceFormat(Format):
    name = "hf"
    label = "Hugging Face"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"
    file_suffix = "_hf"
    columns = {**BASE_COLUMNS, **TOOL_COLUMNS}

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        tokens = stored = 0
        last_tokens = []  # of each stored message written, to take back a trailing question
        cut = False
        for turn in conversation.turns:
            if turn.role == "assistant" and turn.rating == -1:
                cut = True
                break
            reasoning = turn.reasoning if self.reasoning and turn.role == "assistant" else None
            if not (turn.content or turn.tool_calls or reasoning or turn.role == "tool"):
                continue
            message = {"role": turn.role, "content": turn.content}
            if turn.tool_calls:
                message["tool_calls"] = [
                    {"id": call["id"], "type": "function",
                     "function": {"name": call["function"]["name"], "arguments": parsed_arguments(call)}}
                    for call in turn.tool_calls
                ]
            if turn.tool_call_id:
                message["tool_call_id"] = turn.tool_call_id
            if turn.name:
                message["name"] = turn.name
            if reasoning:
                message["reasoning_content"] = reasoning
            messages.append(message)
            tokens += turn.token_count
            stored += 1
            last_tokens.append(turn.token_count)
        while cut and stored and messages[-1]["role"] == "user":
            messages.pop()  # the question the downvoted answer replied to
            stored -= 1
            tokens -= last_tokens.pop()
        if not any(message["role"] == "assistant" for message in messages):
            raise Skip("first answer rated down" if cut else "no assistant message")
        payload = {"messages": messages}
        if conversation.tools:
            payload["tools"] = conversation.tools
        yield json_line_example(
            payload,
            conversation=conversation,
            message_count=stored,
            token_count=tokens,
            system_prompt=system_prompt,
        )
