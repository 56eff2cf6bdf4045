"""A send's copy to the IMAP Sent folder (tui/core/copying.py, wired into sending.py):
aiosmtpd for the send, the scripted IMAP server (tests/scripted_imap.py) for the copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, USER, Pki, Transcript, portal_profile
from tests.scripted_imap import ScriptedImap, start_imap
from tui.core import locations, sending
from tui.core.copying import hidden_recipients
from tui.core.message import Draft, compose
from tui.core.pending_copies import PendingCopies
from tui.core.profiles import Profile, load_profile
from tui.core.results import ExitCode, Outcome
from tui.demo.servers import RunningServer, ServerThread


@pytest.fixture(autouse=True)
def no_provider_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILTUI_SENT_COPY_WAIT", "0")


def imap_profile(
    home: Path, smtp: RunningServer, imap: ScriptedImap, pki: Pki, **table: Any
) -> Profile:
    keys = {"host": imap.host, "port": imap.port, "security": "tls", "ca_file": str(pki.ca_file)}
    return load_profile(portal_profile(home, smtp, pki, imap={**keys, **table}))


DRAFT = Draft(
    to=("Bob <bob@example.org>",),
    cc=("carol@example.net",),
    bcc=("Dave <dave@example.com>",),
    subject="With a copy",
    body="Hello.\n",
)


async def test_the_copy_is_what_the_server_received_plus_bcc(
    home: Path,
    servers: ServerThread,
    portal_server: RunningServer,
    pki: Pki,
    transcript: Transcript,
) -> None:
    imap = start_imap(servers, ScriptedImap(pki.server_context, {USER: PASSWORD}))
    profile = imap_profile(home, portal_server, imap, pki)
    result = await sending.send(profile, DRAFT, listener=transcript)
    assert result.outcome is Outcome.SENT and result.exit_code == ExitCode.OK
    assert result.sent_copy == f"copied to Sent on {imap.host}"
    assert not result.warnings
    [received] = portal_server.messages
    [stored] = imap.mail["Sent"]
    expected = received.content.replace(b"\r\n\r\n", b"\r\nBcc: Dave <dave@example.com>\r\n\r\n", 1)
    assert stored.data == expected
    lines = transcript.lines
    quit_at = next(i for i, line in enumerate(lines) if "<~ 221" in line)
    assert all(i > quit_at for i, line in enumerate(lines) if " IMAP " in line)
    assert "total" in result.timings
    [record] = [json.loads(p.read_text()) for p in locations.transcripts_dir().glob("*.json")]
    assert record["sent_copy"]["outcome"] == "copied"
    assert " IMAP " in (locations.transcripts_dir() / f"{record['id']}.log").read_text()


async def test_a_wrong_imap_password_is_a_warning_not_a_failure(
    home: Path, servers: ServerThread, portal_server: RunningServer, pki: Pki
) -> None:
    imap = start_imap(servers, ScriptedImap(pki.server_context, {USER: "another"}))
    profile = imap_profile(home, portal_server, imap, pki)
    result = await sending.send(profile, DRAFT)
    assert result.outcome is Outcome.SENT and result.exit_code == ExitCode.OK
    [warning] = result.warnings
    assert warning.startswith("copy to Sent pending: ")
    assert imap.logins == 1
    [copy] = PendingCopies().pending()
    assert copy.held and copy.message_id == result.message_id
    assert b"Bcc: Dave <dave@example.com>" in next(
        p.read_bytes() for p in (locations.sent_copies_dir() / "new").iterdir()
    )


async def test_a_flush_copies_each_message_it_sent(
    home: Path, servers: ServerThread, portal_server: RunningServer, pki: Pki
) -> None:
    imap = start_imap(servers, ScriptedImap(pki.server_context, {USER: PASSWORD}))
    profile = imap_profile(home, portal_server, imap, pki)
    box = sending.Attempt(profile, sending.Mode.SEND).outbox
    for n in range(2):
        composed = compose(profile.from_, DRAFT._replace(subject=f"queued {n}"))
        box.add_composed(composed, profile.id)[0].release()
    flushed = await sending.flush(profile)
    assert flushed.sent == 2
    assert len(imap.mail["Sent"]) == 2
    assert all(b"Bcc: dave@example.com" in m.data for m in imap.mail["Sent"])
    assert all(r.sent_copy for _e, r in flushed.messages)


def test_hidden_recipients_are_the_envelope_ones_the_header_does_not_name() -> None:
    data = b"To: Bob <BOB@example.org>\r\nCc: carol@b\xc3\xbccher.example\r\n\r\nbody\r\n"
    envelope = ["bob@example.org", "carol@xn--bcher-kva.example", "dave@example.com"]
    assert hidden_recipients(data, envelope) == ["dave@example.com"]


async def test_a_cancelled_send_keeps_the_copies_it_had_not_made(
    home: Path, servers: ServerThread, portal_server: RunningServer, pki: Pki
) -> None:
    """Ctrl-C while the first of two copies is under way: the copy in its thread goes on
    (filed, or kept if it fails), and the one not yet begun waits in pending copies, not
    lost; a retry files it, once."""
    import asyncio

    from tui.core.pending_copies import retry_pending
    from tui.core.transcript import SessionEvent, TranscriptEvent

    imap = start_imap(servers, ScriptedImap(pki.server_context, {USER: PASSWORD}))
    profile = imap_profile(home, portal_server, imap, pki)
    box = sending.Attempt(profile, sending.Mode.SEND).outbox
    ids = []
    for n in range(2):
        composed = compose(profile.from_, DRAFT._replace(subject=f"queued {n}"))
        ids.append(composed.message_id)
        box.add_composed(composed, profile.id)[0].release()
    loop = asyncio.get_running_loop()
    stopped = False

    def listener(event: SessionEvent) -> None:
        nonlocal stopped
        if isinstance(event, TranscriptEvent) and " IMAP " in event.format() and not stopped:
            stopped = True  # the first IMAP line: a copy is under way, in its thread
            loop.call_soon_threadsafe(task.cancel)

    task = asyncio.create_task(sending.flush(profile, listener=listener))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(portal_server.messages) == 2  # both went before the copies began
    store = PendingCopies()
    for _ in range(200):  # the copy under way finishes in its thread
        if imap.in_folder("Sent", ids[0]) or store.for_message(ids[0]):
            break
        await asyncio.sleep(0.05)
    assert imap.in_folder("Sent", ids[0]) == 1 or store.for_message(ids[0]) is not None
    waiting = store.for_message(ids[1])
    assert waiting is not None and not waiting.held
    assert "stopped before its copy to Sent was made" in waiting.last_error
    await asyncio.to_thread(retry_pending, [profile], None, lambda _p: None, include_held=True)
    assert [imap.in_folder("Sent", i) for i in ids] == [1, 1]
    assert not store.pending()
