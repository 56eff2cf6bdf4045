"""The `mailtui` command line. The headless commands never import Textual, so they start fast."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TypeVar

from tui.core.profiles import Profile, ProfileSet, load_profiles, nearest
from tui.core.results import AttemptResult, ExitCode, in_brief
from tui.core.transcript import SessionEvent, TranscriptEvent, printable

if TYPE_CHECKING:
    from tui.core.drafts import Drafts as DraftsT
    from tui.core.drafts import SavedDraft as SavedDraftT
    from tui.core.early import EarlyConnection
    from tui.core.message import Draft as DraftT
    from tui.core.network import Locator as LocatorT
    from tui.core.network_history import NetworkHistory as NetworkHistoryT
    from tui.core.outbox import Outbox as OutboxT
    from tui.core.outbox import OutboxEntry as OutboxEntryT

T = TypeVar("T")


def _terminal_columns() -> int:
    """What shutil.get_terminal_size() would say, without importing shutil (slow to import)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout. argparse makes a formatter for every argument it adds, and
    the stock one imports shutil just to read the terminal's width."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


class _ListFormatter(_Formatter):
    """For a command whose description lists its actions one a line: kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 64 (EX_USAGE) as sysexits asks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"mailtui: {message}\n")


def _path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty file name")
    return Path(text)


def _send_arguments(send: argparse.ArgumentParser) -> None:
    send.add_argument("--profile", required=True, metavar="ID", dest="send_profile")
    each = "repeat it, or separate addresses with commas"
    send.add_argument(
        "--to", action="append", default=[], metavar="ADDR", help=f"recipient; {each}"
    )
    send.add_argument("--cc", action="append", default=[], metavar="ADDR", help=f"copy; {each}")
    send.add_argument(
        "--bcc",
        action="append",
        default=[],
        metavar="ADDR",
        help=f"blind copy (in no header); {each}",
    )
    send.add_argument("--subject", required=True, metavar="TEXT", help="the subject line")
    send.add_argument("--body-file", metavar="FILE", type=_path, help="default: standard input")
    send.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        type=_path,
        help="a file to attach; repeat for more",
    )
    send.add_argument(
        "--transcript", action="store_true", help="print the live transcript to stderr"
    )


def _check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("profile_id", metavar="ID")
    check.add_argument("--rcpt", action="append", default=[], metavar="ADDR")
    check.add_argument("--transcript", action="store_true", help="print the live transcript")


def _outbox_arguments(outbox: argparse.ArgumentParser) -> None:
    outbox.formatter_class = _ListFormatter
    outbox.description = (
        "Messages waiting to be sent, with their state (queued, outcome unknown, refused, held).\n"
        "  list              the entries, their ids, tries and last errors (the default)\n"
        "  flush             send every queued message now\n"
        "  retry ID [ID …]   queue these entries again, whatever their state, and send only\n"
        "                    them now (after 'outcome unknown': check with the recipient first)\n"
        "  delete ID [ID …]  remove these entries for good, unsent"
    )
    outbox.add_argument(
        "action", nargs="?", default="list", choices=["list", "flush", "retry", "delete"]
    )
    outbox.add_argument("ids", nargs="*", metavar="ID", help="with retry or delete: which entries")
    outbox.add_argument("--transcript", action="store_true", help="print the live transcript")


def _drafts_arguments(drafts: argparse.ArgumentParser) -> None:
    drafts.formatter_class = _ListFormatter
    drafts.description = (
        "Messages kept in drafts/: saved by a 'mailtui send' that could not go (refused, or\n"
        "interrupted) and autosaved by the app. An ID is the draft's Maildir file name, as\n"
        "'list' shows it, or any start of it that no other draft shares.\n"
        "  list              the drafts, oldest first (the default)\n"
        "  show ID           headers, attachments and body of one draft\n"
        "  send ID           send it with its saved profile (or --profile ID); on success\n"
        "                    the draft is removed, on a refusal it stays\n"
        "  delete ID [ID …]  remove these drafts"
    )
    drafts.add_argument(
        "action", nargs="?", default="list", choices=["list", "show", "send", "delete"]
    )
    drafts.add_argument("ids", nargs="*", metavar="ID", help="with show, send or delete")
    drafts.add_argument(
        "--profile", metavar="ID", dest="send_profile", help="with send: the profile to use"
    )
    drafts.add_argument("--transcript", action="store_true", help="print the live transcript")


def _history_arguments(history: argparse.ArgumentParser) -> None:
    history.add_argument("n", nargs="?", metavar="N", help="number in the list, or attempt id")


def _login_arguments(login: argparse.ArgumentParser) -> None:
    from tui.cli_login import login_arguments

    login_arguments(login)


def _profiles_arguments(profiles: argparse.ArgumentParser) -> None:
    from tui.cli_profiles import profiles_arguments

    profiles_arguments(profiles)


def _logout_arguments(logout: argparse.ArgumentParser) -> None:
    from tui.cli_login import logout_arguments

    logout_arguments(logout)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None]] = {
    "send": ("send one message without the interface", _send_arguments),
    "check": ("pre-flight a profile: everything but DATA", _check_arguments),
    "profiles": (
        "list profiles and any errors in their files; `profiles new ADDRESS` makes one",
        _profiles_arguments,
    ),
    "outbox": ("messages waiting to be sent: list, flush, retry, delete", _outbox_arguments),
    "history": ("recent attempts; N shows one transcript", _history_arguments),
    "drafts": ("messages kept in drafts: list, show, send, delete", _drafts_arguments),
    "sendmail": ("be the sendmail of mutt, git send-email, cron (see sendmail --help)", None),
    "login": ("sign a profile in with OAuth2 (a code, or --browser)", _login_arguments),
    "logout": ("forget a profile's OAuth2 tokens", _logout_arguments),
}


def _command_named(argv: Sequence[str] | None) -> str | None:
    """The command `argv` runs: its first word after the top-level options, if that is a
    command and no help was asked for before it."""
    words = iter(argv or ())
    for word in words:
        if word in ("-h", "--help"):
            return None
        if word == "--profile":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line; given `argv`, only the commands it names are built (each parser and
    argument costs a little, and `mailtui send` should start at once)."""
    parser = _Parser(
        prog="mailtui",
        description="Send mail through the right SMTP server and see exactly what happened. "
        "With no command, mailtui opens the app.",
        epilog="Exit codes follow sysexits: 0 sent, 64 usage, 65 bad message input, 69 refused "
        "by the server, 75 temporary failure (kept in the outbox), 77 login failed, 78 bad "
        "profile, 74 TLS or I/O failure, 130 interrupted (the message is saved to drafts).",
    )
    parser.add_argument("--demo", action="store_true", help="run the app on built-in local servers")
    parser.add_argument("--profile", metavar="ID", help="start with this profile selected")
    # For the benchmark: start headless and exit once the first screen is shown.
    parser.add_argument("--exit-after-start", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # The command the line names gets only its own parser; otherwise (the app, top-level
    # help, a mistyped command) every command is there, for the listing and the error.
    named = _command_named(argv)
    for name, (text, add_arguments) in COMMANDS.items():
        if named is not None and name != named:
            continue
        command = commands.add_parser(name, help=text)
        if add_arguments is not None:
            add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["sendmail"]:  # sendmail's own option syntax (-oi, -ti, -fADDR…)
        from tui.sendmail_cli import main as sendmail

        return sendmail(words[1:])
    parser = build_parser(words)
    args = parser.parse_args(argv)
    if args.command is not None and (args.demo or args.profile):
        parser.error("--demo and --profile go with the app (mailtui with no command)")
    if args.command is None:
        if args.profile and not args.demo:
            found = load_profiles()  # a broken file is fine here: the app offers to fix it
            if found.get(args.profile) is None and found.error_for(args.profile) is None:
                _say(_no_such_profile(args.profile, found))
                return ExitCode.CONFIG
        # The collector stays paused until the first screen is up (MailtuiApp.start_main).
        from tui.ui.app import run_app  # only the app needs Textual

        return run_app(
            demo=args.demo, profile_id=args.profile, exit_after_start=args.exit_after_start
        )
    handlers = {
        "send": _send,
        "check": _check,
        "profiles": _profiles,
        "outbox": _outbox,
        "history": _history,
        "drafts": _drafts,
        "login": _login,
        "logout": _logout,
    }
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work. Everything it needs is loaded by now: set that apart from the
    garbage collector (paused while loading, see tui/__main__.py) and let it run again."""
    gc.freeze()
    gc.enable()
    return asyncio.run(work)


def _say(text: str) -> None:
    print(f"mailtui: {text}", file=sys.stderr)


def _print_event(event: SessionEvent) -> None:
    if isinstance(event, TranscriptEvent):
        print(event.format(), file=sys.stderr, flush=True)


def _find_profile(profile_id: str) -> tuple[Profile | None, ProfileSet, int]:
    found = load_profiles()
    profile = found.get(profile_id)
    if profile is not None:
        return profile, found, 0
    error = found.error_for(profile_id)
    if error is not None:
        for each in error.every:
            _say(f"profile {profile_id} cannot be used: {each}")
        return None, found, ExitCode.CONFIG
    _say(_no_such_profile(profile_id, found))
    return None, found, ExitCode.CONFIG


def _no_such_profile(profile_id: str, found: ProfileSet) -> str:
    ids = [p.id for p in found.profiles]
    near = nearest(profile_id, ids)
    hint = (
        f"did you mean {near}?"
        if near
        else (f"profiles: {', '.join(ids)}" if ids else "create one first (see README)")
    )
    return f"there is no profile {profile_id}; {hint}"


def _prompt(profile: Profile) -> str | None:
    """Ask for the password on the terminal, never on standard input (it may carry the body)."""
    try:
        with open("/dev/tty"):
            pass
    except OSError:
        return None
    import getpass

    return getpass.getpass(f"Password for {profile.username} ({profile.name}): ")


def _shown(text: str) -> str:
    """Text to print that may hold the server's words (also read back from files anyone
    could have written): escaped again here, so no terminal control ever reaches the
    terminal, line by line, so that a saved transcript keeps its lines."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _report(result: AttemptResult) -> int:
    if result.exit_code == ExitCode.OK:
        print(_shown(result.summary), file=sys.stderr)
    else:
        _say(_shown(result.summary))
    if result.sent_copy and result.sent_copy not in result.warnings:
        print(_shown(result.sent_copy), file=sys.stderr)  # the failure is a warning below
    _warn(result.warnings)
    return int(result.exit_code)


def _warn(warnings: Sequence[str]) -> None:
    """What could not be written after the fact: said, never a change of outcome."""
    for warning in dict.fromkeys(warnings):
        _say(f"warning: {_shown(warning)}")


def keep_given_back(draft: DraftT, profile: Profile, result: AttemptResult) -> AttemptResult:
    """`mailtui send`'s policy for a message that cannot go for good: save it to drafts/
    (after a partial send, for the recipients who refused it only) and say where."""
    from tui.core.results import given_back

    if not given_back(result):
        return result
    from tui.core import maildir
    from tui.core.drafts import Drafts
    from tui.core.message import only_recipients
    from tui.core.results import Outcome

    if result.outcome is Outcome.PARTIAL:
        draft = only_recipients(draft, [r.address for r in result.refused])
        got = in_brief(result.accepted)
        said = result.summary.rstrip().rstrip(".") + f". It was delivered to {got}"
        what = "The message for the recipients who refused it"
    else:
        said = result.summary.rstrip()
        said = said[:-1] if said.endswith(".") else said
        what = "The message"
    drafts = Drafts()
    try:
        draft_id = drafts.save(draft, profile.id)
    except OSError as exc:
        return result._replace(summary=f"{said}. Saving it to drafts failed too ({exc.strerror}).")
    where = maildir.find(drafts.folder, draft_id) or drafts.folder
    return result._replace(summary=f"{said}. {what} was saved to drafts: {where}")


# The longest body `mailtui send` reads: above what any mail server accepts (the largest
# SIZE limits are around 150 MB for a whole message, base64 attachments included, and a text
# body that long is a mistake), and low enough that an endless input (/dev/zero, a runaway
# pipe) stops before it fills the memory.
MAX_BODY = 100_000_000


def _read_body(source: BinaryIO) -> bytes:
    """The whole body, read in pieces and never more than MAX_BODY bytes of it."""
    from tui.core.sendmail import read_message

    return read_message(source, MAX_BODY)


def _send(args: argparse.Namespace) -> int:
    from tui.core.message import Draft
    from tui.core.sendmail import MessageTooLong

    profile, found, code = _find_profile(args.send_profile)
    if profile is None:
        return code
    try:
        if args.body_file:
            with args.body_file.open("rb") as source:
                raw = _read_body(source)
        else:
            if sys.stdin.isatty():  # a person at the keyboard, who would see nothing happen
                print("Type the message, then press Ctrl-D on a new line.", file=sys.stderr)
            raw = _read_body(sys.stdin.buffer)
    except OSError as exc:
        _say(f"cannot read the body from {args.body_file}: {exc.strerror}")
        return ExitCode.DATAERR
    except MessageTooLong:
        where = args.body_file or "standard input"
        _say(
            f"the body from {where} is longer than {MAX_BODY // 1_000_000} MB, more than any "
            "mail server accepts; nothing was sent (send a large file with --attach, or "
            "check what feeds the body)"
        )
        return ExitCode.DATAERR
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        _say("the body is not UTF-8 text; convert it (for example with iconv) and try again")
        return ExitCode.DATAERR
    draft = Draft(
        to=tuple(args.to),
        cc=tuple(args.cc),
        bcc=tuple(args.bcc),
        subject=args.subject,
        body=body,
        attachments=tuple(args.attach),
    )
    from tui.core.early import EarlyConnection

    # The TCP handshake and the greeting travel while the sending stack loads (a round trip
    # on a slow link); nothing is said on the connection before the message is filed.
    early = EarlyConnection(profile) if _will_connect(profile, draft) else None
    try:
        result = _send_one(draft, profile, found, args.transcript, early)
    finally:
        if early is not None:
            early.close()
    return _report(keep_given_back(draft, profile, result))


def _will_connect(profile: Profile, draft: DraftT) -> bool:
    """Is the send sure to reach its connection? Not with a message it will refuse, a login
    over plain text, or a password it may have to ask for (a server should not see a
    connection that says nothing, nor wait while someone types)."""
    from tui.core.message import MessageInputError, compose

    if profile.logs_in:
        known = profile.password_command or profile.password is not None or profile.fetches_token
        if profile.security == "none" or not known:
            return False
    try:
        compose(profile.from_, draft)
    except MessageInputError:
        return False
    return True


def _send_one(
    draft: DraftT,
    profile: Profile,
    found: ProfileSet,
    transcript: bool,
    early: EarlyConnection | None = None,
) -> AttemptResult:
    """Send `draft` as `mailtui send` does: the warnings first, then one attempt; Ctrl-C
    leaves what the outbox filed standing."""
    from tui.core import sending

    locator, history = _warn_if_untrusted(profile, found)
    attempt = sending.Attempt(
        profile,
        sending.Mode.SEND,
        locator=locator,
        history=history,
        profiles=found.profiles,
        listener=_print_event if transcript else None,
        prompt=_prompt,
        early_connection=early,
    )

    async def work() -> AttemptResult:
        await _warn_if_unfit(profile, found)
        try:
            return await attempt.send(draft)
        except asyncio.CancelledError:  # Ctrl-C: what the outbox filed stands
            return attempt.interrupted()

    try:
        return _run(work())
    except KeyboardInterrupt:  # Ctrl-C as the attempt ended: what the outbox did stands
        return attempt.interrupted()


def _warn_if_untrusted(profile: Profile, found: ProfileSet) -> tuple[LocatorT, NetworkHistoryT]:
    """mailtui send warns, then still tries, when an IP-trusted profile is used elsewhere.
    Returns the locator and history it read, for the send to reuse."""
    from tui.core.network import Locator
    from tui.core.network_history import NetworkHistory, trust_warning

    locator, history = Locator(), NetworkHistory()
    if not profile.logs_in and profile.networks:
        warning = trust_warning(
            profile, found.profiles, locator.current(), locator.local_address(profile), history
        )
        if warning is not None:
            _say(f"warning: {warning.text} Trying anyway.")
    return locator, history


async def _warn_if_unfit(profile: Profile, found: ProfileSet) -> None:
    """mailtui send warns, then still sends, when the From domain's DMARC policy will get
    the message refused by recipients for coming through this server (tui/core/from_fit.py).
    The lookup is bounded by dmarc.LOOKUP_TIMEOUT and kept for a day."""
    from tui.core import from_fit

    warning = await from_fit.check_fit(profile, found.profiles)
    if warning is not None:
        _say(f"warning: {_shown(warning)} Sending anyway.")


def _check(args: argparse.Namespace) -> int:
    profile, found, code = _find_profile(args.profile_id)
    if profile is None:
        return code
    return check_profile(profile, found, args.rcpt, args.transcript)


def check_profile(
    profile: Profile,
    found: ProfileSet,
    rcpts: Sequence[str] = (),
    transcript: bool = False,
    password: str | None = None,
) -> int:
    """`mailtui check`'s pre-flight and what it prints; `password` when it was just typed."""
    from tui.core import from_fit, sending

    locator, history = _warn_if_untrusted(profile, found)
    password = password or _shared_password(profile)

    async def work() -> tuple[AttemptResult, str | None]:
        # The From's DMARC policy is looked up while the server is checked.
        fit = asyncio.ensure_future(from_fit.check_fit(profile, found.profiles))
        result = await sending.check(
            profile,
            rcpts,
            locator=locator,
            history=history,
            profiles=found.profiles,
            listener=_print_event if transcript else None,
            prompt=_prompt,
            password=password,
        )
        return result, await fit

    result, fit = _run(work())
    print(f"Profile:  {profile.id} ({profile.name}), {profile.server}")
    print(f"From:     {_shown('warning: ' + fit) if fit else _shown(profile.from_)}")
    if result.offers or result.tls:
        offers = [f"{name} {value}".strip() for name, value in result.offers.items()]
        print(f"Offers:   {_shown(', '.join(offers)) if offers else '(no extensions)'}")
    if result.tls:
        print(f"TLS:      {_shown(result.tls)}")
    for rcpt in result.recipients:
        from tui.core.diagnosis import one_sentence

        print(f"RCPT:     {rcpt.address}: {rcpt.code} {one_sentence(rcpt.text)}")
    print(f"Verdict:  {_shown(result.summary)}")
    if profile.imap is None:
        return int(result.exit_code)
    from tui.cli_copies import check_line

    line, ok = check_line(profile, password, _print_event if transcript else None)
    print(line)
    if not ok and result.exit_code == ExitCode.OK:
        return int(ExitCode.UNAVAILABLE)  # sending works; the copy to Sent would not
    return int(result.exit_code)


def _shared_password(profile: Profile) -> str | None:
    """For `check` of a profile whose IMAP login shares its password: asked for once, for
    both; None lets the SMTP check find and explain a missing one."""
    imap = profile.imap
    if imap is None or imap.password_command or not profile.logs_in:
        return None
    from tui.core.secrets import SecretError, resolve_password

    try:
        return resolve_password(profile, _prompt)
    except SecretError:
        return None


def _login(args: argparse.Namespace) -> int:
    from tui.cli_login import login

    profile, _found, code = _find_profile(args.login_profile)
    return code if profile is None else login(profile, args.browser)


def _logout(args: argparse.Namespace) -> int:
    from tui.cli_login import logout

    profile, _found, code = _find_profile(args.logout_profile)
    return code if profile is None else logout(profile.id)


def _profiles(args: argparse.Namespace) -> int:
    if getattr(args, "profiles_action", None) == "new":
        from tui.cli_profiles import new_profile

        return new_profile(args.address, args.new_id, args.yes)
    found = load_profiles()
    if not found.profiles and not found.errors:
        from tui.core import locations

        print(f"No profiles yet. Create one as {locations.profiles_dir()}/<id>.toml (see README).")
        return 0
    for p in found.profiles:
        print(
            f"{p.id:<16} {p.name:<24} {p.provider_label:<10} {p.auth_label:<18} "
            f"{p.server} ({p.security})"
        )
    for error in found.errors:  # every fault of a file, one a line
        for each in error.every:
            print(f"{each.profile_id:<16} ERROR {each}")
    return ExitCode.CONFIG if found.errors else 0


def _outbox(args: argparse.Namespace) -> int:
    from tui.core.outbox import Outbox, OutboxBusy, OutboxUnreadable

    box = Outbox()
    if args.action in ("retry", "delete"):
        if not args.ids:
            _say(f"outbox {args.action} needs the ids of the entries (see 'mailtui outbox list')")
            return ExitCode.USAGE
        # Every id is looked up before any is touched: a mistyped one changes nothing.
        chosen = {entry_id: box.get(entry_id) for entry_id in args.ids}
        from tui import cli_copies

        copies = {i: cli_copies.pending_copy(i) for i, found in chosen.items() if found is None}
        for entry_id, found in chosen.items():
            if found is None and copies.get(entry_id) is None:
                _say(f"there is no outbox entry {entry_id}; see 'mailtui outbox list'")
                return ExitCode.USAGE
        if copies:  # copies to Sent waiting (or held) by their ids, as the listing shows them
            code = _outbox_copies(args, copies)
            chosen = {i: found for i, found in chosen.items() if found is not None}
            if code or not chosen:
                return code
        released: set[str] = set()
        for entry in [e for e in chosen.values() if e is not None]:
            try:
                if args.action == "delete":
                    box.remove(entry.id)
                    print(f"Deleted {_named(entry)}.")
                else:
                    box.release(entry.id)
                    released.add(entry.id)
                    print(f"{_named(entry)} is queued again; sending it now.")
            except OutboxBusy:
                _say(f"{entry.id} is being sent right now; try again when that send is over")
                return ExitCode.TEMPFAIL
            except KeyError:
                _say(f"{entry.id} left the outbox meanwhile (sent or deleted)")
            except OutboxUnreadable as exc:
                _say(str(exc))
                return ExitCode.DATAERR
        if args.action == "delete":
            return 0
        return _outbox_flush(box, args.transcript, only=released) if released else 0
    if args.action == "flush":
        return _outbox_flush(box, args.transcript)
    return _outbox_list(box)


def _outbox_copies(args: argparse.Namespace, copies: dict[str, str | None]) -> int:
    """`outbox retry|delete ID` for copies to Sent: delete gives up on them; retry tries
    them now, held or not (the person fixed what held them)."""
    from tui import cli_copies
    from tui.core.pending_copies import PendingCopies

    for copy_id, named in copies.items():
        if args.action == "delete":
            if not PendingCopies().delete(copy_id):
                _say(f"{copy_id} is being tried right now; delete it when that try is over")
                return ExitCode.TEMPFAIL
            print(f"Deleted {named}; the message itself was sent.")
        else:
            profiles = load_profiles().profiles
            listener = _print_event if args.transcript else None
            cli_copies.retry_copies(profiles, listener, _prompt, only=copy_id)
    return 0


def _named(entry: OutboxEntryT) -> str:
    """An outbox entry as a person recognises it: its id and its subject."""
    subject = f'"{entry.subject}"' if entry.subject else "(no subject)"
    return _shown(f"{entry.id} {subject}")


def _outbox_list(box: OutboxT) -> int:
    from tui.cli_copies import list_pending

    entries = box.entries()
    if not entries:
        if not list_pending():  # a copy waiting for Sent is not a message: exit 0 still
            print("The outbox is empty.")
        return 0
    for entry in entries:
        to = in_brief(entry.recipients)
        print(
            _shown(
                f"{entry.id}  {entry.state_label:<11} {entry.profile_id:<12} "
                f"tries {entry.attempts}  {to}  {entry.subject}"
            )
        )
        if entry.delivered_to:
            print(f"    already delivered to: {_shown(in_brief(entry.delivered_to))}")
        if entry.last_error:
            print(f"    last error: {_shown(entry.last_error)}")
    list_pending()
    return ExitCode.TEMPFAIL


def _outbox_flush(box: OutboxT, transcript: bool, only: set[str] | None = None) -> int:
    """Send the queued messages (with `only`, just those entries), one session a profile."""
    from tui.core import sending

    box.sweep()
    found = load_profiles()
    if only is None:  # the copies first: a copy that fails in this flush's sends waits
        from tui.cli_copies import retry_copies

        retry_copies(found.profiles, _print_event if transcript else None, _prompt)
    by_profile: dict[str, list[OutboxEntryT]] = {}
    for entry in box.entries():
        if entry.waiting and (only is None or entry.id in only):
            by_profile.setdefault(entry.profile_id, []).append(entry)
    worst: list[ExitCode] = []
    tried = 0
    for profile_id, entries in by_profile.items():
        profile = found.get(profile_id)
        if profile is None:
            broken = found.error_for(profile_id) is not None
            why = "which cannot be used (see 'mailtui profiles')" if broken else "which is missing"
            for entry in entries:
                _say(f"{_named(entry)} was not sent: it needs profile {profile_id}, {why}")
            worst.append(ExitCode.CONFIG)
            continue
        # The flush claims each entry itself: one that another process is sending is skipped.
        result = _run(
            sending.flush(
                profile,
                entries,
                profiles=found.profiles,
                listener=_print_event if transcript else None,
                prompt=_prompt,
                outbox=box,
            )
        )
        tried += len(result.messages)
        for problem in result.skipped:
            _say(_shown(problem))
        worst.append(result.exit_code)
        if not result.messages:
            if result.session.exit_code != ExitCode.OK:
                _say(_shown(result.session.summary))
                worst.append(result.session.exit_code)
            continue
        for entry, message in result.messages:
            line = f"{_named(entry)}: {_shown(message.summary)}"
            if message.exit_code == ExitCode.OK:
                print(line)
            else:
                _say(line)
        if len(result.messages) > 1:
            print(_shown(result.session.summary))
        _warn([w for _entry, message in result.messages for w in message.warnings])
    now = [e for e in box.entries() if only is None or e.id in only]
    left = [e for e in now if e.waiting or e.needs_person]
    elsewhere = sum(1 for e in now if e.effective_state == "sending")  # another mailtui's
    code = next((c for c in sending.SEVERITY if c in worst), ExitCode.OK)
    if left:
        counts: dict[str, int] = {}
        for entry in left:
            counts[entry.state_label] = counts.get(entry.state_label, 0) + 1
        listed = ", ".join(f"{n} {state}" for state, n in counts.items())
        _say(f"{len(left)} message(s) still in the outbox ({listed}); see 'mailtui outbox list'")
        if code == ExitCode.OK:
            code = ExitCode.TEMPFAIL
    elif not tried and elsewhere:
        print(f"Nothing to send here: {elsewhere} message(s) are being sent by another mailtui.")
    elif not tried and only is not None:
        print("Nothing was sent: those entries left the outbox meanwhile (sent or deleted).")
    elif not tried:
        print("Nothing to send: the outbox is empty.")
    return int(code)


def _drafts(args: argparse.Namespace) -> int:
    from tui.core.drafts import Drafts

    drafts = Drafts()
    if args.send_profile and args.action != "send":
        _say("--profile goes with 'mailtui drafts send ID'")
        return ExitCode.USAGE
    if args.action == "list":
        if args.ids:
            _say(f"drafts list takes no id; to see one: mailtui drafts show {args.ids[0]}")
            return ExitCode.USAGE
        return _drafts_list(drafts)
    if not args.ids or (args.action != "delete" and len(args.ids) > 1):
        _say(f"drafts {args.action} needs the id of one draft (see 'mailtui drafts list')")
        return ExitCode.USAGE
    chosen: list[SavedDraftT] = []
    for wanted in args.ids:  # every id is resolved before any draft is touched
        found = drafts.match(wanted)
        if not found:
            _say(f"there is no draft {wanted}; see 'mailtui drafts list'")
            return ExitCode.USAGE
        if len(found) > 1:
            some = ", ".join(d.id for d in found[:3]) + (", …" if len(found) > 3 else "")
            _say(f"{wanted} is the start of {len(found)} drafts' ids ({some}); give more of it")
            return ExitCode.USAGE
        chosen.extend(found)
    if args.action == "show":
        _draft_show(chosen[0])
        return 0
    if args.action == "send":
        return _draft_send(drafts, chosen[0], args)
    for saved in chosen:
        try:
            drafts.remove(saved.id)
        except OSError as exc:
            _say(f"draft {saved.id} could not be deleted: {exc.strerror}")
            return ExitCode.IOERR
        print(_shown(f"Deleted draft {saved.id} ({saved.draft.subject or 'no subject'})."))
    return 0


def _when(saved: SavedDraftT) -> str:
    """When a draft was saved, in local time, from its Date header."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(saved.saved_at).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return saved.saved_at or "?"


def _drafts_list(drafts: DraftsT) -> int:
    from tui.core.message import address_items

    saved = drafts.list()
    if not saved:
        print("No drafts.")
        return 0
    for each in saved:
        draft = each.draft
        to = in_brief(address_items((*draft.to, *draft.cc, *draft.bcc))) or "(no recipient)"
        app = "  (autosaved by the app)" if each.autosave else ""
        print(
            _shown(
                f"{each.id}  {_when(each)}  {each.profile_id or '-':<12} {to}  "
                f"{draft.subject or '(no subject)'}{app}"
            )
        )
    return 0


def _draft_show(saved: SavedDraftT) -> None:
    draft = saved.draft
    app = " (autosaved by the app)" if saved.autosave else ""
    lines = [f"Draft:    {saved.id}{app}", f"Saved:    {_when(saved)}"]
    lines.append(f"Profile:  {saved.profile_id or '(none: send it with --profile ID)'}")
    for label, values in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        if values:
            lines.append(f"{label + ':':<10}{', '.join(values)}")
    lines.append(f"Subject:  {draft.subject}")
    for path in draft.attachments:
        try:
            size = f"{path.stat().st_size:,} bytes"
        except OSError:
            size = "missing"
        lines.append(f"Attached: {path} ({size})")
    print(_shown("\n".join(lines)))
    print()
    sys.stdout.write(_shown(draft.body if draft.body.endswith("\n") else draft.body + "\n"))


def _draft_send(drafts: DraftsT, saved: SavedDraftT, args: argparse.Namespace) -> int:
    profile_id = args.send_profile or saved.profile_id
    if not profile_id:
        _say(
            f"draft {saved.id} names no profile; choose one: "
            f"mailtui drafts send {saved.id} --profile ID"
        )
        return ExitCode.USAGE
    profile, found, code = _find_profile(profile_id)
    if profile is None:
        return code
    result = _send_one(saved.draft, profile, found, args.transcript)
    return _report(_settle_draft(drafts, saved, profile, result))


def _settle_draft(
    drafts: DraftsT, saved: SavedDraftT, profile: Profile, result: AttemptResult
) -> AttemptResult:
    """`keep_given_back` for a message that is a draft already: once sent, or kept in the
    outbox, it leaves drafts; when it cannot go it stays (after a partial send, addressed
    only to the recipients who refused it), and the summary says which."""
    from tui.core.message import only_recipients
    from tui.core.results import Outcome, given_back

    said = result.summary.rstrip()
    said = said[:-1] if said.endswith(".") else said
    try:
        if not given_back(result):
            drafts.remove(saved.id)
            if result.exit_code == ExitCode.OK:
                return result._replace(summary=f"{said}. The draft was removed.")
            return result._replace(summary=f"{said}. The draft was removed: the outbox has it.")
        if result.outcome is Outcome.PARTIAL:
            draft = only_recipients(saved.draft, [r.address for r in result.refused])
            drafts.save(draft, saved.profile_id, name=saved.id, autosave=saved.autosave)
            return result._replace(
                summary=f"{said}. Draft {saved.id} now holds the message for the recipients "
                "who refused it."
            )
    except OSError as exc:
        warning = f"draft {saved.id} could not be updated ({exc.strerror})"
        return result._replace(warnings=(*result.warnings, warning))
    return result._replace(summary=f"{said}. It stays in drafts as {saved.id}.")


def _history(args: argparse.Namespace) -> int:
    from tui.core.history import list_attempts

    attempts = list_attempts()
    if args.n is None:
        if not attempts:
            print("No attempts yet.")
        waiting = _copies_waiting() if attempts else set()
        for index, attempt in enumerate(attempts[:50], start=1):
            to = in_brief(attempt.recipients)
            pending = any(m in waiting for m in attempt.pending_copies)
            print(
                _shown(
                    f"{index:>3}  {attempt.time[:19].replace('T', ' ')}  {attempt.kind:<8} "
                    f"{attempt.profile:<12} {attempt.outcome:<12} "
                    f"{attempt.duration_ms:>7.0f} ms  {to}  {attempt.subject}"
                    + ("  (copy to Sent pending)" if pending else "")
                )
            )
        return 0
    chosen = None
    if args.n.isdigit() and 1 <= int(args.n) <= len(attempts):
        chosen = attempts[int(args.n) - 1]
    else:
        chosen = next((a for a in attempts if a.id == args.n), None)
    if chosen is None:
        _say(f"no attempt {args.n}; run 'mailtui history' to list them")
        return ExitCode.USAGE
    what = {"check": "Check", "flush": "Flush", "sendmail": "Sendmail"}.get(chosen.kind, "Send")
    print(_shown(f"{what} {chosen.id}: {chosen.outcome} with {chosen.profile}"))
    print(_shown(str(chosen.record.get("summary", ""))))
    copy = chosen.record.get("sent_copy")
    if isinstance(copy, dict) and copy.get("summary"):
        still = any(m in _copies_waiting() for m in chosen.pending_copies)
        print(_shown(str(copy["summary"])) + (" (still pending)" if still else ""))
    print()
    sys.stdout.write(_shown(chosen.transcript()))
    return 0


def _copies_waiting() -> set[str]:
    """The Message-IDs whose copy to the IMAP Sent folder still waits."""
    from tui.core.pending_copies import pending

    return {copy.message_id for copy in pending()}
