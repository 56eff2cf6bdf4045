"""A masked password prompt for a profile with no stored secret."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label

from tui.core.profiles import Profile


class PasswordScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="password.cancel")]

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Password for {self.profile.username} ({self.profile.name})", markup=False)
            yield Input(password=True, id="password")
            yield Label("Enter to continue, Escape to cancel. It is not stored.", classes="hint")
        yield Footer()  # this dialog's keys, not the main screen's

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
