"""Sending through real aiosmtpd servers on loopback, in every security mode and auth method."""

from __future__ import annotations

import hashlib
import re
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import (
    PASSWORD,
    USER,
    USERS,
    Pki,
    Transcript,
    isp_profile,
    portal_profile,
    write_profile,
)
from tui.core import sending
from tui.core.message import Draft
from tui.core.profiles import ProfileError, load_profile, load_profiles
from tui.core.results import ExitCode, Outcome
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

LINE_RE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (->|<-|~>|<~|\*\*|!!) .*$")
DRAFT = Draft(to=("Bob <bob@example.org>",), subject="Hello", body="Hi Bob,\n.a line with a dot\n")


def parse(content: bytes) -> EmailMessage:
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    """The text body with the wire's CRLF line endings read back as LF."""
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


async def test_plain_send_arrives_with_headers(
    home: Path, plain_server: RunningServer, transcript: Transcript
) -> None:
    profile = load_profile(isp_profile(home, plain_server))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.outcome is Outcome.SENT, result.summary
    assert result.exit_code == 0
    [received] = plain_server.messages
    assert received.rcpt_tos == ("bob@example.org",)
    assert received.mail_from == "jane@isp.example"
    message = parse(received.content)
    assert message["From"] == "Jane Doe <jane@isp.example>"
    assert message["Subject"] == "Hello"
    assert message["Message-ID"].endswith("@isp.example>")
    assert message["Date"]
    assert text_of(message) == "Hi Bob,\n.a line with a dot\n"
    assert all(LINE_RE.match(line) for line in transcript.lines), transcript.text
    assert "<- 220 " in transcript.text  # the greeting is in the transcript
    assert "-> [message: " in transcript.text
    assert "a line with a dot" not in transcript.text  # the body is one summary line
    assert re.search(
        r"\*\* timings: connect .* greeting .* ehlo .* envelope .* data .* total", transcript.text
    )


@pytest.mark.parametrize("method", ["plain", "login", "cram-md5", "xoauth2", "auto"])
async def test_starttls_with_every_auth_method(
    home: Path, portal_server: RunningServer, pki: Pki, transcript: Transcript, method: str
) -> None:
    profile = load_profile(portal_profile(home, portal_server, pki, auth=method))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.outcome is Outcome.SENT, result.summary
    [received] = portal_server.messages
    assert received.authenticated_as == USER
    text = transcript.text
    assert "~> AUTH " in text and "-> AUTH" not in text  # AUTH only inside TLS
    assert re.search(r"\*\* TLS established: TLSv1\.[23] .*sha256:", text)
    assert pki.fingerprint in text
    for line in transcript.lines:
        words = line.split(" ")
        if words[1] == "~>" and words[2] == "AUTH" and len(words) > 4:
            assert words[4] == "********", line
    if method == "login":
        # The answer to the 334 password challenge is redacted as a whole line.
        assert re.search(r"<~ 334 .*\n.*~> \*\*\*\*\*\*\*\*$", text, re.M)


async def test_implicit_tls(
    home: Path, tls_server: RunningServer, pki: Pki, transcript: Transcript
) -> None:
    profile = load_profile(portal_profile(home, tls_server, pki, security="tls"))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.outcome is Outcome.SENT, result.summary
    assert tls_server.messages[0].authenticated_as == USER
    assert "<~ 220 " in transcript.text  # the greeting already came inside TLS
    assert "STARTTLS" not in transcript.text


async def test_wrong_password_costs_exactly_one_auth(
    home: Path, portal_server: RunningServer, pki: Pki, transcript: Transcript
) -> None:
    profile = load_profile(
        portal_profile(home, portal_server, pki, auth="auto", password="not the password")
    )
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.exit_code == ExitCode.NOPERM == 77
    assert result.outcome is Outcome.AUTH_FAILED
    assert portal_server.sink.login_attempts == 1
    assert transcript.text.count("~> AUTH ") == 1
    assert "rejected the username or password" in result.summary
    assert portal_server.messages == []


async def test_starttls_missing_stops_before_auth_or_mail(
    home: Path, servers: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    # A server that offers AUTH on a plain connection but no STARTTLS: a downgrade.
    stripped = servers.start(ServerSpec("stripped", users=dict(USERS)))
    profile = load_profile(portal_profile(home, stripped, pki))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.exit_code == ExitCode.IOERR == 74
    assert "did not offer STARTTLS" in result.summary
    assert stripped.sink.login_attempts == 0
    assert stripped.sink.mail_commands == 0
    assert "> AUTH" not in transcript.text
    assert "MAIL FROM" not in transcript.text


async def test_untrusted_certificate_fails_and_shows_fingerprint(
    home: Path, portal_server: RunningServer, pki: Pki, transcript: Transcript
) -> None:
    profile = load_profile(portal_profile(home, portal_server, pki, ca_file=None))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.exit_code == 74
    assert result.outcome is Outcome.TLS_FAILED
    assert pki.fingerprint in result.summary
    assert pki.fingerprint in transcript.text
    assert portal_server.sink.login_attempts == 0
    assert portal_server.messages == []


async def test_fingerprint_pin_match_is_trusted_without_ca(
    home: Path, portal_server: RunningServer, pki: Pki, transcript: Transcript
) -> None:
    pin = pki.fingerprint.lower().replace(":", "").replace("sha256", "sha256:")
    profile = load_profile(
        portal_profile(home, portal_server, pki, ca_file=None, tls_fingerprint=pin)
    )
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.outcome is Outcome.SENT, result.summary
    assert "matches the pinned fingerprint" in transcript.text


async def test_fingerprint_pin_mismatch_sends_nothing(
    home: Path, portal_server: RunningServer, pki: Pki, transcript: Transcript
) -> None:
    wrong = "sha256:" + ":".join(["AB"] * 32)
    profile = load_profile(portal_profile(home, portal_server, pki, tls_fingerprint=wrong))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.exit_code == 74
    assert "does not match the fingerprint pinned" in result.summary
    assert portal_server.sink.login_attempts == 0
    after_tls = transcript.text.split("TLS established", 1)[1]
    assert "~>" not in after_tls  # not even EHLO went out after the mismatch


async def test_relay_denied_from_another_network_suggests_login_profile(
    home: Path,
    isp_server: RunningServer,
    portal_server: RunningServer,
    pki: Pki,
    transcript: Transcript,
) -> None:
    isp_profile(home, isp_server, source_address="127.0.0.2")
    portal_profile(home, portal_server, pki)
    found = load_profiles()
    profile = found.get("isp")
    assert profile is not None
    result = await sending.send(profile, DRAFT, profiles=found.profiles, listener=transcript)
    assert result.exit_code == ExitCode.UNAVAILABLE == 69
    assert result.outcome is Outcome.REFUSED
    assert result.diagnosis is not None and result.diagnosis.kind == "relay-denied"
    assert "refused to relay" in result.summary
    assert "does not trust the network" in result.summary
    assert "Retry with Web Portal (profile portal)" in result.summary
    assert "** connecting to 127.0.0.1:" in transcript.text and "from 127.0.0.2" in transcript.text
    assert isp_server.messages == []


async def test_relay_allowed_from_the_isp_network(
    home: Path, isp_server: RunningServer, transcript: Transcript
) -> None:
    profile = load_profile(isp_profile(home, isp_server, source_address="127.0.0.1"))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.outcome is Outcome.SENT, result.summary
    assert isp_server.messages[0].peer == "127.0.0.1"


async def test_a_source_address_not_on_this_machine_is_a_profile_error(
    home: Path, isp_server: RunningServer, transcript: Transcript
) -> None:
    # 198.51.100.77 (documentation range) is no address of this machine: binding fails
    # locally, before anything is sent.
    profile = load_profile(isp_profile(home, isp_server, source_address="198.51.100.77"))
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.exit_code == ExitCode.CONFIG == 78, result.summary
    assert "source_address = '198.51.100.77'" in result.summary
    assert "it is not an address of this machine" in result.summary
    assert "port probe" not in transcript.text  # nothing to learn about the network
    assert not list((home / "outbox" / "new").iterdir())  # not queued for a retry
    assert isp_server.messages == []


def test_a_source_address_of_the_other_ip_version_is_refused_when_loading(home: Path) -> None:
    path = write_profile(
        home,
        "mixed",
        name="Mixed",
        **{"from": "jane@isp.example"},
        host="127.0.0.1",
        security="none",
        source_address="::1",
    )
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert refused.value.key == "source_address"
    assert "is an IPv6 address but host 127.0.0.1 is IPv4" in str(refused.value)


async def test_partial_refusal_is_not_success(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = servers.start(
        ServerSpec(
            "picky", refuse={"ghost@example.org": "550 5.1.1 <ghost@example.org>: User unknown"}
        )
    )
    profile = load_profile(isp_profile(home, server))
    draft = Draft(to=("bob@example.org", "ghost@example.org"), subject="Hi", body="x")
    result = await sending.send(profile, draft, listener=transcript)
    assert result.outcome is Outcome.PARTIAL
    assert result.exit_code == 69
    assert result.accepted == ("bob@example.org",)
    assert [r.address for r in result.refused] == ["ghost@example.org"]
    assert (
        "refused for ghost@example.org" in result.summary
        and '(it said "550 5.1.1' in result.summary
    )
    assert "accepted for bob@example.org" in result.summary
    assert server.messages[0].rcpt_tos == ("bob@example.org",)


async def test_all_recipients_refused_sends_no_data(
    home: Path, servers: ServerThread, transcript: Transcript
) -> None:
    server = servers.start(
        ServerSpec("picky", refuse={"ghost@example.org": "550 5.1.1 User unknown"})
    )
    profile = load_profile(isp_profile(home, server))
    draft = Draft(to=("ghost@example.org",), subject="Hi", body="x")
    result = await sending.send(profile, draft, listener=transcript)
    assert result.exit_code == 69
    assert result.diagnosis is not None and result.diagnosis.kind == "recipient-unknown"
    assert "DATA" not in transcript.text


async def test_bcc_in_envelope_not_in_headers(
    home: Path, plain_server: RunningServer, transcript: Transcript
) -> None:
    profile = load_profile(isp_profile(home, plain_server))
    draft = Draft(
        to=("bob@example.org",),
        cc=("carol@example.org",),
        bcc=("secret@example.org",),
        subject="s",
        body="b",
    )
    result = await sending.send(profile, draft, listener=transcript)
    assert result.outcome is Outcome.SENT
    [received] = plain_server.messages
    assert set(received.rcpt_tos) == {"bob@example.org", "carol@example.org", "secret@example.org"}
    assert b"secret@example.org" not in received.content
    assert b"Bcc" not in received.content
    assert parse(received.content)["Cc"] == "carol@example.org"


@pytest.mark.parametrize(
    ("field", "draft"),
    [
        (
            "subject",
            Draft(to=("bob@example.org",), subject="Hi\r\nBcc: evil@example.org", body="x"),
        ),
        ("subject", Draft(to=("bob@example.org",), subject="Hi\nX-Injected: 1", body="x")),
        ("to", Draft(to=("bob@example.org\r\nBcc: evil@example.org",), subject="s", body="x")),
        ("to", Draft(to=("Bob\n <bob@example.org>",), subject="s", body="x")),
        ("to", Draft(to=("not an address",), subject="s", body="x")),
        ("cc", Draft(to=("bob@example.org",), cc=("carol@",), subject="s", body="x")),
    ],
)
async def test_header_injection_and_bad_addresses_exit_65_without_connecting(
    home: Path, plain_server: RunningServer, field: str, draft: Draft
) -> None:
    profile = load_profile(isp_profile(home, plain_server))
    result = await sending.send(profile, draft)
    assert result.exit_code == ExitCode.DATAERR == 65
    assert field in result.summary.lower()
    assert plain_server.sink.connections == 0


async def test_attachment_name_with_newline_is_refused(
    home: Path, plain_server: RunningServer, tmp_path: Path
) -> None:
    evil = tmp_path / "report\r\nContent-Disposition: inline.pdf"
    evil.write_bytes(b"%PDF")
    profile = load_profile(isp_profile(home, plain_server))
    result = await sending.send(
        profile, Draft(to=("bob@example.org",), subject="s", attachments=(evil,))
    )
    assert result.exit_code == 65
    assert "attachment name" in result.summary
    assert plain_server.sink.connections == 0


async def test_attachment_arrives_byte_for_byte(
    home: Path, plain_server: RunningServer, tmp_path: Path
) -> None:
    payload = bytes(range(256)) * 4000 + b"\r\n.\r\n..end"
    path = tmp_path / "data.bin"
    path.write_bytes(payload)
    text = tmp_path / "notes.txt"
    text.write_text("line one\n.dotted\nline three\n")
    profile = load_profile(isp_profile(home, plain_server))
    draft = Draft(
        to=("bob@example.org",), subject="files", body="see attached", attachments=(path, text)
    )
    result = await sending.send(profile, draft)
    assert result.outcome is Outcome.SENT, result.summary
    message = parse(plain_server.messages[0].content)
    parts = {p.get_filename(): p for p in message.iter_attachments()}
    assert parts["data.bin"].get_content_type() == "application/octet-stream"
    got = parts["data.bin"].get_content()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert parts["notes.txt"].get_content_type() == "text/plain"


async def test_non_ascii_names_and_subject_are_encoded(
    home: Path, plain_server: RunningServer
) -> None:
    profile = load_profile(
        isp_profile(home, plain_server, **{"from": "Jöns Müller <jm@isp.example>"})
    )
    draft = Draft(
        to=("Zoë Ångström <zoe@example.org>",),
        subject="Grüße aus Köln ✉",
        body="Hallo, schöne Grüße\n",
    )
    result = await sending.send(profile, draft)
    assert result.outcome is Outcome.SENT, result.summary
    content = plain_server.messages[0].content
    headers = content.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()  # display names and subject are RFC 2047 encoded
    message = parse(content)
    assert message["Subject"] == "Grüße aus Köln ✉"
    assert message["From"].addresses[0].display_name == "Jöns Müller"
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    assert text_of(message) == "Hallo, schöne Grüße\n"


async def test_idn_domain_goes_out_as_punycode_without_smtputf8(
    home: Path, servers: ServerThread
) -> None:
    server = servers.start(ServerSpec("old", smtputf8=False))
    profile = load_profile(isp_profile(home, server))
    result = await sending.send(profile, Draft(to=("hans@bücher.example",), subject="s", body="b"))
    assert result.outcome is Outcome.SENT, result.summary
    assert server.messages[0].rcpt_tos == ("hans@xn--bcher-kva.example",)
    assert b"hans@xn--bcher-kva.example" in server.messages[0].content


async def test_non_ascii_local_part_without_smtputf8_is_a_clear_error(
    home: Path, servers: ServerThread
) -> None:
    server = servers.start(ServerSpec("old", smtputf8=False))
    profile = load_profile(isp_profile(home, server))
    result = await sending.send(profile, Draft(to=("jürgen@example.org",), subject="s", body="b"))
    assert result.exit_code == 65
    assert "SMTPUTF8" in result.summary and "jürgen@example.org" in result.summary
    assert server.sink.mail_commands == 0


async def test_non_ascii_local_part_with_smtputf8_is_sent(
    home: Path, plain_server: RunningServer, transcript: Transcript
) -> None:
    profile = load_profile(isp_profile(home, plain_server))
    result = await sending.send(
        profile, Draft(to=("jürgen@example.org",), subject="s", body="b"), listener=transcript
    )
    assert result.outcome is Outcome.SENT, result.summary
    assert plain_server.messages[0].rcpt_tos == ("jürgen@example.org",)
    assert "SMTPUTF8" in transcript.text.split("MAIL FROM", 1)[1].splitlines()[0]


async def test_credentials_never_sent_over_plain_connection(
    home: Path, servers: ServerThread
) -> None:
    server = servers.start(ServerSpec("plain-auth", users=dict(USERS)))
    path = write_profile(
        home,
        "careless",
        name="Careless",
        **{"from": "jane@isp.example"},
        host=server.host,
        port=server.port,
        security="none",
        auth="plain",
        username=USER,
        password=PASSWORD,
    )
    with pytest.raises(ProfileError, match="never sends a password over an unencrypted"):
        load_profile(path)
    # Even a profile built in code, past the file check, is refused before connecting.
    from tui.core.profiles import Profile

    careless = Profile(
        id="careless",
        name="Careless",
        from_="jane@isp.example",
        host=server.host,
        port=server.port,
        security="none",
        auth="plain",
        username=USER,
        password=PASSWORD,
    )
    result = await sending.send(careless, DRAFT)
    assert result.exit_code == ExitCode.CONFIG == 78
    assert "without encryption" in result.summary
    assert server.sink.connections == 0


async def test_connection_refused_is_temporary(home: Path, transcript: Transcript) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_profile(
        home,
        "down",
        name="Down",
        **{"from": "jane@isp.example"},
        host="127.0.0.1",
        port=port,
        security="none",
    )
    result = await sending.send(load_profile(path), DRAFT, listener=transcript)
    assert result.exit_code == ExitCode.TEMPFAIL == 75
    assert "connection was refused" in result.summary
    assert "!! connection to 127.0.0.1:" in transcript.text


async def test_transcript_and_record_saved_private(
    home: Path, portal_server: RunningServer, pki: Pki
) -> None:
    import json
    import stat

    profile = load_profile(portal_profile(home, portal_server, pki, auth="login"))
    result = await sending.send(profile, DRAFT)
    assert result.outcome is Outcome.SENT
    folder = home / "transcripts"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    log = folder / f"{result.attempt_id}.log"
    record = folder / f"{result.attempt_id}.json"
    for path in (log, record):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(record.read_text())
    assert data["profile"] == "portal"
    assert data["outcome"] == "sent"
    assert data["envelope"] == {"from": "jane@portal.example", "to": ["bob@example.org"]}
    assert data["message_id"] == result.message_id
    assert "total" in data["timings_ms"]
    assert "~> AUTH LOGIN ********" in log.read_text()


async def test_check_runs_everything_but_data(
    home: Path, portal_server: RunningServer, pki: Pki, transcript: Transcript
) -> None:
    profile = load_profile(portal_profile(home, portal_server, pki))
    result = await sending.check(profile, ["bob@example.org"], listener=transcript)
    assert result.exit_code == 0
    assert result.summary.startswith("will work")
    assert {"AUTH", "SIZE", "SMTPUTF8", "8BITMIME"} <= set(result.offers)
    assert "DATA" not in transcript.text
    assert "~> RSET" in transcript.text and "~> QUIT" in transcript.text
    assert portal_server.messages == []


def test_tls_context_rejects_unreadable_ca_file(
    home: Path, pki: Pki, portal_server: RunningServer
) -> None:
    from tui.core.tls import TlsConfigError, make_tls_context

    profile = load_profile(
        portal_profile(home, portal_server, pki, ca_file=str(home / "missing.pem"))
    )
    with pytest.raises(TlsConfigError, match=r"missing\.pem"):
        make_tls_context(profile)
    assert isinstance(
        make_tls_context(load_profile(portal_profile(home, portal_server, pki))), ssl.SSLContext
    )


async def test_a_summary_names_three_recipients_and_counts_the_others(
    home: Path, servers: ServerThread
) -> None:
    refused = {f"r{i}@example.org": f"550 5.1.1 <r{i}@example.org>: unknown" for i in (5, 6, 7, 8)}
    server = servers.start(ServerSpec("isp", refuse=refused))
    profile = load_profile(isp_profile(home, server))
    everyone = tuple(f"r{i}@example.org" for i in range(300))
    sent = await sending.send(profile, Draft(to=everyone[:2], bcc=everyone[9:], subject="All"))
    assert sent.exit_code == 0, sent.summary
    assert sent.summary.startswith(
        "Sent to r0@example.org, r1@example.org, r9@example.org and 290 more with Home ISP"
    )
    partly = await sending.send(profile, Draft(bcc=everyone, subject="All"))
    assert partly.outcome is Outcome.PARTIAL
    assert partly.summary.startswith(
        "Partly sent: accepted for r0@example.org, r1@example.org, r2@example.org and 293 more, "
        "but refused for r5@example.org, r6@example.org (550), r7@example.org (550) and 1 more."
    )
    assert len(partly.summary) < 500
    three = await sending.send(profile, Draft(to=everyone[:3], subject="Three"))
    assert "Sent to r0@example.org, r1@example.org, r2@example.org with " in three.summary
