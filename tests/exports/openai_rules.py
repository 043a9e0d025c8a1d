"""OpenAI's published checks on fine-tuning files, as the tests' referee.

Chat format: https://cookbook.openai.com/examples/chat_finetuning_data_prep (the format checks), plus
the `weight` rule of the fine-tuning guide (0 or 1, on assistant messages only).
Preference format: https://platform.openai.com/docs/guides/direct-preference-optimization.
"""

import json

CHAT_ROLES = {"system", "user", "assistant", "function"}
MESSAGE_KEYS = {"role", "content", "name", "function_call", "weight"}


def chat_errors(line: str) -> list[str]:
    """What OpenAI would reject in one line of a chat fine-tuning file (empty: valid)."""
    example = json.loads(line)
    if not isinstance(example, dict) or set(example) - {"messages", "tools", "parallel_tool_calls"}:
        return ["unknown top-level keys"]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["missing messages list"]
    errors = []
    for message in messages:
        if "role" not in message or "content" not in message:
            errors.append("message_missing_key")
        if set(message) - MESSAGE_KEYS:
            errors.append("message_unrecognized_key")
        if message.get("role") not in CHAT_ROLES:
            errors.append("unrecognized_role")
        content = message.get("content")
        if (not content and not message.get("function_call")) or not isinstance(content, str):
            errors.append("missing_content")
        if "weight" in message and (message["role"] != "assistant" or message["weight"] not in (0, 1)):
            errors.append("invalid_weight")
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
