"""IMAPClient, reporting every line it sends and reads, with the login and the message hidden.

IMAPClient speaks IMAP through the standard library's imaplib, whose `send`, `readline` and
`read` are documented as the methods to override. The connection is built by IMAPClient's
private `_create_IMAP4` from its `tls.IMAP4_TLS` and `imap4.IMAP4WithTimeout` classes; this
module replaces that one method so that the connection is a subclass whose three methods
report to a `WireTracer`. Those three names are the only private things used, here and
nowhere else; tests/core/test_imap_client.py fails loudly when a new IMAPClient changes them.

What the tracer hears is already safe to show: a LOGIN line is `TAG LOGIN user ********`,
every client line after LOGIN or AUTHENTICATE until the server's answer to it is `********`,
the message an APPEND carries is one summary line, and a literal the server sends (a message
fetched) is its size.
"""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any, Protocol

from imapclient import IMAPClient, imap4, tls
from imapclient.exceptions import CapabilityError, LoginError

from tui.core.transcript import REDACTED, human_size

__all__ = ["CapabilityError", "LoginError", "TracedIMAPClient", "Wire", "WireTracer"]

# A command line that ends in a literal's announcement: {123} or, with LITERAL+, {123+}.
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n?$")


class WireTracer(Protocol):
    """Who hears the conversation (the Sent copy's transcript)."""

    def client_line(self, text: str, in_tls: bool) -> None:
        """A line as sent, with any credential already hidden."""

    def server_line(self, text: str, in_tls: bool) -> None:
        """A line as received (the receiver scrubs it of the password too)."""


class Wire:
    """Turns the bytes of one connection, as they pass, into transcript lines."""

    def __init__(self, tracer: WireTracer, login_name: str | None) -> None:
        self.tracer = tracer
        self.login_name = login_name
        self._pending = bytearray()  # the client line being written, up to its line end
        self._literal_left = 0  # bytes of an outgoing literal still to pass
        self._literal_size = 0
        self._literal_lines = 0
        self._literal_kind = "data"  # "message" (APPEND), "secret" or "data"
        self._secret_tag: bytes | None = None  # a LOGIN/AUTHENTICATE awaiting its answer
        self._command = b""

    # -- what the client sends ----------------------------------------------------------------

    def sent(self, data: bytes, in_tls: bool) -> None:
        view = memoryview(data)
        at = 0
        while at < len(data):
            if self._literal_left:
                take = min(self._literal_left, len(data) - at)
                self._literal_lines += view[at : at + take].tobytes().count(b"\n")
                self._literal_left -= take
                at += take
                if not self._literal_left:
                    self._literal_done(in_tls)
                continue
            end = data.find(b"\n", at)
            if end == -1:
                self._pending += view[at:]
                break
            self._pending += view[at : end + 1]
            at = end + 1
            line, self._pending = bytes(self._pending), bytearray()
            self._client_line(line, in_tls)

    def _client_line(self, line: bytes, in_tls: bool) -> None:
        literal = _LITERAL.search(line)
        text = line.rstrip(b"\r\n")
        if text:
            self.tracer.client_line(self._shown(text), in_tls)
        if literal is not None:
            self._literal_left = self._literal_size = int(literal.group(1))
            self._literal_lines = 0
            if self._secret_tag is not None:
                self._literal_kind = "secret"
            elif self._command == b"APPEND":
                self._literal_kind = "message"
            else:
                self._literal_kind = "data"
            if not self._literal_left:
                self._literal_done(in_tls)

    def _shown(self, text: bytes) -> str:
        """A client line as the transcript shows it: credentials hidden."""
        if self._secret_tag is not None:
            return REDACTED  # an answer to a challenge, or the rest of a login
        words = text.split(b" ")
        command = words[1].upper() if len(words) > 1 else b""
        if command == b"UID" and len(words) > 2:
            command = words[2].upper()
        if command in (b"LOGIN", b"AUTHENTICATE"):
            self._secret_tag = words[0]
            shown = _decode(words[0]) + " " + command.decode("ascii")
            if command == b"LOGIN":
                return f"{shown} {self.login_name or ''} {REDACTED}".replace("  ", " ")
            mechanism = _decode(words[2]) if len(words) > 2 else ""
            initial = f" {REDACTED}" if len(words) > 3 else ""  # SASL-IR: the secret itself
            return f"{shown} {mechanism}{initial}".rstrip()
        self._command = command
        return _decode(text)

    def _literal_done(self, in_tls: bool) -> None:
        if self._literal_kind == "message":
            lines = self._literal_lines
            text = f"[message: {human_size(self._literal_size)}, {lines:,} lines]"
        elif self._literal_kind == "secret":
            text = REDACTED
        else:
            text = f"[literal: {self._literal_size:,} bytes]"
        self.tracer.client_line(text, in_tls)

    # -- what the server sends ----------------------------------------------------------------

    def received_line(self, line: bytes, in_tls: bool) -> None:
        text = line.rstrip(b"\r\n")
        tag = self._secret_tag
        if tag is not None and text.startswith(tag + b" "):
            self._secret_tag = None  # the login's answer: what follows is shown again
        self.tracer.server_line(_decode(text), in_tls)

    def received_literal(self, size: int, in_tls: bool) -> None:
        self.tracer.server_line(f"[literal: {size:,} bytes]", in_tls)


def _decode(data: bytes) -> str:
    # Undecodable bytes stay as surrogates, which the transcript shows as \xNN.
    return data.decode("utf-8", "surrogateescape")


class _Traced:
    """An imaplib connection whose documented I/O methods report to a Wire."""

    sock: Any

    def __init__(self, wire: Wire, *args: Any) -> None:
        self.wire = wire
        super().__init__(*args)

    @property
    def in_tls(self) -> bool:
        return isinstance(getattr(self, "sock", None), ssl.SSLSocket)

    def send(self, data: bytes) -> None:
        self.wire.sent(data, self.in_tls)
        super().send(data)  # type: ignore[misc]

    def readline(self) -> bytes:
        line: bytes = super().readline()  # type: ignore[misc]
        if line:
            self.wire.received_line(line, self.in_tls)
        return line

    def read(self, size: int) -> bytes:
        data: bytes = super().read(size)  # type: ignore[misc]
        self.wire.received_literal(len(data), self.in_tls)
        return data


class _TracedTls(_Traced, tls.IMAP4_TLS):  # type: ignore[misc]
    pass


class _TracedPlain(_Traced, imap4.IMAP4WithTimeout):  # type: ignore[misc]
    pass


class TracedIMAPClient(IMAPClient):  # type: ignore[misc]
    """IMAPClient whose conversation, greeting included, goes to `tracer` as it happens."""

    def __init__(
        self,
        tracer: WireTracer,
        host: str,
        port: int,
        *,
        implicit_tls: bool,
        ssl_context: ssl.SSLContext,
        timeout: float,
        login_name: str | None = None,
    ) -> None:
        self.wire = Wire(tracer, login_name)
        super().__init__(
            host, port=port, ssl=implicit_tls, ssl_context=ssl_context, timeout=timeout
        )
        # IMAPClient turns imaplib's debug output on, for its logger: off, the wire reports.
        self._imap.debug = 0
        # IMAPClient writes a command and its line end in separate sends: without this, each
        # SEARCH waits for the server's delayed acknowledgement (40 ms on Linux).
        self.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _create_IMAP4(self) -> Any:
        timeout = self._timeout.connect
        if self.ssl:
            return _TracedTls(self.wire, self.host, self.port, self.ssl_context, timeout)
        return _TracedPlain(self.wire, self.host, self.port, timeout)

    def peer_certificate(self) -> tuple[bytes, dict[str, Any], str, str] | None:
        """The server's certificate (DER, decoded when verified), TLS version and cipher."""
        sock = self.socket()
        if not isinstance(sock, ssl.SSLSocket):
            return None
        der = sock.getpeercert(binary_form=True)
        if der is None:
            return None
        cipher = sock.cipher()
        return der, sock.getpeercert() or {}, sock.version() or "", cipher[0] if cipher else ""
