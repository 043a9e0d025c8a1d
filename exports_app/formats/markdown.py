"""A readable transcript: each session under its title with its dates and metadata, each turn under its role.

Content is Markdown already (answers carry code blocks), so it is written as it is. A turn whose code
fences do not close, and every tool result, goes inside a fence longer than any backtick run in it, so
it cannot swallow the turns after it. Tool calls follow their turn's text as fenced JSON arguments;
with --reasoning an answer's thinking comes first, under "Thinking".
"""

import re

import orjson

from .base import BASE_COLUMNS, TOOL_COLUMNS, Example, Format, Skip, digest, system_prompt_of

FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
BACKTICK_RUN = re.compile(r"`+")
HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}


def fences_balanced(text: str) -> bool:
    """Whether every code fence opened in `text` is closed (CommonMark: same character, at least as long)."""
    opened = None
    for match in FENCE_LINE.finditer(text):
        fence = match.group(1)
        if opened is None:
            opened = fence
        elif fence[0] == opened[0] and len(fence) >= len(opened):
            opened = None
    return opened is None


def fenced(text: str, info: str = "") -> str:
    longest = max((len(run) for run in BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def block(text: str, role: str) -> str:
    if role == "tool" or not fences_balanced(text):
        return fenced(text, "text")
    return text


def when(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


class MarkdownFormat(Format):
    name = "markdown"
    label = "Markdown"
    extension = "md"
    content_type = "text/markdown; charset=utf-8"
    columns = {**BASE_COLUMNS, **TOOL_COLUMNS, "created_at": "created_at"}
    dedupes = False  # a transcript of every session, even one said twice

    def examples(self, conversation):
        if not conversation.turns:
            raise Skip("no messages")
        lines = [
            f"# {conversation.title or 'Untitled session'}",
            "",
            f"- Session: `{conversation.session_id}`",
            f"- Started: {when(conversation.started_at)}",
            f"- Updated: {when(conversation.updated_at)}",
            f"- Ended: {when(conversation.ended_at)}",
            f"- Messages: {conversation.message_count}, tokens: {conversation.token_count}",
        ]
        if conversation.mode:
            lines.append(f"- Mode: {conversation.mode}")
        if conversation.metadata:
            lines.append(f"- Metadata: `{orjson.dumps(conversation.metadata, option=orjson.OPT_SORT_KEYS).decode()}`")
        system_prompt = system_prompt_of(conversation)
        if system_prompt:
            lines += ["", "## System prompt", "", block(system_prompt, "system")]
        for turn in conversation.turns:
            rating = {1: " (rated up)", -1: " (rated down)"}.get(turn.rating, "")
            answers = f" (result of `{turn.tool_call_id}`)" if turn.tool_call_id else ""
            lines += ["", f"## {turn.seq}. {HEADINGS[turn.role]} · {when(turn.created_at)}{rating}{answers}"]
            if self.reasoning and turn.reasoning:
                lines += ["", "### Thinking", "", block(turn.reasoning, "assistant")]
            if turn.content or not turn.tool_calls:
                lines += ["", block(turn.content, turn.role)]
            for call in turn.tool_calls or ():
                lines += [
                    "",
                    f"Tool call `{call['function']['name']}` (`{call['id']}`):",
                    "",
                    fenced(call["function"]["arguments"], "json"),
                ]
        body = ("\n".join(lines) + "\n\n---\n\n").encode()
        yield Example(
            body=body,
            identity=digest(conversation.system_prompt, *(f"{turn.role}:{turn.content}" for turn in conversation.turns)),
            split_key=conversation.session_id,
            message_count=len(conversation.turns),
            token_count=sum(turn.token_count for turn in conversation.turns),
            system_prompt=system_prompt,
        )
