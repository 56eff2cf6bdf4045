"""The SMTP transcript: one event per line, redacted, shown literally.

A line reads `HH:MM:SS.mmm MARK text`; MARK says who spoke and whether it was inside TLS.
Listeners (the CLI's stderr printer, the app's pane, the file on disk) all receive the
same `TranscriptEvent`s.
"""

import re
import time
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class Mark(StrEnum):
    CLIENT = "->"
    SERVER = "<-"
    CLIENT_TLS = "~>"
    SERVER_TLS = "<~"
    INFO = "**"
    ERROR = "!!"


REDACTED = "********"

# Every control character except TAB, plus DEL and C1 controls, is shown as an escape so
# that server text can never move the cursor or recolour the terminal; so are the bidi
# controls (marks, embeddings, overrides, isolates) and zero-width characters, which can
# reorder or hide what a line seems to say.
_UNSAFE = (
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069"
    r"\u2028\u2029\ufeff]"
)


def printable(text: str) -> str:
    r"""Make server or user text safe to show: control characters become `\xNN` escapes,
    bidi and zero-width characters `\uNNNN`.

    Undecodable bytes (kept by the protocol as surrogate escapes) are shown as `\xNN` too.
    """
    if text.isprintable():
        # Nothing to escape: every character above is a control, format, separator or
        # surrogate, which isprintable() refuses. Most lines take this way, and the
        # pattern (slow to compile) is only compiled when a line needs it.
        return text

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    text = re.sub(_UNSAFE, escape, text)
    if any("\udc80" <= c <= "\udcff" for c in text):
        text = "".join(
            f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else c for c in text
        )
    return text


class TranscriptEvent(NamedTuple):
    """One transcript line: when, who (the mark) and what, already redacted and printable."""

    at: float
    mark: Mark
    text: str

    def format(self) -> str:
        stamp = datetime.fromtimestamp(self.at).strftime("%H:%M:%S.%f")[:-3]
        return f"{stamp} {self.mark.value} {self.text}"


class StateChange(NamedTuple):
    """The session moved to a new state (connecting, tls, authenticating, sending, …)."""

    state: str
    progress: float | None = None  # fraction of the message sent, while sending


SessionEvent = TranscriptEvent | StateChange
Listener = Callable[[SessionEvent], None]


def make_event(mark: Mark, text: str) -> TranscriptEvent:
    return TranscriptEvent(time.time(), mark, printable(text))


def parse_line(line: str) -> TranscriptEvent | None:
    """Read back a saved transcript line (for history); None if it is not one."""
    match = re.match(r"^(\d\d:\d\d:\d\d\.\d{3}) (->|<-|~>|<~|\*\*|!!) (.*)$", line)
    if not match:
        return None
    stamp, mark, text = match.groups()
    today = datetime.now().strftime("%Y-%m-%d")
    at = datetime.strptime(f"{today} {stamp}", "%Y-%m-%d %H:%M:%S.%f").timestamp()
    return TranscriptEvent(at, Mark(mark), text)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
