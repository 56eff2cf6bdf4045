"""The demo's mailbox: what the demo servers received, so a newcomer sees the mail arrive."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.core.transcript import human_size
from tui.demo.environment import DemoEnvironment


class MailboxScreen(Screen[None]):
    AUTO_FOCUS = "#mailbox-table"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="mailbox.back")]

    def __init__(self, demo: DemoEnvironment) -> None:
        super().__init__()
        self.demo = demo

    def compose(self) -> ComposeResult:
        yield Static(Text("Demo mailbox — messages the demo servers received", style="bold"))
        yield DataTable(id="mailbox-table", cursor_type="row")
        yield Static(id="mailbox-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Server", "From", "To", "Cc", "Subject", "Size", "Login")
        for index, (server, received) in enumerate(self.demo.mailbox()):
            parsed = message_from_bytes(received.content, policy=policy.default)
            table.add_row(
                server,
                Text(str(parsed.get("From", received.mail_from))),
                Text(str(parsed.get("To", "")) or ", ".join(received.rcpt_tos)),
                Text(str(parsed.get("Cc", ""))),
                Text(str(parsed.get("Subject", ""))),
                human_size(len(received.content)),
                received.authenticated_as or "—",
                key=str(index),
            )
        if not table.row_count:
            self.query_one("#mailbox-message", Static).update(
                "Nothing received yet: send something."
            )
        table.focus()

    @on(DataTable.RowHighlighted)
    def _show(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        _server, received = self.demo.mailbox()[int(event.row_key.value)]
        self.query_one("#mailbox-message", Static).update(Text(readable(received.content)))


def readable(content: bytes) -> str:
    """A received message as a person reads it: headers decoded (encoded words), the text
    part decoded (base64, quoted-printable, its charset), attachments by name and size."""
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    lines = [
        f"{name}: {message[name]}"
        for name in ("From", "To", "Cc", "Subject", "Date")
        if message.get(name)
    ]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    lines += ["", str(text)[:4000].replace("\r\n", "\n")]
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        size = human_size(len(payload)) if isinstance(payload, bytes) else "?"
        lines.append(f"[attachment: {part.get_filename() or 'unnamed'}, {size}]")
    return "\n".join(lines)
