"""The connection `mailtui send` begins while it starts (tui/core/early.py): the session
takes it when it is fresh and for the same server, and otherwise connects as always. The
servers are aiosmtpd on loopback; the server's own count of connections tells which it was.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import LeakGuard, Transcript, isp_profile, run_cli
from tui.core import early as early_module
from tui.core import sending
from tui.core.early import EarlyConnection
from tui.core.message import Draft
from tui.core.profiles import load_profile
from tui.core.results import ExitCode
from tui.demo.servers import RunningServer

DRAFT = Draft(to=("bob@example.org",), subject="Early", body="Hello\n")


def _settled(early: EarlyConnection) -> None:
    deadline = time.monotonic() + 5
    while not early._done:
        assert time.monotonic() < deadline
        time.sleep(0.01)


async def test_the_session_takes_the_connection_begun_early(
    home: Path, plain_server: RunningServer, transcript: Transcript
) -> None:
    profile = load_profile(isp_profile(home, plain_server))
    early = EarlyConnection(profile)
    _settled(early)
    result = await sending.send(profile, DRAFT, listener=transcript, early_connection=early)
    assert result.exit_code == ExitCode.OK, result.summary
    assert plain_server.sink.connections == 1  # the early one: no second connection
    assert "<- 220" in transcript.text and "-> MAIL FROM:<jane@isp.example>" in transcript.text


async def test_a_stale_one_is_closed_and_the_session_connects_anew(
    home: Path, plain_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password typed slowly: the server may have given up on a silent client."""
    profile = load_profile(isp_profile(home, plain_server))
    monkeypatch.setattr(early_module, "MAX_AGE", 0.0)
    early = EarlyConnection(profile)
    _settled(early)
    result = await sending.send(profile, DRAFT, early_connection=early)
    assert result.exit_code == ExitCode.OK, result.summary
    assert plain_server.sink.connections == 2
    assert len(plain_server.sink.messages) == 1


async def test_one_begun_for_another_server_is_not_used(
    home: Path, plain_server: RunningServer, isp_server: RunningServer
) -> None:
    other = load_profile(isp_profile(home, isp_server, profile_id="other"))
    profile = load_profile(isp_profile(home, plain_server))
    early = EarlyConnection(other)
    _settled(early)
    result = await sending.send(profile, DRAFT, early_connection=early)
    assert result.exit_code == ExitCode.OK, result.summary
    assert len(plain_server.sink.messages) == 1


def test_mailtui_send_opens_one_connection_and_none_for_a_bad_message(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    send = ("send", "--profile", "isp", "--subject", "Hi")
    assert run_cli(leak_guard, *send, "--to", "bob@example.org").code == 0
    assert plain_server.sink.connections == 1
    assert run_cli(leak_guard, *send, "--to", "bob").code == 65
    assert plain_server.sink.connections == 1
