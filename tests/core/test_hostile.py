"""Servers that misbehave on purpose. For every case: the outcome matches what happened, the
exit code and explanation are right, no secret goes where it must not, nothing stalls past
the profile's timeout, and the message is not lost."""

from __future__ import annotations

import datetime
import ssl
import time
from pathlib import Path

import pytest
import trustme

from tests.conftest import PASSWORD, Pki, Transcript, isp_profile, portal_profile
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tui.cli import keep_given_back
from tui.core import sending
from tui.core.drafts import Drafts
from tui.core.message import Draft
from tui.core.outbox import Outbox
from tui.core.profiles import Profile, load_profile
from tui.core.redaction import secret_forms
from tui.core.results import AttemptResult, ExitCode, Outcome
from tui.demo.servers import ServerThread

TIMEOUT = 1.0
DRAFT = Draft(to=("bob@example.org",), subject="Hostile", body="Hello\n" * 3)


def _isp(home: Path, server: ScriptedServer) -> Profile:
    return load_profile(isp_profile(home, server, timeout=TIMEOUT))  # type: ignore[arg-type]


def _portal(home: Path, server: ScriptedServer, pki: Pki, **extra: object) -> Profile:
    return load_profile(portal_profile(home, server, pki, timeout=TIMEOUT, **extra))  # type: ignore[arg-type]


async def _send(profile: Profile, transcript: Transcript) -> tuple[AttemptResult, float]:
    started = time.monotonic()
    result = keep_given_back(
        DRAFT, profile, await sending.send(profile, DRAFT, listener=transcript, probe=())
    )
    return result, time.monotonic() - started


def _kept(result: AttemptResult) -> None:
    """The message is not lost: in the outbox after a temporary failure, else in drafts."""
    if result.outcome in (Outcome.TEMPORARY, Outcome.UNKNOWN):
        assert [e.subject for e in Outbox().entries()] == ["Hostile"]
    else:
        assert Outbox().entries() == []
        assert [d.draft.subject for d in Drafts().list()] == ["Hostile"]


def _no_secret_sent(server: ScriptedServer) -> None:
    assert server.auth_attempts == 0
    wire = b"".join(server.received).decode("utf-8", "replace")
    assert not any(form in wire for form in secret_forms("jane", PASSWORD))


# (name, replies, greeting, expected outcome, expected diagnosis kind)
BROKEN_CONNECTIONS = [
    ("never greets", {}, "stall", Outcome.TEMPORARY, "no-greeting"),
    (
        "greets with 421",
        {},
        "421 4.3.2 Service shutting down",
        Outcome.TEMPORARY,
        "greeting-busy",
    ),
    ("greets then closes", {"AFTER_GREETING": "drop"}, None, Outcome.TEMPORARY, "disconnected"),
    ("drops after MAIL", {"MAIL": "drop"}, None, Outcome.TEMPORARY, "disconnected"),
    ("drops after RCPT", {"RCPT": "drop"}, None, Outcome.TEMPORARY, "disconnected"),
    ("drops after the end of DATA", {"DATA_END": "drop"}, None, Outcome.UNKNOWN, "unknown-outcome"),
    ("stalls after MAIL", {"MAIL": "stall"}, None, Outcome.TEMPORARY, "timeout"),
    ("stalls after RCPT", {"RCPT": "stall"}, None, Outcome.TEMPORARY, "timeout"),
    ("stalls at DATA", {"DATA": "stall"}, None, Outcome.TEMPORARY, "timeout"),
    (
        "stalls after the end of DATA",
        {"DATA_END": "stall"},
        None,
        Outcome.UNKNOWN,
        "unknown-outcome",
    ),
    ("4xx to MAIL", {"MAIL": "451 4.3.0 Try later"}, None, Outcome.TEMPORARY, "temporary"),
    ("5xx to MAIL", {"MAIL": "553 5.7.1 Sender rejected"}, None, Outcome.REFUSED, "refused"),
    ("4xx to DATA", {"DATA": "451 4.3.0 Queue full"}, None, Outcome.TEMPORARY, "temporary"),
    ("5xx to DATA", {"DATA": "554 5.5.1 No valid recipients"}, None, Outcome.REFUSED, "refused"),
    (
        "5xx after the message",
        {"DATA_END": "554 5.7.1 Spam detected"},
        None,
        Outcome.REFUSED,
        "refused",
    ),
    (
        "refuses all recipients",
        {"RCPT": "550 5.1.1 User unknown"},
        None,
        Outcome.REFUSED,
        "recipient-unknown",
    ),
    ("malformed reply", {"MAIL": b"hello there\r\n"}, None, Outcome.FAILED, "protocol-error"),
    (
        "over-long reply",
        {"MAIL": b"250 " + b"x" * 10_000 + b"\r\n"},
        None,
        Outcome.FAILED,
        "protocol-error",
    ),
    (
        "endlessly continued reply",
        {
            "EHLO": b"250-mx.example.net\r\n"
            + b"250-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n" * 50_000
        },
        None,
        Outcome.FAILED,
        "protocol-error",
    ),
    (
        "several replies in one packet",
        {"EHLO": b"250 mx.example.net\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"},
        None,
        Outcome.FAILED,
        "protocol-error",
    ),
    (
        "unsolicited reply after greeting",
        {},
        b"220 mx ESMTP\r\n250 surprise\r\n",
        Outcome.FAILED,
        "protocol-error",
    ),
]


@pytest.mark.parametrize(
    ("name", "replies", "greeting", "outcome", "kind"),
    BROKEN_CONNECTIONS,
    ids=[c[0] for c in BROKEN_CONNECTIONS],
)
async def test_misbehaving_server(
    home: Path,
    servers: ServerThread,
    transcript: Transcript,
    name: str,
    replies: dict[str, str | bytes],
    greeting: str | bytes | None,
    outcome: Outcome,
    kind: str,
) -> None:
    behaviour = dialogue(replies) if greeting is None else dialogue(replies, greeting=greeting)
    server = start_scripted(servers, behaviour)
    result, elapsed = await _send(_isp(home, server), transcript)
    assert result.outcome is outcome, result.summary
    assert result.diagnosis is not None and result.diagnosis.kind == kind, result.summary
    assert elapsed < TIMEOUT * 3 + 1, f"took {elapsed:.1f} s"  # never past the timeouts
    if outcome is Outcome.TEMPORARY:
        assert result.exit_code == ExitCode.TEMPFAIL
    if outcome is Outcome.UNKNOWN:
        assert server.messages == 1 and "may or may not have been delivered" in result.summary
    if "after the end" not in name and outcome is not Outcome.SENT:
        assert server.messages == 0 or kind in ("refused", "relay-denied")
    _kept(result)


async def test_some_recipients_refused_some_accepted(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = start_scripted(servers, dialogue({"RCPT ghost@example.org": "550 5.1.1 User unknown"}))
    draft = Draft(to=("bob@example.org", "ghost@example.org"), subject="Hostile", body="x")
    result = await sending.send(_isp(home, server), draft, listener=transcript)
    assert result.outcome is Outcome.PARTIAL and result.exit_code == 69
    assert server.messages == 1


async def test_non_utf8_and_escapes_are_shown_literally(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    reply = b"550 5.1.1 \xff\xfe \x1b[2J\x1b[31m[bold red]boom[/] \x07 user unknown\r\n"
    server = start_scripted(servers, dialogue({"RCPT": reply}))
    result, _elapsed = await _send(_isp(home, server), transcript)
    assert result.exit_code == 69
    for text in (transcript.text, result.summary):
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b[2J\\x1b[31m[bold red]boom[/] \\x07" in text
        assert "\\xff\\xfe" in text


async def test_starttls_then_454_sends_no_auth(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = start_scripted(
        servers,
        dialogue(
            {"STARTTLS": "454 4.7.0 TLS not available due to local problem"},
            tls_context=pki.server_context,
        ),
    )
    result, _elapsed = await _send(_portal(home, server, pki), transcript)
    assert result.exit_code == ExitCode.IOERR
    assert result.diagnosis is not None and result.diagnosis.kind == "starttls-failed"
    _no_secret_sent(server)
    assert not any(c.startswith(("MAIL", "AUTH")) for c in server.commands())
    _kept(result)


async def test_bytes_injected_after_ready_to_start_tls_abort(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    injected = b"220 2.0.0 Ready to start TLS\r\n250-mx.example.net\r\n250 AUTH PLAIN\r\n"
    server = start_scripted(
        servers, dialogue({"STARTTLS": injected}, tls_context=pki.server_context)
    )
    result, _elapsed = await _send(_portal(home, server, pki), transcript)
    assert result.exit_code == ExitCode.IOERR
    assert result.diagnosis is not None and result.diagnosis.kind == "starttls-injection"
    assert "injected" in result.summary
    _no_secret_sent(server)


async def test_starttls_not_offered_never_sends_auth_or_mail(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    # The "stripping" attacker: STARTTLS removed from the EHLO reply, AUTH offered in plain.
    server = start_scripted(servers, dialogue({}, extensions=("PIPELINING", "AUTH PLAIN LOGIN")))
    result, _elapsed = await _send(_portal(home, server, pki), transcript)
    assert result.exit_code == ExitCode.IOERR
    assert result.diagnosis is not None and result.diagnosis.kind == "starttls-missing"
    _no_secret_sent(server)
    assert not any(c.startswith("MAIL") for c in server.commands())


async def test_only_capabilities_after_tls_count(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = start_scripted(
        servers,
        dialogue(
            {},
            extensions=("SIZE 100", "AUTH PLAIN"),  # before TLS: a tiny size and a bait method
            tls_context=pki.server_context,
            tls_extensions=("SIZE 10000000", "AUTH LOGIN", "8BITMIME"),
        ),
    )
    result, _elapsed = await _send(_portal(home, server, pki, auth="auto"), transcript)
    assert result.outcome is Outcome.SENT, result.summary
    assert "~> AUTH LOGIN ********" in transcript.text
    assert server.messages == 1


def _self_signed(name: str) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address(name))]),
            False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = Path(__import__("tempfile").mkdtemp())
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.mark.parametrize("kind", ["cert-self-signed", "cert-untrusted"])
async def test_untrusted_certificates(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript, kind: str
) -> None:
    if kind == "cert-self-signed":
        context = _self_signed("127.0.0.1")
    else:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        trustme.CA().issue_cert("127.0.0.1").configure_cert(context)  # a CA nobody trusts
    server = start_scripted(servers, dialogue({}, tls_context=context))
    result, _elapsed = await _send(_portal(home, server, pki), transcript)
    assert result.exit_code == ExitCode.IOERR
    assert result.diagnosis is not None and result.diagnosis.kind == kind
    assert "sha256:" in result.summary
    _no_secret_sent(server)


@pytest.mark.parametrize("security", ["starttls", "none"])
async def test_tls_on_a_port_expected_plain(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript, security: str
) -> None:
    """Port 465 configured as STARTTLS (or plain): the client waits for a greeting that never
    comes while the server waits for a TLS hello. A setting to change, not a temporary
    failure: exit 78, not queued, and the fix is named."""
    from tui.demo.servers import ServerSpec

    smtps = servers.start(ServerSpec("smtps", security="tls", tls_context=pki.server_context))
    if security == "starttls":
        profile = _portal(home, smtps, pki)  # type: ignore[arg-type]
    else:
        profile = load_profile(isp_profile(home, smtps, timeout=TIMEOUT))
    result, elapsed = await _send(profile, transcript)
    assert result.exit_code == ExitCode.CONFIG, result.summary
    assert result.outcome is Outcome.CONFIG
    assert result.diagnosis is not None and result.diagnosis.kind == "implicit-tls-port"
    assert f'security = "{security}"' in result.summary
    assert 'set security = "tls"' in result.summary
    assert elapsed < TIMEOUT * 3 + 1
    assert smtps.sink.login_attempts == 0 and smtps.messages == []
    _kept(result)  # back with the person (drafts), not queued with the same wrong setting


async def test_plain_on_a_port_expected_tls(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    """security = "tls" on a port that greets in plain text: the handshake reads "220 …" as
    a TLS record. A setting to change: exit 78, naming "starttls" (or "none")."""
    server = start_scripted(servers, dialogue({}))
    result, _elapsed = await _send(_portal(home, server, pki, security="tls"), transcript)
    assert result.exit_code == ExitCode.CONFIG, result.summary
    assert result.outcome is Outcome.CONFIG
    assert result.diagnosis is not None and result.diagnosis.kind == "plain-port"
    assert 'set security = "starttls"' in result.summary and '"none"' in result.summary
    _no_secret_sent(server)
    _kept(result)


@pytest.mark.parametrize("where", ["right after 354", "in the middle of the body"])
async def test_drop_during_the_body_is_not_sent(
    home: Path, servers: ServerThread, transcript: Transcript, where: str
) -> None:
    """While the body is still being written, a dropped connection means "not sent"."""
    replies: dict[str, str | bytes] = {"BODY": "drop"}
    if where == "right after 354":
        replies["DATA"] = b"354 go ahead\r\n"
    server = start_scripted(servers, dialogue(replies))
    big = Draft(to=("bob@example.org",), subject="Hostile", body="line of text\n" * 400_000)
    started = time.monotonic()
    result = await sending.send(_isp(home, server), big, listener=transcript, probe=())
    assert time.monotonic() - started < TIMEOUT * 3 + 5
    assert result.outcome is Outcome.TEMPORARY, result.summary
    assert result.diagnosis is not None and result.diagnosis.kind == "disconnected"
    assert server.messages == 0
    _kept(result)


async def test_endless_reply_keeps_memory_bounded(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    import tracemalloc

    server = start_scripted(servers, dialogue({"EHLO": "endless"}))
    profile = _isp(home, server)
    tracemalloc.start()
    try:
        result, elapsed = await _send(profile, transcript)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.diagnosis is not None and result.diagnosis.kind == "protocol-error"
    assert "too long" in result.summary
    assert peak < 4_000_000, f"peak {peak:,} bytes"  # the reply is cut at 32 KB, not kept
    assert elapsed < TIMEOUT * 3 + 1
