"""The first run: no profile yet. What a profile is, in two sentences, and three ways on."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

WELCOME = (
    "mailtui sends each message through a profile: the account of your internet provider "
    "(its server trusts the addresses it hands out, so it needs no login, but only on its own "
    "network), or a web-portal account such as Gmail, Outlook or Yahoo (a login over TLS, "
    "from anywhere).\n\nCreate your first profile, or try everything first on two local demo "
    "servers."
)


class WelcomeScreen(ModalScreen[str]):
    """Dismissed with "new", "demo" or "later"."""

    BINDINGS = [Binding("escape", "later", "Not now", id="welcome.later")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Welcome to mailtui", style="bold"), classes="title")
            yield Label(Text(WELCOME))
            with Horizontal(classes="buttons"):
                yield Button("Create a profile", id="new", variant="primary")
                yield Button("Try the demo", id="demo")
                yield Button("Not now", id="later")
        yield Footer()  # this dialog's keys, not the main screen's

    def on_mount(self) -> None:
        self.query_one("#new", Button).focus()  # the button drawn as the default has focus

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "later")

    def action_later(self) -> None:
        self.dismiss("later")
