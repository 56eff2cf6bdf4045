"""Keeping the person's messages safe while the app runs: draft autosave, restore after a
crash, and the outbox retried with backoff (and at once after a network change)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Protocol

from tui.core.drafts import Drafts, SavedDraft
from tui.core.message import Draft
from tui.core.outbox import INTERRUPTED, QUEUED, Outbox, OutboxEntry

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui.core.network import Locator
    from tui.core.network_history import NetworkHistory
    from tui.core.profiles import Profile, ProfileSet
    from tui.core.results import AttemptResult
    from tui.ui.widgets.compose_form import ComposeForm


class KeeperHost(Protocol):
    """What safekeeping needs of the app that gives it a home (the app module provides
    it; nothing here imports the app)."""

    active_id: str | None
    profile_set: ProfileSet
    locator: Locator
    network_history: NetworkHistory

    @property
    def form(self) -> ComposeForm: ...

    @property
    def notify(self) -> Callable[..., None]: ...

    @property
    def run_worker(self) -> Callable[..., Any]: ...

    async def password_for(self, profile: Profile, ask: bool = True) -> str | None: ...

    def forget_password(self, profile_id: str, result: AttemptResult) -> None: ...


AUTOSAVE_SECONDS = 3.0
RETRY_CHECK_SECONDS = 15.0


class Safekeeping:
    def __init__(self, app: KeeperHost) -> None:
        self.app = app
        self.drafts = Drafts()
        self.outbox = Outbox()
        self.draft_id: str | None = None  # this session's autosaved draft
        self._saved: Draft | None = None
        self._warned = False
        # One save at a time: the timer's (in a thread: a save fsyncs), the one on quit, and
        # the removal after a send, so that a sent message never comes back as a draft.
        self._lock = threading.Lock()
        self._saving = False
        self._sends = 0  # messages sent so far: a save of the form from before one is stale

    # -- drafts -------------------------------------------------------------------------------

    def leftover_drafts(self) -> list[SavedDraft]:
        """Drafts autosaved by an earlier run that did not end cleanly."""
        return [d for d in self.drafts.list() if d.autosave and d.id != self.draft_id]

    def adopt(self, saved: SavedDraft) -> None:
        """Continue with a restored draft: later autosaves replace it, a send removes it."""
        with self._lock:
            self.draft_id = saved.id
            self._saved = saved.draft

    def autosave(self) -> None:
        """Every few seconds: save the form if it changed, in a thread so that the app never
        waits for the disk; a tick while the last save is still writing is skipped."""
        form = self.app.form
        draft = form.draft()
        if draft == self._saved or self._saving:
            return
        self._saving = True
        self.app.run_worker(
            self._save_in_thread(draft, form.is_empty, self.app.active_id, self._sends),
            group="autosave",
        )

    async def _save_in_thread(
        self, draft: Draft, empty: bool, profile_id: str | None, sends: int
    ) -> None:
        try:
            problem = await asyncio.to_thread(self._store, draft, empty, profile_id, sends)
        finally:
            self._saving = False
        self._warn(problem)

    def save_now(self) -> None:
        """Save the form at once, before quitting (after any save still being written)."""
        form = self.app.form
        draft = form.draft()
        if draft != self._saved:
            self._warn(self._store(draft, form.is_empty, self.app.active_id, self._sends))

    def _store(
        self, draft: Draft, empty: bool, profile_id: str | None, sends: int
    ) -> OSError | None:
        """Write (or, for an empty form, remove) the autosaved draft; any thread."""
        with self._lock:
            if sends != self._sends:  # the form was sent meanwhile: not a draft any more
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

    def _warn(self, exc: OSError | None) -> None:
        if exc is None:
            self._warned = False
        elif not self._warned:  # say it once, keep trying
            self._warned = True
            self.app.notify(
                f"Could not save the draft ({exc.strerror}); the message is still in the "
                "form, but free some space or fix the drafts folder.",
                severity="error",
                timeout=10,
                markup=False,
            )

    def set_aside(self) -> bool:
        """Keep the form's message in drafts (not as an autosave: it is no leftover of a
        crash) and start a new one. Returns False when it could not be saved."""
        form = self.app.form
        if form.is_empty:
            return True
        try:
            self.drafts.save(form.draft(), self.app.active_id, name=self.draft_id, autosave=False)
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
            self._sends += 1

    # -- outbox -------------------------------------------------------------------------------

    def counts(self) -> tuple[int, int]:
        """(waiting, waiting for the person: unknown, refused or held) entries in the outbox."""
        entries = self.outbox.entries()
        return sum(1 for e in entries if e.waiting), sum(1 for e in entries if e.needs_person)

    def due(self, now: float | None = None) -> dict[str, list[OutboxEntry]]:
        grouped: dict[str, list[OutboxEntry]] = defaultdict(list)
        for entry in self.outbox.entries():
            if entry.due(time.time() if now is None else now):
                grouped[entry.profile_id].append(entry)
        return grouped

    def release_all(self) -> None:
        """After a network change, or on request: retry every queued message now (never one
        that waits for the person: an unknown outcome, a refusal, a failed login)."""
        self.outbox.release_waiting((QUEUED, INTERRUPTED))

    async def retry_due(self) -> int:
        """Flush what is due, one connection per profile; returns how many were sent."""
        from tui.core import sending

        app = self.app
        sent = 0
        self.outbox.sweep()
        for profile_id, entries in self.due().items():
            profile = app.profile_set.get(profile_id)
            if profile is None:
                continue
            password = await app.password_for(profile, ask=False)
            if profile.logs_in and password is None:
                continue
            # The flush claims each entry: one a send of this app or another process holds
            # is skipped, never sent twice.
            result = await sending.flush(
                profile,
                entries,
                profiles=app.profile_set.profiles,
                password=password,
                locator=app.locator,
                history=app.network_history,
                outbox=self.outbox,
            )
            sent += result.sent
            app.forget_password(profile.id, result.session)
            await asyncio.sleep(0)
        return sent
