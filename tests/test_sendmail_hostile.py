"""`mailtui-sendmail` used the way msmtp and Postfix's sendmail are used by mutt, git
send-email, cron and scripts, and by servers that misbehave: every test runs the installed
program against real servers on loopback. Problems whose fix lies outside the sendmail
front end are marked xfail(strict=True) with what is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, USER, LeakGuard, Pki, isp_profile, run_cli, write_profile
from tests.scripted_server import ScriptedServer, dialogue, start_scripted
from tests.test_sendmail_cli import SENDMAIL, sendmail
from tui.core.outbox import Outbox
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

NOTE = b"From: Jane Doe <jane@isp.example>\nSubject: note\n\nhello\n"


def _bare_cr(content: bytes) -> bool:
    return re.search(rb"\r(?!\n)", content) is not None


def _head(content: bytes) -> str:
    return content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")


# -- signals and interruptions ---------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_send_killed_politely_leaves_nothing_for_a_later_flush(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, signum: int
) -> None:
    """`timeout 30 sendmail …`, a stopping service or a closed terminal: the caller sees a
    failure and still has the message. mailtui must not send it later as well (it did: the
    entry stayed "sending", became "interrupted", and the next -q sent it)."""
    stalling = start_scripted(servers, dialogue({"RCPT": "stall"}))
    isp_profile(home, stalling, timeout=30)  # type: ignore[arg-type]
    source = home.parent / "note.eml"
    source.write_bytes(NOTE)
    with source.open("rb") as stdin:
        running = subprocess.Popen(
            [str(SENDMAIL), "bob@example.org"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    deadline = time.monotonic() + 20
    while not any(line.startswith(b"RCPT") for line in stalling.received):
        assert time.monotonic() < deadline, "the send never reached RCPT"
        time.sleep(0.02)
    running.send_signal(signum)
    _out, err = running.communicate(timeout=30)
    leak_guard.add(err.decode())
    assert running.returncode > 0, err  # a failure the caller sees, not a signal death
    assert Outbox().entries() == []
    good = start_scripted(servers, dialogue())
    isp_profile(home, good)  # type: ignore[arg-type]
    assert sendmail(leak_guard, "-q", stdin=b"").code == 0
    assert good.messages == 0


def test_ctrl_c_while_the_message_is_filed_leaves_nothing_behind(
    home: Path,
    plain_server: RunningServer,
    leak_guard: LeakGuard,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui.core import sending
    from tui.core.profiles import load_profile
    from tui.core.sendmail import parse_options, submission

    profile = load_profile(isp_profile(home, plain_server))
    prepared = submission(NOTE, parse_options(["bob@example.org"]), profile.from_).prepared()
    real_add = Outbox.add

    def slow_add(box: Outbox, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)  # a 100 MB message being written and synced
        return real_add(box, *args, **kwargs)

    monkeypatch.setattr(Outbox, "add", slow_add)

    async def interrupted() -> None:
        attempt = sending.Attempt(profile, sending.Mode.SEND, probe=())
        task = asyncio.ensure_future(attempt.submit(prepared))
        await asyncio.sleep(0.1)
        task.cancel()  # what Ctrl-C does to `mailtui sendmail`'s work
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    monkeypatch.setattr(Outbox, "add", real_add)
    assert [e.state_label for e in Outbox().entries()] == []
    assert sendmail(leak_guard, "-q", stdin=b"").code == 0
    assert plain_server.messages == []


# -- partly sent -------------------------------------------------------------------------------

GREYLISTED = "450 4.2.0 <carol@example.org>: Recipient address rejected: Greylisted"
UNKNOWN_USER = "550 5.1.1 <carol@example.org>: Recipient address rejected: User unknown"


def test_partly_sent_with_the_rest_refused_for_now_keeps_nothing_without_queue(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """Without --queue nothing is kept: the caller has the message and exit 75. mailtui kept
    the greylisted rest in its outbox anyway, silently, so that both the caller's retry and
    the next flush would send it to carol."""
    server = servers.start(ServerSpec("grey", refuse={"carol@example.org": GREYLISTED}))
    isp_profile(home, server)
    done = sendmail(leak_guard, "bob@example.org", "carol@example.org", stdin=NOTE)
    assert done.code == 75, done.err
    assert Outbox().entries() == []
    assert "Nothing was kept" in done.err


def test_partly_sent_with_the_rest_refused_for_now_is_queued_with_queue(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """With --queue the outbox has the rest: exit 0 and a "queued:" line, as for any
    temporary failure. It exited 75, so the caller resent to everyone while the outbox
    would send to carol again as well."""
    server = servers.start(ServerSpec("grey", refuse={"carol@example.org": GREYLISTED}))
    isp_profile(home, server)
    done = sendmail(leak_guard, "--queue", "bob@example.org", "carol@example.org", stdin=NOTE)
    assert done.code == 0, done.err
    [entry] = Outbox().entries()
    assert entry.recipients == ("carol@example.org",)
    assert f"queued: {entry.id} for carol@example.org" in done.err
    servers.stop(server)
    back = servers.start(ServerSpec("grey"), port=server.port)
    assert sendmail(leak_guard, "-q", stdin=b"").code == 0
    assert [m.rcpt_tos for m in back.messages] == [("carol@example.org",)]


@pytest.mark.parametrize("refusal", [UNKNOWN_USER, GREYLISTED])
def test_a_refused_recipient_means_nobody_gets_it(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, refusal: str
) -> None:
    server = servers.start(ServerSpec("picky", refuse={"carol@example.org": refusal}))
    isp_profile(home, server)
    done = sendmail(leak_guard, "bob@example.org", "carol@example.org", stdin=NOTE)
    assert done.code in (69, 75), done.err
    assert server.messages == []  # else a resend by the caller reaches bob twice


@pytest.mark.parametrize(
    "extensions", [("PIPELINING", "8BITMIME"), ("PIPELINING", "8BITMIME", "CHUNKING")]
)
def test_a_refused_recipient_means_nobody_gets_it_when_pipelining(
    home: Path, servers: ServerThread, leak_guard: LeakGuard, extensions: tuple[str, ...]
) -> None:
    """All or nothing with the envelope pipelined: neither DATA nor BDAT may go with it, as
    they would be answered, and the message delivered to bob, before carol's refusal is read."""
    server = start_scripted(
        servers, dialogue({"RCPT carol@example.org": UNKNOWN_USER}, extensions=extensions)
    )
    isp_profile(home, server)  # type: ignore[arg-type]
    done = sendmail(leak_guard, "bob@example.org", "carol@example.org", stdin=NOTE)
    assert done.code == 69, done.err
    assert server.messages == 0 and server.body_bytes == 0
    assert not any(c.startswith(("DATA", "BDAT")) for c in server.commands())


# -- outcome unknown ---------------------------------------------------------------------------


def _dropped_after_the_dot(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> tuple[ScriptedServer, Any]:
    server = start_scripted(servers, dialogue({"DATA_END": ["drop", "250 2.0.0 Ok"]}))
    isp_profile(home, server)  # type: ignore[arg-type]
    return server, sendmail(leak_guard, "bob@example.org", stdin=NOTE)


def test_an_unknown_outcome_is_said_and_never_resent_by_itself(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    server, done = _dropped_after_the_dot(home, servers, leak_guard)
    assert "may or may not have been delivered" in done.err
    [entry] = Outbox().entries()
    assert entry.state_label == "unknown"
    sendmail(leak_guard, "-q", stdin=b"")
    assert server.messages == 1  # the server would take it now: it was not offered


def test_an_unknown_outcome_does_not_invite_a_retry(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """75 says "try again later": a queueing caller (an MDA, Postfix's pipe, a retry loop)
    would resend, and the recipient may have it already. 74 is an I/O failure."""
    _server, done = _dropped_after_the_dot(home, servers, leak_guard)
    assert done.code == 74, done.err


# -- what is said ------------------------------------------------------------------------------


def test_a_temporary_failure_says_once_where_the_message_is(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """It said "It is kept in the outbox and will be retried (mailtui outbox flush). Nothing
    was kept: the program that handed it over still has it" in one breath."""
    running = servers.start(ServerSpec("isp"))
    servers.stop(running)
    isp_profile(home, running, timeout=3)
    failed = sendmail(leak_guard, "bob@example.org", stdin=NOTE)
    assert failed.code == 75
    assert "Nothing was kept" in failed.err and "kept in the outbox" not in failed.err
    queued = sendmail(leak_guard, "--queue", "bob@example.org", stdin=NOTE)
    assert queued.code == 0 and "queued:" in queued.err
    assert "mailtui outbox flush" not in queued.err  # one way out is named, the right one


def test_failures_are_said_under_this_programs_name(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """A mail program shows what its sendmail printed: one name on every line."""
    server = servers.start(ServerSpec("picky", refuse={"bob@example.org": UNKNOWN_USER}))
    isp_profile(home, server)
    done = sendmail(leak_guard, "bob@example.org", stdin=NOTE)
    assert done.code == 69
    assert all(line.startswith("mailtui: ") for line in done.err.splitlines()), done.err


def test_auto_switch_says_why_it_did_not_switch(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    isp, work = servers.start(ServerSpec("isp")), servers.start(ServerSpec("work"))
    isp_profile(home, isp, networks=["10.99.0.0/16"])
    isp_profile(home, work, "work", name="Work relay", networks=["127.0.0.0/8"],
                **{"from": "Jane <jane@work.example>"})  # fmt: skip
    done = sendmail(leak_guard, "--auto-switch", "bob@example.org", stdin=NOTE)
    assert done.code == 0, done.err
    assert len(isp.messages) == 1 and work.messages == []
    assert "Not switching: Work relay does not send as jane@isp.example" in done.err


def test_a_broken_profile_is_not_called_missing(home: Path, leak_guard: LeakGuard) -> None:
    write_profile(home, "isp", name="Home ISP", provider="isp", host="127.0.0.1",
                  security="none", **{"from": "jane@isp.example"}, usrename="x")  # fmt: skip
    done = sendmail(leak_guard, "bob@example.org", stdin=NOTE)
    assert done.code == 78
    assert "usrename" in done.err and "there is no profile yet" not in done.err


# -- the message as mail programs and scripts hand it over -------------------------------------


def test_cr_only_and_mixed_line_endings_become_crlf(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """A CR alone is a line end to some servers and not to others (RFC 5321 2.3.8 forbids
    sending it): "\\r.\\r\\n" must not reach the wire as it is. A CR-only message was read as
    one header line and refused with a sentence about a recipient 'cr'."""
    isp_profile(home, plain_server)
    message = (
        b"From: jane@isp.example\rTo: bob@example.org\rSubject: cr\r\r"
        b"old Mac text\rsmuggled?\r.\r\nMAIL FROM:<x@example.org>\n\rend\r\n"
    )
    done = sendmail(leak_guard, "-t", stdin=message)
    assert done.code == 0, done.err
    [got] = plain_server.messages
    assert got.rcpt_tos == ("bob@example.org",)
    assert not _bare_cr(got.content)
    assert "Subject: cr" in _head(got.content)
    assert b"\r\nsmuggled?\r\n.\r\nMAIL FROM:<x@example.org>\r\n\r\nend\r\n" in got.content


@pytest.mark.parametrize(
    ("message", "said", "not_said"),
    [
        # Latin-1 written raw went out under SMTPUTF8, which declares it UTF-8 (and to a
        # server without SMTPUTF8 the refusal spoke of "UTF-8 text").
        (b"From: jane@isp.example\nTo: bob@example.org\nSubject: caf\xe9\n\nx\n",
         "line 3 of the message's header (Subject) has bytes that are not UTF-8", "UTF-8) text"),
        # A bad From was called "the recipient address".
        (b"From: jane@@isp.example\nTo: bob@example.org\n\nx\n",
         "From 'jane@@isp.example' has an address that cannot be read", "recipient"),
    ],
)  # fmt: skip
def test_a_bad_header_is_refused_saying_what_is_wrong(
    home: Path,
    plain_server: RunningServer,
    leak_guard: LeakGuard,
    message: bytes,
    said: str,
    not_said: str,
) -> None:
    isp_profile(home, plain_server)
    done = sendmail(leak_guard, "-t", stdin=message)
    assert done.code == 65, done.err
    assert said in done.err and not_said not in done.err
    assert plain_server.messages == []


def test_recipients_separated_by_commas_in_one_argument_as_cron_passes_mailto(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """Debian's cron runs `sendmail -FCronDaemon -i -B8BITMIME -oem $MAILTO`, and MAILTO may
    list several addresses with commas; Postfix's sendmail reads each argument as a list."""
    isp_profile(home, plain_server, default=True)
    for mailto in ("bob@example.org,carol@example.org", "bob@example.org, carol@example.org"):
        done = sendmail(leak_guard, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", mailto,
                        stdin=b"Subject: Cron <root@host> backup\n\ndone\n")  # fmt: skip
        assert done.code == 0, done.err
        assert plain_server.messages[-1].rcpt_tos == ("bob@example.org", "carol@example.org")
    injected = sendmail(leak_guard, "bob@example.org\nRCPT TO:<x@example.org>", stdin=NOTE)
    assert injected.code == 65 and "line break" in injected.err


def test_a_leading_mbox_from_line_is_dropped(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """A message taken out of an mbox file (or `git format-patch` output) starts with a
    "From " separator line. Postfix drops it; mailtui took the whole header for body text,
    so -t found 'no recipient' and a recipient on the command line got the header as text."""
    isp_profile(home, plain_server)
    message = (
        b"From 0123456789abcdef Mon Sep 17 00:00:00 2001\n"
        b"From: Jane Doe <jane@isp.example>\nTo: bob@example.org\nSubject: [PATCH] x\n\nbody\n"
    )
    for args in (("-t",), ("bob@example.org",)):
        done = sendmail(leak_guard, *args, stdin=message)
        assert done.code == 0, done.err
        got = plain_server.messages[-1]
        assert got.content.startswith(b"From: Jane Doe <jane@isp.example>\r\n")
        assert "Subject: [PATCH] x" in _head(got.content)
    body_only = b"From the backup job: ok\n"
    assert sendmail(leak_guard, "-fjane@isp.example", "bob@example.org", stdin=body_only).code == 0
    assert plain_server.messages[-1].content.endswith(b"\r\n\r\nFrom the backup job: ok\r\n")


def test_a_bounced_message_goes_as_the_resender(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """mutt's bounce: the original From (someone else), Resent-From the user, recipients on
    the command line, no -f. The profile and the envelope sender are the resender's; mailtui
    picked them by the original author (here: no profile, exit 78; with a default, a MAIL
    FROM in a stranger's name)."""
    isp, other = servers.start(ServerSpec("isp")), servers.start(ServerSpec("other"))
    isp_profile(home, isp)
    isp_profile(home, other, "other", **{"from": "Other <someone@else.example>"})
    bounced = (
        b"Resent-From: Jane Doe <jane@isp.example>\nResent-Date: Tue, 1 Dec 2026 10:00:00 +0000\n"
        b"Resent-Message-ID: <r1@isp.example>\nResent-To: dave@example.org\n"
        b"From: Alice <alice@elsewhere.example>\nTo: jane@isp.example\nSubject: hi\n"
        b"Message-ID: <a1@elsewhere.example>\nDate: Mon, 30 Nov 2026 10:00:00 +0000\n\nhello\n"
    )
    done = sendmail(leak_guard, "-oem", "-oi", "--", "dave@example.org", stdin=bounced)
    assert done.code == 0, done.err
    [got] = isp.messages
    assert got.mail_from == "jane@isp.example" and got.rcpt_tos == ("dave@example.org",)
    assert other.messages == []


def test_resent_recipients_come_from_the_newest_block_only(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """A message resent twice has two Resent- blocks, the newest first (RFC 5322 3.6.6). -t
    sent it to the first resending's recipients again as well."""
    isp_profile(home, plain_server)
    twice = (
        b"Resent-From: jane@isp.example\nResent-Date: Tue, 1 Dec 2026 10:00:00 +0000\n"
        b"Resent-To: new@example.org\nResent-Bcc: hidden@example.org\n"
        b"Resent-From: jane@isp.example\nResent-Date: Mon, 30 Nov 2026 10:00:00 +0000\n"
        b"Resent-To: earlier@example.org\n"
        b"From: alice@elsewhere.example\nTo: jane@isp.example\nSubject: hi\n\nhello\n"
    )
    done = sendmail(leak_guard, "-t", stdin=twice)
    assert done.code == 0, done.err
    [got] = plain_server.messages
    assert got.rcpt_tos == ("new@example.org", "hidden@example.org")
    assert got.mail_from == "jane@isp.example"
    assert b"hidden@" not in got.content


def test_the_same_recipient_with_another_case_of_domain_is_sent_once(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    isp_profile(home, plain_server)
    message = b"From: jane@isp.example\nTo: Bob <bob@Example.ORG>\nCc: bob@example.org\n\nx\n"
    done = sendmail(leak_guard, "-t", "bob@EXAMPLE.org", stdin=message)
    assert done.code == 0, done.err
    assert plain_server.messages[0].rcpt_tos == ("bob@EXAMPLE.org",)


def test_a_full_name_with_a_line_break_cannot_add_a_header(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    """-F went into the From header mailtui adds as given: a CR LF in it (a web form's
    "name" passed on by a script) wrote a header of the sender's choosing."""
    isp_profile(home, plain_server)
    done = sendmail(leak_guard, "-F", "Eve\r\nBcc: victim@example.org", "bob@example.org",
                    stdin=b"Subject: x\n\nbody\n")  # fmt: skip
    assert done.code == 64 and "-F" in done.err
    assert plain_server.messages == []


def test_a_large_message_is_checked_in_linear_time(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    """The check for lines over 998 octets tried a match at every byte: 30 MB of ordinary
    76-column base64 took about 20 s of CPU (twice) before connecting, 100 MB 90 s."""
    small = start_scripted(servers, dialogue(extensions=("SIZE 1000", "8BITMIME")))
    isp_profile(home, small)  # type: ignore[arg-type]
    message = NOTE + (b"QUJD" * 19 + b"\n") * 400_000  # 30 MB
    started = time.monotonic()
    done = sendmail(leak_guard, "bob@example.org", stdin=message)
    elapsed = time.monotonic() - started
    assert done.code == 69 and "its SIZE" in done.err, done.err  # checked, then refused
    assert elapsed < 8, f"{elapsed:.1f} s"


# -- promises that held: kept as guards ----------------------------------------------------------


def test_a_password_the_server_echoes_is_not_shown(
    home: Path, servers: ServerThread, pki: Pki, leak_guard: LeakGuard
) -> None:
    echo = f"535 5.7.8 bad credentials {USER} {PASSWORD} (AGphbmUAVHIwdWI0ZG9yJjMgczNjcmV0)"
    server = start_scripted(servers, dialogue({"AUTH": echo}, tls_context=pki.server_context))
    isp_profile(home, server, security="starttls", auth="plain", username=USER,  # type: ignore[arg-type]
                password=PASSWORD, ca_file=str(pki.ca_file))  # fmt: skip
    done = sendmail(leak_guard, "-v", "bob@example.org", stdin=NOTE)
    assert done.code == 77, done.err  # the leak guard reads stderr and every file written


def test_two_flushes_at_once_send_each_message_once(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    slow = start_scripted(servers, dialogue(delay=0.3))
    isp_profile(home, slow)  # type: ignore[arg-type]
    for number in range(3):
        message = f"From: jane@isp.example\nSubject: queued {number}\n\nx\n".encode()
        assert sendmail(leak_guard, "-odq", "bob@example.org", stdin=message).code == 0
    pipe = subprocess.PIPE
    flushes = [
        subprocess.Popen([str(SENDMAIL), "-q"], stdin=subprocess.DEVNULL, stdout=pipe, stderr=pipe)
        for _ in range(3)
    ]
    for flush in flushes:
        out, err = flush.communicate(timeout=60)
        leak_guard.add(out.decode() + err.decode())
        assert flush.returncode == 0, err
    assert slow.messages == 3 and Outbox().entries() == []


def test_a_queue_on_a_full_disk_is_an_io_error_and_leaves_nothing(
    home: Path, plain_server: RunningServer, leak_guard: LeakGuard
) -> None:
    from tests.full_disk import full_folder

    isp_profile(home, plain_server)
    with full_folder(home / "outbox") as folder:
        for args in (("-odq",), ("--queue",), ()):
            done = sendmail(leak_guard, *args, "bob@example.org", stdin=NOTE)
            assert done.code == 74 and "No space left" in done.err, done.err
        left = {p.name for p in folder.rglob("*") if p.is_file()}
        assert left <= {"filler", "probe"}, left
    assert plain_server.messages == []


def test_cron_without_a_tty_is_told_the_profile_lacks_a_password(
    home: Path, servers: ServerThread, pki: Pki, leak_guard: LeakGuard
) -> None:
    """A configuration mistake is not a temporary failure: 78, not 75."""
    server = start_scripted(servers, dialogue(tls_context=pki.server_context))
    isp_profile(home, server, security="starttls", auth="plain", username=USER,  # type: ignore[arg-type]
                ca_file=str(pki.ca_file))  # fmt: skip
    done = run_cli(leak_guard, "bob@example.org", stdin=NOTE, program=("setsid", str(SENDMAIL)))
    assert done.code == 78, done.err
    assert server.connections == 0
