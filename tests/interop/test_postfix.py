"""Interop with a real MTA: mailtui's own send path against Postfix (+ Dovecot SASL) on loopback.

`tests/interop/setup_postfix.sh` installs, configures and starts the servers and writes
`/var/tmp/mailtui-postfix/env.json` (another file with `MAILTUI_POSTFIX_ENV`); CI runs it.
Without them these tests skip, unless `MAILTUI_REQUIRE_POSTFIX=1`, when they fail instead.

Postfix delivers everything it accepts, whatever the recipient domain, into one Maildir, which
the tests read back: the delivered file must be Postfix's own trace headers followed by
exactly the bytes mailtui sent.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LeakGuard, Transcript, run_cli, write_profile
from tui.core import locations, maildir, sending
from tui.core.message import Draft
from tui.core.profiles import load_profile
from tui.core.redaction import secret_forms
from tui.core.results import AttemptResult, ExitCode, Outcome
from tui.core.tls import fingerprint

pytestmark = pytest.mark.postfix

ENV_FILE = Path(os.environ.get("MAILTUI_POSTFIX_ENV", "/var/tmp/mailtui-postfix/env.json"))
SETUP = "bash tests/interop/setup_postfix.sh (as root)"
WRONG_PASSWORD = "not-the-postfix-password"
# The headers Postfix puts in front of a message it delivers to a Maildir.
POSTFIX_TRACE_HEADERS = {"return-path", "x-original-to", "delivered-to", "received"}
DELIVERY_TIMEOUT = 20.0

TO = "Bob <bob@example.org>"
CC = "carol@example.net"
BCC = "dave@example.com"
BODY = (
    "Hi Bob,\n"
    ".a line that starts with a dot\n"
    "..and one with two\n"
    ".\n"
    "From the start of a line, as mbox would escape it.\n"
    "Grüße aus Köln, 東京 too.\n"
    "trailing spaces   \n" + "long line " * 30 + "\n"
)


@dataclass(frozen=True)
class Postfix:
    """What setup_postfix.sh wrote to env.json."""

    host: str
    isp_port: int
    submission_port: int
    smtps_port: int
    untrusted_source: str
    ca_file: Path
    server_cert: Path
    user: str
    password_file: Path
    maildir: Path
    postfix_log: Path

    @property
    def password(self) -> str:
        return self.password_file.read_text().splitlines()[0]

    @property
    def password_command(self) -> str:
        return f"cat {self.password_file}"

    @property
    def certificate_fingerprint(self) -> str:
        return fingerprint(ssl.PEM_cert_to_DER_cert(self.server_cert.read_text()))

    def log_size(self) -> int:
        return self.postfix_log.stat().st_size if self.postfix_log.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.postfix_log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")


def _greets(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=3) as sock:
        greeting = sock.recv(512)
        sock.sendall(b"QUIT\r\n")
    return greeting.startswith(b"220")


@functools.cache
def _find_postfix() -> Postfix | str:
    """The running test MTA, or why it cannot be used."""
    if not ENV_FILE.is_file():
        return f"Postfix is not set up for the interop tests: {ENV_FILE} is missing; run {SETUP}"
    try:
        raw: dict[str, Any] = json.loads(ENV_FILE.read_text())
        found = Postfix(
            host=raw["host"],
            isp_port=int(raw["isp_port"]),
            submission_port=int(raw["submission_port"]),
            smtps_port=int(raw["smtps_port"]),
            untrusted_source=raw["untrusted_source"],
            ca_file=Path(raw["ca_file"]),
            server_cert=Path(raw["server_cert"]),
            user=raw["user"],
            password_file=Path(raw["password_file"]),
            maildir=Path(raw["maildir"]),
            postfix_log=Path(raw["postfix_log"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        return f"{ENV_FILE} cannot be used ({exc!r}); run {SETUP} again"
    for port, greets in (
        (found.isp_port, True),
        (found.submission_port, True),
        (found.smtps_port, False),  # implicit TLS: the greeting comes only after the handshake
    ):
        try:
            if greets and not _greets(found.host, port):
                return f"{found.host}:{port} answers but not with an SMTP greeting; run {SETUP}"
            if not greets:
                socket.create_connection((found.host, port), timeout=3).close()
        except OSError as exc:
            return f"Postfix does not answer on {found.host}:{port} ({exc}); run {SETUP}"
    try:
        _ = found.password  # readable by this user?
        os.listdir(found.maildir / "new")
    except OSError as exc:
        return f"the test MTA's files cannot be read ({exc}); run the tests as root"
    return found


def require_postfix() -> Postfix:
    """The test MTA; skips without it, or fails when MAILTUI_REQUIRE_POSTFIX=1 (as in CI).

    Called from the test body, so a missing MTA in CI shows as a failed test.
    """
    found = _find_postfix()
    if isinstance(found, Postfix):
        return found
    if os.environ.get("MAILTUI_REQUIRE_POSTFIX") == "1":
        pytest.fail(f"MAILTUI_REQUIRE_POSTFIX=1, but {found}", pytrace=False)
    pytest.skip(found)


@pytest.fixture(autouse=True)
def postfix_secrets_never_leak(
    home: Path, leak_guard: LeakGuard, capfd: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """Like the suite's leak guard, for the Postfix password and the wrong one tried here."""
    yield
    out, err = capfd.readouterr()
    leak_guard.add(out)  # handed on: the suite's guard reads them after this one
    leak_guard.add(err)
    found = _find_postfix()
    if not isinstance(found, Postfix):
        return
    texts = [*leak_guard.texts]
    texts += [
        path.read_bytes().decode("utf-8", "replace")
        for path in home.rglob("*")
        if path.is_file() and path.parent.name != "profiles"
    ]
    for secret in (found.password, WRONG_PASSWORD):
        for form in secret_forms(found.user, secret):
            for text in texts:
                assert form not in text, f"a Postfix test password leaked (as {form!r})"


# --- profiles --------------------------------------------------------------------------------


def isp(home: Path, pf: Postfix, **extra: Any) -> Path:
    keys = {
        "name": "Home ISP",
        "provider": "isp",
        "from": "Jane Doe <jane@isp.example>",
        "host": pf.host,
        "port": pf.isp_port,
        "security": "none",
        "timeout": 20,
        **extra,
    }
    return write_profile(home, "isp", **keys)


def portal(home: Path, pf: Postfix, profile_id: str = "portal", **extra: Any) -> Path:
    keys = {
        "name": "Web Portal",
        "provider": "portal",
        "from": "Jane Doe <jane@portal.example>",
        "host": pf.host,
        "port": pf.submission_port,
        "security": "starttls",
        "auth": "plain",
        "username": pf.user,
        "password_command": pf.password_command,
        "ca_file": str(pf.ca_file),
        "timeout": 20,
        **extra,
    }
    return write_profile(home, profile_id, **{k: v for k, v in keys.items() if v is not None})


# --- reading back what Postfix delivered -----------------------------------------------------


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\n\n")
    assert end >= 0, "the delivered file has no end of headers"
    return raw[: end + 1]


def delivered(pf: Postfix, message_id: str, count: int) -> list[bytes]:
    """The `count` copies of the message Postfix put in the Maildir, waiting for delivery."""
    needle = re.compile(rb"^Message-ID: " + re.escape(message_id.encode()) + rb"$", re.M | re.I)
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        found = [
            raw
            for path in maildir.messages(pf.maildir)
            if needle.search(header_block(raw := path.read_bytes()))
        ]
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(found) == count, (
        f"expected {count} delivered copies of {message_id} in {pf.maildir}, found {len(found)}"
    )
    return found


def sent_copy() -> bytes:
    """The one message mailtui filed in sent/: the exact bytes it gave the server."""
    [path] = list(maildir.messages(locations.sent_dir()))
    return path.read_bytes()


def split_trace(raw: bytes, sent: bytes) -> list[tuple[str, str]]:
    """Check `raw` is Postfix's trace headers and then `sent`, byte for byte; return the former.

    Postfix stores a message with LF line ends; the wire (and the sent/ copy) has CRLF.
    """
    expected = sent.replace(b"\r\n", b"\n")
    assert b"\r" not in raw
    if not raw.endswith(expected):
        diff = difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(),
            raw.decode("utf-8", "replace").splitlines()[-expected.count(b"\n") - 8 :],
            "sent by mailtui",
            "delivered by Postfix",
            lineterm="",
        )
        pytest.fail("the delivered message differs from what mailtui sent:\n" + "\n".join(diff))
    prefix = raw[: len(raw) - len(expected)].decode("ascii")
    added: list[tuple[str, str]] = []
    for line in prefix.split("\n")[:-1]:
        if line[:1] in (" ", "\t"):  # a folded continuation
            assert added, prefix
            added[-1] = (added[-1][0], f"{added[-1][1]}\n{line}")
            continue
        name, colon, value = line.partition(":")
        assert colon and re.fullmatch(r"[!-9;-~]+", name), f"not a header line: {line!r}"
        added.append((name, value.strip()))
    names = {name.lower() for name, _value in added}
    assert names <= POSTFIX_TRACE_HEADERS, f"Postfix added unexpected headers: {prefix}"
    return added


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def check_delivery(
    pf: Postfix, result: AttemptResult, attachment: Path, sender: str, subject: str
) -> None:
    """All three recipients got the message exactly as sent, with the attachment intact."""
    assert result.message_id
    copies = delivered(pf, result.message_id, count=3)
    sent = sent_copy()
    assert b"dave@" not in header_block(sent.replace(b"\r\n", b"\n"))  # Bcc: envelope only
    rcpts = []
    for raw in copies:
        trace = dict((name.lower(), value) for name, value in split_trace(raw, sent))
        assert trace["return-path"] == f"<{sender}>"
        rcpts.append(trace["delivered-to"])
        assert "mailtui-test.invalid (Postfix)" in trace["received"]
        message = parse(raw)
        assert message["From"] == f"Jane Doe <{sender}>"
        assert message["To"] == TO
        assert message["Cc"] == CC
        assert message["Bcc"] is None
        assert message["Subject"] == subject
        assert message["Message-ID"] == result.message_id
        assert message["Date"]
        body = message.get_body(("plain",))
        assert body is not None
        assert body.get_content().replace("\r\n", "\n") == BODY
        [part] = list(message.iter_attachments())
        assert part.get_filename() == attachment.name
        content = part.get_content()
        assert isinstance(content, bytes)
        assert (
            hashlib.sha256(content).hexdigest()
            == hashlib.sha256(attachment.read_bytes()).hexdigest()
        )
    assert sorted(rcpts) == ["bob@example.org", "carol@example.net", "dave@example.com"]


def random_attachment(tmp_path: Path) -> Path:
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(150_000) + b"\r\n.\r\n\n.\n" + os.urandom(1000))
    return path


def draft(attachment: Path, subject: str) -> Draft:
    return Draft(
        to=(TO,), cc=(CC,), bcc=(BCC,), subject=subject, body=BODY, attachments=(attachment,)
    )


def tls_checks(pf: Postfix, transcript: Transcript, implicit: bool) -> None:
    text = transcript.text
    assert re.search(r"\*\* TLS established: TLSv1\.[23] .*sha256:", text), text
    assert pf.certificate_fingerprint in text
    assert text.count("~> AUTH ") == 1 and "-> AUTH" not in text  # AUTH only inside TLS
    assert re.search(r"<~ 235 2\.7\.0 Authentication successful", text), text
    if implicit:
        assert "STARTTLS" not in text and "<~ 220 " in text
    else:
        assert "-> STARTTLS" in text and "<- 220 2.0.0 Ready to start TLS" in text


# --- the tests -------------------------------------------------------------------------------


async def test_isp_port_relays_for_the_trusted_address(
    home: Path, tmp_path: Path, transcript: Transcript
) -> None:
    pf = require_postfix()
    profile = load_profile(isp(home, pf))
    attachment = random_attachment(tmp_path)
    result = await sending.send(profile, draft(attachment, "Über the ISP"), listener=transcript)
    assert result.outcome is Outcome.SENT, result.summary
    assert result.exit_code == ExitCode.OK
    assert result.client_address in (None, "127.0.0.1")
    assert "AUTH" not in transcript.text and "STARTTLS" not in transcript.text
    # Postfix offers CHUNKING: the message goes as BDAT LAST with its envelope, in one write.
    assert re.search(r"-> BDAT \d+ LAST", transcript.text), transcript.text
    assert re.search(r"<- 250 2\.0\.0 Ok: \d+ bytes queued as [0-9A-F]+", transcript.text), (
        transcript.text
    )
    check_delivery(pf, result, attachment, "jane@isp.example", "Über the ISP")


@pytest.mark.parametrize("method", ["plain", "login"])
async def test_submission_port_starttls_and_auth(
    home: Path, tmp_path: Path, transcript: Transcript, method: str
) -> None:
    pf = require_postfix()
    profile = load_profile(portal(home, pf, auth=method))
    attachment = random_attachment(tmp_path)
    result = await sending.send(
        profile, draft(attachment, f"STARTTLS and AUTH {method}"), listener=transcript
    )
    assert result.outcome is Outcome.SENT, f"{result.summary}\n{transcript.text}"
    tls_checks(pf, transcript, implicit=False)
    assert f"~> AUTH {method.upper()}" in transcript.text
    check_delivery(pf, result, attachment, "jane@portal.example", f"STARTTLS and AUTH {method}")


async def test_implicit_tls_port_with_auth(
    home: Path, tmp_path: Path, transcript: Transcript
) -> None:
    pf = require_postfix()
    profile = load_profile(portal(home, pf, port=pf.smtps_port, security="tls", auth="auto"))
    attachment = random_attachment(tmp_path)
    result = await sending.send(profile, draft(attachment, "Implicit TLS"), listener=transcript)
    assert result.outcome is Outcome.SENT, f"{result.summary}\n{transcript.text}"
    tls_checks(pf, transcript, implicit=True)
    check_delivery(pf, result, attachment, "jane@portal.example", "Implicit TLS")


async def test_isp_port_refuses_an_untrusted_address(
    home: Path, tmp_path: Path, transcript: Transcript
) -> None:
    pf = require_postfix()
    profiles = (
        load_profile(isp(home, pf, source_address=pf.untrusted_source)),
        load_profile(portal(home, pf)),
    )
    offset = pf.log_size()
    result = await sending.send(
        profiles[0],
        Draft(to=(TO,), subject="From the other office", body="Hi\n"),
        profiles=profiles,
        listener=transcript,
    )
    assert result.exit_code == ExitCode.UNAVAILABLE == 69, result.summary
    assert result.outcome is Outcome.REFUSED
    assert result.diagnosis is not None
    assert result.diagnosis.kind == "relay-denied"
    assert result.diagnosis.code == 554
    assert "554 5.7.1 <bob@example.org>: Relay access denied" in result.summary
    assert "it does not trust the network you are on now" in result.diagnosis.explanation
    assert result.diagnosis.retry_profile == "portal"
    assert "<- 554 5.7.1 <bob@example.org>: Relay access denied" in transcript.text
    assert "-> DATA" not in transcript.text
    log = _wait_for_log(pf, offset, "disconnect from unknown[127.0.0.2]")
    assert (
        f"NOQUEUE: reject: RCPT from unknown[{pf.untrusted_source}]: "
        "554 5.7.1 <bob@example.org>: Relay access denied"
    ) in log


async def test_wrong_password_costs_one_auth_attempt(
    home: Path, tmp_path: Path, transcript: Transcript
) -> None:
    pf = require_postfix()
    path = portal(home, pf, auth="login", password=WRONG_PASSWORD, password_command=None)
    profile = load_profile(path)
    offset = pf.log_size()
    result = await sending.send(
        profile, Draft(to=(TO,), subject="Wrong password", body="Hi\n"), listener=transcript
    )
    assert result.exit_code == ExitCode.NOPERM == 77, result.summary
    assert result.outcome is Outcome.AUTH_FAILED
    assert "rejected the username or password" in result.summary
    assert transcript.text.count("~> AUTH ") == 1
    assert re.search(r"<~ 535 5\.7\.8 Error: authentication failed", transcript.text)
    assert "MAIL FROM" not in transcript.text
    # Postfix's own account of the session: one AUTH command, and it failed.
    log = _wait_for_log(pf, offset, "disconnect from")
    disconnect = re.findall(r"postfix/submission/smtpd\[\d+\]: disconnect from .*", log)
    assert len(disconnect) == 1 and " auth=0/1 " in disconnect[0], log
    assert len(re.findall(r"SASL LOGIN authentication failed", log)) == 1, log


def test_cli_send_through_submission_with_transcript(
    home: Path, tmp_path: Path, leak_guard: LeakGuard
) -> None:
    pf = require_postfix()
    portal(home, pf)
    attachment = random_attachment(tmp_path)
    result = run_cli(
        leak_guard,
        "send",
        "--profile",
        "portal",
        "--to",
        TO,
        "--cc",
        CC,
        "--bcc",
        BCC,
        "--subject",
        "From the command line",
        "--attach",
        str(attachment),
        "--transcript",
        stdin=BODY,
    )
    assert result.code == 0, result.err
    assert "~> AUTH PLAIN ********" in result.err
    assert re.search(r"<~ 250 2\.0\.0 Ok: \d+ bytes queued as [0-9A-F]+", result.err), result.err
    [message_id] = re.findall(r"^Message-ID: (<[^>]+>)", sent_copy().decode(), re.M)
    sent = AttemptResult(Outcome.SENT, ExitCode.OK, "", message_id=message_id)
    check_delivery(pf, sent, attachment, "jane@portal.example", "From the command line")


def test_cli_relay_denied_exit_69(home: Path, leak_guard: LeakGuard) -> None:
    pf = require_postfix()
    isp(home, pf, source_address=pf.untrusted_source)
    portal(home, pf)
    result = run_cli(
        leak_guard, "send", "--profile", "isp", "--to", TO, "--subject", "From elsewhere"
    )
    assert result.code == 69, result.err
    [line] = result.err.strip().splitlines()  # one plain-language line
    assert f"The server {pf.host} refused to relay" in line
    assert '"554 5.7.1 <bob@example.org>: Relay access denied"' in line
    assert "it does not trust the network you are on now" in line
    assert "Retry with Web Portal (profile portal)" in line
    assert list(locations.drafts_dir().glob("new/*")), "the message was not kept in drafts/"


def _wait_for_log(pf: Postfix, offset: int, marker: str) -> str:
    """Postfix's log since `offset`, once it holds `marker` (postlogd writes asynchronously)."""
    deadline = time.monotonic() + 10
    while True:
        log = pf.log_since(offset)
        if marker in log or time.monotonic() > deadline:
            return log
        time.sleep(0.1)
