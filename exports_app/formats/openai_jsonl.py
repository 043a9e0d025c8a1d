"""OpenAI chat fine-tuning lines: {"messages": [{"role", "content", "weight"?}, ...]}.

OpenAI's checks (https://cookbook.openai.com/examples/chat_finetuning_data_prep): known roles, string
content that is not empty, at least one assistant message, no unknown keys, `weight` 0 or 1 on
assistant messages only. Tool results are left out: OpenAI accepts a tool message only as the answer to
an assistant `tool_calls` entry with its `tool_call_id`, which stored messages do not carry.
"""

from .base import Format, Skip, json_line_example, system_prompt_of

TRAINED_ROLES = {"system", "user", "assistant"}


class OpenAIChatFormat(Format):
    name = "jsonl"
    label = "JSONL"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        tokens = 0
        answers = trained_answers = 0
        for turn in conversation.turns:
            role, content = turn.role, turn.content
            if not content or role not in TRAINED_ROLES:
                continue
            if role == "assistant":
                answers += 1
                # A downvoted answer stays as context but is not trained on.
                if turn.rating == -1:
                    messages.append({"role": role, "content": content, "weight": 0})
                    tokens += turn.token_count
                    continue
                trained_answers += 1
            messages.append({"role": role, "content": content})
            tokens += turn.token_count
        if not answers:
            raise Skip("no assistant message")
        if not trained_answers:
            raise Skip("every answer rated down")
        yield json_line_example(
            {"messages": messages},
            conversation=conversation,
            message_count=len(messages) - bool(system_prompt),  # stored messages only
            token_count=tokens,
            system_prompt=system_prompt,
        )
