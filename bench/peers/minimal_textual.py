"""A minimal Textual app with the same kinds of widgets as mailtui's first screen; it exits
as soon as that screen has been shown (run headless by the benchmark's case 2). With
`--stay` it stays open with the cursor in its first input, as mailtui's is in To (case 8,
the idle app)."""

import sys

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, OptionList, RichLog, Static, TextArea


class Minimal(App[None]):
    def __init__(self, stay: bool = False) -> None:
        super().__init__()
        self.stay = stay

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield OptionList("one", "two")
            with Vertical():
                for _ in range(4):
                    yield Input()
                yield TextArea()
            with Vertical():
                yield Static("state")
                yield RichLog()
        yield Footer()

    def on_mount(self) -> None:
        if self.stay:
            self.query_one(Input).focus()
        else:
            self.call_after_refresh(self.exit)


if __name__ == "__main__":
    stay = "--stay" in sys.argv
    Minimal(stay).run(headless=not stay)
