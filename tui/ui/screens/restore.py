"""After a crash: offer the message that was being written."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from tui.core.drafts import SavedDraft


class RestoreScreen(ModalScreen[str | None]):
    """Dismisses with "restore", "discard" or None (keep it in drafts for later)."""

    BINDINGS = [Binding("escape", "later", "Later", id="restore.later")]

    def __init__(self, saved: SavedDraft, more: int) -> None:
        super().__init__()
        self.saved = saved
        self.more = more

    def compose(self) -> ComposeResult:
        draft = self.saved.draft
        to = ", ".join(draft.to) or "(no recipient yet)"
        with Vertical(classes="dialog"):
            yield Label("Restore the message you were writing?", classes="title")
            yield Label(
                f"To: {to}\nSubject: {draft.subject or '(none)'}\nSaved: {self.saved.saved_at}",
                markup=False,
            )
            if self.more:
                yield Label(
                    f"{self.more} more unsent draft(s) stay in the drafts folder.", classes="hint"
                )
            with Horizontal(classes="buttons"):
                yield Button("Restore", id="restore", variant="primary")
                yield Button("Discard", id="discard", variant="error")
                yield Button("Later", id="later")
        yield Footer()  # this dialog's keys, not the main screen's

    def on_mount(self) -> None:
        self.query_one("#restore", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "later" else event.button.id)

    def action_later(self) -> None:
        self.dismiss(None)
