import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from curation_app.models import ShareLink
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


def test_a_new_share_link_is_shown_once_as_a_link_with_a_copy_button(alice):
    session = make_conversation(alice, title="Trip")
    page = logged_in(alice)
    detail = f"/sessions/{session.session_id}/"
    response = page.post(f"{detail}share", {"expires_in_days": "7"})
    assert response.status_code == 302 and response["Location"].endswith("#share-panel")
    html = page.get(detail).content.decode()
    url = re.search(r'<a href="(http://testserver/share/[^"]+)" id="new-share-url">', html).group(1)
    assert f'data-copy-text="{url}"' in html and "shown only now" in html
    assert '<details class="menu" id="share-panel" open>' in html
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    link = ShareLink.objects.get()
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    again = page.get(detail).content.decode()
    assert url not in again and "/share/" not in again  # only a hash is stored: the URL cannot be shown again
    assert f'id="share-{link.pk}"' in again and "can be revoked, not copied again" in again


def test_share_links_are_listed_and_revoked_after_a_confirmation(alice, bob):
    trip = make_conversation(alice, title="Trip")
    other = make_conversation(alice, title="Recipes")
    page = logged_in(alice)
    page.post(f"/sessions/{trip.session_id}/share", {"expires_in_days": ""})
    page.post(f"/sessions/{other.session_id}/share", {"expires_in_days": "1"})
    bobs = make_conversation(bob, title="Bob's secret")
    logged_in(bob).post(f"/sessions/{bobs.session_id}/share")
    listing = page.get("/shares/").content.decode()
    assert "Trip" in listing and "Recipes" in listing and "Until revoked" in listing
    assert "Bob" not in listing
    trip_link = ShareLink.objects.get(session=trip)
    assert re.search(rf'id="share-{trip_link.pk}".*?<summary class="button danger small">.*?Revoke…</span></summary>', listing, re.S)
    assert logged_in(bob).post(f"/shares/{trip_link.pk}/revoke").status_code == 404
    response = page.post(f"/shares/{trip_link.pk}/revoke", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/shares/"
    assert not ShareLink.objects.filter(pk=trip_link.pk).exists()
    assert f'id="share-{trip_link.pk}"' not in page.get("/shares/").content.decode()
    assert page.post(f"/sessions/{trip.session_id}/share", {"expires_in_days": "365"}).status_code == 400


def test_the_share_page_needs_a_login():
    response = Client().get("/shares/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
