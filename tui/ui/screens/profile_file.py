"""Fix a profile file that does not load: its text, its error, and Save when it is valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from tui.core.files import write_private
from tui.core.profiles import ProfileError, parse_profile


class ProfileFileScreen(Screen[bool]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="file.save"),
        Binding("escape", "cancel", "Cancel", id="file.cancel"),
    ]

    def __init__(self, error: ProfileError) -> None:
        super().__init__()
        self.path: Path = error.path
        self.first_error = str(error)

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Fix {self.path}", style="bold"))
        yield Static(Text(self.first_error), id="file-error", classes="ferror -shown")
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        yield TextArea(text, id="file-text")
        yield Footer()

    def _problem(self) -> str | None:
        text = self.query_one("#file-text", TextArea).text
        try:
            parse_profile(self.path.stem, tomllib.loads(text), self.path)
        except tomllib.TOMLDecodeError as exc:
            return f"{self.path}: is not valid TOML ({exc})"
        except ProfileError as exc:
            return str(exc)
        return None

    @on(TextArea.Changed)
    def _changed(self) -> None:
        problem = self._problem()
        label = self.query_one("#file-error", Static)
        label.update(Text(problem or "The file is valid: ctrl+s saves it."))
        label.set_class(problem is not None, "-shown")

    def action_save(self) -> None:
        problem = self._problem()
        if problem is not None:
            self.notify(problem, severity="error", markup=False)
            return
        text = self.query_one("#file-text", TextArea).text
        write_private(self.path, text.encode("utf-8"))
        self.notify(f"Saved {self.path}", markup=False)
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
