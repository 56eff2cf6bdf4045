"""When the app keeps the person's messages safe, and what it says about it: the work itself
(drafts, the outbox retry) is done by Textual-free services in tui/core/keeping.py."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from tui.core.drafts import Drafts, SavedDraft
from tui.core.keeping import DraftKeeper, OutboxKeeper
from tui.core.message import Draft
from tui.core.outbox import Outbox, OutboxEntry

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
    """The app's side: the autosave timer's work in a thread, one warning for a failing
    disk, and the outbox retry with the app's passwords and network."""

    def __init__(self, app: KeeperHost) -> None:
        self.app = app
        self.draft_keeper = DraftKeeper()
        self.outbox_keeper = OutboxKeeper()
        self._warned = False
        self._saving = False

    @property
    def drafts(self) -> Drafts:
        return self.draft_keeper.drafts

    @property
    def outbox(self) -> Outbox:
        return self.outbox_keeper.outbox

    @property
    def draft_id(self) -> str | None:
        return self.draft_keeper.draft_id

    # -- drafts -------------------------------------------------------------------------------

    def leftover_drafts(self) -> list[SavedDraft]:
        """Drafts autosaved by an earlier run that did not end cleanly."""
        return self.draft_keeper.leftovers()

    def adopt(self, saved: SavedDraft) -> None:
        """Continue with a restored draft: later autosaves replace it, a send removes it."""
        self.draft_keeper.adopt(saved)

    def autosave(self) -> None:
        """Every few seconds: save the form if it changed, in a thread so that the app never
        waits for the disk; a tick while the last save is still writing is skipped."""
        draft = self.app.form.draft()
        if not self.draft_keeper.changed(draft) or self._saving:
            return
        self._saving = True
        self.app.run_worker(
            self._save_in_thread(draft, self.app.active_id, self.draft_keeper.sends),
            group="autosave",
        )

    async def _save_in_thread(self, draft: Draft, profile_id: str | None, sends: int) -> None:
        try:
            problem = await asyncio.to_thread(self.draft_keeper.store, draft, profile_id, sends)
        finally:
            self._saving = False
        self._warn(problem)

    def save_now(self) -> None:
        """Save the form at once, before quitting (after any save still being written)."""
        draft = self.app.form.draft()
        if self.draft_keeper.changed(draft):
            self._warn(self.draft_keeper.store(draft, self.app.active_id, self.draft_keeper.sends))

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
        """Keep the form's message in drafts and start a new one (False: it could not be
        saved, and stays in the form)."""
        form = self.app.form
        if form.is_empty:
            return True
        return self.draft_keeper.set_aside(form.draft(), self.app.active_id)

    def sent(self) -> None:
        """The server accepted the message: its draft is no longer needed."""
        self.draft_keeper.sent()

    # -- outbox -------------------------------------------------------------------------------

    def counts(self) -> tuple[int, int]:
        """(waiting, waiting for the person: unknown, refused or held) entries in the outbox."""
        return self.outbox_keeper.counts()

    def due(self, now: float | None = None) -> dict[str, list[OutboxEntry]]:
        return self.outbox_keeper.due(now)

    def release_all(self) -> None:
        """After a network change, or on request: retry every queued message now."""
        self.outbox_keeper.release_all()

    async def retry_due(self) -> int:
        """Flush what is due, one connection per profile; returns how many were sent."""
        app = self.app

        async def password(profile: Profile) -> str | None:
            return await app.password_for(profile, ask=False)  # never a prompt for a retry

        return await self.outbox_keeper.retry_due(
            app.profile_set,
            password,
            app.locator,
            app.network_history,
            lambda profile, result: app.forget_password(profile.id, result),
        )
