"""Where exports land: a default name never replaces an earlier export, an explicit one only on request."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.logging_system import LoggingSystem
from tests.exports.helpers import lines_of, run_export
from tests.factories import make_conversation


def test_the_python_api_and_the_command_on_one_day_write_two_files(alice):
    make_conversation(alice, turns=(("user", "first export"), ("assistant", "ok")))
    first = Path(LoggingSystem(user=alice).export_for_training("jsonl"))
    first_text = first.read_text()
    make_conversation(alice, turns=(("user", "second export"), ("assistant", "ok")))

    summary, [second] = run_export("jsonl", "--user", "alice")
    _, [third] = run_export("jsonl", "--user", "alice")

    assert first.parent == second.parent == Path(settings.DATA_DIR) / "training_data"
    assert first.name.startswith("chat_sessions_") and first.suffix == ".jsonl"
    assert len({first, second, third}) == 3  # a counter follows the time when the same second comes twice
    assert second.name.startswith(first.stem + "_")  # chat_sessions_YYYYMMDD_HHMMSS.jsonl
    assert str(second) in summary
    assert first.read_text() == first_text and len(lines_of(first)) == 1
    assert len(lines_of(second)) == len(lines_of(third)) == 2


def test_a_validation_split_takes_a_new_name_when_either_file_exists(alice):
    for n in range(8):
        make_conversation(alice, turns=(("user", f"q{n}"), ("assistant", f"a{n}")))
    _, first = run_export("jsonl", "--validation-fraction", "0.5")
    [train, _validation] = sorted(first, key=lambda path: "validation" in path.name)
    train.unlink()  # only the validation file of the day's first export is left

    _, second = run_export("jsonl", "--validation-fraction", "0.5")

    assert len(second) == 2 and not set(second) & set(first)


def test_an_existing_output_is_refused_unless_overwrite(alice, tmp_path):
    make_conversation(alice)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "mine.jsonl"
    target.write_text("keep me\n")

    with pytest.raises(CommandError, match=r"--output: .*mine\.jsonl exists already.*--overwrite"):
        call_command("export_sessions", "--format", "jsonl", "--output", str(target), verbosity=0)
    assert target.read_text() == "keep me\n"
    with pytest.raises(ValidationError, match="exists already"):
        LoggingSystem(user=alice).export_for_training("jsonl", output=target)
    assert target.read_text() == "keep me\n"
    assert list((tmp_path / "out").iterdir()) == [target]  # no partial file left behind

    call_command("export_sessions", "--format", "jsonl", "--output", str(target), "--overwrite", verbosity=0)
    assert "keep me" not in target.read_text() and len(lines_of(target)) == 1
