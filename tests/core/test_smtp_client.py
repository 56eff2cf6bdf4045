"""The aiosmtplib adapter (tui/core/smtp_client.py) against the library as installed.

TracingSMTP reaches into aiosmtplib's private attributes: the protocol's read buffer (to
refuse replies nobody asked for), its drain (to write a large message at the network's pace),
its TLS flag and the client's server state (STARTTLS done by hand). A new aiosmtplib that
renames any of them must fail here, by name, not somewhere in a send.
"""

from __future__ import annotations

import inspect
import ssl

import aiosmtplib
import pytest
from aiosmtplib.protocol import SMTPProtocol
from aiosmtplib.response import SMTPResponse

from tests.conftest import Pki
from tests.scripted_server import dialogue, start_scripted
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


async def test_the_private_attributes_the_adapter_uses_still_exist() -> None:
    protocol = SMTPProtocol()
    assert isinstance(protocol.__dict__.get("_buffer"), bytearray), "SMTPProtocol._buffer"
    assert isinstance(protocol.__dict__.get("_over_ssl"), bool), "SMTPProtocol._over_ssl"
    drain = getattr(SMTPProtocol, "_drain_helper", None)
    assert drain is not None and inspect.iscoroutinefunction(drain), "SMTPProtocol._drain_helper"
    reset = getattr(aiosmtplib.SMTP, "_reset_server_state", None)
    assert callable(reset), "SMTP._reset_server_state"
    assert not inspect.signature(reset).parameters.keys() - {"self"}


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
