"""Ask before something that cannot be undone."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "no", "Cancel", id="confirm.cancel")]

    """Enter does what the button drawn as the default says: the act itself when it can be
    undone (e.g. "Add network"), Cancel before anything destructive (variant "error")."""

    def __init__(self, question: str, yes: str = "Delete", variant: str = "error") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, id="yes", variant=self.variant)  # type: ignore[arg-type]
                yield Button(
                    "Cancel", id="no", variant="primary" if self.destructive else "default"
                )
        yield Footer()  # this dialog's keys, not the main screen's

    @property
    def destructive(self) -> bool:
        return self.variant == "error"

    def on_mount(self) -> None:
        self.query_one("#no" if self.destructive else "#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
