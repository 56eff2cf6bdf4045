"""The live transcript: coloured by direction, with the session state and a phase-timing bar."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import RichLog, Static

from tui.core.results import PHASES, AttemptResult, ExitCode
from tui.core.transcript import Mark, SessionEvent, StateChange, TranscriptEvent, printable

MARK_STYLES: dict[str, str] = {
    Mark.CLIENT.value: "cyan",
    Mark.SERVER.value: "green",
    Mark.CLIENT_TLS.value: "bold cyan",
    Mark.SERVER_TLS.value: "bold green",
    Mark.INFO.value: "magenta",
    Mark.ERROR.value: "bold red",
}
PHASE_COLOURS = {
    "connect": "#3b6ea5",
    "greeting": "#5a8fc7",
    "ehlo": "#2f8f83",
    "tls": "#8a5ab3",
    "auth": "#b3894a",
    "envelope": "#6a9a3a",
    "data": "#b35a5a",
}
STATE_LABELS = {
    "idle": "idle",
    "connecting": "connecting…",
    "tls": "starting TLS…",
    "authenticating": "authenticating…",
    "preparing": "preparing the message…",
    "sending": "sending",
    "sent": "sent",
    "failed": "failed",
    "cancelled": "cancelled",
    "would-work": "will work",
    "check-refused": "will be refused",
    "check-unknown": "cannot tell",
    "check-config": "profile error",
    "partial": "partly sent",
    "refused": "failed: refused",
    "temporary": "failed for now",
    "unknown": "outcome unknown",
    "auth-failed": "failed: login refused",
    "tls-failed": "failed: TLS",
    "config": "failed: configuration",
    "input": "not sent: input",
    "imap-found": "Sent folder found",
    "imap-failed": "IMAP check failed",
}
GOOD_STATES = ("sent", "would-work", "imap-found")
BAD_STATES = (
    "failed",
    "check-refused",
    "check-config",
    "partial",
    "refused",
    "temporary",
    "unknown",
    "auth-failed",
    "tls-failed",
    "config",
    "input",
    "imap-failed",
)


INDENT = 16  # "HH:MM:SS.mmm -> ": continuation lines start under the text


def wrap_body(body: str, width: int) -> list[str]:
    """`body` in lines of at most `width` characters: broken at spaces, and a word longer
    than a line (a fingerprint, a URL) after a ':' or '/' where it can, so that a
    fingerprint breaks between bytes."""
    width = max(width, 8)
    lines: list[str] = []
    current = ""
    for word in body.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(word) > width:
            cut = max(word.rfind(":", 0, width), word.rfind("/", 0, width)) + 1
            cut = cut if cut > width // 3 else width
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    return lines


def _reply_style(mark: str, body: str) -> str:
    """A server's refusal stands out: 5xx in the error colour, 4xx in the warning one."""
    if mark in (Mark.SERVER.value, Mark.SERVER_TLS.value) and body[:1] in ("4", "5"):
        return "bold red" if body[:1] == "5" else "yellow"
    return ""


def styled_line(line: str, width: int | None = None) -> Text:
    """A saved or live transcript line as coloured text; server words are never markup.
    With `width`, it is wrapped to it with the text of later lines under the first one's.

    A saved line is escaped again: the file may not be the one mailtui wrote."""
    line = printable(line)
    stamp, _, rest = line.partition(" ")
    mark, _, body = rest.partition(" ")
    style = MARK_STYLES.get(mark)
    if style is None:
        return Text(line)
    text = Text(stamp + " ", style="dim")
    text.append(mark + " ", style=style)
    body_style = style if mark in ("!!", "**") else _reply_style(mark, body)
    if width is None or len(body) <= width - INDENT:
        text.append(body, style=body_style)
        return text
    pieces = wrap_body(body, width - INDENT)
    text.append(pieces[0], style=body_style)
    for piece in pieces[1:]:
        text.append("\n" + " " * INDENT + piece, style=body_style)
    return text


class PhaseBar(Widget):
    """Proportional segments for connect, TLS, AUTH, DATA…, and a legend with milliseconds."""

    DEFAULT_CSS = """
    PhaseBar { height: auto; max-height: 4; }
    """

    timings: reactive[dict[str, float]] = reactive(dict, layout=False)

    def render(self) -> Text:
        phases = [(name, self.timings[name]) for name in PHASES[:-1] if self.timings.get(name)]
        total = self.timings.get("total") or sum(ms for _, ms in phases)
        if not phases or total <= 0:
            return Text("phases: —", style="dim")
        width = max(self.size.width, 10)
        bar = Text()
        used = 0
        for index, (name, ms) in enumerate(phases):
            last = index == len(phases) - 1
            cells = width - used if last else max(1, round(width * ms / total))
            cells = max(0, min(cells, width - used))
            used += cells
            label = f" {name}" if len(name) + 1 <= cells else ""
            colour = PHASE_COLOURS.get(name, "#555555")
            bar.append(label.ljust(cells)[:cells], style=f"white on {colour}")
        # Short enough for a column of a wide screen, and wrapped (never cut) when not.
        legend = Text()
        for name, ms in phases:
            legend.append("■", style=PHASE_COLOURS.get(name, "#555555"))
            legend.append(f"{name} {ms:.0f} ")
        legend.append(f"= {total:.0f} ms", style="bold")
        return Text("\n").join([bar, legend])


class TranscriptPane(Vertical):
    """Shows one attempt at a time: state line, phase bar, and the transcript log.

    The log keeps at most `max_lines` lines on screen; the full transcript is on disk.
    """

    ALLOW_MAXIMIZE = True  # F9 gives it the whole screen on a small terminal

    DEFAULT_CSS = """
    TranscriptPane { height: 1fr; }
    TranscriptPane > #state { height: 1; }
    TranscriptPane > #state.-failed { color: $error; text-style: bold; }
    TranscriptPane > #state.-sent { color: $success; text-style: bold; }
    TranscriptPane > RichLog { height: 1fr; background: $surface; }
    """

    state: reactive[str] = reactive("idle")
    progress: reactive[float | None] = reactive(None)

    def __init__(self, max_lines: int = 5000, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._max_lines = max_lines
        self._title = ""
        self._lines: deque[str] = deque(maxlen=max_lines)  # written again after a resize
        self._written_width: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="state")
        yield PhaseBar()
        yield RichLog(
            max_lines=self._max_lines, markup=False, highlight=False, wrap=True, min_width=20
        )

    def on_mount(self) -> None:
        self._refresh_state()

    @property
    def log_widget(self) -> RichLog:
        return self.query_one(RichLog)

    def begin(self, title: str) -> None:
        """Start showing a new attempt."""
        self._title = title
        self.log_widget.clear()
        self._lines.clear()
        self.query_one(PhaseBar).timings = {}
        self.progress = None
        self.state = "connecting"
        self._refresh_state()

    def handle(self, event: SessionEvent) -> None:
        """The session's listener: append transcript lines, follow state changes. While the
        app closes (the pane is being taken down, `display` is False) a send that is being
        cancelled still reports: its lines go to its history record only."""
        if not self.display:
            return
        if isinstance(event, TranscriptEvent):
            self._write(event.format())
        elif isinstance(event, StateChange):
            self.state = event.state
            self.progress = event.progress

    def show_lines(self, lines: list[str]) -> None:
        for line in lines:
            self._write(line)

    def _write(self, line: str) -> None:
        self._lines.append(line)
        self.log_widget.write(styled_line(line, self._width))

    @property
    def _width(self) -> int | None:
        width = self.log_widget.scrollable_content_region.width
        return width - 1 if width > INDENT + 8 else None

    def on_resize(self) -> None:
        """Lines are wrapped to the width they are written at: write them again at the new
        one (the lines kept, at most max_lines)."""
        width = self._width
        if width == self._written_width:
            return
        self._written_width = width
        log = self.log_widget
        log.clear()
        for line in self._lines:
            log.write(styled_line(line, width))

    def finish(self, result: AttemptResult, check: bool = False) -> None:
        self.query_one(PhaseBar).timings = dict(result.timings)
        state = result.outcome.value
        if check and state != "would-work":
            state = {
                ExitCode.TEMPFAIL: "check-unknown",
                ExitCode.CONFIG: "check-config",
            }.get(result.exit_code, "check-refused")
        self.state = state

    def watch_state(self) -> None:
        self._refresh_state()

    def watch_progress(self) -> None:
        self._refresh_state()

    def _refresh_state(self) -> None:
        if not self.is_mounted:
            return
        label = STATE_LABELS.get(self.state, self.state)
        if self.state == "sending" and self.progress is not None:
            label = f"sending {self.progress * 100:.0f}%"
        state = next(self.query("#state").results(Static), None)
        if state is None:  # being unmounted
            return
        state.set_class(self.state in GOOD_STATES, "-sent")
        state.set_class(self.state in BAD_STATES, "-failed")
        title = f"{self._title} — " if self._title else ""
        state.update(Text(f"{title}{label}"))
