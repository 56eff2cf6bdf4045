"""Every failure explained from a real server reply: the texts Postfix, Exim, Sendmail,
Exchange and Gmail use, spoken by a scripted server on loopback."""

from __future__ import annotations

import datetime
import socket
import ssl
from pathlib import Path

import pytest

from tests.conftest import Pki, Transcript, isp_profile, portal_profile
from tests.scripted_server import dialogue, start_scripted
from tui.core import sending
from tui.core.message import Draft
from tui.core.profiles import load_profile, load_profiles
from tui.core.results import ExitCode
from tui.demo.servers import ServerSpec, ServerThread

DRAFT = Draft(to=("bob@example.org",), subject="Hello", body="Hi")

RELAY_AND_FRIENDS = [
    # (server, stage, reply, kind, exit code)
    ("Postfix", "RCPT", "554 5.7.1 <bob@example.org>: Relay access denied", "relay-denied", 69),
    ("Exim", "RCPT", "550 relay not permitted", "relay-denied", 69),
    (
        "Sendmail",
        "RCPT",
        "550 5.7.1 <bob@example.org>... Relaying denied. Proper authentication required.",
        "relay-denied",
        69,
    ),
    (
        "Exchange",
        "RCPT",
        "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        "relay-denied",
        69,
    ),
    (
        "5.7.1 family",
        "RCPT",
        "550 5.7.1 <bob@example.org>: rejected by local policy",
        "relay-denied",
        69,
    ),
    (
        "Gmail",
        "MAIL",
        "530 5.7.0 Authentication Required. Learn more at\n530 5.7.0  https://support.google.com/mail/?p=WantAuthError",
        "login-required",
        69,
    ),
    ("Exchange", "MAIL", "530 5.7.57 Client not authenticated to send mail", "login-required", 69),
    ("Gmail", "MAIL", "530 5.7.0 Must issue a STARTTLS command first.", "tls-required", 78),
    (
        "Spamhaus",
        "RCPT",
        "554 5.7.1 Service unavailable; Client host [192.0.2.2] blocked using zen.spamhaus.org",
        "blocklisted",
        69,
    ),
    (
        "Postfix",
        "RCPT",
        "550 5.1.1 <bob@example.org>: Recipient address rejected: "
        "User unknown in local recipient table",
        "recipient-unknown",
        69,
    ),
    ("Postfix", "DATA_END", "552 5.3.4 Message size exceeds fixed limit", "too-large", 69),
    (
        "Postgrey",
        "RCPT",
        "450 4.2.0 <bob@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/",
        "temporary",
        75,
    ),
    (
        "Exchange",
        "MAIL",
        "421 4.3.2 Service not available, closing transmission channel",
        "temporary",
        75,
    ),
]


@pytest.mark.parametrize(
    ("server_name", "stage", "reply", "kind", "code"),
    RELAY_AND_FRIENDS,
    ids=[f"{c[0]}-{c[3]}" for c in RELAY_AND_FRIENDS],
)
async def test_reply_is_classified(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    transcript: Transcript,
    server_name: str,
    stage: str,
    reply: str,
    kind: str,
    code: int,
) -> None:
    scripted = start_scripted(servers, dialogue({stage: reply}))
    isp_profile(home, scripted)  # type: ignore[arg-type]
    portal = servers.start(
        ServerSpec("portal", security="starttls", tls_context=pki.server_context)
    )
    portal_profile(home, portal, pki)
    found = load_profiles()
    profile = found.get("isp")
    assert profile is not None
    result = await sending.send(profile, DRAFT, profiles=found.profiles, listener=transcript)
    assert result.diagnosis is not None, result.summary
    assert result.diagnosis.kind == kind, result.summary
    assert result.exit_code == code
    assert reply.splitlines()[0] in result.summary  # the server's own words are quoted
    if kind in ("relay-denied", "blocklisted", "login-required"):
        assert "Retry with Web Portal (profile portal)" in result.summary
    else:
        assert "Retry with" not in result.summary


@pytest.mark.parametrize(
    ("reply", "kind", "code"),
    [
        (
            "535 5.7.8 Username and Password not accepted. Learn more at\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials",
            "bad-credentials",
            77,
        ),
        ("535 5.7.8 Error: authentication failed: authentication failure", "bad-credentials", 77),
        (
            "534 5.7.9 Application-specific password required. Learn more at\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
            "app-password-required",
            77,
        ),
        ("454 4.7.0 Temporary authentication failure", "auth-temporary", 75),
    ],
)
async def test_login_replies_are_classified(
    home: Path, servers: ServerThread, pki: Pki, reply: str, kind: str, code: int
) -> None:
    scripted = start_scripted(servers, dialogue({"AUTH": reply}, tls_context=pki.server_context))
    profile = load_profile(portal_profile(home, scripted, pki))  # type: ignore[arg-type]
    result = await sending.send(profile, DRAFT)
    assert result.diagnosis is not None and result.diagnosis.kind == kind, result.summary
    assert result.exit_code == code
    assert scripted.commands().count("MAIL FROM:<jane@portal.example>") == 0


async def test_size_is_checked_before_data(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    scripted = start_scripted(servers, dialogue(extensions=("SIZE 100", "8BITMIME")))
    profile = load_profile(isp_profile(home, scripted))  # type: ignore[arg-type]
    result = await sending.send(
        profile, Draft(to=("bob@example.org",), subject="big", body="x" * 500), listener=transcript
    )
    assert result.diagnosis is not None and result.diagnosis.kind == "too-large"
    assert result.exit_code == 69
    assert not any(c.startswith("MAIL") for c in scripted.commands())


async def test_greeting_refusal(home: Path, servers: ServerThread) -> None:
    scripted = start_scripted(
        servers, dialogue(greeting="554 5.7.1 mx.example.net ESMTP not accepting mail from you")
    )
    profile = load_profile(isp_profile(home, scripted))  # type: ignore[arg-type]
    result = await sending.send(profile, DRAFT)
    assert result.diagnosis is not None and result.diagnosis.kind in (
        "greeting-refused",
        "relay-denied",
        "refused",
    )
    assert result.exit_code == 69
    assert "554 5.7.1" in result.summary


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_port_probes_the_others(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    open_server = start_scripted(servers, dialogue())
    closed = _closed_port()
    path = isp_profile(home, open_server, port=closed)  # type: ignore[arg-type]
    profile = load_profile(path)
    result = await sending.send(
        profile, DRAFT, listener=transcript, probe=(closed, open_server.port)
    )
    assert result.exit_code == 75
    assert result.diagnosis is not None and result.diagnosis.kind == "connection-refused"
    assert f"answers on port {open_server.port}, not on {closed}" in result.summary
    assert f"port probe: {closed} closed, {open_server.port} open" in transcript.text


def _issue(pki: Pki, *names: str, expired: bool = False) -> ssl.SSLContext:
    now = datetime.datetime.now(datetime.UTC)
    kwargs = {}
    if expired:
        kwargs = {
            "not_before": now - datetime.timedelta(days=30),
            "not_after": now - datetime.timedelta(days=1),
        }
    cert = pki.ca.issue_cert(*names, **kwargs)  # type: ignore[arg-type]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.mark.parametrize(
    ("names", "expired", "kind", "words"),
    [
        (("127.0.0.1",), True, "cert-expired", "has expired"),
        (("other.example",), False, "cert-hostname", "is not valid for the name 127.0.0.1"),
    ],
)
async def test_certificate_problems(
    home: Path,
    servers: ServerThread,
    pki: Pki,
    names: tuple[str, ...],
    expired: bool,
    kind: str,
    words: str,
) -> None:
    server = servers.start(
        ServerSpec(
            "bad-cert",
            security="starttls",
            tls_context=_issue(pki, *names, expired=expired),
            require_starttls=True,
        )
    )
    profile = load_profile(portal_profile(home, server, pki))
    result = await sending.send(profile, DRAFT)
    assert result.exit_code == ExitCode.IOERR
    assert result.diagnosis is not None and result.diagnosis.kind == kind
    assert words in result.summary
    assert "sha256:" in result.summary  # the certificate that was offered, to compare
