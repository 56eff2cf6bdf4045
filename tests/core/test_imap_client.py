"""The IMAPClient adapter (tui/core/imap_client.py) against the library as installed, and the
wire's redaction line by line.

TracedIMAPClient replaces IMAPClient's private `_create_IMAP4` and builds its connection from
IMAPClient's `tls.IMAP4_TLS` and `imap4.IMAP4WithTimeout` with the arguments they take today.
A new IMAPClient that renames or reshapes any of them must fail here, by name.
"""

from __future__ import annotations

import imaplib
import inspect
import ssl
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient, imap4, tls

from tests.conftest import PASSWORD, USER, Pki
from tests.scripted_imap import ScriptedImap, start_imap
from tui.core.imap_client import TracedIMAPClient, Wire
from tui.core.transcript import REDACTED
from tui.demo.servers import ServerThread


class Heard:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def client_line(self, text: str, in_tls: bool) -> None:
        self.lines.append(f"C {text}")

    def server_line(self, text: str, in_tls: bool) -> None:
        self.lines.append(f"S {text}")


def test_the_private_parts_the_adapter_uses_still_exist() -> None:
    assert callable(getattr(IMAPClient, "_create_IMAP4", None)), "IMAPClient._create_IMAP4"
    assert list(inspect.signature(tls.IMAP4_TLS.__init__).parameters) == [
        "self",
        "host",
        "port",
        "ssl_context",
        "timeout",
    ], "tls.IMAP4_TLS(host, port, ssl_context, timeout)"
    assert list(inspect.signature(imap4.IMAP4WithTimeout.__init__).parameters) == [
        "self",
        "address",
        "port",
        "timeout",
    ], "imap4.IMAP4WithTimeout(address, port, timeout)"
    for name in ("send", "readline", "read"):  # documented as the ones to override
        assert name in imaplib.IMAP4.__dict__, f"imaplib.IMAP4.{name}"
    assert issubclass(tls.IMAP4_TLS, imaplib.IMAP4) and issubclass(
        imap4.IMAP4WithTimeout, imaplib.IMAP4
    )


@pytest.fixture
def thread() -> Iterator[ServerThread]:
    with ServerThread() as running:
        yield running


def test_the_greeting_and_every_line_are_heard_inside_tls(thread: ServerThread, pki: Pki) -> None:
    server = start_imap(thread, ScriptedImap(pki.server_context, {USER: PASSWORD}))
    heard: list[tuple[str, bool]] = []

    class Tracer:
        def client_line(self, text: str, in_tls: bool) -> None:
            heard.append((f"C {text}", in_tls))

        def server_line(self, text: str, in_tls: bool) -> None:
            heard.append((f"S {text}", in_tls))

    context = ssl.create_default_context(cafile=str(pki.ca_file))
    client = TracedIMAPClient(
        Tracer(),
        server.host,
        server.port,
        implicit_tls=True,
        ssl_context=context,
        timeout=5,
        login_name=USER,
    )
    client.login(USER, PASSWORD)
    peer = client.peer_certificate()
    assert peer is not None and peer[2].startswith("TLSv1.")
    client.logout()
    texts = [text for text, _ in heard]
    assert texts[0] == "S * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] scripted IMAP ready"
    assert any(text.endswith(f"LOGIN {USER} {REDACTED}") for text in texts)
    assert all(in_tls for _, in_tls in heard)


def feed(wire: Wire, *pieces: bytes) -> None:
    for piece in pieces:
        wire.sent(piece, True)


def test_login_hides_the_password_until_its_answer() -> None:
    heard = Heard()
    wire = Wire(heard, "jane")
    feed(wire, b'A1 LOGIN jane "pa\\"ss word"\r\n')
    wire.received_line(b"A1 OK Logged in\r\n", True)
    feed(wire, b"A2 NOOP\r\n")
    assert heard.lines == [f"C A1 LOGIN jane {REDACTED}", "S A1 OK Logged in", "C A2 NOOP"]


def test_authenticate_hides_every_answer_to_a_challenge() -> None:
    heard = Heard()
    wire = Wire(heard, "jane")
    feed(wire, b"A1 AUTHENTICATE PLAIN\r\n")
    wire.received_line(b"+ \r\n", True)
    feed(wire, b"AGphbmUAc2VjcmV0\r\n")
    wire.received_line(b"A1 OK done\r\n", True)
    feed(wire, b"A2 AUTHENTICATE PLAIN AGphbmUAc2VjcmV0\r\n")  # SASL-IR
    assert heard.lines == [
        "C A1 AUTHENTICATE PLAIN",
        "S + ",  # the server's words as they came
        f"C {REDACTED}",
        "S A1 OK done",
        f"C A2 AUTHENTICATE PLAIN {REDACTED}",
    ]


def test_an_appended_message_is_one_summary_line_however_it_is_written() -> None:
    heard = Heard()
    wire = Wire(heard, None)
    message = b"Subject: x\r\n\r\n" + b"line\r\n" * 1000
    announce = f'A3 APPEND "Sent" (\\Seen) {{{len(message)}}}\r\n'.encode()
    # In odd pieces: the line in two, the message in three, its line end alone.
    feed(wire, announce[:7], announce[7:], message[:5], message[5:4000], message[4000:], b"\r\n")
    feed(wire, b"A4 LOGOUT\r\n")
    assert heard.lines == [
        'C A3 APPEND "Sent" (\\Seen) {6014}',
        "C [message: 6.0 KB, 1,002 lines]",
        "C A4 LOGOUT",
    ]


def test_literal_plus_and_other_literals() -> None:
    heard = Heard()
    wire = Wire(heard, None)
    feed(wire, b"A5 UID SEARCH HEADER Subject {4+}\r\nGr\xc3\xbc\r\n")
    wire.received_line(b"* 1 FETCH (BODY[] {120}\r\n", True)
    wire.received_literal(120, True)
    assert heard.lines == [
        "C A5 UID SEARCH HEADER Subject {4+}",
        "C [literal: 4 bytes]",
        "S * 1 FETCH (BODY[] {120}",
        "S [literal: 120 bytes]",
    ]
