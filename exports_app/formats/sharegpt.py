"""ShareGPT lines, as Axolotl and Unsloth read them: {"conversations": [{"from", "value"}, ...]}."""

from .base import Format, Skip, json_line_example, system_prompt_of

SPEAKERS = {"system": "system", "user": "human", "assistant": "gpt", "tool": "tool"}


class ShareGPTFormat(Format):
    name = "sharegpt"
    label = "ShareGPT"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"
    file_suffix = "_sharegpt"

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        turns = [{"from": "system", "value": system_prompt}] if system_prompt else []
        tokens = 0
        for turn in conversation.turns:
            if turn.content:
                turns.append({"from": SPEAKERS[turn.role], "value": turn.content})
                tokens += turn.token_count
        if not any(turn["from"] == "gpt" for turn in turns):
            raise Skip("no assistant message")
        yield json_line_example(
            {"conversations": turns},
            conversation=conversation,
            message_count=len(turns) - bool(system_prompt),  # stored messages only
            token_count=tokens,
            system_prompt=system_prompt,
        )
