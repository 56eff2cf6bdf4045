"""Every send attempt on disk: its redacted transcript and a machine-readable record.

`transcripts/<id>.log` holds the transcript lines as they happened; `<id>.json` holds
time, profile, envelope, result and network. Ids sort by time.
"""

import contextlib
import errno
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tui.core import locations
from tui.core.files import write_private
from tui.core.locations import ensure_private_dir
from tui.core.results import AttemptResult
from tui.core.transcript import SessionEvent, TranscriptEvent


def new_attempt_id() -> str:
    return datetime.now().strftime("%Y%m%dT%H%M%S.%f") + "-" + os.urandom(2).hex()


class AttemptRecorder:
    """A transcript listener that appends every line to the attempt's file as it happens.

    Saving is a side matter of the send: neither a listener call nor `finish` ever raises
    for I/O. The first problem (a full disk, a folder that cannot be written) stops the
    transcript, closes the file and is kept in `warning` for the caller to show; the send
    goes on and its outcome stands.
    """

    def __init__(self, attempt_id: str | None = None, folder: Path | None = None) -> None:
        self.attempt_id = attempt_id or new_attempt_id()
        self.folder = folder or locations.transcripts_dir()
        # One line naming what was not saved, where and why; None while all was saved.
        self.warning: str | None = None
        self._fd: int | None = None
        self._log_error: str | None = None  # why the transcript stopped, once it did

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.attempt_id}.log"

    @property
    def record_path(self) -> Path:
        return self.folder / f"{self.attempt_id}.json"

    def __call__(self, event: SessionEvent) -> None:
        if not isinstance(event, TranscriptEvent) or self._log_error is not None:
            return
        # Lines are printable already; backslashreplace keeps even a stray surrogate.
        line = (event.format() + "\n").encode("utf-8", "backslashreplace")
        try:
            if self._fd is None:
                ensure_private_dir(self.folder)
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
                self._fd = os.open(self.log_path, flags, 0o600)
            _write_all(self._fd, line)
        except OSError as exc:
            self._log_error = _reason(exc)
            self._close()
            self.warning = (
                f"the transcript could not be saved to {self.log_path}: {self._log_error}"
            )

    def finish(self, record: dict[str, Any]) -> None:
        """Close the transcript and write the record beside it (never raises for I/O)."""
        self._close()
        record = {"id": self.attempt_id, **record}
        if self._log_error is not None:
            record["transcript_error"] = self._log_error  # why `history N` shows so little
        try:
            data = json.dumps(record, indent=2, default=str).encode("utf-8")
            # A record, not a message: atomic is enough, no need to wait for the disk.
            write_private(self.record_path, data, sync=False)
        except (OSError, ValueError) as exc:
            if self._log_error is not None:
                self.warning = (
                    f"the transcript and record of this attempt could not be saved in "
                    f"{self.folder}: {self._log_error}"
                )
            else:
                self.warning = (
                    f"the record of this attempt could not be saved to {self.record_path}: "
                    f"{_reason(exc)}"
                )

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:  # a regular file never does this; do not spin if it does
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _reason(exc: Exception) -> str:
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return strerror or str(exc) or type(exc).__name__


def result_record(result: AttemptResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "outcome": result.outcome.value,
        "exit_code": int(result.exit_code),
        "summary": result.summary,
        "message_id": result.message_id,
        "recipients": [r._asdict() for r in result.recipients],
        "timings_ms": {k: round(v, 3) for k, v in result.timings.items()},
        "offers": result.offers,
        "client_address": result.client_address,
        "size": result.size,
    }
    if result.diagnosis is not None:
        data["diagnosis"] = {
            "kind": result.diagnosis.kind,
            "explanation": result.diagnosis.explanation,
            "retry_profile": result.diagnosis.retry_profile,
            "code": result.diagnosis.code,
            "server_text": result.diagnosis.server_text,
        }
    return data


class Attempt(NamedTuple):
    """One saved attempt, as listed by `mailtui history`."""

    id: str
    record: dict[str, Any]
    log_path: Path

    @property
    def time(self) -> str:
        return str(self.record.get("time", ""))

    @property
    def kind(self) -> str:
        """What the attempt was: "send", "flush" or "check" (records before kinds: "send")."""
        return str(self.record.get("kind", "send"))

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome", "?"))

    @property
    def profile(self) -> str:
        return str(self.record.get("profile", "?"))

    @property
    def subject(self) -> str:
        return str(self.record.get("subject", ""))

    @property
    def recipients(self) -> list[str]:
        envelope = self.record.get("envelope") or {}
        return list(envelope.get("to", []))

    @property
    def duration_ms(self) -> float:
        return float((self.record.get("timings_ms") or {}).get("total", 0.0))

    @property
    def pending_copies(self) -> list[str]:
        """The Message-IDs whose copy to the IMAP Sent folder failed in this attempt (and
        was kept for a later try)."""
        records = [self.record, *(self.record.get("messages") or [])]
        found = []
        for each in records:
            copy = each.get("sent_copy") if isinstance(each, dict) else None
            if isinstance(copy, dict) and copy.get("pending") and each.get("message_id"):
                found.append(str(each["message_id"]))
        return found

    def transcript(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8")
        except OSError:
            return ""


def list_attempts(limit: int | None = None, folder: Path | None = None) -> list[Attempt]:
    """Saved attempts, newest first; unreadable records are skipped."""
    folder = folder or locations.transcripts_dir()
    if not folder.is_dir():
        return []
    attempts: list[Attempt] = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            attempts.append(Attempt(path.stem, record, path.with_suffix(".log")))
        if limit is not None and len(attempts) >= limit:
            break
    return attempts
