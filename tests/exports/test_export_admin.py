from django.contrib.auth import get_user_model

from tests.exports.openai_rules import chat_errors
from tests.factories import make_conversation


def test_the_admin_action_downloads_the_selected_sessions(client, alice, bob):
    staff = get_user_model().objects.create_superuser("root", password="root-pw-123!")
    client.force_login(staff)
    selected = make_conversation(alice, turns=(("user", "selected"), ("assistant", "yes")))
    make_conversation(bob, turns=(("user", "not selected"), ("assistant", "no")))

    response = client.post(
        "/admin/sessions_app/chatsession/",
        {"action": "export_selected", "_selected_action": [selected.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    [line] = b"".join(response.streaming_content).decode().splitlines()
    assert chat_errors(line) == [] and "selected" in line and "not selected" not in line


def test_the_admin_action_says_why_when_nothing_can_be_exported(client, alice):
    staff = get_user_model().objects.create_superuser("root", password="root-pw-123!")
    client.force_login(staff)
    unanswered = make_conversation(alice, turns=(("user", "no answer yet"),))

    response = client.post(
        "/admin/sessions_app/chatsession/",
        {"action": "export_selected", "_selected_action": [unanswered.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Nothing to export as jsonl" in response.content.decode()
