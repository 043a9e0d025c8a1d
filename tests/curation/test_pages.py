from django.test import Client

from sessions_app.models import ChatSession
from tests.factories import make_conversation


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_conversation_page_rates_pins_archives_tags_and_shares(alice, bob):
    session = make_conversation(alice, title="Trip")
    page = logged_in(alice)
    detail = f"/sessions/{session.session_id}/"
    assert page.post(f"/sessions/{session.session_id}/messages/2/rate", {"rating": "-1"}).status_code == 302
    assert page.post(f"/sessions/{session.session_id}/messages/1/rate", {"rating": "1"}).status_code == 302
    page.post(f"/sessions/{session.session_id}/curate", {"action": "pin"})
    page.post(f"/sessions/{session.session_id}/curate", {"action": "archive"})
    page.post(f"/sessions/{session.session_id}/curate", {"tags": "Work, travel"})
    session.refresh_from_db()
    assert (session.is_pinned, session.is_archived) == (True, True)
    assert [tag.name for tag in session.tags.all()] == ["travel", "work"]
    assert session.messages.get(seq=2).feedback.rating == -1
    assert not hasattr(session.messages.get(seq=1), "feedback")  # a user message is not rated
    html = page.get(detail).content.decode()
    assert 'aria-pressed="true" title="Bad answer"' in html
    assert "Unpin" in html and "Unarchive" in html and 'value="travel, work"' in html
    shared = page.post(f"/sessions/{session.session_id}/share", follow=True).content.decode()
    token_url = shared.split("/share/", 1)[1].split("<", 1)[0].split('"', 1)[0]
    assert Client().get("/share/" + token_url).status_code == 200
    bobs = logged_in(bob)
    assert bobs.post(f"/sessions/{session.session_id}/curate", {"action": "unpin"}).status_code == 404
    assert bobs.post(f"/sessions/{session.session_id}/messages/2/rate", {"rating": "1"}).status_code == 404
    assert bobs.post(f"/sessions/{session.session_id}/share").status_code == 404
    assert ChatSession.objects.get(pk=session.pk).is_pinned is True


def test_the_session_list_page_puts_pinned_first_and_hides_archived(alice):
    make_conversation(alice, title="older pinned")
    make_conversation(alice, title="newer")
    hidden = make_conversation(alice, title="archived one")
    page = logged_in(alice)
    pinned = ChatSession.objects.get(title="older pinned")
    page.post(f"/sessions/{pinned.session_id}/curate", {"action": "pin"})
    page.post(f"/sessions/{hidden.session_id}/curate", {"action": "archive"})
    html = page.get("/sessions/").content.decode()
    assert html.index("older pinned") < html.index("newer")
    assert "archived one" not in html
    assert "archived one" in page.get("/sessions/", {"q": "archived:true"}).content.decode()
