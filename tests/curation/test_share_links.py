import re
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import add_messages, make_conversation, make_session


@pytest.fixture
def chat(alice):
    return make_conversation(
        alice,
        title="Trip <planning>",
        turns=[("user", "Where should I go?"), ("assistant", "<script>alert('x')</script> Lisbon.")],
    )


def share(client, session, **body):
    response = client.post("/api/shares/", {"session_id": session.session_id, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def path_of(url: str) -> str:
    return url.split("testserver", 1)[1]


def test_a_shared_session_opens_without_login_with_content_escaped(alice_api, chat):
    link = share(alice_api, chat)
    assert (link["session_id"], link["message_count"], link["title"]) == (chat.session_id, 2, "Trip <planning>")
    page = Client().get(path_of(link["url"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where should I go?" in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt; Lisbon." in html
    assert "<script>alert" not in html
    assert "Trip &lt;planning&gt;" in html
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in page["Cache-Control"]


def test_a_shared_session_shows_no_notice_boxes_above_its_title(alice_api, chat):
    html = Client().get(path_of(share(alice_api, chat)["url"])).content.decode()
    assert 'class="flash"' not in html
    assert not re.search(r"\d+#\d+ (user|assistant)", html)  # how a message names itself: "<pk>#<seq> <role>"
    assert html.count("Where should I go?") == 1


def test_a_shared_session_renders_markdown_as_the_owner_sees_it(alice_api, alice):
    session = make_conversation(alice, turns=[("assistant", "Use **bold** and:\n\n```python\nprint(1 < 2)\n```")])
    html = Client().get(path_of(share(alice_api, session)["url"])).content.decode()
    assert "<strong>bold</strong>" in html
    assert '<div class="codehilite"><pre><span></span><code><span class="nb">print</span>' in html
    assert '<span class="o">&lt;</span>' in html  # highlighted, and the code's "<" still shown as text


def test_the_link_shows_the_conversation_as_it_was_when_shared(alice_api, chat):
    link = share(alice_api, chat)
    add_messages(chat, ("user", "Added after sharing"))
    alice_api.patch(f"/api/sessions/{chat.session_id}/", {"title": "Renamed later"}, format="json")
    html = Client().get(path_of(link["url"]).rstrip("/")).content.decode()
    assert "Added after sharing" not in html
    assert "Trip &lt;planning&gt;" in html and "Renamed later" not in html


def test_tokens_are_long_random_and_distinct(alice_api, chat):
    tokens = {path_of(share(alice_api, chat)["url"]).split("/")[2] for _ in range(3)}
    assert len(tokens) == 3
    assert all(len(token) >= 43 for token in tokens)


def test_a_revoked_link_is_404_at_once(alice_api, chat):
    link = share(alice_api, chat)
    assert Client().get(path_of(link["url"])).status_code == 200
    assert alice_api.delete(f"/api/shares/{link['id']}/").status_code == 204
    assert Client().get(path_of(link["url"])).status_code == 404
    assert alice_api.get("/api/shares/").json()["results"] == []


def test_an_expired_link_is_404(alice_api, chat):
    expires_at = timezone.now() + timedelta(hours=1)
    link = share(alice_api, chat, expires_at=expires_at.isoformat())
    assert Client().get(path_of(link["url"])).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=expires_at + timedelta(seconds=1)):
        assert Client().get(path_of(link["url"])).status_code == 404


def test_wrong_revoked_and_expired_tokens_get_the_same_answer(alice_api, chat):
    revoked = share(alice_api, chat)
    alice_api.delete(f"/api/shares/{revoked['id']}")
    expired = share(alice_api, chat, expires_at=(timezone.now() + timedelta(minutes=5)).isoformat())
    live = share(alice_api, chat)
    later = timezone.now() + timedelta(minutes=10)
    with mock.patch("django.utils.timezone.now", return_value=later):
        answers = [
            Client().get(path)
            for path in (
                path_of(revoked["url"]),
                path_of(expired["url"]),
                path_of(live["url"])[:-5] + "AAAA/",
                "/share/x/",
            )
        ]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.content for answer in answers}) == 1


def test_an_expiry_in_the_past_is_400(alice_api, chat):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = alice_api.post("/api/shares/", {"session_id": chat.session_id, "expires_at": past}, format="json")
    assert response.status_code == 400
    assert "expires_at" in response.json()


def test_the_owner_lists_their_links_without_tokens(alice_api, alice, chat):
    other = make_session(alice, title="other")
    share(alice_api, chat)
    share(alice_api, other)
    links = alice_api.get("/api/shares").json()["results"]
    assert sorted(link["session_id"] for link in links) == sorted([chat.session_id, other.session_id])
    assert all("url" not in link for link in links)
    only_chat = alice_api.get("/api/shares/", {"session_id": chat.session_id}).json()["results"]
    assert [link["session_id"] for link in only_chat] == [chat.session_id]


def test_another_user_cannot_share_list_or_revoke(alice_api, bob_api, chat):
    assert bob_api.post("/api/shares/", {"session_id": chat.session_id}, format="json").status_code == 404
    link = share(alice_api, chat)
    assert bob_api.get("/api/shares/").json()["results"] == []
    assert bob_api.get("/api/shares/", {"session_id": chat.session_id}).json()["results"] == []
    assert bob_api.delete(f"/api/shares/{link['id']}/").status_code == 404
    assert Client().get(path_of(link["url"])).status_code == 200


def test_deleting_the_session_kills_its_links(alice_api, chat):
    link = share(alice_api, chat)
    alice_api.delete(f"/api/sessions/{chat.session_id}/")
    assert Client().get(path_of(link["url"])).status_code == 404


def test_an_archived_session_can_be_shared(alice_api, chat):
    alice_api.patch(f"/api/sessions/{chat.session_id}/", {"is_archived": True}, format="json")
    assert Client().get(path_of(share(alice_api, chat)["url"])).status_code == 200


def test_listing_links_takes_a_fixed_number_of_queries(alice_api, alice, django_assert_max_num_queries):
    for n in range(20):
        share(alice_api, make_session(alice, title=f"s{n}"))
    with django_assert_max_num_queries(4):
        assert len(alice_api.get("/api/shares/").json()["results"]) == 20


def test_a_link_to_a_branched_session_shows_the_branch_that_was_active(alice_api, chat):
    url = f"/api/sessions/{chat.session_id}/messages/"
    alice_api.post(url, {"role": "assistant", "content": "Porto instead.", "parent_seq": 1}, format="json")
    link = share(alice_api, chat)
    assert link["message_count"] == 2
    alice_api.patch(f"/api/sessions/{chat.session_id}/", {"current_seq": 2}, format="json")  # switched later
    html = Client().get(path_of(link["url"])).content.decode()
    assert "Porto instead." in html and "Lisbon." not in html
