# Answers any operation may give besides its own, documented so clients (and the schema fuzzer in
# tests/reliability) can rely on the shape: DRF's {"detail": ...} or {"<field>": ["<problem>", ...]}.
ERROR_RESPONSES = {
    "400": "Bad input: the body names each offending field.",
    "401": "No valid credentials.",
    "403": "Not allowed (for a logged-in browser session: a missing CSRF token).",
    "404": "No such object among yours (another user's answers 404 too), or a page past the end.",
    "413": "The request body is larger than the server accepts.",
    "429": "Too many requests; the Retry-After header says when to try again.",
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: add the error answers to every operation of the schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = {
        "type": "object",
        "description": '{"detail": "<message>"} or {"<field>": ["<problem>", ...]}',
        "additionalProperties": True,
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True  # django-filter takes `?mode=` as "not filtering"
            codes = ["401", "403", "404", "429"]
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append("400")
            if operation.get("requestBody"):
                codes.append("413")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, {**error, "description": ERROR_RESPONSES[code]})
    return result
