"""Bad input of every kind answers a clear 4xx (never a 500) and writes nothing."""


import pytest

from sessions_app.models import ChatSession, Message

HUGE = 10**30


@pytest.fixture
def save_url():
    return "/api/sessions/save"


def raw_post(client, url, body: bytes, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def assert_refused(response, *, named=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if named:
        assert named in response.json(), response.json()


def nothing_written(session):
    return Message.objects.filter(session=session).count() == 0 and ChatSession.objects.count() == 1


def test_a_body_larger_than_the_limit_is_refused_with_413(alice_api, alice_session, save_url, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    messages = [{"role": "user", "content": "x" * 1000} for _ in range(150)]
    response = alice_api.post(save_url, {"session_id": alice_session.session_id, "messages": messages}, format="json")
    assert response.status_code == 413
    assert "100000 bytes" in response.json()["detail"]
    assert nothing_written(alice_session)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"session_id": "' + b"a" * 12 + b'", "messages": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    ],
    ids=["deep-array", "deep-messages"],
)
def test_json_nested_too_deeply_is_refused(alice_api, alice_session, save_url, body):
    assert_refused(raw_post(alice_api, save_url, body))
    assert nothing_written(alice_session)


@pytest.mark.parametrize("depth", [50, 200, 900])
def test_deep_metadata_is_refused_or_stored_never_a_500(alice_api, alice_session, save_url, depth):
    metadata = {}
    for _ in range(depth):
        metadata = {"a": metadata}
    body = {"session_id": alice_session.session_id, "messages": [{"role": "user", "content": "x", "metadata": metadata}]}
    response = alice_api.post(save_url, body, format="json")
    assert response.status_code < 500
    if response.status_code == 200:
        assert alice_api.post("/api/sessions/load", {"session_id": alice_session.session_id}, format="json").status_code == 200
    else:
        assert_refused(response, named="messages")
        assert nothing_written(alice_session)


def test_too_many_messages_in_one_save_is_refused(alice_api, alice_session, save_url):
    messages = [{"role": "user", "content": "x"}] * 1001
    assert_refused(alice_api.post(save_url, {"session_id": alice_session.session_id, "messages": messages}, format="json"), named="messages")
    assert nothing_written(alice_session)


def test_content_over_the_limit_is_refused(alice_api, alice_session, save_url, settings):
    settings.NOVAFORGE = {**settings.NOVAFORGE, "MAX_CONTENT_CHARS": 1000}
    messages = [{"role": "user", "content": "ok"}, {"role": "user", "content": "x" * 1001}]
    response = alice_api.post(save_url, {"session_id": alice_session.session_id, "messages": messages}, format="json")
    assert_refused(response, named="messages")
    assert "content" in response.json()["messages"]["1"]  # the second message, by its index
    assert nothing_written(alice_session)


@pytest.mark.parametrize(
    "body",
    [b'{"session_id": "\xff\xfe\xfd"}', b"\xff" * 100, b'{"title": "caf\xe9"}'],
    ids=["bad-bytes-in-string", "only-bad-bytes", "latin-1"],
)
def test_invalid_utf8_is_refused(alice_api, alice_session, body):
    assert_refused(raw_post(alice_api, "/api/sessions/save", body))
    assert_refused(raw_post(alice_api, "/api/sessions/start", body))
    assert nothing_written(alice_session)


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user", "content": "nul \x00 byte"},
        {"role": "user", "content": "ok", "message_id": "id\x00"},
        {"role": "user", "content": "ok", "metadata": {"note": "nul \x00 byte"}},
        {"role": "user", "content": "ok", "metadata": {"key\x00": 1}},
    ],
    ids=["content", "message_id", "metadata-value", "metadata-key"],
)
def test_nul_bytes_are_refused(alice_api, alice_session, save_url, message):
    response = alice_api.post(save_url, {"session_id": alice_session.session_id, "messages": [message]}, format="json")
    assert_refused(response, named="messages")
    assert nothing_written(alice_session)


@pytest.mark.parametrize(
    "url,body",
    [
        ("/api/sessions/start", {"title": "nul \x00"}),
        ("/api/sessions/start", {"metadata": {"x": "\x00"}}),
        ("/api/sessions/list", {"q": "\x00"}),
        ("/api/sessions/list", {"mode": "\x00"}),
    ],
)
def test_nul_bytes_anywhere_else_are_refused(alice_api, alice_session, url, body):
    assert_refused(alice_api.post(url, body, format="json"))
    assert nothing_written(alice_session)


@pytest.mark.parametrize("query", ["q=%00", "mode=%00", "q=a%00b"])
def test_nul_bytes_in_query_filters_are_refused(alice_api, alice_session, query):
    assert_refused(alice_api.get(f"/api/sessions/?{query}"))


@pytest.mark.parametrize(
    "body,field",
    [
        ({"messages": []}, "session_id"),
        ({"session_id": 123456789012, "messages": []}, "session_id"),
        ({"session_id": "SID", "messages": "hello"}, "messages"),
        ({"session_id": "SID", "messages": [{"role": "user", "content": 42}]}, "messages"),
        ({"session_id": "SID", "messages": [{"role": None, "content": "x"}]}, "messages"),
        ({"session_id": "SID", "messages": [{"role": "wizard", "content": "x"}]}, "messages"),
        ({"session_id": "SID", "messages": [{"role": "user", "content": "x", "metadata": []}]}, "messages"),
        ({"session_id": "SID", "messages": [{"role": "user", "content": "x", "created_at": "yesterday"}]}, "messages"),
        ({"session_id": "SID", "messages": [{"role": "user", "content": "x", "message_id": "m" * 65}]}, "messages"),
        ({"session_id": "SID", "messages": [["user", "x"]]}, "messages"),
        ({"session_id": "SID", "messages": [], "metadata": "x"}, "metadata"),
        ({"session_id": "SID", "messages": [], "title": ["x"]}, "title"),
        ({"session_id": "SID", "messages": [], "bogus": 1}, "bogus"),
        ({"session_id": "SID", "messages": [{"role": "user", "content": "x", "colour": "red"}]}, "messages"),
    ],
)
def test_wrong_types_and_unknown_fields_are_refused_by_name(alice_api, alice_session, save_url, body, field):
    body = {key: alice_session.session_id if value == "SID" else value for key, value in body.items()}
    assert_refused(alice_api.post(save_url, body, format="json"), named=field)
    assert nothing_written(alice_session)


def test_a_json_body_that_is_not_an_object_is_refused(alice_api, alice_session):
    """Lists, strings, numbers, null and true are refused by every action that takes a body."""
    for body in (b"[]", b'"text"', b"42", b"null", b"true", b""):
        for url in ("/api/sessions/save", "/api/sessions/start", "/api/sessions/list", "/api/sessions/load"):
            response = raw_post(alice_api, url, body)
            if body == b"" and url in ("/api/sessions/start", "/api/sessions/list"):
                continue  # no body: an untitled session, an unfiltered list
            assert_refused(response)
    assert Message.objects.count() == 0


ABSURD_PAGES = ["0", "-1", str(HUGE), "abc", "1.5", "", "%00"]
ABSURD_SIZES = ["0", "-1", str(10**9), str(HUGE), "abc"]


@pytest.mark.parametrize("value", ABSURD_PAGES)
def test_absurd_page_numbers_are_refused(alice_api, alice_session, value):
    for url in ("/api/sessions/", f"/api/sessions/{alice_session.session_id}/messages/"):
        response = alice_api.get(f"{url}?page={value}")
        if value == "":
            assert response.status_code == 200
        else:
            assert_refused(response)


@pytest.mark.parametrize("value", ABSURD_SIZES)
def test_absurd_page_sizes_are_refused(alice_api, alice_session, value):
    for url in ("/api/sessions/", f"/api/sessions/{alice_session.session_id}/messages/"):
        assert_refused(alice_api.get(f"{url}?page_size={value}"), named="page_size")


@pytest.mark.parametrize(
    "body",
    [{"page": 0}, {"page": -1}, {"page": HUGE}, {"page": "abc"}, {"page_size": 10**9}, {"page_size": HUGE}, {"page_size": 0}, {"page": None}],
)
def test_absurd_pagination_in_the_list_body_is_refused(alice_api, alice_session, body):
    assert_refused(alice_api.post("/api/sessions/list", body, format="json"))


@pytest.mark.parametrize(
    "query", [f"after_seq={HUGE}", "after_seq=-1", "after_seq=abc", f"min_messages={HUGE}", "min_messages=-5", "ended=maybe", "role=wizard",
              "started_after=yesterday", "started_after=99999-01-01", "ordering=password", f"ordering=-{'x' * 1000}"],
)
def test_absurd_filters_are_refused(alice_api, alice_session, query):
    url = f"/api/sessions/{alice_session.session_id}/messages/" if query.startswith(("after_seq", "role")) else "/api/sessions/"
    assert_refused(alice_api.get(f"{url}?{query}"))


@pytest.mark.parametrize("body", [{"after_seq": HUGE}, {"after_seq": -1}, {"limit": HUGE}, {"limit": 0}, {"after_seq": "abc"}, {"limit": 10**9}])
def test_absurd_load_bounds_are_refused(alice_api, alice_session, body):
    response = alice_api.post("/api/sessions/load", {"session_id": alice_session.session_id, **body}, format="json")
    assert_refused(response, named=next(iter(body)))


def test_a_huge_number_in_a_list_filter_is_refused(alice_api, alice_session):
    assert_refused(alice_api.post("/api/sessions/list", {"min_messages": HUGE}, format="json"))


# Date-times every database can store: PostgreSQL refuses a UTC offset of 16 hours or more, and a
# moment must stay within years 1-9999 once converted to UTC.
UNSTORABLE_MOMENTS = [
    "7160-05-25T22:36:07.366939-21:49",
    "2026-01-31T12:00:00+16:00",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:30:00+01:00",
]


@pytest.mark.parametrize("moment", UNSTORABLE_MOMENTS)
@pytest.mark.parametrize("name", ["started_after", "started_before"])
def test_unstorable_date_times_in_session_filters_are_refused_by_name(alice_api, alice_session, name, moment):
    assert_refused(alice_api.get("/api/sessions/", {"ended": "false", name: moment, "q": "42"}), named=name)
    assert_refused(alice_api.post("/api/sessions/list", {name: moment}, format="json"), named=name)


@pytest.mark.parametrize("moment", UNSTORABLE_MOMENTS)
@pytest.mark.parametrize("name", ["since", "until"])
def test_unstorable_date_times_in_analytics_are_refused_by_name(alice_api, name, moment):
    assert_refused(alice_api.get("/api/analytics/summary/", {name: moment, "granularity": "month"}), named=name)


@pytest.mark.parametrize("moment", UNSTORABLE_MOMENTS)
def test_unstorable_date_times_in_bodies_are_refused_by_name(alice_api, alice_session, moment):
    message = {"role": "user", "content": "x", "created_at": moment}
    response = alice_api.post(
        "/api/sessions/save", {"session_id": alice_session.session_id, "messages": [message]}, format="json"
    )
    assert_refused(response, named="messages")
    assert "created_at" in response.json()["messages"]["0"]
    response = alice_api.post("/api/shares/", {"session_id": alice_session.session_id, "expires_at": moment}, format="json")
    assert_refused(response, named="expires_at")
    assert nothing_written(alice_session)


def test_a_date_time_with_a_real_offset_is_taken_and_compared_in_utc(alice_api, alice_session):
    started = alice_session.started_at.isoformat()
    assert alice_api.get("/api/sessions/", {"started_after": "2000-01-01T00:00:00-12:00"}).json()["count"] == 1
    assert alice_api.get("/api/sessions/", {"started_before": "2000-01-01T00:00:00+14:00"}).json()["count"] == 0
    assert alice_api.get("/api/sessions/", {"started_after": started}).json()["count"] == 1


@pytest.mark.parametrize(
    "name,value",
    [("q", 0), ("started_after", 0), ("started_before", 0), ("mode", 0), ("ordering", 0), ("q", ["a"]),
     ("mode", {"a": 1}), ("ordering", True), ("started_after", None)],
)
def test_non_strings_in_the_list_body_are_refused_by_name(alice_api, alice_session, name, value):
    assert_refused(alice_api.post("/api/sessions/list", {name: value}, format="json"), named=name)


def test_the_list_body_found_by_fuzzing_is_refused(alice_api, alice_session):
    body = {"page": 1, "page_size": 1, "q": "", "started_after": "0", "started_before": "0", "mode": "0",
            "min_messages": 0, "ordering": 0}
    assert_refused(alice_api.post("/api/sessions/list", body, format="json"), named="ordering")


def test_options_with_a_json_body_describes_the_endpoint(alice_api):
    for url in ("/api/retention/", "/api/sessions/", "/api/memory/items/"):
        response = alice_api.options(url, {"delete_after_days": 5}, format="json")
        assert response.status_code == 200, (url, response.content[:300])

