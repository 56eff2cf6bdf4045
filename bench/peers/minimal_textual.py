"""A minimal Textual app with the same kinds of widgets as mailtui's first screen; it exits
as soon as that screen has been shown (run headless by the benchmark)."""

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, OptionList, RichLog, Static, TextArea


class Minimal(App[None]):
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
        self.call_after_refresh(self.exit)


if __name__ == "__main__":
    Minimal().run(headless=True)
