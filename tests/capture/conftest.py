"""A fake model server and NovaForge under gunicorn with uvicorn's worker (as `make run` serves it), shared by
the package's tests; each test makes its own users (transactional_db: the server sees them at once).

Every test waits for what the server records for it: the tables are emptied after each test, and a
recording still running then deadlocks PostgreSQL's TRUNCATE."""

import openai
import pytest
from rest_framework.authtoken.models import Token

from tests.reliability.server import Gunicorn, free_port

from .fake_upstream import FakeUpstream

UPSTREAM_KEY = "sk-upstream-server-key-0123456789abcdef"
CLIENT_KEY = "sk-client-own-key-fedcba9876543210"


@pytest.fixture(scope="package")
def upstream():
    server = FakeUpstream().start()
    yield server
    server.stop()


def _serve(tmp_path_factory, django_db_blocker, env: dict) -> Gunicorn:
    with django_db_blocker.unblock():  # the server process needs the test database's name
        server = Gunicorn(data_dir=tmp_path_factory.mktemp("novaforge"), env={"LOG_LEVEL": "DEBUG", **env})
    return server.start()


@pytest.fixture(scope="package")
def novaforge(upstream, django_db_setup, django_db_blocker, tmp_path_factory):
    """NovaForge with no upstream key of its own: clients may bring theirs."""
    server = _serve(tmp_path_factory, django_db_blocker, {"NOVAFORGE_UPSTREAM_URL": upstream.url})
    yield server
    server.stop()


@pytest.fixture(scope="package")
def novaforge_with_key(upstream, django_db_setup, django_db_blocker, tmp_path_factory):
    env = {"NOVAFORGE_UPSTREAM_URL": upstream.url, "NOVAFORGE_UPSTREAM_API_KEY": UPSTREAM_KEY}
    server = _serve(tmp_path_factory, django_db_blocker, env)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def novaforge_without_upstream(django_db_setup, django_db_blocker, tmp_path_factory):
    """NovaForge whose upstream refuses connections (nothing listens on its port)."""
    env = {"NOVAFORGE_UPSTREAM_URL": f"http://127.0.0.1:{free_port()}/v1"}
    server = _serve(tmp_path_factory, django_db_blocker, env)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def novaforge_impatient(upstream, django_db_setup, django_db_blocker, tmp_path_factory):
    """NovaForge that waits one second for the upstream."""
    env = {"NOVAFORGE_UPSTREAM_URL": upstream.url, "NOVAFORGE_UPSTREAM_TIMEOUT": "1"}
    server = _serve(tmp_path_factory, django_db_blocker, env)
    yield server
    server.stop()


@pytest.fixture
def alice_token(transactional_db, alice) -> str:
    return Token.objects.create(user=alice).key


@pytest.fixture
def bob_token(transactional_db, bob) -> str:
    return Token.objects.create(user=bob).key


@pytest.fixture
def client_for(transactional_db):
    """`client_for(server, token)`: the official OpenAI client pointed at NovaForge, without retries."""

    def make(server: Gunicorn, token: str, **options) -> openai.OpenAI:
        return openai.OpenAI(api_key=token, base_url=server.url + "/v1", max_retries=0, timeout=30, **options)

    return make


@pytest.fixture
def alice_client(client_for, novaforge, alice_token) -> openai.OpenAI:
    return client_for(novaforge, alice_token)
