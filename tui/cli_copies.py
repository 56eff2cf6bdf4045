"""The command line's side of the IMAP Sent copy: copies waiting in the outbox listing, their
retry in `mailtui outbox flush`, and the IMAP line of `mailtui check`.

A copy never changes a send's exit code, so a pending copy does not change the outbox's
either; only `mailtui check` of a profile whose IMAP login or Sent folder fails says so in
its code (sending still works, but the copy would not).
"""

import sys
from collections.abc import Callable, Sequence

from tui.cli import _shown
from tui.core.profiles import Profile
from tui.core.transcript import Listener


def list_pending() -> int:
    """Print the copies waiting for the Sent folder; returns how many there are."""
    from tui.core.pending_copies import pending

    copies = pending()
    for copy in copies:
        subject = f'"{copy.subject}"' if copy.subject else "(no subject)"
        print(
            _shown(
                f"{copy.id}  copy to Sent {copy.state:<8} {copy.profile_id:<12} "
                f"tries {copy.attempts}  {copy.message_id}  {subject}"
            )
        )
        if copy.last_error:
            print(f"    last error: {_shown(copy.last_error)}")
        if copy.held:
            print("    held: tried again once the profile's [imap] settings change")
    return len(copies)


def retry_copies(
    profiles: Sequence[Profile],
    listener: Listener | None,
    prompt: Callable[[Profile], str | None],
    only: str | None = None,
) -> None:
    """Try every copy waiting for the Sent folder now, whatever its next time (a person
    asked), except those held for the person; with `only`, that copy, held or not (`mailtui
    outbox retry ID`: the person fixed the password). Say what became of each in one line."""
    from tui.core.pending_copies import PendingCopies
    from tui.core.secrets import SecretError, resolve_password

    def password_for(profile: Profile) -> str | None:
        if profile.imap is not None and profile.imap.password_command:
            return None  # the [imap] table's own command gives it
        try:
            return resolve_password(profile, prompt)
        except SecretError:
            return None  # the copy then fails saying there is no password, and waits

    store = PendingCopies()
    if not store.pending():
        return
    for retried in store.retry(profiles, listener, password_for, now=float("inf"), only=only):
        subject = retried.copy.subject or "(no subject)"
        line = _shown(f"copy to Sent of {retried.copy.message_id} ({subject}): ")
        if retried.result.failed:
            print(
                f"mailtui: {line}still pending: {_shown(retried.result.summary)}", file=sys.stderr
            )
        else:
            print(line + _shown(retried.result.summary))


def check_line(
    profile: Profile, password: str | None, listener: Listener | None = None
) -> tuple[str, bool]:
    """`mailtui check`'s IMAP line: the Sent folder found, or the problem; and whether it
    worked."""
    from tui.core.sent_copy import check_imap

    found = check_imap(profile, listener, password)
    return f"IMAP:     {_shown(found.summary)}", found.ok


def pending_copy(copy_id: str) -> str | None:
    """The one-line name of the pending copy `copy_id` (as `mailtui outbox` lists it), or
    None when there is no such copy."""
    from tui.core.pending_copies import pending

    found = next((c for c in pending() if c.id == copy_id), None)
    if found is None:
        return None
    return _shown(f"the copy to Sent of {found.message_id} ({found.subject or '(no subject)'})")
