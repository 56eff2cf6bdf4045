"""Keeping the person's messages safe while an app runs, without knowing the app: the message
being written kept in drafts, and the outbox retried. The interface (tui/ui/safekeeping.py)
only decides when, and says what happened."""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from tui.core.drafts import Drafts, SavedDraft
from tui.core.message import Draft
from tui.core.network import Locator
from tui.core.network_history import NetworkHistory
from tui.core.outbox import INTERRUPTED, QUEUED, Outbox, OutboxEntry
from tui.core.profiles import Profile, ProfileSet
from tui.core.results import AttemptResult


class DraftKeeper:
    """The message being written, kept in drafts: saved as it changes (from any thread),
    continued after a restore, removed once sent, set aside for a new message."""

    def __init__(self, drafts: Drafts | None = None) -> None:
        self.drafts = drafts or Drafts()
        self.draft_id: str | None = None  # this session's autosaved draft
        self._saved: Draft | None = None
        # One save at a time: the timer's (in a thread: a save fsyncs), the one on quit, and
        # the removal after a send, so that a sent message never comes back as a draft.
        self._lock = threading.Lock()
        self.sends = 0  # messages sent so far: a save of the form from before one is stale

    def leftovers(self) -> list[SavedDraft]:
        """Drafts autosaved by an earlier run that did not end cleanly."""
        return [d for d in self.drafts.list() if d.autosave and d.id != self.draft_id]

    def adopt(self, saved: SavedDraft) -> None:
        """Continue with a restored draft: later saves replace it, a send removes it."""
        with self._lock:
            self.draft_id = saved.id
            self._saved = saved.draft

    def changed(self, draft: Draft) -> bool:
        return draft != self._saved

    def store(self, draft: Draft, profile_id: str | None, sends: int) -> OSError | None:
        """Write (or, for an empty message, remove) the autosaved draft, unless a send came
        after `sends` was read (the form was sent: not a draft any more). Any thread."""
        empty = not (draft.to or draft.cc or draft.bcc or draft.subject or draft.body.strip())
        with self._lock:
            if sends != self.sends:
                return None
            try:
                if empty:
                    if self.draft_id is not None:
                        self.drafts.remove(self.draft_id)
                        self.draft_id = None
                else:
                    self.draft_id = self.drafts.save(
                        draft, profile_id, name=self.draft_id, autosave=True
                    )
            except OSError as exc:
                return exc
            self._saved = draft
            return None

    def set_aside(self, draft: Draft, profile_id: str | None) -> bool:
        """Keep `draft` in drafts (not as an autosave: it is no leftover of a crash) and
        start a new one. Returns False when it could not be saved."""
        with self._lock:
            try:
                self.drafts.save(draft, profile_id, name=self.draft_id, autosave=False)
            except OSError:
                return False
            self.draft_id = None
            self._saved = None
            return True

    def sent(self) -> None:
        """The server accepted the message: its draft is no longer needed."""
        with self._lock:
            if self.draft_id is not None:
                self.drafts.remove(self.draft_id)
            self.draft_id = None
            self._saved = None
            self.sends += 1


PasswordLookup = Callable[[Profile], Awaitable[str | None]]


class OutboxKeeper:
    """The outbox retried with backoff (and at once after a network change)."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox()

    def counts(self) -> tuple[int, int]:
        """(waiting, waiting for the person: unknown, refused or held) entries."""
        entries = self.outbox.entries()
        return sum(1 for e in entries if e.waiting), sum(1 for e in entries if e.needs_person)

    def due(self, now: float | None = None) -> dict[str, list[OutboxEntry]]:
        grouped: dict[str, list[OutboxEntry]] = {}
        moment = time.time() if now is None else now
        for entry in self.outbox.entries():
            if entry.due(moment):
                grouped.setdefault(entry.profile_id, []).append(entry)
        return grouped

    def release_all(self) -> None:
        """Retry every queued message now (never one that waits for the person: an unknown
        outcome, a refusal, a failed login)."""
        self.outbox.release_waiting((QUEUED, INTERRUPTED))

    async def retry_copies(self, profiles: ProfileSet, password_for: PasswordLookup) -> None:
        """Try the copies for the IMAP Sent folder that are due, in a thread, with the
        passwords at hand (`password_for` never prompts for a background retry)."""
        from tui.core.pending_copies import PendingCopies

        store = PendingCopies()
        waiting = {copy.profile_id for copy in store.pending()}
        if not waiting:
            return
        known: dict[str, str | None] = {}
        for profile in profiles.profiles:
            if profile.id in waiting and profile.imap is not None:
                known[profile.id] = await password_for(profile)
        await asyncio.to_thread(store.retry, profiles.profiles, None, lambda p: known.get(p.id))

    async def retry_due(
        self,
        profiles: ProfileSet,
        password_for: PasswordLookup,
        locator: Locator,
        history: NetworkHistory,
        after: Callable[[Profile, AttemptResult], None] | None = None,
    ) -> int:
        """Flush what is due, one connection per profile (a profile whose password is not
        at hand waits); returns how many were sent. `after` hears each profile's result."""
        sent = 0
        self.outbox.sweep()
        await self.retry_copies(profiles, password_for)
        for profile_id, entries in self.due().items():
            from tui.core import sending  # loaded once something is due, not by an idle tick

            profile = profiles.get(profile_id)
            if profile is None:
                continue
            password = await password_for(profile)
            if profile.logs_in and password is None:
                continue
            # The flush claims each entry: one that a send of this process or another holds
            # is skipped, never sent twice.
            result = await sending.flush(
                profile,
                entries,
                profiles=profiles.profiles,
                password=password,
                locator=locator,
                history=history,
                outbox=self.outbox,
            )
            sent += result.sent
            if after is not None:
                after(profile, result.session)
            await asyncio.sleep(0)
        return sent
