"""aiosmtplib's client, reporting every command and reply, refusing replies nobody asked for,
and able to pipeline (RFC 2920), which aiosmtplib itself does not.

This is the one module that knows how aiosmtplib works inside. Its protocol drops whatever
the server sends while no command waits, and everything after a reply that nobody has picked
up yet: fine for one command at a time, fatal for pipelined replies that arrive in separate
packets. So the connection is made here with `ReplyReader`, a subclass of aiosmtplib's protocol
that keeps every byte and reads replies from them in order; aiosmtplib's own commands (EHLO,
STARTTLS under its command lock, AUTH) work through it unchanged. What this relies on --
that SMTPProtocol reads every reply through `read_response`, and the names it uses -- is
checked by tests/core/test_smtp_client.py, which fails loudly when a new aiosmtplib changes it;
pyproject.toml bounds the version to the minor release it was checked against. This module
also keeps a Ctrl-C that `asyncio.wait_for` dropped on Python 3.11 from being lost
(tui/core/cancelling.py).
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, Protocol, cast

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol
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


# As aiosmtplib bounds them: one line, and one whole reply with its continuation lines.
MAX_LINE = 8192
MAX_REPLY = MAX_LINE * 4
# What the server may send ahead of the replies read so far (a pipelined group's replies,
# a chunked message's); past this the connection is given up as broken.
MAX_UNREAD = 1024 * 1024
# The characters aiosmtplib refuses in a command argument (CR and LF above all).
_FORBIDDEN = re.compile(rb"[\x00-\x1f\x7f]")


class ReplyReader(SMTPProtocol):
    """aiosmtplib's protocol, keeping every byte the server sends and reading the replies
    from them in order, so that several commands can be written before their replies are
    read. aiosmtplib's own commands read through `read_response` and so work unchanged."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connection_lost_callback: Callable[[SMTPProtocol], None],
    ) -> None:
        super().__init__(loop=loop, connection_lost_callback=connection_lost_callback)
        self.unread = bytearray()
        self._lost: aiosmtplib.SMTPException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        # STARTTLS: hears its reply as it comes; from a 220 on, until the handshake, the
        # server must send nothing.
        self.starttls_reply: Callable[[SMTPResponse], None] | None = None
        self.awaiting_handshake = False
        self.injected = 0

    def data_received(self, data: bytes) -> None:
        if self.awaiting_handshake:
            self.injected += len(data)
            return
        self.unread.extend(data)
        if len(self.unread) > MAX_UNREAD:
            self._fail(aiosmtplib.SMTPResponseException(-1, "Response too long"))
            if self.transport is not None:
                self.transport.close()
        self._wake()

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        lost = aiosmtplib.SMTPServerDisconnected("Connection lost")
        lost.__cause__ = exc
        self._fail(lost)
        self._writable.set()  # a writer waiting for room hears of it
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._writable.clear()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._writable.set()

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        await self._writable.wait()
        if self._lost is not None:
            raise ConnectionResetError("Connection lost")

    def _fail(self, exc: aiosmtplib.SMTPException) -> None:
        if self._lost is None:
            self._lost = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def read_response(self, timeout: float | None = None) -> SMTPResponse:  # noqa: ASYNC109
        """The next reply, in order; replies already received come at once."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            reply = self._next_reply()
            if reply is not None:
                heard, self.starttls_reply = self.starttls_reply, None
                if heard is not None:
                    heard(reply)
                    if reply.code == 220:
                        if self.unread:
                            raise StartTlsInjection(len(self.unread))
                        self.awaiting_handshake = True
                return reply
            if self._lost is not None:
                raise self._lost
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            try:
                left = None if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.wait_for(waiter, left)
            except TimeoutError:
                raise aiosmtplib.SMTPReadTimeoutError(
                    "Timed out waiting for server response"
                ) from None
            finally:
                self._waiter = None

    def _next_reply(self) -> SMTPResponse | None:
        """Take one whole reply from what was received, or None while it is incomplete."""
        buffer = self.unread
        offset = 0
        lines: list[bytes] = []
        while (end := buffer.find(b"\n", offset)) != -1:
            line = bytes(buffer[offset : end + 1])
            if len(line) > MAX_LINE:
                raise aiosmtplib.SMTPResponseException(-1, "Response too long")
            try:
                code = int(line[:3])
            except ValueError:
                text = line.decode("utf-8", errors="ignore")
                raise aiosmtplib.SMTPResponseException(
                    -1, f"Malformed SMTP response line: {text}"
                ) from None
            offset = end + 1
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                del buffer[:offset]
                return SMTPResponse(code, b"\n".join(lines).decode("utf-8", "surrogateescape"))
        if len(buffer) > MAX_REPLY or (offset == 0 and len(buffer) > MAX_LINE):
            raise aiosmtplib.SMTPResponseException(-1, "Response too long")
        return None


class TracingSMTP(aiosmtplib.SMTP):
    """aiosmtplib's client over a `ReplyReader`, reporting every command and reply to the
    session, and writing pipelined groups of commands (`queue`, `flush`, `next_reply`)."""

    def __init__(self, tracer: Tracer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tracer = tracer
        self._last_code = 0
        self._outgoing: list[bytes] = []

    # aiosmtplib sets the transport once its connection is made, before it waits for the
    # greeting: a cancellation its wait for the connection dropped is raised here, not after
    # a greeting that may never come.
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

    @property
    def reader(self) -> ReplyReader:
        protocol = self.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        return cast(ReplyReader, protocol)

    @property
    def pipelining(self) -> bool:
        """The server offers PIPELINING (RFC 2920): commands may go in groups."""
        return self.supports_extension("pipelining")

    @property
    def chunking(self) -> bool:
        """The server offers CHUNKING (RFC 3030) and PIPELINING, so a message can go as
        BDAT with its envelope, in one write."""
        return self.pipelining and self.supports_extension("chunking")

    async def connect(self, **settings: Any) -> SMTPResponse:
        """Connect with the settings given when this was made, over a ReplyReader, and
        return the greeting (raising aiosmtplib's errors as its own `connect` does)."""
        if settings:
            raise TypeError("TracingSMTP takes its settings when it is made")
        loop = asyncio.get_running_loop()
        self.loop = loop
        reader = ReplyReader(loop, self._lost)
        host = self.hostname or "localhost"
        port = self.port if self.port is not None else (465 if self.use_tls else 25)
        timeout = self.timeout
        tls: dict[str, Any] = {}
        if self.use_tls:
            context = self.tls_context or ssl.create_default_context()
            tls = {"ssl": context, "server_hostname": host, "ssl_handshake_timeout": timeout}
        try:
            try:
                if self.sock is not None:
                    made = loop.create_connection(lambda: reader, sock=self.sock, **tls)
                else:
                    made = loop.create_connection(
                        lambda: reader, host=host, port=port, local_addr=self.source_address, **tls
                    )
                transport, _ = await asyncio.wait_for(made, timeout)
            except TimeoutError as exc:
                raise aiosmtplib.SMTPConnectTimeoutError(
                    f"Timed out connecting to {host} on port {port}"
                ) from exc
            except OSError as exc:  # ssl.SSLError too: the session looks at the cause
                raise aiosmtplib.SMTPConnectError(
                    f"Error connecting to {host} on port {port}: {exc}"
                ) from exc
            self.protocol = reader
            self.transport = transport
            try:
                greeting = await reader.read_response(timeout=timeout)
            except aiosmtplib.SMTPServerDisconnected as exc:
                raise aiosmtplib.SMTPConnectError(
                    f"Error connecting to {host} on port {port}: {exc}"
                ) from exc
            except aiosmtplib.SMTPTimeoutError as exc:
                raise aiosmtplib.SMTPConnectTimeoutError(
                    "Timed out waiting for server ready message"
                ) from exc
            if greeting.code != 220:
                raise aiosmtplib.SMTPConnectResponseError(greeting.code, greeting.message)
        except BaseException:
            self.close()
            raise
        return greeting

    def _lost(self, protocol: SMTPProtocol) -> None:
        if protocol is self.protocol:
            self.close()

    async def execute_command(
        self,
        *args: bytes,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109
    ) -> SMTPResponse:
        stop_if_cancelled()  # dropped while waiting for the greeting or the last reply
        self.refuse_extra_replies()  # a reply that came late, before this command left
        in_tls = self.in_tls  # a reply comes back the way its command went
        self._tracer.client_line(self._redacted(args), in_tls)
        response = await super().execute_command(*args, timeout=timeout)
        stop_if_cancelled()
        self._last_code = response.code
        # aiosmtplib raises its errors from the reply returned here: they carry it scrubbed.
        response = self._tracer.server_reply(response, in_tls)
        self.refuse_extra_replies()
        return response

    def refuse_extra_replies(self) -> None:
        """Outside a pipelined group's replies, anything the server sent is a reply nobody
        asked for: it would be taken as the answer to the next command (a server bug, or an
        injection). Called after each reply, before each command and after a group."""
        protocol = self.protocol
        if protocol is None:
            return
        reader = cast(ReplyReader, protocol)
        if reader.unread:
            # Reported whole, before it is cut short or repr() hides its line breaks.
            extra = bytes(reader.unread[:65536])
            del reader.unread[:]
            self._tracer.unexpected_data(extra.decode("utf-8", "replace"))
            self.close()
            raise UnexpectedReply("the server sent a reply nobody asked for")

    # -- pipelining (RFC 2920) ---------------------------------------------------------------

    def queue(self, *args: bytes, payload: bytes = b"") -> None:
        """Report a command and hold it (with `payload`, a BDAT chunk's bytes, right after
        it) until `flush` writes everything held in one go; its reply is read later with
        `next_reply`, in the order the commands were queued."""
        for arg in args:
            if _FORBIDDEN.search(arg):
                raise ValueError("Command arg contains a prohibited control character")
        if not self._outgoing:
            self.refuse_extra_replies()
        self._tracer.client_line(self._redacted(args), self.in_tls)
        self._outgoing.append(b" ".join(args) + b"\r\n")
        if payload:
            self._outgoing.append(payload)

    def flush(self) -> None:
        """Write the queued commands in one write."""
        data, self._outgoing = b"".join(self._outgoing), []
        self.reader.write(data)

    async def next_reply(self, timeout: float | None) -> SMTPResponse:  # noqa: ASYNC109
        """The reply to the oldest command still unanswered, reported. A broken or stalled
        connection is closed, as aiosmtplib does; so is one the server is closing (421)."""
        stop_if_cancelled()
        in_tls = self.in_tls
        try:
            response = await self.reader.read_response(timeout=timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.close()
            raise
        stop_if_cancelled()
        self._last_code = response.code
        response = self._tracer.server_reply(response, in_tls)
        if response.code == 421:
            self.close()
        return response

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        await self.reader.drain()

    async def quit_briefly(self, grace: float) -> bool:
        """QUIT, reading its reply only if it comes within `grace` seconds, then close:
        whether the reply came. Nothing the session needs follows QUIT, and on a slow link
        its reply is a round trip."""
        try:
            self.queue(b"QUIT")
            self.flush()
            await self.next_reply(grace)
        except (aiosmtplib.SMTPException, ConnectionError, TimeoutError):
            return False
        finally:
            self.close()
        return True

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

    def _redacted(self, args: Sequence[bytes]) -> str:
        if self._last_code == 334:
            return REDACTED
        words = [a.decode("utf-8", "surrogateescape") for a in args]
        if words and words[0].upper() == "AUTH" and len(words) > 2:
            return f"{words[0]} {words[1]} {REDACTED}"
        return " ".join(words)

    async def upgrade_to_tls(self, context: ssl.SSLContext, server_hostname: str) -> SMTPResponse:
        """STARTTLS through aiosmtplib (under its command lock), refusing to go on if
        anything follows the server's 220 before the handshake.

        An attacker who injected bytes there may have injected replies too, so the session
        is aborted (RFC 3207, section 4.2): this raises StartTlsInjection. A refusal is
        returned, not raised.
        """
        self.refuse_extra_replies()
        in_tls = self.in_tls
        self._tracer.client_line("STARTTLS", in_tls)
        reader = self.reader
        heard: list[SMTPResponse] = []

        def hear(reply: SMTPResponse) -> None:  # as it comes, before the handshake
            heard.append(self._tracer.server_reply(reply, in_tls))

        reader.starttls_reply = hear
        try:
            response = await self.starttls(
                server_hostname=server_hostname, tls_context=context, timeout=self.timeout
            )
        except StartTlsInjection:
            self.close()
            raise
        except aiosmtplib.SMTPResponseException:
            if not heard:
                raise
            return heard[0]  # a refusal: the session says what it means
        finally:
            reader.starttls_reply = None
            reader.awaiting_handshake = False
        if reader.injected:
            self.close()
            raise StartTlsInjection(reader.injected)
        self._last_code = 0
        return heard[0] if heard else response
