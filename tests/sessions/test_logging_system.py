"""The seed's Python API, end to end: the same rules and results as the HTTP API."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from sessions_app.logging_system import LoggingSystem
from sessions_app.models import ChatSession

pytestmark = pytest.mark.django_db


def test_a_new_logging_system_starts_a_session_for_its_user(alice):
    logging = LoggingSystem(user="alice", title="From a script")
    assert len(logging.session_id) == 12
    assert ChatSession.objects.get(session_id=logging.session_id).owner == alice


def test_log_message_stores_each_message_durably_in_order():
    logging = LoggingSystem(user="carol")
    logging.log_message(role="user", content="How do I...", metadata={"mode": "commander"})
    logging.log_message(role="assistant", content="Like this.")
    loaded = logging.load_session()
    assert [(m["seq"], m["role"], m["content"]) for m in loaded["messages"]] == [
        (1, "user", "How do I..."),
        (2, "assistant", "Like this."),
    ]
    assert loaded["mode"] == "commander"


def test_a_logged_message_points_at_its_session_as_it_now_is():
    logging = LoggingSystem(user="carol")
    logging.log_message(role="user", content="one")
    second = logging.log_message(role="assistant", content="two", metadata={"mode": "coder"})
    assert (second.seq, second.session.message_count, second.session.mode) == (2, 2, "coder")
    assert second.session.session_id == logging.session_id


def test_log_message_with_a_stored_message_id_is_skipped():
    logging = LoggingSystem(user="carol")
    assert logging.log_message(role="user", content="hi", message_id="x").seq == 1
    assert logging.log_message(role="user", content="hi", message_id="x") is None
    assert logging.session.message_count == 1


def test_bad_input_raises_a_validation_error_naming_the_field():
    logging = LoggingSystem(user="carol")
    with pytest.raises(ValidationError) as error:
        logging.log_message(role="wizard", content="x")
    assert "role" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        logging.log_message(role="user", content="x", metadata=["list"])
    assert "metadata" in error.value.message_dict


def test_save_session_appends_a_batch_all_or_nothing():
    logging = LoggingSystem(user="carol")
    result = logging.save_session([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], title="Saved")
    assert result["saved"] == 2 and result["message_count"] == 2
    with pytest.raises(ValidationError):
        logging.save_session([{"role": "user", "content": "c"}, {"role": "bad", "content": "d"}])
    assert logging.load_session()["message_count"] == 2
    assert logging.load_session()["title"] == "Saved"


def test_resume_by_session_id_and_list_sessions(alice):
    first = LoggingSystem(user="alice", title="one")
    first.log_message(role="user", content="hello")
    resumed = LoggingSystem(user="alice", session_id=first.session_id)
    resumed.log_message(role="assistant", content="welcome back")
    assert resumed.load_session()["message_count"] == 2
    LoggingSystem(user="alice", title="two")
    assert [s["title"] for s in resumed.list_sessions()] == ["two", "one"]
    assert [s["title"] for s in resumed.list_sessions(min_messages=1)] == ["one"]


def test_another_users_session_cannot_be_resumed(alice, bob):
    alices = LoggingSystem(user=alice)
    with pytest.raises(ValidationError):
        LoggingSystem(user=bob, session_id=alices.session_id)


def test_end_session_ends_it():
    logging = LoggingSystem(user="carol")
    logging.end_session()
    assert logging.session.ended_at is not None
    with pytest.raises(ValidationError):
        logging.log_message(role="user", content="too late")


@pytest.mark.django_db(transaction=True)
def test_works_from_a_plain_script(tmp_path, settings):
    """A script that only imports LoggingSystem: it sets Django up itself, against the migrated database."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{database['NAME']}"
    else:
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    script = (
        "from sessions_app.logging_system import LoggingSystem\n"
        "logging = LoggingSystem(user='scripted')\n"
        "logging.log_message(role='user', content='from a script')\n"
        "print(logging.session_id)\n"
    )
    env = {"DATABASE_URL": url, "NOVAFORGE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    session = ChatSession.objects.get(session_id=result.stdout.strip())
    assert list(session.messages.values_list("content", flat=True)) == ["from a script"]
