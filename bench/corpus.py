"""A realistic synthetic chat corpus, deterministic for a given seed.

Content lengths are log-normal around 400 characters with a tail cut at 8 KB (what chat logs look like);
sessions hold ~20 messages alternating user/assistant, some opening with a system or tool message;
metadata carries what clients send (mode, model, latency, token usage, tools, web search).
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MEDIAN_CHARS = 400
SIGMA = 0.85  # log-normal spread: p99 ~2.9 KB, the longest cut at MAX_CHARS
MAX_CHARS = 8192
MODES = ["commander", "coder", "research", "chat", "writer"]
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-sonnet", "llama-3.1-70b"]
TOOLS = ["web_search", "python", "read_file", "calculator"]
# Words that appear in about one message in ten thousand, for search benchmarks.
RARE_WORDS = ["zephyrine", "quillback", "marrowfen", "tundralux", "obsidiac"]
SNIPPETS = ["Café crème, naïve façade. ", "日本語のテキストです。 ", "Ok 👍 merci ! ", "Größe: 5 µm. ", "Привет, мир. "]


def _text_pool(rng: random.Random) -> str:
    """English prose with code samples (Python's own reference docs), sprinkled with non-ASCII text."""
    from pydoc_data.topics import topics

    pieces = list(topics.values())
    rng.shuffle(pieces)
    return "".join(piece + (rng.choice(SNIPPETS) if rng.random() < 0.3 else "") for piece in pieces)


@dataclass(frozen=True)
class CorpusMessage:
    session_index: int
    seq: int
    role: str
    content: str
    metadata: dict
    created_at: datetime


class Corpus:
    """Messages and sessions for the benchmarks; the same seed gives the same corpus."""

    def __init__(self, seed: int = 8):
        self.rng = random.Random(seed)
        self.pool = _text_pool(self.rng)
        self.epoch = datetime(2026, 5, 1, tzinfo=UTC)

    def content_length(self) -> int:
        return max(1, min(MAX_CHARS, int(self.rng.lognormvariate(0, SIGMA) * MEDIAN_CHARS)))

    def content(self) -> str:
        length = self.content_length()
        start = self.rng.randrange(0, len(self.pool) - length)
        text = self.pool[start : start + length] or "ok"
        if self.rng.random() < 1e-4:
            text = f"{text} {self.rng.choice(RARE_WORDS)}"
        return text

    def metadata(self, role: str, mode: str) -> dict:
        rng = self.rng
        if role == "user":
            return {"mode": mode, "web_search": rng.random() < 0.2}
        if role == "assistant":
            prompt_tokens = rng.randint(50, 6000)
            metadata = {
                "mode": mode,
                "model": rng.choice(MODELS),
                "latency_ms": rng.randint(250, 12000),
                "prompt_tokens": prompt_tokens,
                "completion_tokens": rng.randint(5, 1500),
            }
            if rng.random() < 0.15:
                metadata["tools"] = rng.sample(TOOLS, rng.randint(1, 2))
            return metadata
        return {"mode": mode}

    def session_size(self) -> int:
        """~20 messages a session: 4 to 60, most between 12 and 28."""
        return max(4, min(60, int(self.rng.gauss(20, 7))))

    def session_messages(self, session_index: int, count: int, started_at: datetime) -> list[CorpusMessage]:
        mode = self.rng.choice(MODES)
        roles = []
        if self.rng.random() < 0.3:
            roles.append("system")
        while len(roles) < count:
            roles.append("user")
            if self.rng.random() < 0.1:
                roles.append("tool")
            roles.append("assistant")
        at = started_at
        messages = []
        for seq, role in enumerate(roles[:count], 1):
            at += timedelta(seconds=self.rng.randint(2, 90))
            messages.append(CorpusMessage(session_index, seq, role, self.content(), self.metadata(role, mode), at))
        return messages

    def sessions(self, total_messages: int, days: int = 180):
        """Yield (session_index, started_at, messages) until `total_messages` are produced."""
        produced = 0
        index = 0
        span = days * 86400
        while produced < total_messages:
            count = min(self.session_size(), total_messages - produced)
            started_at = self.epoch + timedelta(seconds=span * index / max(1, total_messages / 20))
            yield index, started_at, self.session_messages(index, count, started_at)
            produced += count
            index += 1

    def messages(self, count: int) -> list[CorpusMessage]:
        """`count` messages of one long conversation."""
        return self.session_messages(0, count, self.epoch)
