"""auth = "xoauth2" / "oauthbearer" with a `token_command` (oama, mutt_oauth2.py…): the token
it prints logs in, the transcript never shows it, and a helper that fails, prints nothing
or hangs is exit 78 with one clear line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import LeakGuard, Pki, Transcript, bearer_portal, portal_profile
from tui.core import sending
from tui.core.message import Draft
from tui.core.oauth import tokens
from tui.core.profiles import load_profile
from tui.demo.servers import RunningServer, ServerThread

TOKEN = "ya29.helper-issued-token-7f3a9c"
DRAFT = Draft(to=("bob@example.org",), subject="Hello", body="Hi")


def _bearer_server(servers: ServerThread, pki: Pki, good: set[str]) -> RunningServer:
    return bearer_portal(servers, pki, lambda login, token: login == "jane" and token in good)


def _helper(tmp_path: Path, body: str) -> str:
    script = tmp_path / "helper.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


@pytest.mark.parametrize("method", ["xoauth2", "oauthbearer"])
async def test_the_helpers_token_logs_in_and_is_never_shown(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    tmp_path: Path,
    transcript: Transcript,
    leak_guard: LeakGuard,
    method: str,
) -> None:
    leak_guard.add_token(TOKEN)
    server = _bearer_server(servers, pki, {TOKEN})
    command = _helper(tmp_path, f"print({TOKEN!r})")
    profile = load_profile(
        portal_profile(home, server, pki, auth=method, password=None, token_command=command)
    )
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 0, result.summary
    assert f"AUTH {method.upper()} ********" in transcript.text
    assert len(server.sink.messages) == 1


async def test_a_token_refused_at_auth_runs_the_helper_once_more(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    tmp_path: Path,
    transcript: Transcript,
    leak_guard: LeakGuard,
) -> None:
    """The helper's first token is stale; the server says so in its 334's JSON; the helper
    is asked once more and its second token goes through."""
    stale, fresh = "stale-token-0001", "fresh-token-0002"
    for token in (stale, fresh):
        leak_guard.add_token(token)
    count = tmp_path / "count"
    command = _helper(
        tmp_path,
        f"import pathlib\np = pathlib.Path({str(count)!r})\nn = len(p.read_text()) if "
        f"p.exists() else 0\np.write_text('x' * (n + 1))\nprint({stale!r} if n == 0 else "
        f"{fresh!r})\n",
    )
    server = _bearer_server(servers, pki, {fresh})
    profile = load_profile(
        portal_profile(home, server, pki, auth="xoauth2", password=None, token_command=command)
    )
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 0, result.summary
    assert count.read_text() == "xx"  # run twice: before the send, after the refusal
    assert transcript.text.count("AUTH XOAUTH2 ********") == 2
    assert "refused the access token; getting a new one" in transcript.text


async def test_a_token_refused_twice_is_not_retried_again(
    home: Path, servers: ServerThread, pki: Pki, tmp_path: Path, transcript: Transcript
) -> None:
    server = _bearer_server(servers, pki, set())
    command = _helper(tmp_path, "print('never-good-token')")
    profile = load_profile(
        portal_profile(home, server, pki, auth="xoauth2", password=None, token_command=command)
    )
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 77, result.summary
    assert transcript.text.count("AUTH XOAUTH2 ********") == 2  # one refresh, never a loop
    assert server.sink.login_attempts == 2
    assert "refused the access token" in result.summary
    assert "mailtui login portal" in result.summary


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("import sys; sys.exit(3)", "failed with exit code 3"),
        ("print('')", "printed no access token"),
        ("import time; time.sleep(30)", "did not finish within 0.5 seconds"),
    ],
    ids=["non-zero", "empty", "hangs"],
)
async def test_a_failing_helper_is_exit_78_with_one_line(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    words: str,
) -> None:
    monkeypatch.setattr(tokens, "TOKEN_COMMAND_TIMEOUT", 0.5)
    server = _bearer_server(servers, pki, {TOKEN})
    profile = load_profile(
        portal_profile(
            home,
            server,
            pki,
            auth="xoauth2",
            password=None,
            token_command=_helper(tmp_path, body),
        )
    )
    result = await sending.send(profile, DRAFT, probe=())
    assert result.exit_code == 78, result.summary
    assert words in result.summary
    assert "token_command of profile portal" in result.summary
    assert "\n" not in result.summary
    assert server.sink.connections == 0  # nothing reached the server
