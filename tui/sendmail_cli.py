"""`mailtui sendmail` and `mailtui-sendmail`: the sendmail program of mutt, neomutt, aerc,
git send-email, mailx and cron, with mailtui's profiles, explanations, history and outbox.

The message on standard input goes out as its caller wrote it (tui/core/sendmail.py). By
default, as msmtp does, a failure is reported by the exit code and nothing is kept: the
calling program still holds the message. With --queue (or `sendmail_queue = true` in
config.toml) a temporary failure leaves it in the outbox, exit 0, and -odq queues it at once.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from tui.cli import _say
from tui.core.results import ExitCode

if TYPE_CHECKING:
    from tui.core.message import Prepared
    from tui.core.network import Locator
    from tui.core.network_history import NetworkHistory
    from tui.core.profiles import Profile, ProfileSet
    from tui.core.results import AttemptResult
    from tui.core.sendmail import Options

HELP = """\
usage: mailtui sendmail [options] [--] [recipient ...]
       mailtui-sendmail [options] [--] [recipient ...]

Send the message on standard input (a whole RFC 5322 message, headers first) with the
profile that sends for its From address. A drop-in for the sendmail program of mutt,
neomutt, aerc, git send-email, mailx and cron.

options:
  -t, --read-recipients  also send to the To, Cc and Bcc of the message (those of the
                         newest Resent-* block when present); Bcc is removed from the header
  -f ADDR, -r ADDR       envelope sender (also picks the profile); -f '<>' for none
  -F NAME                full name for the From that mailtui adds when there is none
  -a ID, --profile ID, --account ID
                         send with this profile instead of choosing by address
  -N never|success,delay,failure
  -R hdrs|full, -V ENVID delivery status notifications (RFC 3461), passed on only
                         when the server offers DSN
  -v                     show the SMTP conversation on standard error
  --queue                keep the message in the outbox after a temporary failure
                         and exit 0 (also: sendmail_queue = true in config.toml)
  -odq                   put the message in the outbox without trying now
  --auto-switch          outside an IP-trusted profile's networks, send with the
                         profile that works here when it sends for the same address
  -q                     send what waits in the outbox (as 'mailtui outbox flush')
  -bp                    list the outbox (as mailq)
  --help                 this text

accepted and ignored (callers pass them by habit):
{ignored}

The profile: -a when given; else the one whose from or addresses match -f or the From
header (exact, then plus-addressing, then patterns such as *@example.org; among several,
the one that worked on this network); else the one with default = true.

Exit codes (sysexits): 0 sent (or queued), 64 usage, 65 bad message, 69 refused, 74 the
message left but no answer came (it may have arrived: check before sending it again), 75
temporary failure (nothing kept without --queue), 77 login failed, 78 no or bad profile.
"""


def _as_interrupt(signum: int, _frame: object) -> None:
    """SIGTERM (a timeout, a service stopping) and SIGHUP (the terminal closed) end a send
    as Ctrl-C does: what had not reached the server is taken out of the outbox again, so
    that no later flush sends a message whose caller was told it failed."""
    signal.raise_signal(signal.SIGINT)


def _interruptible() -> None:
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        for each in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(each) is signal.SIG_DFL:
                signal.signal(each, _as_interrupt)


class Caller(NamedTuple):
    """Where the message comes from and how a password is asked for: standard input and
    the terminal, or what the warm process (tui/warm.py) was handed."""

    stdin: BinaryIO | None = None  # None: standard input
    prompt: Callable[[Profile], str | None] | None = None  # None: tui.cli's, on the terminal


def main(
    argv: Sequence[str] | None = None,
    stdin: BinaryIO | None = None,
    prompt: Callable[[Profile], str | None] | None = None,
) -> int:
    from tui.core.sendmail import IGNORED, UsageError, parse_options

    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        _say(str(exc))
        return ExitCode.USAGE
    if options.action == "help":
        ignored = "\n".join(f"  {flags}\n      {why}" for flags, why in IGNORED.items())
        print(HELP.format(ignored=ignored), end="")
        return 0
    _interruptible()
    try:
        return _act(options, Caller(stdin, prompt))
    except KeyboardInterrupt:
        _say("interrupted; nothing was kept (the calling program still has the message)")
        return ExitCode.INTERRUPTED


def _act(options: Options, caller: Caller) -> int:
    from tui.cli import _outbox_flush, _outbox_list
    from tui.core.outbox import Outbox

    if options.action == "list":
        _outbox_list(Outbox())
        return 0
    if options.action == "flush":
        return _outbox_flush(Outbox(), options.verbose)
    return _send(options, caller)


def _send(options: Options, caller: Caller) -> int:
    from tui.cli import _shown
    from tui.core.config import ConfigError, load_config
    from tui.core.message import MessageInputError
    from tui.core.profiles import load_profiles
    from tui.core.sendmail import MAX_MESSAGE, MessageTooLong, read_message, submission

    try:
        queue = options.queue or load_config().sendmail_queue
    except ConfigError as exc:
        _say(str(exc))
        return ExitCode.CONFIG
    try:
        raw = read_message(caller.stdin or sys.stdin.buffer)
    except MessageTooLong:
        _say(
            f"the message on standard input is longer than {MAX_MESSAGE // 1_000_000} MB, "
            "more than any mail server accepts; nothing was sent or kept"
        )
        return ExitCode.DATAERR
    try:
        submission(raw, options, None)  # a bad message is said before any profile matters
        found = load_profiles()
        profile, code = _choose(options, raw, found)
        if profile is None:
            return code
        ready = submission(raw, options, profile.from_)
    except MessageInputError as exc:
        _say(f"not sent: {_shown(exc.reason)}")
        return ExitCode.DATAERR
    # The caller resends after a failure: to all recipients or to none, unless the outbox
    # is to keep it (then the rest waits there, for those who did not take it).
    prepared = ready.prepared(options.dsn)._replace(whole=not queue)
    if options.action == "queue":
        return _queue_only(prepared, profile)
    return _deliver(prepared, profile, found, options, queue, caller)


def _choose(options: Options, raw: bytes, found: ProfileSet) -> tuple[Profile | None, int]:
    """The profile for this message (or None and the exit code, said on stderr)."""
    from tui.cli import _shown
    from tui.core.network_history import NetworkHistory
    from tui.core.routing import choose_profile
    from tui.core.sendmail import routing_address

    if options.profile is not None:
        from tui.cli import _find_profile

        profile, _found, code = _find_profile(options.profile)
        return profile, code
    address = routing_address(raw, options)
    history = NetworkHistory()
    here = None

    def worked_here(profile_id: str) -> bool:
        nonlocal here
        if here is None:
            from tui.core.network import Locator

            here = Locator().current()
        return history.here(here, profile_id).verdict == "worked"

    choice = choose_profile(found.profiles, address, worked_here)
    if choice.profile is None:
        for error in found.errors:
            _say(f"profile {error.profile_id} cannot be used: {_shown(str(error))}")
        if not found.profiles and found.errors:  # there are profiles, none of them usable
            _say("no profile can send this message until the errors above are fixed")
        else:
            _say(_shown(choice.problem or "no profile can send this message"))
        return None, ExitCode.CONFIG
    return choice.profile, 0


def _queue_only(prepared: Prepared, profile: Profile) -> int:
    from tui.core.outbox import Outbox

    box = Outbox()
    try:
        entry = box.queue(prepared, profile.id)
    except OSError as exc:
        _say(f"not queued: the outbox at {box.folder} cannot be written ({exc.strerror})")
        return ExitCode.IOERR
    _say(
        f"queued: {entry.id} for {profile.name}; it goes out with 'mailtui sendmail -q' "
        "(or 'mailtui outbox flush', or while the app runs)"
    )
    return 0


def _deliver(
    prepared: Prepared,
    profile: Profile,
    found: ProfileSet,
    options: Options,
    queue: bool,
    caller: Caller,
) -> int:
    import asyncio

    from tui.cli import _print_event, _prompt, _report, _run, _shown, _warn
    from tui.core import sending
    from tui.core.outbox import QUEUED
    from tui.core.results import Outcome, in_brief

    profile, locator, history = _network_check(profile, found, options, prepared.sender)
    attempt = sending.Attempt(
        profile,
        sending.Mode.SEND,
        locator=locator,
        history=history,
        profiles=found.profiles,
        listener=_print_event if options.verbose else None,
        prompt=caller.prompt or _prompt,
        origin="sendmail",
        keep=queue,
    )

    async def work() -> AttemptResult:
        try:
            return await attempt.submit(prepared)
        except asyncio.CancelledError:
            return attempt.interrupted()

    try:
        result = _run(work())
    except KeyboardInterrupt:
        result = attempt.interrupted()
    entry = attempt.settled[0][0] if attempt.settled else None
    waiting = result.outcome in (Outcome.TEMPORARY, Outcome.PARTIAL)
    if waiting and entry is not None and entry.state == QUEUED:
        # Temporary, or partly sent with the rest refused for now (greylisting): the outbox
        # holds it, for those who did not take it.
        said = _without_outbox_tail(result.summary)
        if queue:
            who, why = _shown(in_brief(entry.recipients)), _shown(said.rstrip("."))
            _say(
                f"queued: {entry.id} for {who} ({why}); it goes out with 'mailtui sendmail -q' "
                "or while the app runs"
            )
            _warn(result.warnings)
            return 0
        # As msmtp: the calling program still holds the message and reports the failure.
        try:
            attempt.outbox.remove(entry.id)
        except (OSError, KeyError):
            pass
        else:
            result = result._replace(summary=said + NOTHING_KEPT)
    elif result.outcome is Outcome.TEMPORARY:  # the outbox gave it back (keep=False)
        result = result._replace(summary=result.summary.rstrip() + NOTHING_KEPT)
    elif result.outcome is Outcome.UNKNOWN:
        # Not 75: to the calling program that means "hand it over again later", and the
        # recipients may have it already. 74, an I/O failure, is not retried by itself.
        result = result._replace(exit_code=ExitCode.IOERR)
    if result.exit_code == 0 and not options.verbose:  # as sendmail: quiet when it went
        _warn(result.warnings)
        return 0
    return _report(result)


NOTHING_KEPT = (
    " Nothing was kept: the program that handed it over still has it (with --queue "
    "mailtui's outbox keeps it instead)."
)

# What sending._where says of a message the outbox keeps for a retry: not so here, where
# the caller has it (or the "queued:" line says where it is).
_OUTBOX_TAIL = " It is kept in the outbox and will be retried"


def _without_outbox_tail(summary: str) -> str:
    said = summary.rstrip()
    cut = said.find(_OUTBOX_TAIL)
    return said[:cut].rstrip() if cut >= 0 else said


def _network_check(
    profile: Profile, found: ProfileSet, options: Options, sender: str
) -> tuple[Profile, Locator, NetworkHistory]:
    """As `mailtui send`: warn when an IP-trusted profile is used outside its networks;
    with --auto-switch, send with the profile that works here when it sends for the sender."""
    from tui.cli import _shown
    from tui.core.network import Locator
    from tui.core.network_history import NetworkHistory, trust_warning
    from tui.core.routing import sends_as

    locator, history = Locator(), NetworkHistory()
    if profile.logs_in or not profile.networks:
        return profile, locator, history
    warning = trust_warning(
        profile, found.profiles, locator.current(), locator.local_address(profile), history
    )
    if warning is None:
        return profile, locator, history
    text = _shown(warning.text)
    other = warning.alternative
    if options.auto_switch and other is not None and sends_as(other, sender):
        _say(f"{text} Sending with {_shown(other.name)} instead (--auto-switch).")
        return other, locator, history
    if options.auto_switch:
        why = (
            f"{_shown(other.name)} does not send as {sender or 'the null sender'} (add it to "
            "that profile's addresses to let --auto-switch use it)"
            if other is not None
            else "no other profile is known to work here"
        )
        _say(f"warning: {text} Not switching: {why}. Trying anyway.")
        return profile, locator, history
    _say(f"warning: {text} Trying anyway.")
    return profile, locator, history
