"""Sent copies that failed after their send, kept until a later try files them.

A failed copy never touches the send: the message went, and only its copy for the IMAP Sent
folder waits here. `sent-copies/` under the data folder is a Maildir of the exact bytes to
append (Bcc included); beside it, `.mailtui/<id>.json` records the profile, the Message-ID,
the send time (the copy's internal date), the tries and why the last one failed, and
`.mailtui/<id>.lock` is the flock a retry holds, so the app and a cron flush never try one
copy at once. Every try searches the folder for the Message-ID before appending
(tui/core/sent_copy.py): a copy that did land on a try whose answer was lost is not
appended again.

A copy that failed for a reason time will not fix (a refused login, no Sent folder, a TLS
certificate) is *held*: it is not tried by itself again, so a wrong password does not lock
the account; changing the profile's IMAP settings, or an explicit retry, tries it again.
"""

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from tui.core import locations, maildir
from tui.core.files import try_lock, write_private
from tui.core.profiles import Profile
from tui.core.sent_copy import CopyOutcome, CopyResult, copy_to_sent
from tui.core.transcript import Listener


class PendingCopy(NamedTuple):
    """One copy waiting for the Sent folder."""

    id: str
    profile_id: str
    message_id: str
    sent_at: str  # ISO 8601 with its offset: the time of the send, the copy's internal date
    subject: str = ""
    attempts: int = 1
    last_error: str = ""
    next_try: float = 0.0
    held: bool = False  # waits for the person: not tried again by itself
    settings: str = ""  # a digest of the profile's IMAP settings when it was held

    @property
    def state(self) -> str:
        return "held" if self.held else "pending"


class Retried(NamedTuple):
    copy: PendingCopy
    result: CopyResult


def settings_digest(profile: Profile) -> str:
    """Changes when the person changes what the copy depends on (server, login, folder)."""
    seen = repr((profile.imap, profile.imap_username, profile.password_command))
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


class PendingCopies:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or locations.sent_copies_dir()

    @property
    def _meta(self) -> Path:
        return self.folder / ".mailtui"

    def _record_path(self, copy_id: str) -> Path:
        return self._meta / f"{copy_id}.json"

    def _lock_path(self, copy_id: str) -> Path:
        return self._meta / f"{copy_id}.lock"

    def keep(
        self,
        profile: Profile,
        data: bytes,
        message_id: str,
        when: datetime,
        result: CopyResult,
        subject: str = "",
    ) -> PendingCopy:
        """Keep a copy whose first try failed (`result`), for the next retry. Raises OSError
        when it cannot be written."""
        path = maildir.deliver(self.folder, data)
        copy = PendingCopy(
            id=maildir.base_name(path),
            profile_id=profile.id,
            message_id=message_id,
            sent_at=when.astimezone().isoformat(timespec="seconds"),
            subject=subject,
            last_error=result.summary,
            next_try=time.time() + _backoff(1),
            held=not result.retry,
            settings=settings_digest(profile),
        )
        try:
            self._save(copy)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return copy

    def pending(self) -> list[PendingCopy]:
        """Every copy waiting, oldest first."""
        found = []
        for path in maildir.messages(self.folder):
            copy = self._read(maildir.base_name(path))
            if copy is not None:
                found.append(copy)
        return found

    def for_message(self, message_id: str) -> PendingCopy | None:
        return next((c for c in self.pending() if c.message_id == message_id), None)

    def retry(
        self,
        profiles: Iterable[Profile],
        listener: Listener | None = None,
        password_for: Callable[[Profile], str | None] | None = None,
        *,
        now: float | None = None,
        include_held: bool = False,
        only: str | None = None,
    ) -> list[Retried]:
        """Try the copies that are due (`include_held`: the held ones too; `only`: that one
        copy, whatever its time). A copy that lands, or that is found already there, leaves;
        one whose profile no longer copies to IMAP is dropped; another failure is recorded
        with the next time to try. Copies another process is trying are left alone."""
        by_id = {profile.id: profile for profile in profiles}
        now = time.time() if now is None else now
        done: list[Retried] = []
        for copy in self.pending():
            if only is not None and copy.id != only:
                continue
            profile = by_id.get(copy.profile_id)
            changed = profile is not None and settings_digest(profile) != copy.settings
            if only is None and not include_held:
                if copy.held and not changed:
                    continue
                if not copy.held and copy.next_try > now:
                    continue
            fd = try_lock(self._lock_path(copy.id))
            if fd is None:
                continue
            try:
                current = self._read(copy.id)  # as it is now, under the lock
                if current is None or maildir.find(self.folder, copy.id) is None:
                    continue
                done.append(self._try(current, profile, listener, password_for))
            finally:
                os.close(fd)
        return done

    def _try(
        self,
        copy: PendingCopy,
        profile: Profile | None,
        listener: Listener | None,
        password_for: Callable[[Profile], str | None] | None,
    ) -> Retried:
        if profile is None:
            why = f"the profile {copy.profile_id} no longer exists; delete the copy or restore it"
            result = CopyResult(CopyOutcome.FAILED, why)
            self._save(copy._replace(last_error=why, held=True, settings=""))
            return Retried(copy, result)
        path = maildir.find(self.folder, copy.id)
        assert path is not None
        result = copy_to_sent(
            profile,
            path.read_bytes(),
            copy.message_id,
            datetime.fromisoformat(copy.sent_at),
            listener,
            password_for(profile) if password_for else None,
            retrying=True,
        )
        if result.failed:
            attempts = copy.attempts + 1
            self._save(
                copy._replace(
                    attempts=attempts,
                    last_error=result.summary,
                    next_try=time.time() + _backoff(attempts),
                    held=not result.retry,
                    settings=settings_digest(profile),
                )
            )
        else:
            self.delete(copy.id, locked=True)
        return Retried(copy, result)

    def delete(self, copy_id: str, locked: bool = False) -> bool:
        """Remove a copy (the person gave up on it, or it is filed); False when it is not
        here or another process is trying it."""
        fd = None if locked else try_lock(self._lock_path(copy_id))
        if not locked and fd is None:
            return False
        try:
            path = maildir.find(self.folder, copy_id)
            if path is not None:
                path.unlink(missing_ok=True)
            self._record_path(copy_id).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._lock_path(copy_id).unlink()  # while still held: nobody locks a ghost
            return path is not None
        finally:
            if fd is not None:
                os.close(fd)

    def _save(self, copy: PendingCopy) -> None:
        data = json.dumps(copy._asdict(), indent=2).encode("utf-8")
        write_private(self._record_path(copy.id), data, sync=False)

    def _read(self, copy_id: str) -> PendingCopy | None:
        try:
            return PendingCopy(**json.loads(self._record_path(copy_id).read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            return None


def _backoff(attempts: int) -> float:
    from tui.core.outbox.states import backoff  # the outbox's: 1, 2, 4… minutes, at most 1 h

    return backoff(attempts)


def copy_after_send(
    profile: Profile,
    data: bytes,
    message_id: str,
    when: datetime,
    listener: Listener | None = None,
    password: str | None = None,
    *,
    subject: str = "",
    wait: float | None = None,
    store: PendingCopies | None = None,
) -> CopyResult:
    """The Sent copy of a message the server just accepted: `copy_to_sent`, and when that
    fails, the copy kept for a later try. The summary of a failure starts "copy to Sent
    pending:" and says why. Synchronous: run it in a thread."""
    result = copy_to_sent(profile, data, message_id, when, listener, password, wait=wait)
    if not result.failed:
        return result
    try:
        (store or PendingCopies()).keep(profile, data, message_id, when, result, subject)
    except OSError as exc:
        lost = f"copy to Sent failed and could not be kept for later ({exc.strerror or exc})"
        return result._replace(summary=f"{lost}: {result.summary}")
    return result._replace(summary=f"copy to Sent pending: {result.summary}")


def pending() -> list[PendingCopy]:
    """Every copy waiting for the Sent folder (for the outbox and history views)."""
    return PendingCopies().pending()


def retry_pending(
    profiles: Iterable[Profile],
    listener: Listener | None = None,
    password_for: Callable[[Profile], str | None] | None = None,
    *,
    include_held: bool = False,
    only: str | None = None,
) -> list[Retried]:
    """Try the copies that are due (outbox flush, the app's retry); see PendingCopies.retry."""
    return PendingCopies().retry(
        profiles, listener, password_for, include_held=include_held, only=only
    )
