"""aiosmtplib's client, reporting every command and reply, and refusing replies nobody asked for.

This is the one module that touches aiosmtplib's private attributes (the protocol's read
buffer, its drain, its TLS flag and the client's server state); tests/core/test_smtp_client.py
fails loudly when a new aiosmtplib takes them away. It also keeps a Ctrl-C that aiosmtplib's
`asyncio.wait_for` dropped on Python 3.11 from being lost (tui/core/cancelling.py).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from typing import Any, Literal, NamedTuple, Protocol

import aiosmtplib
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import Default

from tui.core.cancelling import stop_if_cancelled
from tui.core.transcript import REDACTED


class BearerReply(NamedTuple):
    """The final reply to a token login, and the JSON error its 334 carried, if any."""

    response: SMTPResponse
    rejection: dict[str, Any] | None

    @property
    def token_rejected(self) -> bool:
        """The server said the token itself is no good (expired, revoked): a new one may do.
        Not so for a missing scope (403) or a malformed request (400)."""
        if self.rejection is None:
            return False
        status = str(self.rejection.get("status", ""))
        return status in ("401", "invalid_token")


def _bearer_error(message: str) -> dict[str, Any]:
    """The JSON error of a 334 to a token login (an empty dict when it is unreadable)."""
    import json

    try:
        data = json.loads(base64.b64decode(message.strip(), validate=True))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class UnexpectedReply(aiosmtplib.SMTPException):
    """The server sent more than the one reply the command asked for."""


class StartTlsInjection(Exception):
    """Bytes followed the server's 220 to STARTTLS before the handshake (RFC 3207, 4.2)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes after 220")
        self.size = size


class Tracer(Protocol):
    """Who hears every command and reply (the session)."""

    def client_line(self, text: str, in_tls: bool) -> None:
        """A command as sent, with any credential already redacted."""

    def server_reply(self, response: SMTPResponse, in_tls: bool) -> SMTPResponse:
        """A reply as received; returns it as it may go further (scrubbed)."""

    def unexpected_data(self, data: str) -> None:
        """Data the server sent that no command asked for, just before the connection closes."""


class TracingSMTP(aiosmtplib.SMTP):
    """aiosmtplib's client, reporting every command and reply to the session."""

    def __init__(self, tracer: Tracer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tracer = tracer
        self._last_code = 0

    # aiosmtplib sets the transport once its connection is made (`_create_connection`), before
    # it waits for the greeting: a cancellation its wait for the connection dropped is raised
    # here, not after a greeting that may never come.
    @property
    def transport(self) -> asyncio.BaseTransport | None:
        return self._transport

    @transport.setter
    def transport(self, value: asyncio.BaseTransport | None) -> None:
        self._transport = value
        if value is not None:
            stop_if_cancelled()

    @property
    def in_tls(self) -> bool:
        transport = self.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    async def execute_command(
        self,
        *args: bytes,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109
    ) -> SMTPResponse:
        stop_if_cancelled()  # dropped while waiting for the greeting or the last reply
        in_tls = self.in_tls  # a reply comes back the way its command went
        self._tracer.client_line(self._redacted(args), in_tls)
        response = await super().execute_command(*args, timeout=timeout)
        stop_if_cancelled()
        self._last_code = response.code
        # aiosmtplib raises its errors from the reply returned here: they carry it scrubbed.
        response = self._tracer.server_reply(response, in_tls)
        if args[:1] != (b"STARTTLS",):  # upgrade_to_tls judges what follows its 220
            self.refuse_extra_replies()
        return response

    def refuse_extra_replies(self) -> None:
        """mailtui never pipelines, so a second reply in the buffer was not asked for: it
        would be taken as the answer to the next command (a server bug, or an injection)."""
        extra = self._take_buffered(65536)
        if extra:
            # Reported whole, before it is cut short or repr() hides its line breaks.
            self._tracer.unexpected_data(extra.decode("utf-8", "replace"))
            self.close()
            raise UnexpectedReply("the server sent a reply nobody asked for")

    def _take_buffered(self, limit: int | None = None) -> bytes:
        """What the server sent that no reply has read yet (up to `limit` bytes), emptying
        the buffer."""
        protocol = self.protocol
        if protocol is None or not protocol._buffer:
            return b""
        data = bytes(protocol._buffer[:limit])
        del protocol._buffer[:]
        return data

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        protocol = self.protocol
        assert protocol is not None
        await protocol._drain_helper()

    async def auth_bearer(self, mechanism: str, username: str, token: str) -> BearerReply:
        """AUTH XOAUTH2 or OAUTHBEARER (RFC 7628) with an access token, in one command.

        A server that refuses the token first answers 334 with a base64 JSON error (which
        aiosmtplib's own `auth_xoauth2` reads past): it is kept, as it says whether a new
        token can help, and the exchange is ended as each mechanism asks (an empty line for
        XOAUTH2, a ^A for OAUTHBEARER), which brings the final refusal."""
        if mechanism == "XOAUTH2":
            blob = f"user={username}\x01auth=Bearer {token}\x01\x01"
        else:  # the GS2 header names the user, with "," and "=" escaped (RFC 5801)
            name = username.replace("=", "=3D").replace(",", "=2C")
            blob = f"n,a={name},\x01auth=Bearer {token}\x01\x01"
        encoded = base64.b64encode(blob.encode("utf-8"))
        response = await self.execute_command(b"AUTH", mechanism.encode("ascii"), encoded)
        rejection: dict[str, Any] | None = None
        if response.code == 334:
            rejection = _bearer_error(response.message)
            end = b"" if mechanism == "XOAUTH2" else base64.b64encode(b"\x01")
            response = await self.execute_command(end)
        return BearerReply(response, rejection)

    def _redacted(self, args: tuple[bytes, ...]) -> str:
        if self._last_code == 334:
            return REDACTED
        words = [a.decode("utf-8", "surrogateescape") for a in args]
        if words and words[0].upper() == "AUTH" and len(words) > 2:
            return f"{words[0]} {words[1]} {REDACTED}"
        return " ".join(words)

    async def upgrade_to_tls(self, context: ssl.SSLContext, server_hostname: str) -> SMTPResponse:
        """STARTTLS, refusing to go on if anything follows the server's 220 before the handshake.

        aiosmtplib silently discards such bytes; an attacker who injected them may have
        injected replies too, so the session is aborted instead (RFC 3207, section 4.2):
        this raises StartTlsInjection.
        """
        response = await self.execute_command(b"STARTTLS")
        if response.code != 220:
            return response
        protocol = self.protocol
        assert protocol is not None and protocol.transport is not None
        injected = self._take_buffered()
        if injected:
            self.close()
            raise StartTlsInjection(len(injected))
        loop = asyncio.get_running_loop()
        tls_transport = await loop.start_tls(
            protocol.transport,  # type: ignore[arg-type]
            protocol,
            context,
            server_side=False,
            server_hostname=server_hostname,
            ssl_handshake_timeout=self.timeout,
        )
        protocol.transport = tls_transport
        protocol._over_ssl = True
        self.transport = tls_transport
        self._reset_server_state()
        self._last_code = 0
        return response
