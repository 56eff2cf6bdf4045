"""The outbox: what waits to be sent, why, and what the person can do about each message."""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.core import locations
from tui.core.files import write_private
from tui.core.message import Draft
from tui.core.outbox import Outbox, OutboxEntry

STATE_STYLES = {
    "queued": "yellow",
    "interrupted": "yellow",
    "unknown": "bold red",
    "refused": "bold red",
    "held": "bold red",
    "sending": "cyan",
}


# What each state means for the person, and which key does what about it.
STATE_HELP = {
    "queued": "Waiting for its next try; r sends it now.",
    "sending": "Being sent right now.",
    "interrupted": "mailtui stopped before the end of the message left: the next retry sends it.",
    "unknown": "The whole message was sent but no answer came: it may have arrived. Check with "
    "the recipient; r sends it again, d deletes it.",
    "refused": "Refused for good and not retried: e edits it, r sends it again, d deletes it.",
    "held": "Not retried until you fix the profile (a failed login, TLS or a setting); then r "
    "sends it.",
}


async def read_back(outbox: Outbox, entry: OutboxEntry) -> Draft:
    """`entry_as_draft` in a thread: the message may be 25 MB."""
    return await asyncio.to_thread(entry_as_draft, outbox, entry)


def entry_as_draft(outbox: Outbox, entry: OutboxEntry) -> Draft:
    """A queued message back as a draft, its attachments saved to a private folder."""
    data, set_aside = _set_aside_big_parts(outbox.data(entry))
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body_part = message.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""
    folder = locations.data_dir() / "attachments" / entry.id
    attachments: list[Path] = []
    for part in message.iter_attachments():
        name = Path(part.get_filename() or f"attachment-{len(attachments) + 1}").name
        path = folder / name
        aside = part.get(SET_ASIDE)
        if aside is not None:
            payload: object = b"".join(_base64_slices(set_aside[int(aside)]))
        else:
            payload = part.get_payload(decode=True)
        write_private(path, payload if isinstance(payload, bytes) else b"")
        attachments.append(path)
    # The envelope's recipients that no To or Cc address names were the Bcc: compare whole
    # addresses (bob@example.org is not in jimbob@example.org).
    shown = {
        address.addr_spec.lower()
        for field in ("To", "Cc")
        for header in message.get_all(field, [])
        for address in getattr(header, "addresses", ())
    }
    bcc = tuple(r for r in entry.recipients if r.lower() not in shown)
    draft = Draft(
        to=(str(message.get("To", "")),) if message.get("To") else (),
        cc=(str(message.get("Cc", "")),) if message.get("Cc") else (),
        bcc=(", ".join(bcc),) if bcc else (),
        subject=str(message.get("Subject", "")),
        body=str(body).replace("\r\n", "\n"),
        attachments=tuple(attachments),
    )
    if entry.delivered_to and entry.recipients:
        # Partly sent: the headers name everyone, but it goes back for the rest only.
        from tui.core.message import only_recipients

        return only_recipients(draft, entry.recipients)
    return draft


# The email package holds the interpreter for over 100 ms at a time on a 10 MB attachment
# (a regular expression over the whole part, one base64 call over all of it), and that
# stalls the app even from a thread. So the big base64 bodies of the message's own parts are
# set aside before parsing, and decoded a slice at a time.
SET_ASIDE = "X-Mailtui-Set-Aside"
BIG_PART = 64 * 1024


def _set_aside_big_parts(data: bytes) -> tuple[bytes, list[bytes]]:
    """The message with each big base64 body of a top-level part taken out (its part marked
    with SET_ASIDE and the body's index), and those bodies in order."""
    if len(data) <= BIG_PART:
        return data, []
    header_end = data.find(b"\r\n\r\n")
    head = BytesHeaderParser(policy=policy.default).parsebytes(data[: max(header_end, 0) + 4])
    boundary = head.get_boundary() if header_end > 0 else None
    if not boundary:
        return data, []
    delimiter = b"\n--" + boundary.encode("ascii", "replace")
    kept: list[bytes] = []
    set_aside: list[bytes] = []
    start = 0
    while True:
        end = data.find(delimiter, start)
        part = data[start:] if end < 0 else data[start:end]
        split = part.find(b"\r\n\r\n")
        if split > 0 and len(part) - split > BIG_PART and _is_base64(part[:split]):
            kept.append(part[:split] + f"\r\n{SET_ASIDE}: {len(set_aside)}\r\n\r\n".encode())
            set_aside.append(part[split + 4 :])
        else:
            kept.append(part)
        if end < 0:
            return b"".join(kept), set_aside
        kept.append(delimiter)
        start = end + len(delimiter)


def _is_base64(head: bytes) -> bool:
    return b"content-transfer-encoding: base64" in head.lower()


def _base64_slices(text: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """Decode base64 a slice at a time, each a whole number of 4-character groups."""
    carry = b""
    for start in range(0, len(text), size):
        piece = carry + b"".join(text[start : start + size].split())
        cut = len(piece) - len(piece) % 4
        carry = piece[cut:]
        yield binascii.a2b_base64(piece[:cut])
    if carry:
        yield binascii.a2b_base64(carry + b"=" * (-len(carry) % 4))


class OutboxScreen(Screen[None]):
    AUTO_FOCUS = "#outbox-table"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="outbox.back"),
        Binding("r", "retry", "Send now", id="outbox.retry"),
        Binding("e", "edit", "Edit", id="outbox.edit"),
        Binding("d,delete", "delete", "Delete", id="outbox.delete"),
        Binding("t", "transcript", "Last transcript", id="outbox.transcript"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.outbox = Outbox()
        self.entries: list[OutboxEntry] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Outbox — messages waiting to be sent", style="bold"), id="outbox-title")
        yield DataTable(id="outbox-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="outbox-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "State", "Profile", "Recipients (Bcc too)", "Subject", "Tries", "Queued"
        )
        self.refresh_entries()
        self.query_one(DataTable).focus()

    def refresh_entries(self) -> None:
        """Show the outbox as it is now, the cursor kept on the same row where it can be."""
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.entries = self.outbox.entries()
        for entry in self.entries:
            table.add_row(
                Text(entry.state_label, style=STATE_STYLES.get(entry.state_label, "")),
                entry.profile_id,
                Text(", ".join(entry.recipients)),
                Text(entry.subject),
                str(entry.attempts),
                entry.queued_at[:16].replace("T", " "),
                key=entry.id,
            )
        if not self.entries:
            self.query_one("#outbox-detail", Static).update("The outbox is empty.")
            return
        table.move_cursor(row=min(row, len(self.entries) - 1))
        self._show()

    @property
    def current(self) -> OutboxEntry | None:
        table = self.query_one(DataTable)
        if not self.entries or table.cursor_row is None or table.cursor_row >= len(self.entries):
            return None
        return self.entries[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show(self) -> None:
        entry = self.current
        if entry is None:
            return
        lines = [f"{entry.id} · {entry.state_label} · {entry.attempts} tries"]
        meaning = STATE_HELP.get(entry.state_label)
        if meaning:
            lines.append(meaning)
        if entry.delivered_to:
            lines.append(f"Already delivered to {', '.join(entry.delivered_to)}.")
        if entry.last_error:
            lines.append(f"Last error: {entry.last_error}")
        self.query_one("#outbox-detail", Static).update(Text("\n".join(lines)))

    @dataclass
    class SendNow(Message):
        """The person released an entry: whoever runs the outbox retry should run it."""

        entry_id: str

    @dataclass
    class Edit(Message):
        """The person wants this entry back in the compose form."""

        entry: OutboxEntry
        screen: OutboxScreen

    def action_retry(self) -> None:
        entry = self.current
        if entry is None:
            return
        from tui.core.outbox import OutboxBusy

        try:
            self.outbox.release(entry.id)
        except (OutboxBusy, KeyError):
            self.notify("It is being sent right now, or has left the outbox.", severity="warning")
            self.refresh_entries()
            return
        self.post_message(self.SendNow(entry.id))
        self.notify(f"Sending {entry.subject or entry.id} now…", markup=False)

    def action_edit(self) -> None:
        entry = self.current
        if entry is not None:
            self.post_message(self.Edit(entry, self))

    def action_delete(self) -> None:
        from tui.ui.screens.confirm import ConfirmScreen

        entry = self.current
        if entry is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                from tui.core.outbox import OutboxBusy

                try:
                    self.outbox.remove(entry.id)
                except OutboxBusy:
                    self.notify(
                        "It is being sent right now; it was not deleted.", severity="warning"
                    )
                    return
                self.refresh_entries()
                self.notify(f"Deleted {entry.subject or entry.id} from the outbox.", markup=False)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete '{entry.subject}' to {', '.join(entry.recipients)}? It is not sent."
            ),
            confirmed,
        )

    def action_transcript(self) -> None:
        from tui.core.history import list_attempts
        from tui.ui.screens.history import AttemptScreen

        entry = self.current
        if entry is None or entry.last_attempt_id is None:
            return
        attempt = next((a for a in list_attempts() if a.id == entry.last_attempt_id), None)
        if attempt is not None:
            self.app.push_screen(AttemptScreen(attempt))
