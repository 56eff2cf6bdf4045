"""Composing a message: address checks, header safety, and the MIME message itself.

Everything a person typed is checked before any connection is made, so a bad address or
an attempt to smuggle a header (CR/LF in a field) fails with exit 65 and names the field.
"""

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from email import errors, policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, NamedTuple

from tui.core.transcript import printable

# RFC 5322 atext, plus any non-ASCII character (RFC 6531 allows UTF-8 local parts):
# atext is everything but controls, space and the specials; written as that complement,
# it also admits every non-ASCII character, and compiles in a fraction of the time.
_ATEXT = r'[^\x00-\x20\x7f()<>\[\]:;@\\,."]'
_DOT_ATOM_RE = re.compile(rf"^{_ATEXT}+(\.{_ATEXT}+)*$")
_QUOTED_RE = re.compile(r'^"([^"\\]|\\[ -~])*"$')
_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
# Text that mail programs decode as an RFC 2047 encoded word (the email package's own pattern).
_ENCODED_WORD_RE = re.compile(r"=\?[^?]*\?[qQbB]\?.*?\?=")
# SMTP's limit on a line, CRLF not counted (RFC 5321 section 4.5.3.1.6).
_MAX_LINE = 998


class MessageInputError(ValueError):
    """Something the person typed cannot go into a message (exit 65)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class AddressError(MessageInputError):
    """An address that is not valid, naming the field and the address."""

    def __init__(self, field_name: str, address: str, reason: str) -> None:
        super().__init__(field_name, reason)
        self.address = address


class Mailbox(NamedTuple):
    """One address with its optional display name; `local` and `domain` are as typed."""

    display_name: str
    local: str
    domain: str

    @property
    def addr_spec(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        return not self.local.isascii()

    def ascii_addr_spec(self) -> str:
        """The address with an IDN domain as punycode, for servers without SMTPUTF8."""
        # A non-ASCII local part has no ASCII form at all.
        if self.needs_smtputf8:
            raise AddressError(
                "address",
                self.addr_spec,
                f"{self.addr_spec} has non-ASCII characters before the @ and the server does "
                "not support SMTPUTF8; use an ASCII address for this recipient",
            )
        return f"{self.local}@{_ascii_domain(self.domain)}"

    def __str__(self) -> str:
        if self.display_name:
            return f"{self.display_name} <{self.addr_spec}>"
        return self.addr_spec


def _ascii_domain(domain: str) -> str:
    if domain.isascii() or domain.startswith("["):
        return domain
    return domain.encode("idna").decode("ascii")


def has_control(text: str) -> bool:
    # isprintable() refuses every character of the pattern: most text never needs it compiled.
    return not text.isprintable() and re.search(_CONTROL, text) is not None


def _check_no_control(field_name: str, value: str) -> None:
    if has_control(value):
        raise MessageInputError(
            field_name,
            f"the {field_name} contains a line break or control character; "
            "type it on one line without special characters",
        )


def _valid_domain(domain: str) -> bool:
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        if literal.lower().startswith("ipv6:"):
            literal = literal[5:]
        try:
            ipaddress.ip_address(literal)
        except ValueError:
            return False
        return True
    try:
        ascii_domain = _ascii_domain(domain)
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    return len(ascii_domain) <= 253 and all(_LABEL_RE.match(label) for label in labels)


def _split_list(value: str) -> list[str]:
    """Split an address list at commas, semicolons and line breaks (a pasted list has one
    address a line), respecting quotes and angle brackets.

    A line break followed by a space or tab is not a separator: in a header that is a fold,
    and the address around it is refused for its line break rather than read as two.
    """
    items: list[str] = []
    current: list[str] = []
    in_quotes = in_angle = escaped = False
    index = 0
    while index < len(value):
        char = value[index]
        index += 1
        if escaped:
            escaped = False
        elif char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_angle = True
        elif char == ">" and not in_quotes:
            in_angle = False
        elif char in ",;" and not in_quotes and not in_angle:
            items.append("".join(current))
            current = []
            continue
        elif char in "\r\n" and not in_quotes and not in_angle:
            end = index
            while end < len(value) and value[end] in "\r\n":
                end += 1
            if end == len(value) or value[end] not in " \t":
                items.append("".join(current))
                current = []
                index = end
                continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


FIELD_LABELS = {"to": "To", "cc": "Cc", "bcc": "Bcc", "from": "From", "rcpt": "recipient"}


def parse_mailbox(value: str, field_name: str = "address") -> Mailbox:
    """Parse `Name <local@domain>` or `local@domain`; raise `AddressError` saying what is wrong."""
    text = value.strip()
    label = f"the {FIELD_LABELS.get(field_name, field_name)} address"
    if has_control(value):
        shown = printable(value.strip())
        raise AddressError(
            field_name, value, f"{label} '{shown}' contains a line break or control character"
        )
    display = ""
    if text.endswith(">") and "<" in text:
        cut = text.rindex("<")
        display, addr = text[:cut].strip(), text[cut + 1 : -1].strip()
        if len(display) >= 2 and display[0] == display[-1] == '"':
            display = re.sub(r"\\(.)", r"\1", display[1:-1]).strip()
        # Mail programs show a run of spaces in a name as one space (RFC 5322 phrase).
        display = re.sub(" {2,}", " ", display)
        if "<" in display or ">" in display:
            raise AddressError(field_name, value, f"{label} '{value}' has stray angle brackets")
    else:
        addr = text
    if not addr:
        raise AddressError(field_name, value, f"{label} is empty")
    if "@" not in addr:
        raise AddressError(field_name, value, f"{label} '{addr}' has no @domain part")
    local, _, domain = addr.rpartition("@")
    if not local or local == '""':
        raise AddressError(field_name, value, f"{label} '{addr}' has nothing before the @")
    if not (_DOT_ATOM_RE.match(local) or _QUOTED_RE.match(local)):
        raise AddressError(
            field_name, value, f"{label} '{addr}' has characters that are not allowed before the @"
        )
    if _ENCODED_WORD_RE.search(local):
        # Mail programs would show the part before the @ decoded, as a different address.
        raise AddressError(
            field_name,
            value,
            f"{label} '{addr}' has MIME encoded text (=?…?=) before the @, which mail "
            "programs would show as a different address; type the address itself",
        )
    if len(local.encode("utf-8")) > 64:
        raise AddressError(
            field_name, value, f"{label} '{addr}' has more than 64 bytes before the @"
        )
    if not domain or not _valid_domain(domain):
        raise AddressError(
            field_name, value, f"{label} '{addr}' does not end in a valid domain name"
        )
    return Mailbox(display_name=display, local=local, domain=domain)


def address_items(values: Iterable[str]) -> list[str]:
    """The addresses in one or several fields, as typed and unchecked (for a listing)."""
    return [item for value in values for item in _split_list(value)]


def parse_address_list(values: str | list[str] | tuple[str, ...], field_name: str) -> list[Mailbox]:
    """Parse one or several address fields (addresses separated by commas, semicolons or
    line breaks) into mailboxes."""
    raw = [values] if isinstance(values, str) else list(values)
    return [parse_mailbox(item, field_name) for value in raw for item in _split_list(value)]


class Draft(NamedTuple):
    """What the person composed, as typed."""

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    attachments: tuple[Path, ...] = ()


class Composed(NamedTuple):
    """A draft that passed every check: parsed addresses, the envelope and a fixed Message-ID."""

    sender: Mailbox
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    bcc: tuple[Mailbox, ...]
    subject: str
    body: str
    attachments: tuple[Path, ...]
    message_id: str
    date: str
    extra_headers: tuple[tuple[str, str], ...] = ()

    @property
    def recipients(self) -> tuple[Mailbox, ...]:
        return self.to + self.cc + self.bcc

    @property
    def needs_smtputf8(self) -> bool:
        return any(m.needs_smtputf8 for m in (self.sender, *self.recipients))


def compose(from_value: str, draft: Draft, message_id: str | None = None) -> Composed:
    """Check everything the person typed; raise `MessageInputError` naming the field at fault."""
    sender = parse_mailbox(from_value, "from")
    to = tuple(parse_address_list(draft.to, "to"))
    cc = tuple(parse_address_list(draft.cc, "cc"))
    bcc = tuple(parse_address_list(draft.bcc, "bcc"))
    if not (to or cc or bcc):
        raise MessageInputError("to", "there is no recipient; add at least one address in To")
    _check_no_control("subject", draft.subject)
    for path in draft.attachments:
        if path.is_dir():
            raise MessageInputError(
                "attachment", f"{path} is a folder; attach the files in it one by one"
            )
        _check_no_control("attachment name", path.name)
        if not path.name.strip():
            raise MessageInputError(
                "attachment name", f"the attachment name '{path.name}' is blank; rename the file"
            )
        if _ENCODED_WORD_RE.search(path.name):
            raise MessageInputError(
                "attachment name",
                f"the attachment name '{path.name}' has MIME encoded text (=?…?=), which mail "
                "programs would show as a different name; rename the file",
            )
        if not path.is_file():
            raise MessageInputError("attachment", f"{path} is not a readable file")
    domain = _ascii_domain(sender.domain).strip("[]")
    return Composed(
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=draft.subject.strip(),
        body=draft.body,
        attachments=tuple(draft.attachments),
        message_id=message_id or make_msgid(domain=domain),
        date=formatdate(localtime=True),
    )


def _header_address(mailbox: Mailbox, smtputf8: bool) -> Address:
    # Address quotes the local part itself when it must: give it the text inside the quotes.
    local = mailbox.local
    if len(local) >= 2 and local[0] == local[-1] == '"':
        local = re.sub(r"\\(.)", r"\1", local[1:-1])
    domain = mailbox.domain if smtputf8 else _ascii_domain(mailbox.domain)
    return Address(mailbox.display_name, local, domain)


def _set_checked(message: EmailMessage, name: str, value: Any, same: Callable[[Any], bool]) -> bool:
    """Set header `name` through the email package; keep it only if it reads back as set.

    The package does not always write what it was given: it decodes text that looks like an
    encoded word (`=?utf-8?q?…?=`), drops the quotes of a display name it folds (CPython
    gh-80222, which turns `"Doe, Jane …"` into two addresses), collapses runs of spaces in a
    name, leaves a local part such as `"."` unquoted, adds a space where it folds before an
    encoded word, folds right after the colon (a reader may keep that space), and cannot fold
    a long word into SMTP's 998 octets. `same` compares the header as a reader parses it with
    what was meant.
    """
    try:
        message[name] = value
        lines = message[name].fold(policy=message.policy).split(message.policy.linesep)
        if all(len(line.encode("utf-8")) <= _MAX_LINE for line in lines):
            # Unfolded as Python's reader does: spaces dropped from the first line only.
            unfolded = lines[0][len(name) + 1 :].lstrip(" ") + "".join(lines[1:])
            parsed = policy.default.header_factory(name, unfolded)
            flaws = [d for d in parsed.defects if not isinstance(d, errors.NonASCIILocalPartDefect)]
            if not flaws and same(parsed):
                return True
    except Exception:  # the package's own parser fails on some of what it writes
        pass
    del message[name]
    return False


def _encoded(text: str, name: str) -> str:
    """`text` as RFC 2047 encoded words of at most one line each, for a raw header."""
    return Header(text, "utf-8", header_name=name).encode(linesep="\n")


def _set_addresses(
    message: EmailMessage, name: str, mailboxes: tuple[Mailbox, ...], smtputf8: bool
) -> None:
    """Set an address header; when the email package would get it wrong, write it ourselves:
    each display name as encoded words, each address as typed (it passed the checks)."""
    addresses = [_header_address(m, smtputf8) for m in mailboxes]
    wanted = [(a.display_name, a.username, a.domain) for a in addresses]

    def same(header: Any) -> bool:
        return [(a.display_name, a.username, a.domain) for a in header.addresses] == wanted

    if _set_checked(message, name, addresses, same):
        return
    items = []
    for mailbox in mailboxes:
        domain = mailbox.domain if smtputf8 else _ascii_domain(mailbox.domain)
        spec = f"{mailbox.local}@{domain}"
        name_part = _encoded(mailbox.display_name, name) if mailbox.display_name else ""
        items.append(f"{name_part}\n <{spec}>" if name_part else spec)
    message.set_raw(name, ",\n ".join(items))


def _set_subject(message: EmailMessage, subject: str) -> None:
    if not _set_checked(message, "Subject", subject, lambda header: str(header) == subject):
        message.set_raw("Subject", _encoded(subject, "Subject"))


def normalise_body(body: str) -> str:
    """Turn any mix of CR, LF and CRLF into LF, ending with one line break."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def build_message(composed: Composed, smtputf8: bool, eight_bit: bool = True) -> EmailMessage:
    """The MIME message; Bcc recipients are in the envelope only, never in a header.

    Without 8BITMIME at the server, non-ASCII text goes quoted-printable or base64. Headers
    mailtui encodes itself are written as they are (`refold_source="none"`).
    """
    chosen = (policy.SMTPUTF8 if smtputf8 else policy.SMTP).clone(refold_source="none")
    message = EmailMessage(policy=chosen if eight_bit else chosen.clone(cte_type="7bit"))
    _set_addresses(message, "From", (composed.sender,), smtputf8)
    if composed.to:
        _set_addresses(message, "To", composed.to, smtputf8)
    if composed.cc:
        _set_addresses(message, "Cc", composed.cc, smtputf8)
    _set_subject(message, composed.subject)
    message["Date"] = composed.date
    message["Message-ID"] = composed.message_id
    for name, value in composed.extra_headers:
        message[name] = value
    message.set_content(normalise_body(composed.body), charset="utf-8")
    for path in composed.attachments:
        import mimetypes  # only with an attachment: start-up

        ctype, encoding = mimetypes.guess_type(path.name)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        # Mail programs drop the spaces around a file name: leave them out.
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name.strip()
        )
    return message


def envelope_address(mailbox: Mailbox, smtputf8: bool) -> str:
    return mailbox.addr_spec if smtputf8 else mailbox.ascii_addr_spec()


class Dsn(NamedTuple):
    """Delivery status notifications asked for (RFC 3461), passed on only when the server
    offers DSN: NOTIFY for each recipient, RET and ENVID with MAIL FROM."""

    notify: str = ""  # "NEVER", or some of "SUCCESS,DELAY,FAILURE"
    ret: str = ""  # "HDRS" or "FULL"
    envid: str = ""  # as given: xtext-encoded on the wire


class Prepared(NamedTuple):
    """A message ready for the wire: the envelope and the exact bytes to send.

    This is what the outbox keeps, so a queued message goes out exactly as it was composed.
    The bytes are in `data`, or, for a message kept on disk, in the file at `path`.
    """

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    smtputf8: bool
    message_id: str
    subject: str = ""
    path: Path | None = None
    lines: int | None = None  # line count, when known without reading the bytes again
    eight_bit: bool = False  # bytes above 127 outside the headers: needs 8BITMIME
    dsn: Dsn | None = None
    # To every recipient or to none: a refused RCPT means RSET, not DATA (`sendmail`, whose
    # caller resends the whole message after a failure). Not kept by the outbox.
    whole: bool = False

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data)

    def blocks(self, size: int = 256 * 1024) -> Iterator[bytes]:
        """The bytes in pieces, from memory or from the file, never all at once from disk."""
        if self.path is None:
            view = memoryview(self.data)
            for start in range(0, len(self.data), size):
                yield bytes(view[start : start + size])
            return
        with self.path.open("rb") as handle:
            while block := handle.read(size):
                yield block

    def non_ascii_address(self) -> str:
        return next(
            (a for a in (self.sender, *self.recipients) if not a.rpartition("@")[0].isascii()),
            self.sender,
        )


def prepare(composed: Composed) -> Prepared:
    """Build the bytes once, before connecting: 7-bit clean unless an address needs SMTPUTF8.

    Internationalised domains go out as punycode; a non-ASCII local part needs a server
    with SMTPUTF8, which the session checks.
    """
    smtputf8 = composed.needs_smtputf8
    data = build_message(composed, smtputf8=smtputf8, eight_bit=smtputf8).as_bytes()
    return Prepared(
        sender=envelope_address(composed.sender, smtputf8),
        recipients=tuple(envelope_address(m, smtputf8) for m in composed.recipients),
        data=data,
        smtputf8=smtputf8,
        message_id=composed.message_id,
        subject=composed.subject,
    )


def only_recipients(draft: Draft, addresses: Iterable[str]) -> Draft:
    """`draft` addressed only to `addresses` (as the envelope had them): after a partial
    send, what goes back to the person is the message for those who refused it."""
    from email.utils import formataddr

    keep = {address.lower() for address in addresses}

    def kept(values: tuple[str, ...], field_name: str) -> tuple[str, ...]:
        mailboxes = parse_address_list(values, field_name)
        chosen = [
            formataddr((m.display_name, m.addr_spec)) if m.display_name else m.addr_spec
            for m in mailboxes
            if m.addr_spec.lower() in keep or _envelope_form(m).lower() in keep
        ]
        return (", ".join(chosen),) if chosen else ()

    return draft._replace(
        to=kept(draft.to, "to"), cc=kept(draft.cc, "cc"), bcc=kept(draft.bcc, "bcc")
    )


def _envelope_form(mailbox: Mailbox) -> str:
    try:
        return mailbox.ascii_addr_spec()
    except AddressError:
        return mailbox.addr_spec
