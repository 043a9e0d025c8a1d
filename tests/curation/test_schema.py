def test_the_openapi_schema_documents_the_curation_endpoints(alice_api):
    schema = alice_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "post", "delete"} <= set(paths["/api/sessions/{session_id}/messages/{seq}/feedback/"])
    assert {"get", "post"} <= set(paths["/api/shares/"])
    assert "delete" in paths["/api/shares/{id}/"]
    assert {"get", "put"} <= set(paths["/api/retention/"])
    session_fields = schema["components"]["schemas"]["ChatSession"]["properties"]
    assert {"tags", "is_pinned", "is_archived"} <= set(session_fields)
    assert "feedback" in schema["components"]["schemas"]["Message"]["properties"]
