"""Every send attempt, newest first, filterable; opening one shows its saved transcript."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from tui.core.history import Attempt, list_attempts
from tui.core.transcript import printable
from tui.ui.widgets.transcript_pane import TranscriptPane

OUTCOME_STYLES = {"sent": "green", "would-work": "green", "partial": "yellow", "cancelled": "dim"}


class HistoryScreen(Screen[None]):
    AUTO_FOCUS = "#history-table"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="history.back"),
        Binding("ctrl+f", "focus_filter", "Filter", id="history.filter"),
        # Priority, so that the footer shows it over the table's own (hidden) enter.
        Binding("enter", "open", "Open transcript", id="history.open", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[Attempt] = []

    def compose(self) -> ComposeResult:
        yield Static(
            Text("History — every send attempt, newest first", style="bold"), id="history-title"
        )
        yield Input(
            placeholder="filter by profile, recipient, subject or result", id="history-filter"
        )
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # The long free text last, so that a narrow terminal still shows what happened.
        table.add_columns("Time", "Profile", "Result", "Duration", "Recipients", "Subject")
        self.attempts = list_attempts()
        self._fill("")
        table.focus()

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = needle.lower()
        for attempt in self.attempts:
            to = ", ".join(attempt.recipients)
            subject = attempt.subject if attempt.record.get("kind") != "check" else "(check)"
            haystack = " ".join((attempt.profile, to, subject, attempt.outcome)).lower()
            if needle and needle not in haystack:
                continue
            style = OUTCOME_STYLES.get(attempt.outcome, "red")
            table.add_row(
                attempt.time[:19].replace("T", " "),
                attempt.profile,
                Text(attempt.outcome, style=style),
                f"{attempt.duration_ms:,.0f} ms",
                Text(to),
                Text(subject),
                key=attempt.id,
            )

    @on(Input.Changed, "#history-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#history-filter")
    def _to_results(self) -> None:
        self.query_one(DataTable).focus()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.action_select_cursor()

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        attempt = next((a for a in self.attempts if a.id == event.row_key.value), None)
        if attempt is not None:
            self.app.push_screen(AttemptScreen(attempt))


class AttemptScreen(Screen[None]):
    """One saved attempt: its summary and transcript, in the live pane's colours."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="attempt.back")]

    def __init__(self, attempt: Attempt) -> None:
        super().__init__()
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        record = self.attempt.record
        yield Static(
            Text(
                f"{self.attempt.time[:19].replace('T', ' ')} · {self.attempt.profile} · "
                f"{self.attempt.outcome}",
                style="bold",
            ),
            id="attempt-title",
        )
        yield Static(Text(printable(str(record.get("summary", "")))), id="attempt-summary")
        yield TranscriptPane(max_lines=100_000)
        yield Footer()

    def on_mount(self) -> None:
        pane = self.query_one(TranscriptPane)
        pane.show_lines(self.attempt.transcript().splitlines())
        pane.state = self.attempt.outcome
        from tui.ui.widgets.transcript_pane import PhaseBar

        timings = self.attempt.record.get("timings_ms") or {}
        pane.query_one(PhaseBar).timings = {k: float(v) for k, v in timings.items()}
