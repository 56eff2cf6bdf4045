"""Before sending with an IP-trusted profile from outside its networks: say so, offer better."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from tui.core.network_history import TrustWarning


class NetworkWarningScreen(ModalScreen[str | None]):
    """Dismisses with "alternative", "anyway" or None (do not send)."""

    BINDINGS = [Binding("escape", "cancel", "Don't send", id="warning.cancel")]

    def __init__(self, warning: TrustWarning) -> None:
        super().__init__()
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("This network is not one where this profile is trusted", classes="title")
            yield Label(self.warning.text, markup=False)
            with Horizontal(classes="buttons"):
                if self.warning.alternative is not None:
                    yield Button(
                        Text(f"Send with {self.warning.alternative.name}"),
                        id="alternative",
                        variant="primary",
                    )
                yield Button(  # the default (Enter) when there is no better profile
                    "Send anyway",
                    id="anyway",
                    variant="default" if self.warning.alternative else "primary",
                )
                yield Button("Don't send", id="cancel")
        yield Footer()  # this dialog's keys, not the main screen's

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
