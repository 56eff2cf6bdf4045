"""The demo's mailbox: what the demo servers received, so a newcomer sees the mail arrive."""

from __future__ import annotations

from email import message_from_bytes, policy

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

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
        table.add_columns("Server", "From", "To", "Subject", "Size", "Login")
        for index, (server, received) in enumerate(self.demo.mailbox()):
            parsed = message_from_bytes(received.content, policy=policy.default)
            table.add_row(
                server,
                Text(received.mail_from),
                Text(", ".join(received.rcpt_tos)),
                Text(str(parsed.get("Subject", ""))),
                f"{len(received.content):,} B",
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
        head, _, body = received.content.partition(b"\r\n\r\n")
        preview = head.decode("utf-8", "replace") + "\n\n" + body[:2000].decode("utf-8", "replace")
        self.query_one("#mailbox-message", Static).update(Text(preview))
