"""The SMTP session's own decisions: which address it connects to, what it says about SIZE.

All servers are on loopback. A name's addresses come from the session's resolver
(`connecting._addresses`), replaced here so that a name can lead to loopback ports that behave
as a test needs: one that hangs, one that answers.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Pki, Transcript, isp_profile
from tests.scripted_server import dialogue, start_scripted
from tui.core import connecting, sending
from tui.core.message import Draft
from tui.core.network import AddressInfos
from tui.core.profiles import load_profile
from tui.core.results import ExitCode, Outcome
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

DRAFT = Draft(to=("bob@example.org",), subject="Eyeballs", body="Hello\n")


@pytest.fixture
def hanging_port() -> Iterator[tuple[str, int]]:
    """A loopback port whose connections hang, like a dead address: it listens, but its
    backlog is full and nobody accepts, so the kernel ignores every new SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(address)
            _r, writable, _x = select.select([], [filler], [], 0.2)
            if not writable:  # this one hangs: the backlog is full
                break
        else:
            pytest.skip("this system accepts every connection into the backlog")
        yield address
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _resolve_to(monkeypatch: pytest.MonkeyPatch, *addresses: tuple[str, int]) -> None:
    infos: AddressInfos = [
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address)
        for address in addresses
    ]

    async def resolver(host: str, port: int) -> AddressInfos:
        assert host == "localhost"
        return infos

    monkeypatch.setattr(connecting, "_addresses", resolver)


async def test_a_dead_first_address_does_not_use_up_the_timeout(
    home: Path,
    plain_server: RunningServer,
    hanging_port: tuple[str, int],
    transcript: Transcript,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Happy Eyeballs (RFC 8305): the second address is tried 250 ms after the first, which
    hangs, and wins; the send does not wait out the first address's timeout."""
    working = (plain_server.host, plain_server.port)
    _resolve_to(monkeypatch, hanging_port, working)
    profile = load_profile(isp_profile(home, plain_server, host="localhost", timeout=5))
    started = time.monotonic()
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.OK, result.summary
    assert elapsed < 2.5, f"{elapsed:.1f} s: the dead address used up the timeout"
    assert f"connected to 127.0.0.1:{plain_server.port}" in transcript.text, transcript.text
    assert f"trying 127.0.0.1:{hanging_port[1]}" in transcript.text
    assert len(plain_server.messages) == 1


async def test_every_address_dead_times_out_once_not_once_per_address(
    home: Path,
    plain_server: RunningServer,
    hanging_port: tuple[str, int],
    transcript: Transcript,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each address has its own timeout, but the attempts overlap: three dead addresses
    cost about one timeout, not three."""
    _resolve_to(monkeypatch, hanging_port, hanging_port, hanging_port)
    profile = load_profile(isp_profile(home, plain_server, host="localhost", timeout=1))
    started = time.monotonic()
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    elapsed = time.monotonic() - started
    assert result.outcome is Outcome.TEMPORARY
    assert result.diagnosis is not None and result.diagnosis.kind == "connection-timeout"
    assert elapsed < 2.5, f"{elapsed:.1f} s"


def test_addresses_alternate_ip_versions() -> None:
    """RFC 8305 section 4: a list led by unreachable IPv6 addresses gets to IPv4 second."""
    v6 = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (f"2001:db8::{n}", 25, 0, 0)) for n in (1, 2)
    ]
    v4 = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"192.0.2.{n}", 25)) for n in (1, 2)]
    order = [info[4][0] for info in connecting._interleaved([*v6, *v4])]
    assert order == ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"]


async def test_a_message_above_the_servers_size_quotes_no_reply_it_never_sent(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    """mailtui refuses to start a message the server's SIZE already rules out; the words are
    mailtui's own (the limit and the size), never a made-up "552 5.3.4" reply."""
    small = servers.start(ServerSpec("small", data_size_limit=1_000))
    profile = load_profile(isp_profile(home, small))
    big = Draft(to=("bob@example.org",), subject="Too big", body="a line of text\n" * 200)
    result = await sending.send(profile, big, listener=transcript, probe=())
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.outcome is Outcome.REFUSED
    assert result.diagnosis is not None and result.diagnosis.kind == "too-large"
    assert result.diagnosis.code is None and result.diagnosis.server_text == ""
    assert "552" not in result.summary and "5.3.4" not in result.summary
    assert result.size is not None and result.size > 1_000
    assert f"accepts at most 1,000 bytes (its SIZE); this message is {result.size:,} bytes" in (
        result.summary
    )
    assert "552" not in transcript.text
    assert small.sink.mail_commands == 0  # nothing was started that the server would refuse


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_a_ca_file_that_cannot_be_loaded_stops_before_any_login(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    transcript: Transcript,
    security: str,
) -> None:
    """The trust store loads in a thread while the connection is made (for STARTTLS while
    the greeting and EHLO go back and forth): a ca_file found unusable then is a configuration
    mistake (78) said in one line, before anything secret is sent; a STARTTLS server still
    gets its QUIT."""
    server = start_scripted(
        servers,
        dialogue(tls_context=pki.server_context) if security == "starttls" else dialogue(),
    )
    broken = home / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    path = isp_profile(home, server, security=security, auth="plain", username="jane",  # type: ignore[arg-type]
                       password="secret", ca_file=str(broken))  # fmt: skip
    result = await sending.send(load_profile(path), DRAFT, listener=transcript)
    assert result.exit_code == ExitCode.CONFIG, result.summary
    assert f"ca_file {broken} of profile isp cannot be loaded" in transcript.text
    assert "-> STARTTLS" not in transcript.text and "AUTH PLAIN" not in transcript.text
    if security == "starttls":
        assert "-> EHLO" in transcript.text and "-> QUIT" in transcript.text
