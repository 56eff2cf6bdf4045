"""Where passwords come from, and that failures never echo them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, write_profile
from tui.core import secrets
from tui.core.profiles import load_profile
from tui.core.secrets import SecretError, resolve_password

BASE = {
    "name": "P",
    "from": "jane@x.example",
    "host": "smtp.x.example",
    "security": "tls",
    "auth": "plain",
    "username": "jane",
}


def _profile(home: Path, **keys: object):  # type: ignore[no-untyped-def]
    return load_profile(write_profile(home, "p", **BASE, **keys))


def test_password_command_first_line(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "secret.py"
    script.write_text(f"print({PASSWORD!r}); print('second line')")
    profile = _profile(
        home, password_command=f"{sys.executable} {script}", password="file-password"
    )
    assert resolve_password(profile) == PASSWORD


def test_password_command_is_not_run_through_a_shell(home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    profile = _profile(home, password_command=f"echo pw; touch {marker}")
    assert resolve_password(profile) == f"pw; touch {marker}"
    assert not marker.exists()


def test_failing_password_command_does_not_echo_its_output(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text(f"import sys; print({PASSWORD!r}); sys.exit(3)")
    profile = _profile(home, password_command=f"{sys.executable} {script}")
    with pytest.raises(SecretError) as caught:
        resolve_password(profile)
    assert "exit code 3" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_password_command_timeout(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "COMMAND_TIMEOUT", 0.5)
    profile = _profile(home, password_command=f"{sys.executable} -c 'import time; time.sleep(5)'")
    with pytest.raises(SecretError, match="did not finish"):
        resolve_password(profile)


def test_missing_program(home: Path) -> None:
    with pytest.raises(SecretError, match="was not found"):
        resolve_password(_profile(home, password_command="no-such-program-here"))


def test_file_password_then_prompt(home: Path) -> None:
    assert resolve_password(_profile(home, password="from-file")) == "from-file"
    assert resolve_password(_profile(home), prompt=lambda p: "typed") == "typed"
    with pytest.raises(SecretError, match="has no password"):
        resolve_password(_profile(home))
