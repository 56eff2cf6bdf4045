"""The outbox: messages waiting to go out, kept as a Maildir so none is ever lost.

Every message enters the outbox before its first connection (state "sending"), so even a
`kill -9` mid-send leaves it here. A temporary failure keeps it "queued" for a retry with
backoff; an ambiguous outcome marks it "unknown" and it is never resent automatically.
Beside each message, `.mailtui/<id>.json` keeps its profile, envelope, attempts and last
error; Maildir readers ignore that folder.
"""

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tui.core import locations, maildir
from tui.core.files import write_private
from tui.core.message import Composed, Prepared

SENDING = "sending"  # a process is sending it right now (or died doing so)
QUEUED = "queued"  # waiting for a retry
UNKNOWN = "unknown"  # the connection broke after the end of DATA: maybe delivered
BACKOFF_START = 60.0
BACKOFF_MAX = 3600.0


class OutboxEntry(NamedTuple):
    id: str
    profile_id: str
    sender: str
    recipients: tuple[str, ...]
    smtputf8: bool
    message_id: str
    subject: str
    state: str
    attempts: int = 0
    last_error: str = ""
    queued_at: str = ""
    next_try: float = 0.0
    pid: int | None = None
    last_attempt_id: str | None = None

    @property
    def interrupted(self) -> bool:
        """Marked as sending by a process that is gone (killed mid-send)."""
        return self.state == SENDING and not _alive(self.pid)

    @property
    def waiting(self) -> bool:
        """Will be sent by the next retry or flush (never an unknown outcome)."""
        return self.state == QUEUED or self.interrupted

    def due(self, now: float | None = None) -> bool:
        return self.waiting and self.next_try <= (time.time() if now is None else now)

    @property
    def state_label(self) -> str:
        if self.interrupted:
            return "interrupted"
        return self.state


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def backoff(attempts: int) -> float:
    """Seconds to wait after `attempts` failed tries: 1, 2, 4… minutes, at most an hour."""
    return float(min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, attempts - 1)))


class Outbox:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or locations.outbox_dir()

    @property
    def _meta_dir(self) -> Path:
        return self.folder / ".mailtui"

    def _meta_path(self, entry_id: str) -> Path:
        return self._meta_dir / f"{entry_id}.json"

    def add(self, prepared: Prepared, profile_id: str, sync: bool = True) -> OutboxEntry:
        """Keep `prepared` in the outbox as being sent by this process."""
        path = maildir.deliver(self.folder, prepared.data, sync=sync)
        return self._record(path, prepared, profile_id, sync)

    def add_composed(self, composed: Composed, profile_id: str) -> tuple[OutboxEntry, Prepared]:
        """Write `composed` for the wire straight into the outbox (attachments streamed, never
        held whole in memory); returns the entry and the message, read from that file."""
        from tui.core.wire import prepared_file, write_wire

        path, (_size, lines) = maildir.write_with(
            self.folder, lambda out: write_wire(composed, out)
        )
        prepared = prepared_file(composed, path, lines)
        # The message itself is on disk for good; its record is rewritten at every attempt.
        return self._record(path, prepared, profile_id, False), prepared

    def _record(self, path: Path, prepared: Prepared, profile_id: str, sync: bool) -> OutboxEntry:
        entry = OutboxEntry(
            id=maildir.base_name(path),
            profile_id=profile_id,
            sender=prepared.sender,
            recipients=prepared.recipients,
            smtputf8=prepared.smtputf8,
            message_id=prepared.message_id,
            subject=prepared.subject,
            state=SENDING,
            queued_at=datetime.now().astimezone().isoformat(timespec="seconds"),
            pid=os.getpid(),
        )
        try:
            self._save(entry, sync)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return entry

    def _save(self, entry: OutboxEntry, sync: bool = True) -> None:
        data = entry._asdict()
        data["recipients"] = list(entry.recipients)
        write_private(self._meta_path(entry.id), json.dumps(data, indent=2).encode(), sync=sync)

    def update(self, entry: OutboxEntry, sync: bool = True, **changes: Any) -> OutboxEntry:
        updated = entry._replace(**changes)
        self._save(updated, sync)
        return updated

    def claim(self, entry: OutboxEntry) -> OutboxEntry:
        """Mark an entry as being sent by this process (a state, not the message: no fsync)."""
        return self.update(entry, sync=False, state=SENDING, pid=os.getpid())

    def _path(self, entry_id: str) -> Path | None:
        """Where the message file is: in new/ (where mailtui files it), else wherever it moved."""
        direct = self.folder / "new" / entry_id
        return direct if direct.exists() else maildir.find(self.folder, entry_id)

    def failed(
        self, entry: OutboxEntry, error: str, unknown: bool, attempt_id: str | None
    ) -> OutboxEntry:
        attempts = entry.attempts + 1
        return self.update(
            entry,
            state=UNKNOWN if unknown else QUEUED,
            attempts=attempts,
            last_error=error,
            next_try=time.time() + backoff(attempts),
            pid=None,
            last_attempt_id=attempt_id,
        )

    def release(self, entry: OutboxEntry) -> OutboxEntry:
        """The person decided: send an entry again (an unknown outcome, or a later retry now)."""
        return self.update(entry, state=QUEUED, next_try=0.0, pid=None)

    def remove(self, entry_id: str) -> None:
        path = self._path(entry_id)
        if path is not None:
            path.unlink(missing_ok=True)
        self._meta_path(entry_id).unlink(missing_ok=True)

    def data(self, entry: OutboxEntry) -> bytes:
        path = self._path(entry.id)
        if path is None:
            raise FileNotFoundError(f"outbox message {entry.id} is gone")
        return path.read_bytes()

    def prepared(self, entry: OutboxEntry) -> Prepared:
        """The queued message, read from its file as it is sent."""
        path = self._path(entry.id)
        if path is None:
            raise FileNotFoundError(f"outbox message {entry.id} is gone")
        return Prepared(
            sender=entry.sender,
            recipients=entry.recipients,
            data=b"",
            smtputf8=entry.smtputf8,
            message_id=entry.message_id,
            subject=entry.subject,
            path=path,
        )

    def entries(self) -> list[OutboxEntry]:
        """Every message in the outbox, oldest first; one without its record is still listed."""
        found: list[OutboxEntry] = []
        for path in maildir.messages(self.folder):
            entry_id = maildir.base_name(path)
            try:
                data = json.loads(self._meta_path(entry_id).read_text(encoding="utf-8"))
                data["recipients"] = tuple(data.get("recipients", ()))
                found.append(OutboxEntry(**data))
            except (OSError, ValueError, TypeError):
                found.append(
                    OutboxEntry(
                        entry_id,
                        "?",
                        "",
                        (),
                        False,
                        "",
                        "(no record)",
                        UNKNOWN,
                        last_error="its record is missing; inspect the message file",
                    )
                )
        return found

    def get(self, entry_id: str) -> OutboxEntry | None:
        return next((e for e in self.entries() if e.id == entry_id), None)
