"""Settings come from the environment, and a mistyped value stops start-up with a clear message."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_check(tmp_path, **env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        check=False,  # the tests read the exit code themselves
        env={"PATH": "/usr/bin:/bin", "NOVAFORGE_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_mistyped_boolean_is_refused_by_name(tmp_path):
    result = run_check(tmp_path, DEBUG="yes please")
    assert result.returncode != 0
    assert "DEBUG must be one of 0, 1, true, false" in result.stderr


def test_a_short_term_limit_below_one_is_refused_by_name(tmp_path):
    result = run_check(tmp_path, NOVAFORGE_SHORT_TERM_LIMIT="0")
    assert result.returncode != 0
    assert "NOVAFORGE_SHORT_TERM_LIMIT must be 1 or more; got 0." in result.stderr


def test_without_secret_key_one_is_generated_once_and_kept(tmp_path):
    assert run_check(tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert run_check(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
