"""`mailtui send`, `outbox flush`, `check` and the sendmail interface with a Sent copy in
Dovecot (Postfix for the send): the copy lands once, a failed copy never fails the send."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LeakGuard, run_cli
from tests.interop.test_imap import Dovecot, in_folder, require_dovecot
from tests.interop.test_postfix import (  # noqa: F401 - the fixture guards these tests too
    BCC,
    BODY,
    CC,
    TO,
    Postfix,
    delivered,
    portal,
    postfix_secrets_never_leak,
    require_postfix,
    sent_copy,
    split_trace,
)
from tui.core.pending_copies import PendingCopies

pytestmark = pytest.mark.postfix
FAST = {"MAILTUI_SENT_COPY_WAIT": "0.2"}


def profile_with_imap(home: Path, pf: Postfix, dv: Dovecot, **imap: Any) -> Path:
    """The portal profile (SMTP user jane) with [imap] to Dovecot's jane, sharing its
    password unless `imap` says otherwise; the password command counts its runs."""
    runs = home / "password-runs"
    return portal(
        home,
        pf,
        password_command=f"sh -c 'echo run >> {runs}; cat {pf.password_file}'",
        imap={
            "host": dv.host,
            "port": dv.tls_port,
            "security": "tls",
            "ca_file": str(dv.ca_file),
            **imap,
        },
    )


def send(guard: LeakGuard, subject: str, *extra: str) -> Any:
    return run_cli(
        guard,
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
        subject,
        *extra,
        stdin=BODY,
        env=FAST,
    )


def test_send_files_the_sent_bytes_plus_bcc_in_sent(home: Path, leak_guard: LeakGuard) -> None:
    pf, dv = require_postfix(), require_dovecot()
    profile_with_imap(home, pf, dv)
    result = send(leak_guard, "Filed in Sent", "--transcript")
    assert result.code == 0, result.err
    assert "copied to Sent on 127.0.0.1" in result.err
    sent = sent_copy()
    [message_id] = re.findall(r"^Message-ID: (<[^>]+>)", sent.decode(), re.M)
    [raw] = delivered(pf, message_id, count=3)[:1]
    split_trace(raw, sent)  # what Postfix received is what was sent
    [stored] = in_folder(dv, dv.sent_user, "Sent", message_id)
    assert stored[b"BODY[]"] == sent.replace(b"\r\n\r\n", f"\r\nBcc: {BCC}\r\n\r\n".encode(), 1)
    # The IMAP lines follow the SMTP ones in the one transcript; one password lookup.
    text = result.err
    assert (
        text.index("<~ 221") < text.index(" LOGIN jane ********") < text.index("~> IMAP [message")
    )
    assert (home / "password-runs").read_text().count("run") == 1
    assert not PendingCopies().pending()
    shown = run_cli(leak_guard, "history", "1")
    assert "IMAP" in shown.out + shown.err


def test_a_failed_copy_keeps_exit_0_and_flush_files_it_once(
    home: Path, leak_guard: LeakGuard
) -> None:
    pf, dv = require_postfix(), require_dovecot()
    profile_with_imap(home, pf, dv, port=1)  # nothing listens there: the server is "down"
    result = send(leak_guard, "Copied later")
    assert result.code == 0, result.err
    [warning] = [line for line in result.err.splitlines() if "warning:" in line]
    assert "copy to Sent pending:" in warning, result.err
    [copy] = PendingCopies().pending()
    listed = run_cli(leak_guard, "outbox")
    assert listed.code == 0, listed.err
    assert "copy to Sent pending" in listed.out and copy.id in listed.out
    history = run_cli(leak_guard, "history")
    assert "copy to Sent pending" in history.out, history.out

    profile_with_imap(home, pf, dv)  # the server is back
    flushed = run_cli(leak_guard, "outbox", "flush", env=FAST)
    assert flushed.code == 0, flushed.err
    assert f"copy to Sent of {copy.message_id}" in flushed.out
    assert "copied to Sent on" in flushed.out, flushed.out + flushed.err
    assert not PendingCopies().pending()
    [stored] = in_folder(dv, dv.sent_user, "Sent", copy.message_id)
    assert f"Bcc: {BCC}".encode() in stored[b"BODY[]"]
    again = run_cli(leak_guard, "outbox", "flush", env=FAST)  # nothing left: no second copy
    assert again.code == 0 and "copy to Sent" not in again.out
    assert len(in_folder(dv, dv.sent_user, "Sent", copy.message_id)) == 1


def test_a_wrong_imap_password_is_held_and_the_send_still_succeeds(
    home: Path, leak_guard: LeakGuard
) -> None:
    pf, dv = require_postfix(), require_dovecot()
    profile_with_imap(home, pf, dv, password_command="echo not-the-password")
    result = send(leak_guard, "Wrong IMAP password")
    assert result.code == 0, result.err
    assert "copy to Sent pending:" in result.err
    [copy] = PendingCopies().pending()
    assert copy.held
    flushed = run_cli(leak_guard, "outbox", "flush", env=FAST)  # held: not tried again
    assert "copy to Sent of" not in flushed.out + flushed.err
    assert PendingCopies().pending()[0].attempts == 1


def test_sendmail_copies_with_the_envelope_only_recipients_as_bcc(
    home: Path, leak_guard: LeakGuard
) -> None:
    pf, dv = require_postfix(), require_dovecot()
    profile_with_imap(home, pf, dv)
    message = f"From: Jane Doe <jane@portal.example>\nTo: {TO}\nSubject: From sendmail\n\nHello.\n"
    result = run_cli(leak_guard, "sendmail", "-i", "bob@example.org", BCC, stdin=message, env=FAST)
    assert result.code == 0, result.err
    sent = sent_copy()
    [message_id] = re.findall(r"^Message-ID: (<[^>]+>)", sent.decode(), re.M | re.I)
    [stored] = in_folder(dv, dv.sent_user, "Sent", message_id)
    assert stored[b"BODY[]"] == sent.replace(b"\r\n\r\n", f"\r\nBcc: {BCC}\r\n\r\n".encode(), 1)


def test_check_names_the_sent_folder_or_the_problem(home: Path, leak_guard: LeakGuard) -> None:
    pf, dv = require_postfix(), require_dovecot()
    profile_with_imap(home, pf, dv)
    good = run_cli(leak_guard, "check", "portal")
    assert good.code == 0, good.out + good.err
    [line] = [x for x in good.out.splitlines() if x.startswith("IMAP:")]
    assert "the Sent folder is Sent" in line
    profile_with_imap(home, pf, dv, username=dv.nosent_user)
    bad = run_cli(leak_guard, "check", "portal")
    assert bad.code == 69, bad.out + bad.err
    [line] = [x for x in bad.out.splitlines() if x.startswith("IMAP:")]
    assert "Sent" in line


def test_a_held_copy_goes_with_outbox_retry_once_the_password_is_fixed(
    home: Path, leak_guard: LeakGuard
) -> None:
    """Held after a refused login, a copy is not tried again by itself; the person fixes the
    password (the [imap] settings stay the same) and retries it by the id the listing shows.
    `outbox delete ID` gives up on one."""
    pf, dv = require_postfix(), require_dovecot()
    secret = home.parent / "imap-password"  # outside MAILTUI_HOME, which the leak guard reads
    secret.write_text("not-the-password\n")
    profile_with_imap(home, pf, dv, password_command=f"cat {secret}")
    assert send(leak_guard, "Held copy").code == 0
    [copy] = PendingCopies().pending()
    assert copy.held
    secret.write_text(pf.password_file.read_text())
    assert "copy to Sent of" not in run_cli(leak_guard, "outbox", "flush", env=FAST).out
    retried = run_cli(leak_guard, "outbox", "retry", copy.id, env=FAST)
    assert retried.code == 0, retried.err
    assert f"copy to Sent of {copy.message_id} (Held copy): copied to Sent on" in retried.out
    assert not PendingCopies().pending()
    assert len(in_folder(dv, dv.sent_user, "Sent", copy.message_id)) == 1
    # Another copy, given up on.
    secret.write_text("wrong again\n")
    assert send(leak_guard, "Given up").code == 0
    [other] = PendingCopies().pending()
    deleted = run_cli(leak_guard, "outbox", "delete", other.id)
    assert deleted.code == 0 and "Deleted the copy to Sent of" in deleted.out
    assert not PendingCopies().pending()
    unknown = run_cli(leak_guard, "outbox", "retry", "no-such-id")
    assert unknown.code == 64
