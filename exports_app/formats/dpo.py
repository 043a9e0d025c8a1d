"""OpenAI preference fine-tuning lines (direct preference optimization):

    {"input": {"messages": [system?, ..., user]}, "preferred_output": [assistant], "non_preferred_output": [assistant]}

A pair is an upvoted and a downvoted answer to the same prompt: the same system prompt and the same
user message answered. Sibling answers (regenerations: the same parent message, on two branches of
one session) pair first; the others wait for a partner from anywhere, in one session or in two. Each
rated answer is used in at most one pair; the unpaired ones are counted at the end.

`input.messages` is the conversation up to that user message, on the branch of the answer that came
first (system prompt included), as text: tool calls and their results have no place in it. Only rated
answers, with that conversation, wait in memory for their partner.
"""

from collections import deque
from dataclasses import dataclass, field

import orjson

from .base import Example, Format, Skip, digest, system_prompt_of


@dataclass(slots=True)
class Answer:
    content: str
    tokens: int
    context: list  # input.messages for a pair made with this answer first
    context_tokens: int  # stored tokens of the user message answered


@dataclass(slots=True)
class Prompt:
    system_prompt: str
    user_content: str
    upvoted: deque = field(default_factory=deque)  # answers waiting for a partner
    downvoted: deque = field(default_factory=deque)


def text_context(system_prompt: str, path: list) -> list[dict]:
    """The turns of `path` as text messages OpenAI's preference format takes; consecutive ones of one
    role (where tool messages were left out) joined."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for turn in path:
        if turn.role not in ("user", "assistant") or not turn.content:
            continue
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += f"\n\n{turn.content}"
        else:
            messages.append({"role": turn.role, "content": turn.content})
    return messages


class PreferenceFormat(Format):
    name = "dpo"
    extension = "jsonl"
    content_type = "application/jsonl; charset=utf-8"
    file_suffix = "_dpo"
    branches = "all"  # sibling answers on other branches pair up

    def __init__(self, **options):
        super().__init__(**options)
        self.prompts: dict[bytes, Prompt] = {}
        # What an export without pairs reports: rated answers by rating, and pairs made (then skipped).
        self.rated = {1: 0, -1: 0}
        self.pairs = 0

    def examples(self, conversation):
        system_prompt = system_prompt_of(conversation)
        by_seq = {turn.seq: turn for turn in conversation.turns}
        rated = []  # (answer turn, path up to the user message it answers)
        for turn in conversation.turns:
            if turn.role == "assistant" and turn.rating in (1, -1) and turn.content:
                path = self._path_to_question(by_seq, turn)
                if path:
                    rated.append((turn, path))
        if not rated:
            raise Skip("no rated answer to a prompt")
        waiting = []
        siblings: dict[int | None, dict[int, list]] = {}
        for turn, path in rated:
            self.rated[turn.rating] += 1
            siblings.setdefault(turn.parent_seq, {1: [], -1: []})[turn.rating].append((turn, path))
        for group in siblings.values():
            while group[1] and group[-1]:
                (up, path), (down, _) = group[1].pop(0), group[-1].pop(0)
                first = min(up, down, key=lambda turn: turn.seq)
                self.pairs += 1
                yield self._pair(
                    digest(system_prompt, path[-1].content), system_prompt, path[-1].content,
                    self._answer(up, path, system_prompt), self._answer(down, path, system_prompt),
                    context_of=first.rating,
                )
            waiting += group[1] + group[-1]
        for turn, path in sorted(waiting, key=lambda item: item[0].seq):
            yield from self._wait_or_pair(system_prompt, turn, path)

    @staticmethod
    def _path_to_question(by_seq: dict, answer) -> list:
        """The turns from the first to the user message `answer` replies to (empty: none, or no text)."""
        seq = answer.parent_seq
        while seq in by_seq and by_seq[seq].role != "user":
            seq = by_seq[seq].parent_seq
        if seq not in by_seq or not by_seq[seq].content:
            return []
        path = []
        while seq in by_seq:
            path.append(by_seq[seq])
            seq = by_seq[seq].parent_seq
        path.reverse()
        return path

    @staticmethod
    def _answer(turn, path: list, system_prompt: str) -> Answer:
        return Answer(turn.content, turn.token_count, text_context(system_prompt, path), path[-1].token_count)

    def _wait_or_pair(self, system_prompt: str, turn, path: list):
        question = path[-1].content
        key = digest(system_prompt, question)
        prompt = self.prompts.get(key)
        if prompt is None:
            prompt = self.prompts[key] = Prompt(system_prompt, question)
        (prompt.upvoted if turn.rating == 1 else prompt.downvoted).append(self._answer(turn, path, system_prompt))
        if prompt.upvoted and prompt.downvoted:
            self.pairs += 1
            up, down = prompt.upvoted.popleft(), prompt.downvoted.popleft()
            if not prompt.upvoted and not prompt.downvoted:
                del self.prompts[key]
            # The answer that waited came first: its conversation is the prompt.
            yield self._pair(key, system_prompt, question, up, down, context_of=-turn.rating)

    @staticmethod
    def _pair(key: bytes, system_prompt: str, question: str, preferred: Answer, non_preferred: Answer,
              *, context_of: int) -> Example:
        first = preferred if context_of == 1 else non_preferred
        body = orjson.dumps(
            {
                "input": {"messages": first.context},
                "preferred_output": [{"role": "assistant", "content": preferred.content}],
                "non_preferred_output": [{"role": "assistant", "content": non_preferred.content}],
            }
        ) + b"\n"
        return Example(
            body=body,
            identity=digest(system_prompt, question, preferred.content, non_preferred.content),
            split_key=key.hex(),  # one prompt's pairs all land in the same split
            message_count=3,  # the stored prompt and its two answers
            token_count=first.context_tokens + preferred.tokens + non_preferred.tokens,
            system_prompt=system_prompt,
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
