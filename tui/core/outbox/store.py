"""The outbox's machinery: filing, claiming (an flock per entry), settling, the person's
decisions, and reading. Which state means what is in states.py."""

import contextlib
import errno
import json
import os
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from tui.core import locations, maildir
from tui.core.files import try_lock, write_private
from tui.core.message import Composed, Dsn, Prepared
from tui.core.outbox.states import (
    _AFTER_FLUSH,
    _AFTER_HANDOVER,
    _AFTER_SEND,
    _COUNTS_AS_TRY,
    DATA_SENT,
    HELD,
    INTERRUPTED,
    NO_RECORD,
    QUEUED,
    REFUSED,
    SENDING,
    UNKNOWN,
    OutboxBusy,
    OutboxEntry,
    OutboxUnreadable,
    Settled,
    _died_after_dot,
    _unreadable,
    backoff,
)
from tui.core.results import AttemptResult, Outcome


class Claim:
    """An entry this process holds (its lock), from the claim until it is settled."""

    def __init__(self, outbox: "Outbox", entry: OutboxEntry, fd: int) -> None:
        self.outbox = outbox
        self.entry = entry
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let go of the lock (the record says where the message is)."""
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def forget(self) -> None:
        """The entry is gone: remove its lock file while still holding it, then let go."""
        with contextlib.suppress(OSError):
            self.outbox._lock_path(self.entry.id).unlink()
        self.release()

    def __del__(self) -> None:  # a claim dropped on an error path must not keep its lock
        self.release()


class Outbox:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or locations.outbox_dir()

    @property
    def _meta_dir(self) -> Path:
        return self.folder / ".mailtui"

    def _meta_path(self, entry_id: str) -> Path:
        return self._meta_dir / f"{entry_id}.json"

    def _lock_path(self, entry_id: str) -> Path:
        return self._meta_dir / f"{entry_id}.lock"

    # -- locks ---------------------------------------------------------------------------------

    def _lock(self, entry_id: str, create: bool = True) -> int | None:
        """Take the entry's lock without waiting; None when someone else holds it."""
        if create:
            maildir.ensure_maildir(self.folder)  # refuses a linked folder before writing in it
            locations.ensure_private_dir(self._meta_dir)
        return try_lock(self._lock_path(entry_id), create)

    def _is_busy(self, entry_id: str) -> bool:
        fd = self._lock(entry_id, create=False)
        if fd is None:
            return self._lock_path(entry_id).exists()
        os.close(fd)
        return False

    # -- filing --------------------------------------------------------------------------------

    def add(self, prepared: Prepared, profile_id: str, sync: bool = True) -> Claim:
        """Keep `prepared` in the outbox, claimed by this process to send it now."""
        name = maildir.unique_name()
        fd = self._lock(name)
        assert fd is not None  # a new, unique name
        try:
            path = maildir.deliver(self.folder, prepared.data, name=name, sync=sync)
            return self._record(path, prepared, profile_id, fd, sync)
        except BaseException:
            self._drop_new(name, fd)
            raise

    def queue(self, prepared: Prepared, profile_id: str, sync: bool = True) -> OutboxEntry:
        """Keep `prepared` in the outbox for the next flush, without sending it now."""
        claim = self.add(prepared, profile_id, sync)
        try:
            return self._update(claim, sync=sync, state=QUEUED, pid=None)
        finally:
            claim.release()

    def add_composed(self, composed: Composed, profile_id: str) -> tuple[Claim, Prepared]:
        """Write `composed` for the wire straight into the outbox (attachments streamed, never
        held whole in memory), claimed by this process; returns the claim and the message."""
        from tui.core.wire import prepared_file, write_wire

        name = maildir.unique_name()
        fd = self._lock(name)
        assert fd is not None
        try:
            path, (_size, lines) = maildir.write_with(
                self.folder, lambda out: write_wire(composed, out), name=name
            )
            prepared = prepared_file(composed, path, lines)
            return self._record(path, prepared, profile_id, fd, False), prepared
        except BaseException:
            self._drop_new(name, fd)
            raise

    def _drop_new(self, name: str, fd: int) -> None:
        with contextlib.suppress(OSError):
            (self.folder / "new" / name).unlink()
        with contextlib.suppress(OSError):
            self._lock_path(name).unlink()
        os.close(fd)

    def _record(
        self, path: Path, prepared: Prepared, profile_id: str, fd: int, sync: bool
    ) -> Claim:
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
            eight_bit=prepared.eight_bit,
            dsn=(prepared.dsn.notify, prepared.dsn.ret, prepared.dsn.envid)
            if prepared.dsn is not None
            else None,
        )
        self._save(entry, sync)
        return Claim(self, entry, fd)

    def _save(self, entry: OutboxEntry, sync: bool = True) -> None:
        data = entry._asdict()
        data.pop("busy")
        data["recipients"] = list(entry.recipients)
        data["delivered_to"] = list(entry.delivered_to)
        write_private(self._meta_path(entry.id), json.dumps(data, indent=2).encode(), sync=sync)

    def _update(self, claim: Claim, sync: bool = False, **changes: Any) -> OutboxEntry:
        assert claim.held, "an entry is only changed under its claim"
        updated = claim.entry._replace(**changes)
        self._save(updated, sync)  # what the claim says is what the disk says
        claim.entry = updated
        return updated

    def _read(self, entry_id: str) -> OutboxEntry | None:
        try:
            data = json.loads(self._meta_path(entry_id).read_text(encoding="utf-8"))
            data.pop("busy", None)
            data["recipients"] = tuple(data.get("recipients", ()))
            data["delivered_to"] = tuple(data.get("delivered_to", ()))
            if data.get("dsn") is not None:
                data["dsn"] = tuple(data["dsn"])
            return OutboxEntry(**data)
        except (OSError, ValueError, TypeError):
            return None

    # -- the state machine ---------------------------------------------------------------------

    def claim(
        self,
        entry_id: str,
        *,
        states: Iterable[str] = (QUEUED, INTERRUPTED),
        now: float | None = None,
        patience: float = 0.2,
    ) -> Claim | None:
        """Claim an entry to send it: atomically, so the loser of a race gets None. Only an
        entry in one of `states` (as it stands under the lock) and, with `now`, due by then is
        claimed. A claim left by a dead process is recovered here: "sending" becomes
        interrupted (may be sent again), "data-sent" becomes unknown (never by itself)."""
        deadline = time.monotonic() + patience
        while (fd := self._lock(entry_id)) is None:
            # A sender holds the lock for the whole send, a claimer for an instant before it
            # writes "sending"; a lister takes it for an instant to see whether the process
            # that wrote "sending" is gone. Only that last one is worth waiting for.
            entry = self._read(entry_id)
            if (
                entry is None
                or entry.state not in (SENDING, DATA_SENT)
                or (entry.pid is not None and maildir.alive(entry.pid))
                or time.monotonic() > deadline
            ):
                return None
            time.sleep(0.01)
        claim = Claim(self, _unreadable(entry_id), fd)
        try:
            return self._claimed(claim, set(states), now)
        except BaseException:  # a full disk while writing "sending": the lock goes too
            claim.release()
            raise

    def _claimed(self, claim: Claim, states: set[str], now: float | None) -> Claim | None:
        entry_id = claim.entry.id
        entry = self._read(entry_id)
        if entry is None or self._path(entry_id) is None:
            if self._path(entry_id) is None:
                claim.forget()  # the entry was sent or deleted meanwhile
            elif NO_RECORD in states:  # only the person's delete or edit takes it
                return claim
            else:
                claim.release()
            return None
        claim.entry = entry
        if (
            entry.state in (SENDING, DATA_SENT)
            and entry.pid is not None
            and entry.pid != os.getpid()
            and maildir.alive(entry.pid)
        ):
            # Its sender lives, yet its lock was free: someone removed the lock file. Better
            # a message that waits than one sent twice.
            claim.release()
            return None
        state = entry.effective_state  # not busy: we hold the lock
        if entry.state == DATA_SENT and self._accepted(entry):
            self._remove_claimed(claim)  # its sender died between filing it in sent/ and here
            return None
        if entry.state == DATA_SENT:  # its sender died after the end of data: write it down
            self._update(claim, state=UNKNOWN, pid=None, last_error=_died_after_dot())
        elif entry.state == SENDING:
            self._update(claim, state=QUEUED, pid=None)
        if state not in states or (now is not None and entry.next_try > now):
            claim.release()
            return None
        self._update(claim, state=SENDING, pid=os.getpid())
        return claim

    def end_of_data(self, claim: Claim) -> None:
        """Written to disk before the final dot leaves: from here on a crash is "unknown"."""
        self._update(claim, sync=True, state=DATA_SENT)

    def settle(
        self,
        claim: Claim,
        result: AttemptResult,
        *,
        fresh: bool,
        keep: bool = True,
    ) -> Settled:
        """Put a claimed message where its outcome says, and let go of it.

        Sent (or partly sent): a copy in sent/; the recipients who refused it stay here as
        "refused" after a flush. Temporary: queued with backoff. Unknown (its end of data left
        and no reply came): marked, never resent by itself. Refused, a failed login, TLS or a
        profile error: after a flush, marked for the person; after a fresh send, given back
        (the caller keeps the message). Without `keep` a fresh send's temporary failure is
        given back too (`sendmail`, whose caller keeps the message unless told to queue).
        """
        outcome = result.outcome
        warnings: list[str] = []
        try:
            if outcome in (Outcome.SENT, Outcome.PARTIAL):
                warnings += self._file_sent(claim)
                refused = tuple(r.address for r in result.refused)
                later = all(400 <= r.code < 500 for r in result.refused)
                if outcome is Outcome.SENT or not refused or (fresh and not later):
                    return Settled(None, tuple(warnings + self._remove_claimed(claim)))
                # The rest stays here for those who did not take it, never for the others:
                # queued when they only refused for now (greylisting), else refused.
                attempts = claim.entry.attempts + 1
                rest = QUEUED if later else REFUSED
                self._update(
                    claim,
                    state=rest,
                    recipients=refused,
                    delivered_to=claim.entry.delivered_to + result.accepted,
                    attempts=attempts,
                    last_error=result.summary,
                    next_try=time.time() + backoff(attempts) if later else 0.0,
                    pid=None,
                    last_attempt_id=result.attempt_id,
                )
                return Settled(rest, tuple(warnings))
            table = (_AFTER_SEND if keep else _AFTER_HANDOVER) if fresh else _AFTER_FLUSH
            state = table.get(outcome)
            if state is None:  # back with the person, who has the message in hand
                return Settled(None, tuple(self._remove_claimed(claim)))
            if outcome is Outcome.CANCELLED or outcome is Outcome.NOT_TRIED:
                self._update(claim, state=state, pid=None)
                return Settled(state, ())
            attempts = claim.entry.attempts + (1 if outcome in _COUNTS_AS_TRY else 0)
            self._update(
                claim,
                sync=state == UNKNOWN,
                state=state,
                attempts=attempts,
                last_error=result.summary,
                next_try=time.time() + backoff(attempts) if state == QUEUED else 0.0,
                pid=None,
                last_attempt_id=result.attempt_id,
            )
            return Settled(state, ())
        except OSError as exc:
            # The record could not be written: it still says what was written last ("sending"
            # or "data-sent"), and recovery reads that safely (resend only before the dot).
            warnings.append(
                f"the outbox record of {claim.entry.id} could not be updated ({_why(exc)})"
            )
            return Settled(claim.entry.state, tuple(warnings))
        finally:
            claim.release()

    def _file_sent(self, claim: Claim) -> list[str]:
        path = self._path(claim.entry.id)
        try:
            if path is None:
                raise FileNotFoundError(errno.ENOENT, "the outbox copy is gone")
            # Under the entry's own name: a sent/ copy is made only after the server's 250,
            # so a crash between this and the removal below is recognised (_accepted).
            maildir.deliver_file(locations.sent_dir(), path, name=claim.entry.id)
        except OSError as exc:
            return [f"its copy could not be written to sent/ ({_why(exc)})"]
        return []

    def _accepted(self, entry: OutboxEntry) -> bool:
        """A "data-sent" entry whose copy is in sent/ under its name: the server's 250 came
        (that copy is made only then) and its sender died before taking it out of here. Not
        for an entry partly delivered before, whose earlier copy has the same name."""
        if entry.delivered_to:
            return False
        sent = locations.sent_dir()
        return (sent / "new" / entry.id).exists() or maildir.find(sent, entry.id) is not None

    def _remove_claimed(self, claim: Claim) -> list[str]:
        """Remove the message and its record (the lock file last, while still held)."""
        entry_id = claim.entry.id
        try:
            path = self._path(entry_id)
            if path is not None:
                path.unlink(missing_ok=True)
            self._meta_path(entry_id).unlink(missing_ok=True)
        except OSError as exc:
            claim.release()
            return [f"it could not be removed from the outbox ({_why(exc)})"]
        claim.forget()
        return []

    # -- the person's decisions ----------------------------------------------------------------

    def release(self, entry_id: str) -> OutboxEntry:
        """The person decided: send this entry with the next flush, whatever its state
        (unknown, refused, held, or queued for later). Raises OutboxBusy while it is sent,
        OutboxUnreadable when its record is gone (its envelope is not known)."""
        claim = self._claim_any(entry_id)
        try:
            if claim.entry.state == NO_RECORD:
                raise OutboxUnreadable(
                    f"the record of outbox entry {entry_id} is missing or damaged, so its "
                    "recipients are not known; edit it in the app (F8, e) or delete it"
                )
            return self._update(claim, state=QUEUED, next_try=0.0, pid=None)
        finally:
            claim.release()

    def remove(self, entry_id: str) -> None:
        """Delete an entry for good. Raises OutboxBusy while it is being sent."""
        if self._read(entry_id) is None and self._path(entry_id) is None:
            return
        self._remove_claimed(self._claim_any(entry_id))

    def take(self, entry_id: str) -> Claim:
        """Claim an entry in any state to take it out (edit it in the form); the caller
        removes it with `discard` once it has the message, or releases the claim."""
        return self._claim_any(entry_id)

    def discard(self, claim: Claim) -> None:
        self._remove_claimed(claim)

    def _claim_any(self, entry_id: str) -> Claim:
        claim = self.claim(
            entry_id, states=(QUEUED, INTERRUPTED, UNKNOWN, REFUSED, HELD, NO_RECORD), patience=0.5
        )
        if claim is None:
            if self._read(entry_id) is None and self._path(entry_id) is None:
                raise KeyError(entry_id)
            raise OutboxBusy(f"outbox entry {entry_id} is being sent right now")
        return claim

    def release_waiting(self, states: Iterable[str] = (QUEUED, INTERRUPTED)) -> int:
        """Make every entry in `states` due now (after a network change, or on request)."""
        count = 0
        wanted = set(states)
        for entry in self.entries():
            if entry.effective_state in wanted:
                with contextlib.suppress(OutboxBusy, KeyError):
                    self.release(entry.id)
                    count += 1
        return count

    # -- reading -------------------------------------------------------------------------------

    def _path(self, entry_id: str) -> Path | None:
        """Where the message file is: in new/ (where mailtui files it), else wherever it moved."""
        direct = self.folder / "new" / entry_id
        return direct if direct.exists() else maildir.find(self.folder, entry_id)

    def data(self, entry: OutboxEntry) -> bytes:
        path = self._path(entry.id)
        if path is None:
            raise FileNotFoundError(errno.ENOENT, f"outbox message {entry.id} is gone")
        return path.read_bytes()

    def prepared(self, entry: OutboxEntry) -> Prepared:
        """The queued message, read from its file as it is sent."""
        path = self._path(entry.id)
        if path is None:
            raise FileNotFoundError(errno.ENOENT, f"outbox message {entry.id} is gone")
        return Prepared(
            sender=entry.sender,
            recipients=entry.recipients,
            data=b"",
            smtputf8=entry.smtputf8,
            message_id=entry.message_id,
            subject=entry.subject,
            path=path,
            eight_bit=entry.eight_bit,
            dsn=Dsn(*entry.dsn) if entry.dsn else None,
        )

    def entries(self) -> list[OutboxEntry]:
        """Every message in the outbox, oldest first; one without its record is still listed."""
        found: list[OutboxEntry] = []
        for path in maildir.messages(self.folder):
            entry_id = maildir.base_name(path)
            entry = self._read(entry_id)
            if entry is None:
                found.append(_unreadable(entry_id))
                continue
            if entry.state in (SENDING, DATA_SENT):
                entry = entry._replace(busy=self._is_busy(entry_id))
            found.append(entry)
        return found

    def get(self, entry_id: str) -> OutboxEntry | None:
        return next((e for e in self.entries() if e.id == entry_id), None)

    def sweep(self) -> int:
        """Remove what crashed writers left behind: tmp/ files (of the outbox, sent/ and
        drafts/), half-written records, and the records and locks of messages that are gone.
        Returns how many files went."""
        removed = 0
        for folder in (self.folder, locations.sent_dir(), locations.drafts_dir()):
            removed += maildir.sweep_tmp(folder)
        meta = self._meta_dir
        if not meta.is_dir() or meta.is_symlink():
            return removed
        now = time.time()
        ids: set[str] = set()
        for path in meta.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    if now - path.lstat().st_mtime > 3600:  # files.write_private's, abandoned
                        path.unlink()
                        removed += 1
            elif path.suffix in (".json", ".lock"):
                ids.add(path.stem)
        for entry_id in ids:
            if self._path(entry_id) is not None:
                removed += self._finish_accepted(entry_id)
                continue
            fd = self._lock(entry_id, create=False)  # not while someone is filing it
            if fd is None:
                if self._lock_path(entry_id).exists():
                    continue
                fd = self._lock(entry_id)  # a record alone: lock it before removing
                if fd is None:
                    continue
            claim = Claim(self, _unreadable(entry_id), fd)
            if self._path(entry_id) is None:
                with contextlib.suppress(OSError):
                    self._meta_path(entry_id).unlink()
                claim.forget()
                removed += 1
            else:
                claim.release()
        return removed

    def _finish_accepted(self, entry_id: str) -> int:
        """Take out of the outbox a message the server accepted whose sender died before
        doing so itself (see _accepted); 1 when it did."""
        entry = self._read(entry_id)
        if entry is None or entry.state != DATA_SENT or not self._accepted(entry):
            return 0
        fd = self._lock(entry_id, create=False)
        if fd is None:
            return 0  # its sender lives and is finishing it now
        claim = Claim(self, entry, fd)
        entry = self._read(entry_id)
        if entry is None or entry.state != DATA_SENT or not self._accepted(entry):
            claim.release()
            return 0
        return 0 if self._remove_claimed(claim) else 1


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
