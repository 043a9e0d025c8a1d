"""Schemathesis fuzzes every operation of /api/schema/ on a live server, authenticated with a token:
no answer may be a server error, and every answer must match what the schema documents."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.models import ChatSession
from tests.factories import add_messages, make_session, make_user

from . import figures

pytestmark = [pytest.mark.slow]

# Examples per operation and generation mode: well under a minute for the whole schema on one core.
# Raise it for a deeper run: NOVAFORGE_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/reliability/test_fuzzing.py
EXAMPLES = int(os.environ.get("NOVAFORGE_FUZZ_EXAMPLES", "12"))
CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance, negative_data_rejection],
}


class Target:
    """A session of the fuzzing user with a few messages; replaced once deleted or ended."""

    def __init__(self, owner):
        self.owner = owner
        self.session = None

    def session_id(self) -> str:
        if self.session is None or not ChatSession.objects.filter(pk=self.session.pk, ended_at__isnull=True).exists():
            self.session = make_session(self.owner, title="fuzz target")
            add_messages(self.session, ("user", "hello"), ("assistant", "hi there"))
        return self.session.session_id


def aim_at_real_objects(case, target: Target) -> None:
    """Point generated ids at a session that exists, so the fuzzer gets past the 404 into the code."""
    if "session_id" in (case.path_parameters or {}):
        case.path_parameters["session_id"] = target.session_id()
    if isinstance(case.body, dict) and isinstance(case.body.get("session_id"), str):
        case.body["session_id"] = target.session_id()


def test_every_operation_answers_without_server_errors_and_as_documented(live_server, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}
    user = make_user("fuzzer")
    auth = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    target = Target(user)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    findings = []
    requests_sent = 0

    for operation in operations:
        for mode, checks in CHECKS.items():

            @given(case=operation.as_strategy(generation_mode=mode, headers=auth))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,  # the same cases on every run: CI stays reproducible
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: report the case as found
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case):
                nonlocal requests_sent
                if mode is GenerationMode.POSITIVE:
                    aim_at_real_objects(case, target)
                response = case.call(base_url=live_server.url, headers=auth, timeout=30)
                requests_sent += 1
                case.validate_response(response, checks=checks)

            try:
                fuzz()
            except Unsatisfiable:
                continue  # nothing to make invalid: an operation with no parameters and no body
            except (Exception, BaseExceptionGroup) as failure:  # every operation's findings, then fail once
                findings.append(f"{operation.label} [{mode.value}]: {failure}")

    figures.add("fuzzing: operations", len(operations))
    figures.add("fuzzing: requests sent", requests_sent)
    figures.add("fuzzing: findings (server errors or schema violations)", len(findings))
    assert findings == [], "\n\n".join(findings)
