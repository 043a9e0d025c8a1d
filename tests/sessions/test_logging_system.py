"""The Python API, end to end: the same rules and results as the HTTP API."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from sessions_app.logging_system import LoggingSystem
from sessions_app.models import ChatSession
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def carol(db):
    return make_user("carol")


def assert_plain_json(value):
    """Only what json.loads gives: no model instances, enums, tuples, datetimes or DRF return types."""
    if type(value) is dict:
        for key, item in value.items():
            assert type(key) is str
            assert_plain_json(item)
    elif type(value) is list:
        for item in value:
            assert_plain_json(item)
    else:
        assert type(value) in (str, int, float, bool, type(None)), f"{value!r} is a {type(value).__name__}"


def test_a_new_logging_system_starts_a_session_for_its_user(alice):
    logging = LoggingSystem(user="alice", title="From a script")
    assert len(logging.session_id) == 12
    assert ChatSession.objects.get(session_id=logging.session_id).owner == alice


def test_log_message_stores_each_message_durably_in_order(carol):
    logging = LoggingSystem(user="carol")
    logging.log_message(role="user", content="How do I...", metadata={"mode": "commander"})
    logging.log_message(role="assistant", content="Like this.")
    loaded = logging.load_session()
    assert [(m["seq"], m["role"], m["content"]) for m in loaded["messages"]] == [
        (1, "user", "How do I..."),
        (2, "assistant", "Like this."),
    ]
    assert loaded["mode"] == "commander"


def test_after_logging_a_message_the_session_is_as_it_now_is(carol):
    logging = LoggingSystem(user="carol")
    logging.log_message(role="user", content="one")
    second = logging.log_message(role="assistant", content="two", metadata={"mode": "coder"})
    assert (second["seq"], logging.session.message_count, logging.session.mode) == (2, 2, "coder")
    assert logging.load_session()["session_id"] == logging.session_id


def test_log_message_with_a_stored_message_id_is_skipped(carol):
    logging = LoggingSystem(user="carol")
    assert logging.log_message(role="user", content="hi", message_id="x")["seq"] == 1
    assert logging.log_message(role="user", content="hi", message_id="x") is None
    assert logging.session.message_count == 1


def test_bad_input_raises_a_validation_error_naming_the_field(carol):
    logging = LoggingSystem(user="carol")
    with pytest.raises(ValidationError) as error:
        logging.log_message(role="wizard", content="x")
    assert "role" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        logging.log_message(role="user", content="x", metadata=["list"])
    assert "metadata" in error.value.message_dict


def test_save_session_appends_a_batch_all_or_nothing(carol):
    logging = LoggingSystem(user="carol")
    result = logging.save_session(
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], title="Saved"
    )
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


def test_end_session_ends_it(carol):
    logging = LoggingSystem(user="carol")
    ended = logging.end_session()
    assert logging.session.ended_at is not None
    assert ended["session_id"] == logging.session_id and ended["ended_at"] is not None
    with pytest.raises(ValidationError):
        logging.log_message(role="user", content="too late")


@pytest.mark.django_db(transaction=True)
def test_works_from_a_plain_script(tmp_path, settings):
    """A script that only imports LoggingSystem: it sets Django up itself, against the migrated database."""
    script = (
        "from sessions_app.logging_system import LoggingSystem\n"
        "logging = LoggingSystem(user='scripted', create_user=True)\n"
        "logging.log_message(role='user', content='from a script')\n"
        "print(logging.session_id)\n"
    )
    env = {"DATABASE_URL": _database_url(settings), "NOVAFORGE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    session = ChatSession.objects.get(session_id=result.stdout.strip())
    assert list(session.messages.values_list("content", flat=True)) == ["from a script"]


def test_an_unknown_user_is_refused_naming_it_and_how_to_create_it(alice):
    with pytest.raises(ValidationError) as refused:
        LoggingSystem(user="alcie")
    [message] = refused.value.message_dict["user"]
    assert '"alcie"' in message and "createsuperuser" in message and "create_user=True" in message
    assert not get_user_model().objects.filter(username="alcie").exists()
    assert ChatSession.objects.count() == 0


def test_create_user_makes_the_account_once_without_a_password(db):
    first = LoggingSystem(user="dave", create_user=True)
    again = LoggingSystem(user="dave", create_user=True)
    assert first.user == again.user == get_user_model().objects.get(username="dave")
    assert not first.user.has_usable_password()
    assert LoggingSystem(user="dave").user == first.user


def test_every_call_returns_what_the_http_api_shows(alice, alice_api):
    logging = LoggingSystem(user="alice", title="Shapes")
    asked = logging.log_message(role="user", content="Hi", metadata={"pair": (1, 2)})
    answered = logging.log_message(role="assistant", content="Hello!")
    session_id = logging.session_id

    assert [asked, answered] == alice_api.get(f"/api/sessions/{session_id}/messages/").json()["results"]
    assert asked["metadata"] == {"pair": [1, 2]}  # as stored and served: JSON has no tuples

    rated = logging.rate(2, +1, reason="clear")
    assert (rated["seq"], rated["rating"], rated["reason"], rated["comment"]) == (2, 1, "clear", "")
    assert isinstance(rated["created_at"], str) and isinstance(rated["updated_at"], str)

    loaded = alice_api.post("/api/sessions/load", {"session_id": session_id}, format="json").json()
    del loaded["next_after_seq"]  # the HTTP load comes in parts; the Python API's is always whole
    assert logging.load_session() == loaded
    assert logging.list_sessions() == alice_api.get("/api/sessions/").json()["results"]
    ended = logging.end_session()
    assert ended == alice_api.get(f"/api/sessions/{session_id}/").json()
    assert isinstance(ended["ended_at"], str)
    for value in (asked, rated, logging.load_session(), logging.list_sessions(), ended):
        assert_plain_json(value)


@pytest.mark.django_db(transaction=True)
def test_a_script_in_any_folder_imports_the_python_api_and_logs(tmp_path, settings):
    """What `make run` / `make test` install (the project, editable) lets a script outside the project
    folder import the Python API, with nothing on PYTHONPATH."""
    make_user("scripter")
    elsewhere = tmp_path / "scripts"
    elsewhere.mkdir()
    (elsewhere / "log_chat.py").write_text(
        "from sessions_app.logging_system import LoggingSystem\n"
        "logging = LoggingSystem(user='scripter')\n"
        "logging.log_message(role='user', content='from a script elsewhere')\n"
        "print(logging.session_id)\n"
    )
    env = {
        "DATABASE_URL": _database_url(settings),
        "NOVAFORGE_DATA_DIR": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "log_chat.py"], check=False, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"Is the project installed (pip install --no-deps -e .)?\n{result.stderr}"
    session = ChatSession.objects.get(session_id=result.stdout.strip())
    assert list(session.messages.values_list("content", flat=True)) == ["from a script elsewhere"]


def test_a_script_in_any_folder_uses_the_project_folders_data_directory(tmp_path):
    """The same database as the server: memory/ beside the code, wherever the script runs."""
    script = (
        "from novaforge.standalone import ensure_django\n"
        "ensure_django()\n"
        "from django.conf import settings\n"
        "print(settings.BASE_DIR)\n"
        "print(settings.DATA_DIR)\n"
        "print(settings.DATABASES['default']['NAME'])\n"
    )
    # A SECRET_KEY, so the run writes no key file into the project's data directory.
    env = {"SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"Is the project installed (pip install --no-deps -e .)?\n{result.stderr}"
    base_dir, data_dir, database = (Path(line) for line in result.stdout.splitlines())
    assert (base_dir / "manage.py").exists()
    assert data_dir == base_dir / "memory"
    assert database == data_dir / "novaforge.sqlite3"


def _database_url(settings) -> str:
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def test_the_python_api_logs_tool_calls_reasoning_parts_and_branches(carol):
    logging = LoggingSystem(user=carol)
    call = {"id": "call_7", "type": "function", "function": {"name": "lookup", "arguments": '{"q":  "x"}'}}
    logging.log_message(
        "user",
        [
            {"type": "text", "text": "Look it up"},
            {"type": "input_audio", "input_audio": {"data": "QUJD", "format": "wav"}},
        ],
    )
    logging.log_message("assistant", "", tool_calls=[call], reasoning="I should look it up.")
    logging.log_message("tool", "found", tool_call_id="call_7", name="lookup")
    logging.log_message("assistant", "It is x.")
    logging.log_message("assistant", "x, it is.", parent_seq=3)  # a regeneration

    loaded = logging.load_session()
    assert [m["seq"] for m in loaded["messages"]] == [1, 2, 3, 5]
    first, asked = loaded["messages"][0], loaded["messages"][1]
    assert first["content"] == "Look it up" and first["parts"][1]["input_audio"]["data"] == "QUJD"
    assert asked["tool_calls"] == [call] and asked["reasoning"] == "I should look it up."
    assert len(logging.load_session(branches="all")["messages"]) == 5
    logging.switch_branch(4)
    assert [m["content"] for m in logging.load_session()["messages"]][-1] == "It is x."
    with pytest.raises(ValidationError) as refused:
        logging.log_message("tool", "?", tool_call_id="call_unknown")
    assert "tool_call_id" in refused.value.message_dict
