"""Removal of personal data and secrets from text before it leaves as training data (--redact-pii)."""

import re

# Secrets first: their digits must not be taken for phone or card numbers.
SECRET_PATTERNS = [
    re.compile(r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{16,}"),  # OpenAI, Anthropic, Stripe
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),  # Slack
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),  # Google API keys
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),  # JSON web tokens
]
BEARER = re.compile(r"\b(Bearer|Token)\s+[A-Za-z0-9._~+/\-]{16,}=*", re.IGNORECASE)
EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
# 13 to 19 digits, optionally grouped by spaces or dashes; only those passing the Luhn check are cards.
CARD_CANDIDATE = re.compile(r"(?<![\d\w])\d(?:[ \-]?\d){12,18}(?![\d\w])")
# International (+CC ...) or grouped national numbers, not part of a longer run of digit groups;
# dates, versions and IP addresses do not match.
PHONE = re.compile(
    r"(?<![\w+])(?<!\d[\s.\-])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?|\d{2,4}[\s.\-])\d{3,4}[\s.\-]?\d{3,4}"
    r"(?!\w|[\s.\-]\d)"
)


def passes_luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if passes_luhn(digits) else match.group()


# Cheap substring tests first: most messages hold no digits, "@" or key prefixes, and each full
# pattern costs tens of microseconds per message.
SECRET_MARKERS = ("sk-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "eyJ")
HAS_DIGIT = re.compile(r"\d")


def redact(text: str) -> str:
    """`text` with secrets, e-mail addresses, card numbers and phone numbers replaced by placeholders."""
    if any(marker in text for marker in SECRET_MARKERS):
        for pattern in SECRET_PATTERNS:
            text = pattern.sub("[SECRET]", text)
    lowered = text.lower()
    if "bearer" in lowered or "token" in lowered:
        text = BEARER.sub(lambda match: f"{match.group(1)} [SECRET]", text)
    if "@" in text:
        text = EMAIL.sub("[EMAIL]", text)
    if HAS_DIGIT.search(text):
        text = CARD_CANDIDATE.sub(_card, text)
        text = PHONE.sub("[PHONE]", text)
    return text


def redact_turn(turn):
    """A message row (a namedtuple) with every text it carries redacted: content, reasoning, the
    arguments of its tool calls and the text of its content parts. Images and files are left as they are."""
    changes = {"content": redact(turn.content)}
    if getattr(turn, "reasoning", None):
        changes["reasoning"] = redact(turn.reasoning)
    if getattr(turn, "tool_calls", None):
        changes["tool_calls"] = [
            {**call, "function": {**call["function"], "arguments": redact(call["function"]["arguments"])}}
            for call in turn.tool_calls
        ]
    if getattr(turn, "parts", None):
        changes["parts"] = [
            {**part, "text": redact(part["text"])}
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            else part
            for part in turn.parts
        ]
    return turn._replace(**changes)
