"""`mailtui drafts`: the drafts a failed `mailtui send` (or the app's autosave) left behind,
listed, shown, sent and deleted from the command line, against real servers on loopback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import (
    LeakGuard,
    Pki,
    down_server,
    isp_profile,
    portal_profile,
    run_cli,
)
from tui.core.drafts import Drafts
from tui.core.message import Draft
from tui.core.outbox import Outbox
from tui.demo.servers import RunningServer, ServerSpec, ServerThread


def _draft_names(home: Path) -> list[str]:
    return sorted(p.name for sub in ("new", "cur") for p in (home / "drafts" / sub).glob("*"))


def test_a_draft_from_a_refused_send_is_listed_shown_and_sent_with_another_profile(
    home: Path,
    isp_server: RunningServer,
    portal_server: RunningServer,
    pki: Pki,
    leak_guard: LeakGuard,
    tmp_path: Path,
) -> None:
    isp_profile(home, isp_server, source_address="127.0.0.2")  # relay denied from here
    portal_profile(home, portal_server, pki)
    notes = tmp_path / "notes.txt"
    notes.write_text("the figures\n")
    failed = run_cli(
        leak_guard,
        *("send", "--profile", "isp", "--to", "bob@example.org", "--cc", "carol@example.org"),
        *("--subject", "Quarterly [draft]", "--attach", str(notes)),
        stdin="Line one.\nLine two.\n",
    )
    assert failed.code == 69 and "saved to drafts" in failed.err
    [draft_id] = _draft_names(home)

    listed = run_cli(leak_guard, "drafts")
    assert listed.code == 0, listed.err
    [line] = listed.out.splitlines()
    assert line.startswith(f"{draft_id}  ")
    assert " isp " in line and "bob@example.org, carol@example.org  Quarterly [draft]" in line

    shown = run_cli(leak_guard, "drafts", "show", draft_id[:12])  # a unique start is enough
    assert shown.code == 0, shown.err
    assert f"Draft:    {draft_id}\n" in shown.out
    assert "Profile:  isp\n" in shown.out
    assert "To:       bob@example.org\nCc:       carol@example.org\n" in shown.out
    assert "Subject:  Quarterly [draft]\n" in shown.out
    assert f"Attached: {notes} (12 bytes)\n" in shown.out
    assert shown.out.endswith("\n\nLine one.\nLine two.\n")

    again = run_cli(leak_guard, "drafts", "send", draft_id)  # its own profile: refused again
    assert again.code == 69
    assert "refused to relay" in again.err and f"It stays in drafts as {draft_id}." in again.err
    assert _draft_names(home) == [draft_id]  # kept as it was, not saved a second time
    assert isp_server.messages == []

    sent = run_cli(leak_guard, "drafts", "send", draft_id, "--profile", "portal")
    assert sent.code == 0, sent.err
    assert "Sent to bob@example.org, carol@example.org" in sent.err
    assert "The draft was removed." in sent.err
    [received] = portal_server.messages
    assert b"Line two." in received.content and b"notes.txt" in received.content
    assert _draft_names(home) == []
    assert run_cli(leak_guard, "drafts", "list").out == "No drafts.\n"


def test_draft_ids_are_checked_and_a_draft_without_profile_needs_one(
    home: Path, leak_guard: LeakGuard
) -> None:
    drafts = Drafts()
    first = drafts.save(Draft(to=("bob@example.org",), subject="Plans", body="x\n"), None)
    second = drafts.save(Draft(subject="Typing…", body="half a"), "isp", autosave=True)

    unknown = run_cli(leak_guard, "drafts", "show", "no-such-draft")
    assert unknown.code == 64
    assert "there is no draft no-such-draft; see 'mailtui drafts list'" in unknown.err
    # Both names start with the time they were saved at: they share at least its first digit.
    shared = next(first[:n] for n in range(len(first), 0, -1) if second.startswith(first[:n]))
    ambiguous = run_cli(leak_guard, "drafts", "delete", shared)
    assert ambiguous.code == 64 and "is the start of 2 drafts' ids" in ambiguous.err
    assert run_cli(leak_guard, "drafts", "send").code == 64
    assert run_cli(leak_guard, "drafts", "show", first, second).code == 64

    listed = run_cli(leak_guard, "drafts").out.splitlines()
    assert listed[0].startswith(first) and "(no subject)" not in listed[0]
    assert listed[1].startswith(second) and "(no recipient)  Typing…" in listed[1]
    assert listed[1].endswith("(autosaved by the app)")

    nameless = run_cli(leak_guard, "drafts", "send", first)
    assert nameless.code == 64
    assert f"mailtui drafts send {first} --profile ID" in nameless.err

    deleted = run_cli(leak_guard, "drafts", "delete", first, second)
    assert deleted.code == 0, deleted.err
    assert f"Deleted draft {first} (Plans)." in deleted.out
    assert drafts.list() == []


def test_a_partly_refused_draft_keeps_only_the_refused_recipients(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    refusing = servers.start(
        ServerSpec("isp", refuse={"carol@example.org": "550 5.1.1 <carol@example.org>: unknown"})
    )
    isp_profile(home, refusing)
    draft_id = Drafts().save(
        Draft(to=("bob@example.org, carol@example.org",), subject="Party", body="Come!\n"), "isp"
    )
    result = run_cli(leak_guard, "drafts", "send", draft_id)
    assert result.code == 69
    assert "accepted for bob@example.org, but refused for carol@example.org" in result.err
    assert f"Draft {draft_id} now holds the message for the recipients who refused it" in (
        result.err
    )
    [received] = refusing.messages
    assert list(received.rcpt_tos) == ["bob@example.org"]
    [kept] = Drafts().list()
    assert kept.id == draft_id and kept.draft.to == ("carol@example.org",)
    assert kept.draft.body == "Come!\n"


def test_a_draft_that_meets_a_temporary_failure_moves_to_the_outbox(
    home: Path, servers: ServerThread, leak_guard: LeakGuard
) -> None:
    isp_profile(home, down_server(servers), timeout=3)  # type: ignore[arg-type]
    draft_id = Drafts().save(Draft(to=("bob@example.org",), subject="Later", body="b\n"), "isp")
    result = run_cli(leak_guard, "drafts", "send", draft_id)
    assert result.code == 75
    assert "The draft was removed: the outbox has it." in result.err
    assert Drafts().list() == []
    [queued] = Outbox().entries()
    assert queued.subject == "Later"


def test_drafts_is_in_the_help(home: Path, leak_guard: LeakGuard) -> None:
    listing = run_cli(leak_guard, "--help")
    assert "    drafts " in listing.out
    helped = run_cli(leak_guard, "drafts", "--help")
    assert "  send ID " in helped.out and "--profile ID" in helped.out
