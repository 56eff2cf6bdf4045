"""`mailtui sendmail`: the options sendmail, Postfix and msmtp accept, and a message handed
over on standard input made ready for the wire as its caller wrote it.

Nothing here connects anywhere: `parse_options` reads the command line (raising
`UsageError`, exit 64), `read_message` the input (bounded), and `submission` checks the
message and returns the envelope and the bytes to send (raising `MessageInputError`, exit 65).
The bytes are the caller's except that `Bcc` (and `Resent-Bcc`) is removed, a missing
`From`, `Date` and `Message-ID` are added (a `From` of a local user's name only, as cron
writes it, is given the profile's address), a leading mbox `From ` line is dropped (as
Postfix does), and line endings (LF, CR or CRLF) become CRLF.
"""

import re
from collections.abc import Sequence
from email.utils import formataddr, formatdate, getaddresses, make_msgid
from typing import Any, BinaryIO, NamedTuple

from tui.core.message import (
    Dsn,
    MessageInputError,
    Prepared,
    has_control,
    parse_address_list,
    parse_mailbox,
)

# The longest message read: above what any mail server accepts (the largest SIZE limits
# are around 150 MB), and low enough that an endless input stops before it fills memory.
MAX_MESSAGE = 160_000_000
MAX_LINE = 998  # octets, without CRLF (RFC 5321, 4.5.3.1.6)


class UsageError(Exception):
    """A command line sendmail cannot act on: exit 64, the option named."""


class Options(NamedTuple):
    recipients: tuple[str, ...] = ()
    from_headers: bool = False  # -t
    sender: str | None = None  # -f / -r: the envelope sender
    full_name: str | None = None  # -F: the name for a From that mailtui adds
    dsn: Dsn | None = None  # -N, -R, -V
    verbose: bool = False  # -v: the transcript on stderr
    profile: str | None = None  # -a / --profile / --account
    action: str = "send"  # "send", "flush" (-q), "list" (-bp), "queue" (-odq), "help"
    queue: bool = False  # --queue: a temporary failure waits in the outbox
    auto_switch: bool = False  # --auto-switch: the profile that works here, when From fits
    ignored: tuple[str, ...] = ()  # options accepted by habit, and ignored


# Single-letter options that take a value, attached (-fjane@x) or as the next word.
_WITH_VALUE = set("fFrNRVahCXLBpO")
# Accepted and ignored, each with why (listed in --help).
IGNORED = {
    "-i, -oi": "a lone dot does not end the message: input is always read to its end",
    "-oem, -oee, -oep, -oeq, -oew": "how errors are reported: mailtui prints them and exits",
    "-om, -oXvalue, -O option=value": "other sendmail settings",
    "-odb, -odi": "delivery mode: the message is sent at once (-odq queues it)",
    "-B type, -B8BITMIME": "body type: 8-bit bodies use 8BITMIME when the server offers it",
    "-C file, -X file, -L label, -p protocol": "sendmail's configuration, logging and protocol",
    "-h hops, -m, -n, -U, -G, -Am, -Ac": "hop count, aliasing and submission flags",
}
_IGNORED_FLAGS = set("imnUG")


def _value(word: str, rest: str, words: list[str], option: str) -> str:
    if rest:
        return rest
    if not words:
        raise UsageError(f"option {option} needs a value")
    return words.pop(0)


def parse_options(argv: Sequence[str]) -> Options:
    """Parse sendmail's command line the way sendmail's getopt does: flags may be grouped
    (-ti), values attached (-fjane@x) or separate (-f jane@x); `--` ends the options."""
    words = list(argv)
    found: dict[str, Any] = {}
    ignored: list[str] = []
    recipients: list[str] = []
    notify = ret = envid = ""
    while words:
        word = words.pop(0)
        if word == "--":
            recipients += words
            break
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            if name in ("--profile", "--account"):
                found["profile"] = value if equals else _value(name, "", words, name)
            elif name == "--queue" and not equals:
                found["queue"] = True
            elif name == "--auto-switch" and not equals:
                found["auto_switch"] = True
            elif name == "--read-recipients" and not equals:
                found["from_headers"] = True
            elif name == "--read-envelope-from" and not equals:
                pass  # what mailtui does anyway: the envelope sender comes from From
            elif name == "--help" and not equals:
                found["action"] = "help"
            else:
                raise UsageError(f"unknown option {word} (see 'mailtui sendmail --help')")
            continue
        if not word.startswith("-") or word == "-":
            recipients.append(word)
            continue
        letters = word[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            option = f"-{letter}"
            if letter == "o":  # -oi, -odq, -oem…: the rest of the word is the setting
                setting, letters = letters, ""
                if setting == "i":
                    ignored.append("-oi")
                elif setting == "dq":
                    found["action"] = "queue"
                elif setting:
                    ignored.append(f"-o{setting}")
                else:
                    raise UsageError("option -o needs a setting, such as -oi")
            elif letter == "b":  # -bp lists the queue, -bm sends: the others are daemons
                mode, letters = letters, ""
                if mode == "p":
                    found["action"] = "list"
                elif mode == "m":
                    pass
                else:
                    raise UsageError(
                        f"-b{mode} is not supported: mailtui sendmail sends one message "
                        "(-bm, the default) or lists the outbox (-bp)"
                    )
            elif letter == "q":  # -q, -q30m, -qf: flush once (no daemon runs)
                found["action"] = "flush"
                letters = ""
            elif letter == "t":
                found["from_headers"] = True
            elif letter == "v":
                found["verbose"] = True
            elif letter in _IGNORED_FLAGS:
                ignored.append(option)
            elif letter == "A":  # -Am / -Ac: which configuration file sendmail reads
                ignored.append(f"-A{letters}")
                letters = ""
            elif letter in _WITH_VALUE:
                value = _value(word, letters, words, option)
                letters = ""
                if letter in "fr":
                    found["sender"] = value
                elif letter == "F":
                    found["full_name"] = _full_name(value)
                elif letter == "a":
                    found["profile"] = value
                elif letter == "N":
                    notify = _notify(value)
                elif letter == "R":
                    ret = _ret(value)
                elif letter == "V":
                    envid = _envid(value)
                else:  # -h, -C, -X, -L, -B, -p, -O
                    ignored.append(f"{option} {value}")
            else:
                raise UsageError(
                    f"unknown option {option} (see 'mailtui sendmail --help' for the options "
                    "it takes and those it ignores)"
                )
    dsn = Dsn(notify, ret, envid) if notify or ret or envid else None
    return Options(recipients=tuple(recipients), dsn=dsn, ignored=tuple(ignored))._replace(**found)


def _full_name(value: str) -> str:
    if has_control(value):
        raise UsageError(
            "-F: the full name contains a line break or control character, which would "
            "break the From header; give the name on one line"
        )
    return value


def _notify(value: str) -> str:
    words = [w.strip().lower() for w in value.split(",") if w.strip()]
    if words == ["never"]:
        return "NEVER"
    if words and all(w in ("success", "delay", "failure") for w in words):
        return ",".join(w.upper() for w in dict.fromkeys(words))
    raise UsageError(
        f"-N {value}: give 'never', or one or more of success, delay and failure "
        "separated by commas"
    )


def _ret(value: str) -> str:
    if value.lower() in ("hdrs", "full"):
        return value.upper()
    raise UsageError(f"-R {value}: give 'hdrs' (headers only) or 'full' (the whole message)")


def _envid(value: str) -> str:
    if not value or not value.isascii() or not value.isprintable() or len(value) > 100:
        raise UsageError(f"-V {value!r}: the envelope id must be printable ASCII, 1 to 100 long")
    return value


# -- the message -------------------------------------------------------------------------------


class MessageTooLong(Exception):
    """The input goes on past MAX_MESSAGE."""


def read_message(source: BinaryIO, limit: int = MAX_MESSAGE) -> bytes:
    """The whole input, read in pieces and never more than `limit` bytes of it."""
    data = bytearray()
    while True:
        wanted = min(1 << 20, limit + 1 - len(data))
        piece = source.read(wanted)
        data += piece
        if len(data) > limit:
            raise MessageTooLong
        # A buffered read is short only at the end. Reading on would wait for a second
        # end: a terminal's Ctrl-D ends one read, not the input.
        if len(piece) < wanted:
            return bytes(data)


class Submission(NamedTuple):
    """A message handed to sendmail, ready to send: the envelope and the exact bytes."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes  # CRLF line endings, not dot-stuffed
    smtputf8: bool  # UTF-8 in the header or a non-ASCII address: needs SMTPUTF8
    eight_bit: bool  # bytes above 127 in the body: needs 8BITMIME
    message_id: str
    subject: str
    added: tuple[str, ...]  # the header fields mailtui added ("From", "Date", "Message-ID")

    def prepared(self, dsn: Dsn | None = None) -> Prepared:
        """The message as the outbox and the session take it."""
        return Prepared(
            sender=self.sender,
            recipients=self.recipients,
            data=self.data,
            smtputf8=self.smtputf8,
            message_id=self.message_id,
            subject=self.subject,
            eight_bit=self.eight_bit,
            dsn=dsn,
        )


_FIELD_NAME = re.compile(rb"^[!-9;-~]+[ \t]*:")  # RFC 5322 field name (and obs- spaces)
# Anchored at line starts: a search costs one look per line, not one per byte.
_LONG_LINE = re.compile(rb"^[^\r\n]{%d}" % (MAX_LINE + 1), re.MULTILINE)
# mbox separator lines ("From jane@example.org Mon Jan  1 …", or ">From " escaped) that a
# message taken out of a mailbox file starts with, before its header: Postfix's sendmail
# drops them too. Before anything else (a message that is all body) the line is text.
_FROM_LINES = re.compile(rb"\A(?:>*From [^\n]*\n)+(?=[!-9;-~]+[ \t]*:)")


def normalised(raw: bytes) -> bytes:
    """The input with every line ending (LF, CR alone, or CRLF) as CRLF, and without the
    mbox `From ` lines it may start with. A CR alone never reaches the wire (RFC 5321,
    2.3.8): a server that took it for a line end would read another message than this."""
    data = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return _FROM_LINES.sub(b"", data).replace(b"\n", b"\r\n")


class Field(NamedTuple):
    name: str  # as written
    raw: bytes  # the whole field, continuation lines and final CRLF included

    @property
    def key(self) -> str:
        return self.name.strip().lower()

    @property
    def value(self) -> str:
        """Unfolded, as text (bytes that are not UTF-8 kept as escapes)."""
        body = self.raw.split(b":", 1)[1]
        text = body.decode("utf-8", "surrogateescape")
        return re.sub(r"\r?\n(?=[ \t])", "", text).strip()


def split_header(data: bytes) -> tuple[list[Field], bytes]:
    """The header fields and the body (after the empty line). Input whose first line is
    not a header field is all body, as sendmail takes it."""
    fields: list[Field] = []
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end + 1
        line = data[position:end]
        if line in (b"\r\n", b"\n"):
            return fields, data[end:]
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = fields[-1]._replace(raw=fields[-1].raw + line)
        elif _FIELD_NAME.match(line):
            fields.append(Field(line.split(b":", 1)[0].decode("ascii"), line))
        else:  # the header ended without its empty line: the rest is body
            return fields, data[position:]
        position = end
    return fields, b""


def _addresses(fields: list[Field], names: Sequence[str], role: str = "rcpt") -> list[str]:
    found: list[str] = []
    for field in fields:
        if field.key not in names:
            continue
        for _name, address in getaddresses([field.value]):
            if not address and _is_group(field.value):
                continue  # a group's name ("undisclosed-recipients:;")
            if not address:
                # getaddresses gives up on an entry it cannot read ("Bob <bob@>"): never
                # send to the others as if it were not there.
                raise MessageInputError(
                    role,
                    f"in the message's header: {field.name} '{field.value}' has an address "
                    "that cannot be read",
                )
            try:
                found.append(parse_mailbox(address, role).addr_spec)
            except MessageInputError as exc:
                raise MessageInputError(role, f"in the message's header: {exc.reason}") from None
    return found


_BLOCK_ONCE = {"resent-date", "resent-from", "resent-sender", "resent-message-id"}


def newest_resent(fields: list[Field]) -> list[Field]:
    """The newest block of Resent-* fields (RFC 5322, 3.6.6: each resending prepends its
    own, so the first block is the latest); empty when the message was never resent. The
    recipients of an earlier resending had the message then: they are not sent it again."""
    block: list[Field] = []
    for field in fields:
        if not field.key.startswith("resent-"):
            if block:
                break
            continue  # trace fields (Received, Return-Path) may come first
        if field.key in _BLOCK_ONCE and any(f.key == field.key for f in block):
            break  # the next (older) block begins
        block.append(field)
    return block


def _senders(fields: list[Field]) -> list[str]:
    """The author's address: From, or for a resent message the resender's (Resent-Sender,
    else Resent-From), as mutt's bounce writes it."""
    block = newest_resent(fields)
    for names in (("resent-sender",), ("resent-from",)):
        found = _addresses(block, names, "from")
        if found:
            return found
    return _header_from(fields)


def _header_problem(fields: list[Field]) -> str | None:
    """Header bytes that are neither ASCII nor UTF-8 (Latin-1 written raw, say): SMTPUTF8
    would declare them UTF-8, and without it they cannot go at all."""
    line = 1
    for field in fields:
        try:
            field.raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            number = line + field.raw.count(b"\n", 0, exc.start)
            return (
                f"line {number} of the message's header ({field.name}) has bytes that are not "
                "UTF-8; have the mail program encode the header (RFC 2047) or write it in UTF-8"
            )
        line += field.raw.count(b"\n")
    return None


def _unique(addresses: Sequence[str]) -> list[str]:
    """Each recipient once: the domain's case does not make another mailbox (RFC 5321)."""
    seen: dict[str, str] = {}
    for address in addresses:
        local, at, domain = address.rpartition("@")
        seen.setdefault(f"{local}{at}{domain.lower()}", address)
    return list(seen.values())


def command_line_recipients(words: Sequence[str]) -> list[str]:
    """The recipients given as arguments; one argument may hold several separated by
    commas (cron passes MAILTO so, and Postfix reads it so). A line break is never a
    separator there: it is refused."""
    found: list[str] = []
    for word in words:
        if has_control(word):
            parse_mailbox(word, "rcpt")  # raises, naming the line break
        found += [box.addr_spec for box in parse_address_list(word, "rcpt")]
    return found


def _is_group(value: str) -> bool:
    """An empty field, or one in group syntax (RFC 5322 "name: [addresses];")."""
    return not value.strip() or (":" in value and value.rstrip().endswith(";"))


_LOCAL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def _local_sender(fields: list[Field]) -> str | None:
    """For a From of a local user's name only, as cron writes it ("From: root (Cron Daemon)")
    and as sendmail qualifies with the machine's domain: the name to keep ("Cron Daemon",
    maybe empty). None for any other From, or none."""
    pairs = getaddresses([f.value for f in fields if f.key == "from"])
    if not pairs or not all(_LOCAL_NAME.fullmatch(address) for _name, address in pairs):
        return None
    return pairs[0][0].strip().strip("()").strip()


def _header_from(fields: list[Field]) -> list[str]:
    """The From field's addresses; none for a local user's name (see _local_sender)."""
    if _local_sender(fields) is not None:
        return []
    return _addresses(fields, ("from",), "from")


def submission(
    raw: bytes,
    options: Options,
    profile_from: str | None,
    *,
    now: float | None = None,
) -> Submission:
    """Check the message and make it ready: raises MessageInputError saying what is wrong.
    Without `profile_from` (before a profile is chosen) it only checks: nothing is added."""
    data = normalised(raw)
    if not data.strip():
        raise MessageInputError(
            "message", "the message on standard input is empty; nothing was sent"
        )
    fields, body = split_header(data)
    header_bytes = b"".join(f.raw for f in fields)
    if b"\0" in data:
        where = "header" if b"\0" in header_bytes else "body"
        raise MessageInputError(
            "message",
            f"the message's {where} contains a NUL byte, which SMTP cannot carry; send binary "
            "data as a MIME attachment (base64)",
        )
    long_line = _LONG_LINE.search(data)
    if long_line is not None:
        number = data.count(b"\n", 0, long_line.start()) + 1
        raise MessageInputError(
            "message",
            f"line {number} of the message is longer than {MAX_LINE} bytes, which SMTP does "
            "not allow; have the mail program wrap it or encode the body (quoted-printable)",
        )
    problem = _header_problem(fields)
    if problem is not None:
        raise MessageInputError("message", problem)
    resent = newest_resent(fields)
    recipients = command_line_recipients(options.recipients)
    if options.from_headers:
        if resent:
            recipients += _addresses(resent, ("resent-to", "resent-cc", "resent-bcc"))
        else:
            recipients += _addresses(fields, ("to", "cc", "bcc"))
    recipients = _unique(recipients)
    if not recipients:
        raise MessageInputError(
            "rcpt",
            "the message has no recipient: give addresses after the options, or use -t to "
            "read them from To, Cc and Bcc"
            if options.from_headers
            else "no recipient was given: put the addresses after the options, or use -t "
            "to read them from the message's To, Cc and Bcc",
        )
    local_name = _local_sender(fields)
    header_from = _senders(fields)
    sender = envelope_sender(options, header_from)
    if profile_from is None:
        return Submission(sender or "", tuple(recipients), b"", False, False, "", "", ())
    profile_box = parse_mailbox(profile_from, "from")
    sender = sender if sender is not None else profile_box.addr_spec
    # Bcc never leaves in a header: the envelope carries it. A local user's name as From
    # is made the profile's address, its name kept, as sendmail qualifies it.
    drop = {"bcc", "resent-bcc"} | ({"from"} if local_name is not None else set())
    kept = [f for f in fields if f.key not in drop]
    keys = {f.key for f in kept}
    added: list[bytes] = []
    added_names: list[str] = []
    if "from" not in keys:
        name = local_name or (
            options.full_name if options.full_name is not None else profile_box.display_name
        )
        value = formataddr((name, profile_box.addr_spec)) if name else profile_box.addr_spec
        added.append(f"From: {value}\r\n".encode())
        added_names.append("From")
    if "date" not in keys:
        added.append(f"Date: {formatdate(now, localtime=True)}\r\n".encode())
        added_names.append("Date")
    message_id = next((f.value for f in kept if f.key == "message-id"), "")
    if not message_id:
        domain = (header_from[0] if header_from else profile_box.addr_spec).rpartition("@")[2]
        message_id = make_msgid(domain=_ascii(domain).strip("[]"))
        added.append(f"Message-ID: {message_id}\r\n".encode())
        added_names.append("Message-ID")
    header = b"".join(f.raw for f in kept)
    if header and not header.endswith(b"\n"):
        header += b"\r\n"
    out = header + b"".join(added) + b"\r\n" + body
    subject = next((f.value for f in kept if f.key == "subject"), "")
    envelope = [sender, *recipients]
    smtputf8 = not (header + b"".join(added)).isascii() or not all(
        a.rpartition("@")[0].isascii() for a in envelope
    )
    if not smtputf8:  # internationalised domains go as punycode to any server
        sender, *recipients = [_ascii_address(a) for a in envelope]
    return Submission(
        sender=sender,
        recipients=tuple(recipients),
        data=out,
        smtputf8=smtputf8,
        eight_bit=not body.isascii(),
        message_id=message_id,
        subject=_decoded(subject),
        added=tuple(added_names),
    )


def envelope_sender(options: Options, header_from: Sequence[str]) -> str | None:
    """-f/-r when given ("" or "<>": the null sender), else the From header's address."""
    if options.sender is not None:
        if options.sender in ("", "<>"):
            return ""
        return parse_mailbox(options.sender, "from").addr_spec
    return header_from[0] if header_from else None


def routing_address(raw: bytes, options: Options) -> str | None:
    """The address that picks the profile: -f, else the message's From (or for a resent
    message its Resent-From), None when there is neither."""
    fields, _body = split_header(normalised(raw[: 1 << 20]))
    try:
        return envelope_sender(options, _senders(fields)) or None
    except MessageInputError:
        return None  # said properly when the message is checked


def _ascii(domain: str) -> str:
    return domain if domain.isascii() else domain.encode("idna").decode("ascii")


def _ascii_address(address: str) -> str:
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{_ascii(domain)}" if at else address


def _decoded(value: str) -> str:
    """A header value as a person reads it (encoded words decoded), for listings only."""
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value
