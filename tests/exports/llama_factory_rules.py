"""LLaMA-Factory's checks on a ShareGPT example, as the tests' referee: what its ShareGPT dataset
converter (src/llamafactory/data/converter.py) drops as "abnormal", and what its function-call
formatter cannot read. Written from its rules, with its default tags."""

import json

ODD_TAGS = ("human", "observation")
EVEN_TAGS = ("gpt", "function_call")


def sharegpt_errors(line: str) -> list[str]:
    """Why LLaMA-Factory would skip this example of a ShareGPT file (empty: it is kept)."""
    example = json.loads(line)
    turns = example.get("conversations")
    if not isinstance(turns, list):
        return ["no conversations list"]
    errors = []
    if turns and turns[0].get("from") == "system":
        turns = turns[1:]
    for position, turn in enumerate(turns):
        if set(turn) != {"from", "value"} or not isinstance(turn["value"], str):
            errors.append(f"turn {position + 1} is not {{from, value}} with a string value")
        # 0-based position: even ones (1st, 3rd, ...) take a user turn or a tool result.
        if turn.get("from") not in (ODD_TAGS, EVEN_TAGS)[position % 2]:
            errors.append(f"invalid role tag {turn.get('from')!r} at turn {position + 1}")
            break
    if len(turns) % 2 != 0:
        errors.append("invalid message count")
    for turn in turns:
        if turn.get("from") == "function_call":
            errors += function_call_errors(turn["value"])
    if "tools" in example:
        errors += tools_errors(example["tools"])
    return errors


def function_call_errors(value: str) -> list[str]:
    """The function-call formatter reads JSON: {"name", "arguments"} or a list of them."""
    try:
        calls = json.loads(value)
    except ValueError:
        return ["function_call value is not JSON"]
    calls = calls if isinstance(calls, list) else [calls]
    if not calls or any(not isinstance(call, dict) or set(call) != {"name", "arguments"} for call in calls):
        return ["function_call value is not {name, arguments}"]
    if any(not isinstance(call["arguments"], dict) for call in calls):
        return ["function_call arguments are not an object (they would be encoded twice)"]
    return []


def tools_errors(tools) -> list[str]:
    """`tools` is a JSON string of function definitions (OpenAI's wrapped form is unwrapped)."""
    if not isinstance(tools, str):
        return ["tools is not a JSON string"]
    try:
        definitions = json.loads(tools)
    except ValueError:
        return ["tools is not JSON"]
    if not isinstance(definitions, list):
        return ["tools is not a list"]
    for tool in definitions:
        function = tool.get("function", {}) if tool.get("type") == "function" else tool
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return ["a tool without a name"]
    return []
