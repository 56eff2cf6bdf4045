"""The aiosmtplib adapter (tui/core/smtp_client.py) against the library as installed.

TracingSMTP makes its connection with ReplyReader, a subclass of aiosmtplib's protocol that
keeps every byte the server sends (aiosmtplib's drops what comes while no command waits, which
pipelined replies do), and relies on aiosmtplib's commands reading every reply through
`read_response`. A new aiosmtplib that changes any of that must fail here, by name, not
somewhere in a send.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl

import aiosmtplib
import pytest
from aiosmtplib.protocol import SMTPProtocol
from aiosmtplib.response import SMTPResponse

from tests.conftest import Pki
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tui.core.smtp_client import StartTlsInjection, TracingSMTP, UnexpectedReply
from tui.core.transcript import REDACTED
from tui.demo.servers import RunningServer, ServerThread


class Heard:
    """A tracer that keeps what it hears."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.unexpected: list[str] = []

    def client_line(self, text: str, in_tls: bool) -> None:
        self.lines.append(("C", text))

    def server_reply(self, response: SMTPResponse, in_tls: bool) -> SMTPResponse:
        self.lines.append(("S", f"{response.code} {response.message}"))
        return response

    def unexpected_data(self, data: str) -> None:
        self.unexpected.append(data)


def _calls(function: object, *needles: str) -> None:
    source = inspect.getsource(function)  # type: ignore[arg-type]
    name = getattr(function, "__qualname__", function)
    for needle in needles:
        assert needle in source, f"aiosmtplib's {name} no longer does {needle!r}"


async def test_what_the_adapter_relies_on_in_aiosmtplib_still_holds() -> None:
    """Every reply aiosmtplib's commands read comes through `read_response` (which
    ReplyReader replaces), and its protocol is built and fed as ReplyReader expects."""
    params = inspect.signature(SMTPProtocol.__init__).parameters
    assert {"loop", "connection_lost_callback"} <= params.keys(), "SMTPProtocol.__init__"
    _calls(SMTPProtocol.execute_command, "self.write(", "self.read_response(")
    _calls(SMTPProtocol.start_tls, "self.read_response(", "start_tls(", "self.transport = ")
    _calls(SMTPProtocol.connection_lost, "self._connection_lost_callback(self)")
    for hook in ("data_received", "eof_received", "pause_writing", "resume_writing"):
        assert hook in SMTPProtocol.__dict__ or hook in vars(SMTPProtocol.__mro__[1]), hook
    # The client: its commands go through execute_command; STARTTLS through the protocol's
    # start_tls under its command lock, forgetting what the server offered before TLS.
    _calls(aiosmtplib.SMTP.ehlo, "self.execute_command(")
    _calls(aiosmtplib.SMTP.auth_plain, "self.execute_command(")
    _calls(aiosmtplib.SMTP.starttls, "self.protocol.start_tls(", "self._reset_server_state()")
    _calls(aiosmtplib.SMTP.execute_command, "self.protocol.execute_command(")
    _calls(aiosmtplib.SMTP.close, "self.protocol = None", "self.transport = None")
    # Settings TracingSMTP.connect reads from the client as aiosmtplib stores them.
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=2525, timeout=3, start_tls=False)
    for name in ("hostname", "port", "timeout", "use_tls", "tls_context", "sock"):
        assert name in vars(client), f"SMTP.{name}"
    assert vars(client).get("source_address", ...) is None, "SMTP.source_address"
    assert vars(client).get("_connect_lock", ...) is None, "SMTP._connect_lock (close())"
    assert isinstance(vars(client).get("esmtp_extensions"), dict), "SMTP.esmtp_extensions"


async def _greeted(server: ScriptedServer) -> tuple[Heard, TracingSMTP]:
    """A client connected to `server`, past its EHLO."""
    heard = Heard()
    smtp = TracingSMTP(heard, hostname=server.host, port=server.port, timeout=5, start_tls=False)
    await smtp.connect()
    await smtp.ehlo()
    return heard, smtp


async def test_replies_in_separate_packets_are_all_read(servers: ServerThread) -> None:
    """A pipelined group's replies arrive as the server gets to them: aiosmtplib's own
    protocol would drop the second while the first was not yet picked up."""

    async def slow_replies(reader, writer, server) -> None:  # type: ignore[no-untyped-def]
        writer.write(b"220 mx.example.net ESMTP\r\n")
        await server.readline(reader)
        writer.write(b"250-mx.example.net\r\n250 PIPELINING\r\n")
        for _ in range(3):
            await server.readline(reader)
        for reply in (b"250 2.1.0 Ok\r\n", b"250 2.1.5 Ok\r\n", b"550 5.1.1 No\r\n"):
            writer.write(reply)
            await writer.drain()
            await asyncio.sleep(0.05)
        await server.readline(reader)

    _heard, smtp = await _greeted(start_scripted(servers, slow_replies))
    assert smtp.pipelining
    smtp.queue(b"MAIL", b"FROM:<a@example.org>")
    smtp.queue(b"RCPT", b"TO:<b@example.org>")
    smtp.queue(b"RCPT", b"TO:<c@example.org>")
    smtp.flush()
    await asyncio.sleep(0.2)  # all three have come before the first is read
    codes = [(await smtp.next_reply(5)).code for _ in range(3)]
    assert codes == [250, 250, 550]
    assert await smtp.quit_briefly(1.0) is False  # this server never answers QUIT
    assert not smtp.is_connected


async def test_a_reply_that_comes_late_is_refused_before_the_next_command(
    servers: ServerThread,
) -> None:
    """A second reply in a packet of its own, after the first was read: it would be taken as
    the answer to the next command."""

    async def late_extra(reader, writer, server) -> None:  # type: ignore[no-untyped-def]
        writer.write(b"220 mx.example.net ESMTP\r\n")
        await server.readline(reader)
        writer.write(b"250 mx.example.net\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"250 2.1.0 injected\r\n")
        await server.readline(reader)

    heard, smtp = await _greeted(start_scripted(servers, late_extra))
    await asyncio.sleep(0.2)
    with pytest.raises(UnexpectedReply):
        await smtp.execute_command(b"MAIL", b"FROM:<a@example.org>")
    assert heard.unexpected == ["250 2.1.0 injected\r\n"]
    assert ("C", "MAIL FROM:<a@example.org>") not in heard.lines  # never sent
    assert not smtp.is_connected


async def test_commands_and_replies_are_heard_and_drain_returns(
    plain_server: RunningServer,
) -> None:
    heard = Heard()
    smtp = TracingSMTP(
        heard, hostname=plain_server.host, port=plain_server.port, timeout=5, start_tls=False
    )
    await smtp.connect()
    try:
        await smtp.ehlo()
        await smtp.drain()  # nothing is waiting to be written: returns at once
        await smtp.execute_command(b"AUTH", b"PLAIN", b"c2VjcmV0")
    finally:
        smtp.close()
    assert ("C", "EHLO " + smtp.local_hostname) in heard.lines
    assert ("C", f"AUTH PLAIN {REDACTED}") in heard.lines
    assert any(side == "S" and text.startswith("250") for side, text in heard.lines)
    assert heard.unexpected == []


async def test_a_reply_nobody_asked_for_is_refused(servers: ServerThread) -> None:
    """Two replies in one packet: the second is in aiosmtplib's buffer, and is refused."""
    server = start_scripted(
        servers, dialogue({"EHLO": b"250 mx.example.net\r\n250 2.1.0 injected\r\n"})
    )
    heard = Heard()
    smtp = TracingSMTP(heard, hostname=server.host, port=server.port, timeout=5, start_tls=False)
    await smtp.connect()
    with pytest.raises(UnexpectedReply):
        await smtp.ehlo()
    assert heard.unexpected == ["250 2.1.0 injected\r\n"]
    assert not smtp.is_connected


async def test_bytes_after_starttls_220_are_refused_before_the_handshake(
    servers: ServerThread, pki: Pki
) -> None:
    injected = b"220 2.0.0 Ready to start TLS\r\n250 AUTH PLAIN\r\n"
    server = start_scripted(
        servers, dialogue({"STARTTLS": injected}, tls_context=pki.server_context)
    )
    smtp = TracingSMTP(Heard(), hostname=server.host, port=server.port, timeout=5, start_tls=False)
    await smtp.connect()
    await smtp.ehlo()
    with pytest.raises(StartTlsInjection) as raised:
        await smtp.upgrade_to_tls(ssl.create_default_context(), server.host)
    assert raised.value.size == len(b"250 AUTH PLAIN\r\n")
    assert not smtp.is_connected
