"""OpenAI preference fine-tuning lines (direct preference optimization):

    {"input": {"messages": [system?, user]}, "preferred_output": [assistant], "non_preferred_output": [assistant]}

A pair is an upvoted and a downvoted answer to the same prompt: the same system prompt and the same
preceding user message, in one session or in two. Each rated answer is used in at most one pair; the
unpaired ones are counted at the end. Only rated answers wait in memory for their partner.
"""

from collections import deque
from dataclasses import dataclass, field

import orjson

from .base import Example, Format, Skip, digest, system_prompt_of


@dataclass(slots=True)
class Prompt:
    system_prompt: str
    user_content: str
    user_tokens: int
    upvoted: deque = field(default_factory=deque)  # (content, tokens) of answers waiting for a partner
    downvoted: deque = field(default_factory=deque)


class PreferenceFormat(Format):
    name = "dpo"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"
    file_suffix = "_dpo"

    def __init__(self):
        self.prompts: dict[bytes, Prompt] = {}
        # What an export without pairs reports: rated answers by rating, and pairs made (then skipped).
        self.rated = {1: 0, -1: 0}
        self.pairs = 0

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        question = None
        rated = 0
        for turn in conversation.turns:
            if turn.role == "user":
                question = turn
            elif turn.role == "assistant" and turn.rating in (1, -1) and turn.content and question and question.content:
                rated += 1
                self.rated[turn.rating] += 1
                key = digest(system_prompt, question.content)
                prompt = self.prompts.get(key)
                if prompt is None:
                    prompt = self.prompts[key] = Prompt(system_prompt, question.content, question.token_count)
                (prompt.upvoted if turn.rating == 1 else prompt.downvoted).append((turn.content, turn.token_count))
                if prompt.upvoted and prompt.downvoted:
                    self.pairs += 1
                    pair = self._pair(key, prompt, prompt.upvoted.popleft(), prompt.downvoted.popleft())
                    if not prompt.upvoted and not prompt.downvoted:
                        del self.prompts[key]
                    yield pair
        if not rated:
            raise Skip("no rated answer to a prompt")

    def _pair(self, key: bytes, prompt: Prompt, preferred, non_preferred) -> Example:
        messages = [{"role": "system", "content": prompt.system_prompt}] if prompt.system_prompt else []
        messages.append({"role": "user", "content": prompt.user_content})
        body = orjson.dumps(
            {
                "input": {"messages": messages},
                "preferred_output": [{"role": "assistant", "content": preferred[0]}],
                "non_preferred_output": [{"role": "assistant", "content": non_preferred[0]}],
            }
        ) + b"\n"
        return Example(
            body=body,
            identity=digest(prompt.system_prompt, prompt.user_content, preferred[0], non_preferred[0]),
            split_key=key.hex(),  # one prompt's pairs all land in the same split
            message_count=3,  # the stored prompt and its two answers
            token_count=prompt.user_tokens + preferred[1] + non_preferred[1],
            system_prompt=prompt.system_prompt,
        )

    def leftovers(self) -> dict[str, int]:
        unpaired = sum(len(prompt.upvoted) + len(prompt.downvoted) for prompt in self.prompts.values())
        return {"rated answer without an opposite rating for its prompt": unpaired} if unpaired else {}

    def empty_reason(self) -> str:
        up, down = self.rated[1], self.rated[-1]
        found = (
            f"{self.pairs} pairs made, none kept" if self.pairs
            else "0 prompts with both an up- and a down-rated answer"
        )
        return f"no preference pairs: {up + down} rated answers ({up} up, {down} down), {found}"
