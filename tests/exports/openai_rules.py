"""OpenAI's published checks on fine-tuning files, as the tests' referee.

Chat format: https://cookbook.openai.com/examples/chat_finetuning_data_prep (the format checks), plus
the `weight` rule of the fine-tuning guide (0 or 1, on assistant messages only).
Preference format: https://platform.openai.com/docs/guides/direct-preference-optimization.
"""

import json

CHAT_ROLES = {"system", "user", "assistant", "tool", "function"}
MESSAGE_KEYS = {
    "system": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "function_call", "tool_calls", "weight"},
    "tool": {"role", "content", "tool_call_id"},
    "function": {"role", "content", "name"},
}
USER_PART_TYPES = {"text", "image_url"}


def tools_errors(tools) -> list[str]:
    """A `tools` list: function definitions, each {"type": "function", "function": {"name", ...}}."""
    if not isinstance(tools, list) or not tools:
        return ["tools must be a non-empty list"]
    errors = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict) or not isinstance(function.get("name"), str):
            errors.append("invalid_tool")
        elif "parameters" in function and not isinstance(function["parameters"], dict):
            errors.append("invalid_tool_parameters")
    return errors


def tool_calls_errors(tool_calls) -> list[str]:
    if not isinstance(tool_calls, list) or not tool_calls:
        return ["tool_calls must be a non-empty list"]
    errors = []
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        if (
            set(call) != {"id", "type", "function"} or not isinstance(call["id"], str) or not call["id"]
            or call["type"] != "function" or not isinstance(function, dict)
            or set(function) != {"name", "arguments"} or not isinstance(function["name"], str)
        ):
            errors.append("invalid_tool_call")
        elif not isinstance(function["arguments"], str):
            errors.append("tool_call_arguments_not_a_string")
    if len({call.get("id") for call in tool_calls if isinstance(call, dict)}) != len(tool_calls):
        errors.append("duplicate_tool_call_id")
    return errors


def content_errors(message: dict) -> list[str]:
    content = message.get("content")
    if message.get("role") == "assistant" and ("tool_calls" in message or "function_call" in message):
        return [] if content is None or isinstance(content, str) else ["invalid_content"]
    if isinstance(content, list) and message.get("role") == "user":
        if not content or any(
            not isinstance(part, dict) or part.get("type") not in USER_PART_TYPES
            or (part["type"] == "text" and not isinstance(part.get("text"), str))
            or (part["type"] == "image_url" and not isinstance((part.get("image_url") or {}).get("url"), str))
            for part in content
        ):
            return ["invalid_content_part"]
        return []
    if not content or not isinstance(content, str):
        return ["missing_content"]
    return []


def tool_order_errors(messages: list) -> list[str]:
    """A tool message answers, by id, a call of the assistant message before it (only tool messages
    between them); every call is answered before the conversation goes on."""
    errors = []
    open_calls: set[str] = set()
    for message in messages:
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                errors.append("tool_message_without_matching_call")
            open_calls.discard(message.get("tool_call_id"))
            continue
        if open_calls:
            errors.append("tool_call_without_result")
        open_calls = {call.get("id") for call in message.get("tool_calls") or () if isinstance(call, dict)}
    if open_calls:
        errors.append("tool_call_without_result")
    return errors


def chat_errors(line: str) -> list[str]:
    """What OpenAI would reject in one line of a chat fine-tuning file (empty: valid)."""
    example = json.loads(line)
    if not isinstance(example, dict) or set(example) - {"messages", "tools", "parallel_tool_calls"}:
        return ["unknown top-level keys"]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["missing messages list"]
    errors = tools_errors(example["tools"]) if "tools" in example else []
    for message in messages:
        role = message.get("role")
        if "role" not in message or ("content" not in message and "tool_calls" not in message):
            errors.append("message_missing_key")
        if role not in CHAT_ROLES:
            errors.append("unrecognized_role")
            continue
        if set(message) - MESSAGE_KEYS[role]:
            errors.append("message_unrecognized_key")
        errors += content_errors(message)
        if "tool_calls" in message:
            errors += tool_calls_errors(message["tool_calls"])
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            errors.append("tool_message_missing_tool_call_id")
        if "weight" in message and (role != "assistant" or message["weight"] not in (0, 1)):
            errors.append("invalid_weight")
    errors += tool_order_errors(messages)
    if not any(message.get("role") == "assistant" for message in messages):
        errors.append("example_missing_assistant_message")
    elif not any(message.get("role") == "assistant" and message.get("weight", 1) == 1 for message in messages):
        errors.append("no_trainable_assistant_message")
    return errors


def preference_errors(line: str) -> list[str]:
    """What OpenAI would reject in one line of a preference (DPO) fine-tuning file."""
    example = json.loads(line)
    if set(example) != {"input", "preferred_output", "non_preferred_output"}:
        return ["top-level keys must be input, preferred_output, non_preferred_output"]
    errors = []
    prompt = example["input"]
    if not isinstance(prompt, dict) or set(prompt) - {"messages", "tools", "parallel_tool_calls"}:
        errors.append("input has unknown keys")
    messages = prompt.get("messages") if isinstance(prompt, dict) else None
    if not isinstance(messages, list) or not messages:
        errors.append("input.messages must be a non-empty list")
    else:
        for message in messages:
            if set(message) != {"role", "content"} or message["role"] not in {"system", "user", "assistant"}:
                errors.append("bad input message")
            elif not isinstance(message["content"], str) or not message["content"]:
                errors.append("input message content must be text")
        if messages[-1].get("role") != "user":
            errors.append("input must end with the user's prompt")
    for key in ("preferred_output", "non_preferred_output"):
        output = example[key]
        if not isinstance(output, list) or len(output) != 1:
            errors.append(f"{key} must hold exactly one message")
            continue
        message = output[0]
        if set(message) != {"role", "content"} or message["role"] != "assistant":
            errors.append(f"{key} must be one assistant message")
        elif not isinstance(message["content"], str) or not message["content"]:
            errors.append(f"{key} content must be text")
    if not errors and example["preferred_output"] == example["non_preferred_output"]:
        errors.append("preferred and non-preferred outputs are the same")
    return errors
