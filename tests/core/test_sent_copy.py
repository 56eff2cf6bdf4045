"""The Sent copy against a scripted IMAP server that misbehaves on purpose (tests/scripted_imap.py).

Dovecot, the well-behaved server, is in tests/interop/test_imap.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, USER, Pki, Transcript, write_profile
from tests.scripted_imap import ScriptedImap, Stored, start_imap
from tui.core import locations
from tui.core.imap_session import SENT_FOLDER_NAMES, choose_sent_folder
from tui.core.pending_copies import PendingCopies, copy_after_send, pending, retry_pending
from tui.core.profiles import Profile, load_profile
from tui.core.provider_memory import ProviderMemory
from tui.core.sent_copy import CopyOutcome, check_imap, copy_to_sent, with_bcc
from tui.demo.servers import ServerThread

WHEN = datetime(2026, 11, 30, 9, 15, 42, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture
def thread() -> Iterator[ServerThread]:
    with ServerThread() as running:
        yield running


def imap_server(thread: ServerThread, pki: Pki, **options: Any) -> ScriptedImap:
    return start_imap(thread, ScriptedImap(pki.server_context, {USER: PASSWORD}, **options))


def profile_for(home: Path, server: ScriptedImap, pki: Pki, **imap: Any) -> Profile:
    table = {
        "host": server.host,
        "port": server.port,
        "security": "tls",
        "ca_file": str(pki.ca_file),
        **imap,
    }
    path = write_profile(
        home,
        "portal",
        name="Portal",
        **{"from": "Jane <jane@portal.example>"},
        host="smtp.portal.example",
        security="starttls",
        auth="plain",
        username=USER,
        password=PASSWORD,
        timeout=5,
        imap=table,
    )
    return load_profile(path)


def message(message_id: str | None = None) -> tuple[bytes, str]:
    message_id = message_id or make_msgid(domain="portal.example")
    data = (
        f"From: Jane <jane@portal.example>\r\nTo: bob@example.org\r\n"
        f"Message-ID: {message_id}\r\nSubject: hello\r\n\r\nHi Bob.\r\n.\r\n"
    ).encode()
    return data, message_id


def test_the_copy_lands_seen_with_the_send_time(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki)
    data, message_id = message()
    result = copy_to_sent(profile, data, message_id, WHEN, transcript, wait=0.2)
    assert result.outcome is CopyOutcome.COPIED, result.summary
    assert result.folder == "Sent"
    [stored] = server.mail["Sent"]
    assert stored.data == data
    assert stored.flags == "(\\Seen)"
    assert stored.date == "30-Nov-2026 09:15:42 +0100"
    # The search, the one wait, the search again, then the append.
    searches = [c for c in server.commands if "SEARCH HEADER Message-ID" in c]
    assert len(searches) == 2
    text = transcript.text
    assert f"~> IMAP {server.commands[1].split()[0]} LOGIN {USER} ********" in text
    assert "~> IMAP [message: " in text
    assert "Hi Bob" not in text  # the message is one summary line
    assert "** IMAP copied to Sent" in text


def test_trycreate_says_the_folder_is_missing_and_is_held(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki, append=["trycreate"])
    profile = profile_for(home, server, pki)
    data, message_id = message()
    result = copy_after_send(profile, data, message_id, WHEN, transcript, wait=0)
    assert result.outcome is CopyOutcome.FAILED
    assert result.summary.startswith("copy to Sent pending: ")
    assert 'has no folder "Sent"' in result.summary
    assert "TRYCREATE" in result.summary
    assert not result.retry  # a folder does not appear by waiting
    [kept] = pending()
    assert kept.held and kept.message_id == message_id
    assert retry_pending([profile]) == []  # held: not tried by itself
    assert server.appends == 1


def test_bye_in_the_middle_of_append_is_retried_later(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki, append=["bye", "ok"])
    profile = profile_for(home, server, pki)
    data, message_id = message()
    result = copy_after_send(profile, data, message_id, WHEN, transcript, wait=0)
    assert result.outcome is CopyOutcome.FAILED
    assert result.retry
    assert "broke while the message was being copied" in result.summary
    assert server.in_folder("Sent", message_id) == 0
    [kept] = pending()
    assert not kept.held
    assert retry_pending([profile]) == []  # not due yet (backoff)
    [retried] = PendingCopies().retry([profile], now=kept.next_try + 1)
    assert retried.result.outcome is CopyOutcome.COPIED
    assert server.in_folder("Sent", message_id) == 1
    assert pending() == []


def test_a_dropped_append_is_found_by_the_retry_not_appended_twice(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki, append=["drop", "ok"])
    profile = profile_for(home, server, pki)
    data, message_id = message()
    first = copy_after_send(profile, data, message_id, WHEN, transcript, wait=0)
    assert first.outcome is CopyOutcome.FAILED and first.retry
    assert server.in_folder("Sent", message_id) == 1  # it did land; the answer was lost
    [retried] = PendingCopies().retry([profile], transcript, include_held=True)
    assert retried.result.outcome is CopyOutcome.ALREADY_THERE
    assert server.appends == 1
    assert server.in_folder("Sent", message_id) == 1
    assert pending() == []
    # A retry finding it is no proof the provider files sent mail: nothing remembered.
    assert ProviderMemory().saves_itself(profile) is None
    # ...and it did not wait: a retry searches once.
    assert sum("SEARCH" in c for c in server.commands) == 2  # one on each try (wait=0)


def test_a_wrong_password_is_tried_once_and_never_shown(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki, echo_password=True)
    server.users[USER] = "another password"
    profile = profile_for(home, server, pki)
    data, message_id = message()
    result = copy_after_send(profile, data, message_id, WHEN, transcript, password=PASSWORD)
    assert result.outcome is CopyOutcome.FAILED
    assert not result.retry
    assert "refused the IMAP login of jane" in result.summary
    assert PASSWORD not in result.summary
    assert server.logins == 1
    # Held: neither the next flush nor a later one logs in again.
    assert retry_pending([profile]) == []
    assert PendingCopies().retry([profile], now=4e9) == []
    assert server.logins == 1
    assert sum(" LOGIN " in line for line in transcript.lines) == 1
    # The person fixes the profile: a changed [imap] is tried again, once.
    server.users[USER] = PASSWORD
    fixed = profile._replace(imap=profile.imap._replace(folder="Sent"))  # type: ignore[union-attr]
    [retried] = retry_pending([fixed])
    assert retried.result.outcome is CopyOutcome.COPIED
    assert server.logins == 2


def test_the_provider_that_files_sent_mail_is_remembered(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki)
    data, message_id = message()

    # The provider files the message while mailtui waits: found by the re-check.
    filed = Stored(data, "(\\Seen)", "")
    threading.Timer(0.1, lambda: server.mail.setdefault("Sent", []).append(filed)).start()
    result = copy_to_sent(profile, data, message_id, WHEN, transcript, wait=0.5)
    assert result.outcome is CopyOutcome.ALREADY_THERE, result.summary
    assert server.appends == 0
    assert ProviderMemory().saves_itself(profile) == "Sent"
    assert locations.provider_memory_file().exists()
    # The next send neither connects nor waits.
    connections = len(server.commands)
    data2, id2 = message()
    later = copy_to_sent(profile, data2, id2, WHEN, transcript)
    assert later.outcome is CopyOutcome.ALREADY_THERE
    assert "earlier send" in later.summary
    assert len(server.commands) == connections
    # copy = "always" ignores what is remembered.
    always = profile._replace(imap=profile.imap._replace(copy="always"))  # type: ignore[union-attr]
    assert copy_to_sent(always, data2, id2, WHEN).outcome is CopyOutcome.COPIED
    # Another IMAP account for the profile is asked again.
    moved = profile._replace(imap=profile.imap._replace(username="other"))  # type: ignore[union-attr]
    assert ProviderMemory().saves_itself(moved) is None


def test_never_and_no_table_skip_without_connecting(
    home: Path, thread: ServerThread, pki: Pki
) -> None:
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki, copy="never")
    data, message_id = message()
    assert copy_to_sent(profile, data, message_id, WHEN).outcome is CopyOutcome.SKIPPED
    bare = profile._replace(imap=None)
    assert copy_after_send(bare, data, message_id, WHEN).outcome is CopyOutcome.SKIPPED
    assert server.commands == []
    assert pending() == []


def test_a_named_folder_that_does_not_exist_says_so(
    home: Path, thread: ServerThread, pki: Pki
) -> None:
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki, folder="Gesendet")
    data, message_id = message()
    result = copy_to_sent(profile, data, message_id, WHEN)
    assert result.outcome is CopyOutcome.FAILED and not result.retry
    assert 'has no folder "Gesendet"' in result.summary
    assert "folder = " in result.summary


def test_check_names_the_folders_decoded_when_there_is_no_sent(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki, folders={"INBOX": "", "Gel&APY-scht": "", "Archiv": ""})
    profile = profile_for(home, server, pki)
    check = check_imap(profile, transcript)
    assert not check.ok
    assert '"Gelöscht"' in check.summary  # modified UTF-7, decoded for the person
    assert check.folders == ("INBOX", "Gelöscht", "Archiv")
    server.folders["Sent Items"] = ""
    found = check_imap(profile, transcript)
    assert found.ok and found.folder == "Sent Items"
    assert "logged in to" in found.summary


def test_a_pin_that_does_not_match_stops_before_the_login(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki, tls_fingerprint="sha256:" + ":".join(["AB"] * 32))
    data, message_id = message()
    result = copy_to_sent(profile, data, message_id, WHEN, transcript)
    assert result.outcome is CopyOutcome.FAILED and not result.retry
    assert "does not match tls_fingerprint" in result.summary
    assert server.logins == 0
    pinned = profile._replace(imap=profile.imap._replace(tls_fingerprint=pki.fingerprint))  # type: ignore[union-attr]
    assert check_imap(pinned).ok


def test_a_server_that_is_down_is_retried_later(home: Path, thread: ServerThread, pki: Pki) -> None:
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki)
    down = profile._replace(imap=profile.imap._replace(port=1))  # type: ignore[union-attr]
    data, message_id = message()
    result = copy_to_sent(down, data, message_id, WHEN)
    assert result.outcome is CopyOutcome.FAILED and result.retry
    assert "refused the connection" in result.summary


@pytest.mark.parametrize(
    ("folders", "chosen"),
    [
        ([((b"\\HasNoChildren",), "/", "Sent Items"), ((b"\\Sent",), "/", "Gesendet")], "Gesendet"),
        *[([((), "/", name)], name) for name in SENT_FOLDER_NAMES],
        ([((), "/", "INBOX.Sent"), ((), "/", "Sent Messages")], "Sent Messages"),
        ([((), ".", "sent items")], "sent items"),
        ([((b"\\Noselect", b"\\Sent"), "/", "[Gmail]"), ((), "/", "Sent")], "Sent"),
        ([((), "/", "INBOX"), ((), "/", "Drafts")], None),
    ],
)
def test_choose_sent_folder(folders: list[Any], chosen: str | None) -> None:
    assert choose_sent_folder(folders) == chosen


def test_with_bcc_adds_one_header_at_the_end_of_the_header_block() -> None:
    data = b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n\r\nmore\r\n"
    assert with_bcc(data, []) == data
    assert with_bcc(data, ["Zoë <z@e.example>", "d@e.example"]) == (
        b"From: a@b.example\r\nSubject: x\r\nBcc: =?utf-8?q?Zo=C3=AB?= <z@e.example>, "
        b"d@e.example\r\n\r\nbody\r\n\r\nmore\r\n"
    )


def test_a_password_the_server_quotes_back_is_hidden_in_every_form(
    home: Path, thread: ServerThread, pki: Pki, transcript: Transcript
) -> None:
    odd = 'p\\a"ss w0rd'  # LOGIN sends it quoted and escaped; imaplib's error repr()s it
    server = imap_server(thread, pki, echo_password=True)
    server.users[USER] = "the right one"
    profile = profile_for(home, server, pki)
    data, message_id = message()
    result = copy_after_send(profile, data, message_id, WHEN, transcript, password=odd)
    assert result.failed
    kept = [p.read_text("utf-8", "replace") for p in home.rglob("*") if p.is_file()]
    for text in [result.summary, transcript.text, *kept]:
        for form in (odd, 'p\\\\a\\"ss w0rd', "p\\\\a"):
            assert form not in text
    assert "(you said ********)" in transcript.text


def test_a_surprise_from_the_library_fails_the_copy_not_the_caller(
    home: Path, thread: ServerThread, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.core.imap_session import ImapSession

    def surprise(self: ImapSession) -> str:
        raise RuntimeError(f"unexpected LIST reply for {PASSWORD}")

    monkeypatch.setattr(ImapSession, "sent_folder", surprise)
    server = imap_server(thread, pki)
    profile = profile_for(home, server, pki)
    data, message_id = message()
    result = copy_after_send(profile, data, message_id, WHEN)
    assert result.failed and result.retry
    assert "failed unexpectedly (RuntimeError" in result.summary
    assert PASSWORD not in result.summary
    assert [c.message_id for c in pending()] == [message_id]
