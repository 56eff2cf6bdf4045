"""`mailtui login` and `mailtui logout` as a person runs them, against the local
authorization server, and the sends that follow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, LeakGuard, Pki, oauth_profile, run_cli
from tests.oauth_server import OAuthServer
from tui.demo.servers import RunningServer


def _login(guard: LeakGuard, server: OAuthServer, *extra: str) -> tuple[int, str, str]:
    """Run `mailtui login portal`; approve the code it prints, as the person would."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "login", "portal", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if "Enter the code" in line:
            server.approve(line.split("Enter the code ")[1].split()[0])
        if line.startswith("Waiting"):
            break
    out, err = child.communicate(timeout=60)
    text = "".join(lines) + out
    guard.add(text)
    guard.add(err)
    return child.returncode, text, err


def test_login_with_a_code_then_send_then_revoked(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    leak_guard: LeakGuard,
) -> None:
    oauth_profile(home, oauth_portal, pki, oauth_server)
    code, out, err = _login(leak_guard, oauth_server)
    assert code == 0, err
    assert f"1. Open {oauth_server.url}/activate on any device" in out
    assert "2. Enter the code WDJB-MJHT and approve" in out
    assert "▀" in out  # the QR code
    assert "Signed in: profile portal sends with OAuth2 now" in out
    assert "(no system keyring here)" in out

    sent = run_cli(
        leak_guard, "send", "--profile", "portal", "--to", "bob@example.org",
        "--subject", "Hi", "--transcript",
    )  # fmt: skip
    assert sent.code == 0, sent.err
    assert "AUTH XOAUTH2 ********" in sent.err
    assert len(oauth_portal.sink.messages) == 1

    oauth_server.revoke_all()
    refused = run_cli(
        leak_guard, "send", "--profile", "portal", "--to", "bob@example.org", "--subject", "Hi"
    )
    assert refused.code == 77, refused.err
    assert "sign in again: mailtui login portal" in refused.err

    out_ = run_cli(leak_guard, "logout", "portal")
    assert out_.code == 0 and "Signed out" in out_.out
    after = run_cli(
        leak_guard, "send", "--profile", "portal", "--to", "bob@example.org", "--subject", "Hi"
    )
    assert after.code == 77 and "run mailtui login portal" in after.err


def test_a_declined_sign_in_is_exit_77(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    leak_guard: LeakGuard,
) -> None:
    oauth_server.device_script = ["access_denied"]
    oauth_profile(home, oauth_portal, pki, oauth_server)
    code, _out, err = _login(leak_guard, oauth_server)
    assert code == 77
    assert "mailtui: not signed in: the sign-in was declined" in err


def test_login_of_a_profile_without_oauth_is_exit_78(
    home: Path, oauth_portal: RunningServer, pki: Pki, leak_guard: LeakGuard
) -> None:
    from tests.conftest import portal_profile

    portal_profile(home, oauth_portal, pki)
    result = run_cli(leak_guard, "login", "portal")
    assert result.code == 78
    assert "has no [oauth] table" in result.err
