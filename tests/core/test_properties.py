"""Property-based tests: nothing a person can type or save breaks mailtui.

Whatever goes into a subject, an address, an attachment name, a body or a profile file,
mailtui either carries it exactly (what the recipient's mail program reads back is what was
typed) or refuses it with its own error naming the field or key: never a crash, a smuggled
header, a bare line break or a line longer than SMTP allows.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import string
import tempfile
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import unquote
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st

from tui.core import sending
from tui.core.message import (
    AddressError,
    Draft,
    MessageInputError,
    compose,
    has_control,
    parse_mailbox,
    prepare,
)
from tui.core.profiles import (
    AUTH_VALUES,
    PROVIDER_VALUES,
    SECURITY_VALUES,
    Profile,
    ProfileError,
    load_profile,
    load_profiles,
)
from tui.core.results import ExitCode, Outcome
from tui.core.transcript import printable
from tui.core.wire import write_wire
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

# -- strategies ------------------------------------------------------------------------------

# Characters that have broken mail software before: line breaks of every kind, controls,
# quoting and address syntax, encoded-word markers, non-ASCII and astral characters.
TRICKY = (
    "\r\n\t\x00\x0b\x0c\x1b\x1c\x1d\x1e\x7f\x85\x9f\u2028\u2029\xa0\u3000\u200b\ufeff"
    " \"'\\<>,;:@()[].=?%#&*+/|~éüßÅ✉日😀"
)
FRAGMENTS = (
    "\r\n",
    "\n",
    "\r",
    "Bcc: evil@example.org",
    "=?utf-8?q?x?=",
    "=?UTF-8?B?SGk=?=",
    '"',
    "\\",
    "<",
    ">",
    ", ",
    "  ",
    " ",
    "@",
)
wide_char = st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8"))
wide_text = st.lists(
    st.one_of(st.text(wide_char, max_size=8), st.sampled_from(FRAGMENTS)), max_size=6
).map("".join)
# Runs long enough that a header or a body line cannot fit in 998 octets unfolded (and no
# longer: the email package folds long non-ASCII headers in quadratic time).
long_run = st.builds(
    lambda piece, octets: piece * (octets // len(piece.encode()) + 1),
    st.sampled_from(["x", "é", "a ", "😀", ". ", "=?", '"', "日本"]),
    st.integers(999, 1400),
)

# What a person might type: any printable character, quoting and address syntax included.
printable_text = st.text(
    st.one_of(
        st.sampled_from(" \"'\\<>,;:@()[].=?éüßÅ✉日😀\xa0\u3000"),
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    ),
    max_size=30,
)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atom = st.text(st.one_of(st.sampled_from(ATEXT), st.sampled_from("éüß日")), min_size=1, max_size=8)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
local_part = st.one_of(
    dot_atom, dot_atom, printable_text.map(quote), wide_text.map(quote), wide_text
)
label = st.one_of(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True),
    st.text(st.sampled_from("abcxyzüé日Å-"), min_size=1, max_size=8),
)
domain_part = st.one_of(
    st.lists(label, min_size=1, max_size=3).map(".".join),
    st.lists(label, min_size=2, max_size=3).map(".".join),
    st.ip_addresses(v=4).map(lambda ip: f"[{ip}]"),
    st.ip_addresses(v=6).map(lambda ip: f"[IPv6:{ip}]"),
    wide_text,
)
display_name = st.one_of(st.just(""), printable_text, wide_text, long_run)


@st.composite
def typed_addresses(draw: st.DrawFn) -> tuple[str, str, str, str, str]:
    """(what is typed, display name, local part, domain, form) for one address field."""
    display, local, domain = draw(display_name), draw(local_part), draw(domain_part)
    form = draw(st.sampled_from(["bare", "angle", "quoted"]))
    spec = f"{local}@{domain}"
    typed = {
        "bare": spec,
        "angle": f"{display} <{spec}>",
        "quoted": f"{quote(display)} <{spec}>",
    }[form]
    return typed, display, local, domain, form


# -- reading the message back ----------------------------------------------------------------


def unescape(text: str) -> str:
    """A header value with the parser's surrogate escapes turned back into UTF-8 text."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8")


def parse_back(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    return message


def assert_wire_safe(data: bytes, smtputf8: bool) -> None:
    """CRLF line endings only, every line within SMTP's 998 octets, 7-bit unless SMTPUTF8."""
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR on the wire"
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF on the wire"
    longest = max(len(line) for line in data.split(b"\r\n"))
    assert longest <= 998, f"a line of {longest} octets"
    if not smtputf8:
        assert data.isascii()
    data.decode("utf-8")  # SMTPUTF8 headers are UTF-8, never anything else


EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


def header_names(message: EmailMessage) -> set[str]:
    return {name.lower() for name in message}


def unquote_local(local: str) -> str:
    if len(local) >= 2 and local[0] == local[-1] == '"':
        return re.sub(r"\\(.)", r"\1", local[1:-1])
    return local


def header_domain(domain: str, smtputf8: bool) -> str:
    """The domain as the header carries it: punycode unless the message is SMTPUTF8."""
    if smtputf8 or domain.isascii() or domain.startswith("["):
        return domain
    return domain.encode("idna").decode("ascii")


# Python's address parser keeps the space between two adjacent encoded words, which RFC 2047
# section 6.2 says to ignore (CPython gh-128110): join them before reading the header.
_EW = r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?="
_EW_GAP = re.compile(rf"({_EW})\s+(?={_EW})")


# Defects that are no fault of the message: the joining above, and UTF-8 in an SMTPUTF8
# message's headers (RFC 6532), which Python's parser reports.
_HARMLESS = ("missing trailing whitespace after encoded-word", "non-ASCII", "Non-ASCII")


def addresses_of(message: EmailMessage, name: str) -> tuple[Address, ...]:
    [raw] = [value for key, value in message.raw_items() if key.lower() == name.lower()]
    header = policy.default.header_factory(name, _EW_GAP.sub(r"\1", "".join(raw.splitlines())))
    defects = [d for d in header.defects if not any(h in str(d) for h in _HARMLESS)]
    assert not defects, defects
    addresses: tuple[Address, ...] = header.addresses
    return addresses


def reader_spaces(name: str) -> str:
    """A display name as Python's reader gives it back from encoded words: it takes a space
    and any other whitespace after it (such as a no-break space) as one space (get_fws)."""
    return re.sub(r" \s+", " ", name)


def assert_address(header: Address, display: str, local: str, domain: str, utf8: bool) -> None:
    assert reader_spaces(unescape(header.display_name)) == reader_spaces(display)
    assert unescape(header.username) == unquote_local(local)
    assert unescape(header.domain) == header_domain(domain, utf8)


FROM = "Jane Doe <jane@isp.example>"
TO = "bob@example.org"
# Without a server an example takes a millisecond or two: many of them are cheap.
PURE = settings(max_examples=200, deadline=None)


# -- 1. headers: subject, addresses, display names, attachment names -------------------------


@PURE
@given(subject=st.one_of(wide_text, long_run, st.text(wide_char)))
def test_any_subject_round_trips_or_is_refused(subject: str) -> None:
    try:
        composed = compose(FROM, Draft(to=(TO,), subject=subject, body="b"))
    except MessageInputError as exc:
        assert exc.field_name == "subject"
        return
    prepared = prepare(composed)
    assert_wire_safe(prepared.data, prepared.smtputf8)
    message = parse_back(prepared.data)
    assert message["Subject"] == composed.subject == subject.strip()
    assert header_names(message) == EXPECTED_HEADERS  # nothing smuggled in


@PURE
@given(text=st.one_of(wide_text, st.text(wide_char), typed_addresses().map(lambda a: a[0])))
def test_parsing_any_address_returns_a_mailbox_or_an_address_error(text: str) -> None:
    try:
        mailbox = parse_mailbox(text, "to")
    except AddressError as exc:
        assert exc.field_name == "to"
        assert "the To address" in exc.reason
        return
    assert mailbox.local and mailbox.domain


@settings(max_examples=1000, deadline=None)
@given(address=typed_addresses(), where=st.sampled_from(["from", "to", "cc"]))
def test_any_address_round_trips_or_is_refused(
    address: tuple[str, str, str, str, str], where: str
) -> None:
    typed, display, local, domain, form = address
    note(f"typed: {typed!r}")
    sender = typed if where == "from" else FROM
    fields = {"to": (TO,)} if where == "from" else {where: (typed,)}
    draft = Draft(subject="s", **fields)
    try:
        composed = compose(sender, draft)
    except MessageInputError as exc:
        event(f"{form}: refused")
        assert exc.field_name == where
        return
    mailboxes = {"from": (composed.sender,), "to": composed.to, "cc": composed.cc}[where]
    event(f"{form}: sent" + (" with SMTPUTF8" if composed.needs_smtputf8 else ""))
    # What was understood is what was typed (less the spaces around it). Unquoted, a comma
    # or semicolon in To or Cc separates addresses, and quotes are taken as quoting.
    in_list = where != "from"
    unquoted = domain + ("" if local.startswith('"') else local)
    [mailbox] = mailboxes[-1:]
    if len(mailboxes) == 1 and not (in_list and set(",;") & set(unquoted)):
        assert mailbox.addr_spec == f"{local}@{domain}".strip()
        plain = not display.strip().startswith('"') and not (in_list and set(",;") & set(display))
        if form == "quoted" or (form == "angle" and plain):
            assert mailbox.display_name == re.sub(" {2,}", " ", display.strip())
    # And what the recipient's mail program reads is what was understood.
    prepared = prepare(composed)
    assert_wire_safe(prepared.data, prepared.smtputf8)
    message = parse_back(prepared.data)
    expected = EXPECTED_HEADERS - {"to"} | {"cc"} if where == "cc" else EXPECTED_HEADERS
    assert header_names(message) == expected
    utf8 = composed.needs_smtputf8
    for header, meant in zip(addresses_of(message, where), mailboxes, strict=True):
        assert_address(header, meant.display_name, meant.local, meant.domain, utf8)
    envelope = prepared.sender if where == "from" else prepared.recipients[-1]
    assert envelope == (mailbox.addr_spec if utf8 else mailbox.ascii_addr_spec())


FILE_NAME_CHARS = st.one_of(
    st.sampled_from(TRICKY.replace("/", "").replace("\x00", "")),
    st.characters(codec="utf-8", exclude_characters="/\x00"),
)
file_name = st.one_of(
    st.text(FILE_NAME_CHARS, min_size=1, max_size=40),
    st.builds(
        lambda stem, ext: stem + ext,
        st.text(FILE_NAME_CHARS, min_size=1, max_size=20),
        st.sampled_from([".pdf", ".txt", ".tar.gz", ".jpg", ""]),
    ),
    st.builds(
        lambda piece, count: piece * count,
        st.sampled_from(["x", "é", "a b", "日"]),
        st.integers(60, 120),
    ),
    st.text(FILE_NAME_CHARS, min_size=1, max_size=10).map(lambda s: "data:" + s),
).filter(lambda n: n not in (".", "..") and len(os.fsencode(n)) <= 255)


@PURE
@given(name=file_name, payload=st.binary(max_size=64))
def test_any_attachment_name_round_trips_or_is_refused(name: str, payload: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(payload)
        assert path.name == name
        try:
            composed = compose(FROM, Draft(to=(TO,), subject="s", body="b", attachments=(path,)))
        except MessageInputError as exc:
            assert exc.field_name == "attachment name"
            return
        built = prepare(composed).data
        streamed = io.BytesIO()  # how the outbox writes it, attachments read in pieces
        write_wire(composed, streamed)
    for data in (built, streamed.getvalue()):
        assert_wire_safe(data, composed.needs_smtputf8)
        [part] = list(parse_back(data).iter_attachments())
        # Python's reader also takes off quotes around the whole name, a second time.
        assert part.get_filename() == unquote(name.strip())
        assert part.get_payload(decode=True) == payload


# -- refused before any connection -------------------------------------------------------------


@pytest.fixture(scope="module")
def wire() -> Iterator[RunningServer]:
    """One plain loopback server for the whole module: a server per example is too slow."""
    with ServerThread() as thread:
        yield thread.start(ServerSpec("properties"))


def wire_profile(server: RunningServer) -> Profile:
    return Profile(
        id="wire",
        name="Wire",
        from_=FROM,
        host=server.host,
        port=server.port,
        security="none",
        timeout=5.0,
    )


@pytest.fixture
def fresh_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Path]:
    """A new MAILTUI_HOME for each example (hypothesis runs them all in one test's fixtures),
    inside the test's own home so that the leak guard still reads what was written."""

    def make() -> Path:
        root = Path(tempfile.mkdtemp(dir=home))
        monkeypatch.setenv("MAILTUI_HOME", str(root))
        return root

    return make


injected = st.builds(
    lambda before, breaker, after: before + breaker + after,
    # No comma or semicolon: in To, "x,\n y@z" is two addresses, the line break mere space.
    st.text(wide_char, max_size=10).filter(lambda s: not set(",;") & set(s)),
    st.sampled_from(["\r\n", "\n", "\r", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\x0b"]),
    st.sampled_from(["Bcc: evil@example.org", "X-Injected: 1", " <x@y.example>", "x"]),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.sampled_from(["subject", "to", "cc", "bcc"]), evil=injected)
def test_bad_input_exits_65_without_connecting(
    wire: RunningServer, fresh_home: Callable[[], Path], where: str, evil: str
) -> None:
    fresh_home()
    fields: dict[str, Any] = {"to": (TO,), "subject": "s", "body": "b"}
    if where == "subject":
        fields["subject"] = evil
    else:
        fields[where] = (f"{TO}{evil}",)
    before = wire.sink.connections
    result = asyncio.run(sending.send(wire_profile(wire), Draft(**fields), probe=()))
    assert result.exit_code == ExitCode.DATAERR == 65
    assert result.outcome is Outcome.INPUT
    assert wire.sink.connections == before


# -- 2 and 3. bodies: line breaks, dot-stuffing and long lines over a real server --------------

body_piece = st.one_of(
    st.sampled_from(
        ["\r", "\n", "\r\n", ".", "..", ".\r\n", "\r\n.\r\n", "\n.\n", "\r.\r", ". ", "From ", " "]
    ),
    st.text(wide_char, max_size=12),
    long_run,
)
bodies = st.lists(body_piece, max_size=20).map("".join)


def expected_text(body: str) -> str:
    """The body as the recipient reads it: every CR, LF or CRLF one LF, ending with one."""
    text = re.sub(r"\r\n|\r", "\n", body)
    return text if text.endswith("\n") else text + "\n"


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, to=st.sampled_from([TO, "jürgen@example.org"]))
def test_any_body_arrives_with_crlf_and_decodes_to_the_text(
    wire: RunningServer, fresh_home: Callable[[], Path], body: str, to: str
) -> None:
    fresh_home()
    draft = Draft(to=(to,), subject="body", body=body)
    result = asyncio.run(sending.send(wire_profile(wire), draft, probe=()))
    assert result.outcome is Outcome.SENT, result.summary
    received = wire.messages[-1]
    assert received.rcpt_tos == (to,)
    assert_wire_safe(received.content, smtputf8=not to.isascii())
    assert text_of(parse_back(received.content)) == expected_text(body)
    lines = received.content.split(b"\r\n")
    event("SMTPUTF8" if not to.isascii() else "7-bit")
    if any(len(line.encode()) > 998 for line in expected_text(body).split("\n")):
        event("a body line over 998 octets")
    if b"." in lines or any(line.startswith(b".") for line in lines):
        event("a line starting with a dot on the wire")


@settings(max_examples=40, deadline=None)
@example(subject="x" * 2000, display="Jane Doe", body="x" * 2000, to=TO)
@example(subject="é" * 2000, display="é" * 2000, body="é" * 2000, to="jürgen@example.org")
@given(
    subject=long_run,
    display=long_run,
    body=st.lists(
        st.one_of(long_run, st.sampled_from(["\n", "\r", "\r\n", "."])), min_size=1, max_size=6
    ).map("".join),
    to=st.sampled_from([TO, "jürgen@example.org"]),
)
def test_long_lines_and_long_headers_fit_in_998_octets(
    subject: str, display: str, body: str, to: str
) -> None:
    sender = f"{quote(display)} <jane@isp.example>"
    try:
        composed = compose(sender, Draft(to=(to,), subject=subject, body=body))
    except MessageInputError as exc:
        pytest.fail(f"a long but harmless value was refused: {exc}")
    prepared = prepare(composed)
    assert_wire_safe(prepared.data, prepared.smtputf8)
    message = parse_back(prepared.data)
    assert message["Subject"] == subject.strip()
    [header] = addresses_of(message, "From")
    assert reader_spaces(unescape(header.display_name)) == reader_spaces(display.strip())
    assert text_of(message) == expected_text(body)


# -- 4. profile files ---------------------------------------------------------------------------

KNOWN_KEYS = (
    "name",
    "provider",
    "from",
    "host",
    "port",
    "security",
    "auth",
    "username",
    "password_command",
    "password",
    "ca_file",
    "tls_fingerprint",
    "networks",
    "source_address",
    "helo",
    "timeout",
    "addresses",
    "default",
)
REQUIRED = ("name", "from", "host", "security")

toml_scalar = st.one_of(
    st.text(wide_char, max_size=20),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
toml_value = st.recursive(
    toml_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
path_text = st.one_of(
    st.sampled_from(["~/ca.pem", "/etc/ssl/ca.pem", "ca.pem", "~"]),
    wide_text.map(lambda s: "~" + s),
    wide_text,
)
plausible: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.just("Home ISP"), wide_text),
    "provider": st.one_of(st.sampled_from(PROVIDER_VALUES), wide_text),
    "from": st.one_of(st.just("Jane <jane@isp.example>"), typed_addresses().map(lambda a: a[0])),
    "host": st.one_of(
        st.sampled_from(["smtp.isp.example", "127.0.0.1", "::1", "bücher.example", "x" * 300]),
        wide_text,
    ),
    "port": st.integers(-10, 70000),
    "security": st.one_of(st.sampled_from(SECURITY_VALUES), wide_text),
    "auth": st.one_of(st.sampled_from(AUTH_VALUES), wide_text),
    "username": st.one_of(st.just("jane"), wide_text),
    "password_command": st.one_of(st.just("pass show isp"), wide_text),
    "password": st.one_of(st.just("secret"), wide_text),
    "ca_file": path_text,
    "tls_fingerprint": st.one_of(
        st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex(":")),
        st.binary(min_size=32, max_size=32).map(bytes.hex),
        wide_text,
    ),
    "networks": st.lists(
        st.one_of(
            st.sampled_from(["192.168.1.0/24", "10.0.0.1", "::1/128", "192.168.1.1/24"]),
            wide_text,
            toml_scalar,
        ),
        max_size=3,
    ),
    "source_address": st.one_of(st.ip_addresses().map(str), wide_text),
    "helo": st.one_of(st.just("laptop.example"), wide_text),
    "timeout": st.one_of(st.integers(-5, 5000), st.floats()),
    "addresses": st.lists(
        st.one_of(
            st.sampled_from(["jane@isp.example", "*@example.org", "j?ne+*@[192.0.2.1]", "a@b@c"]),
            typed_addresses().map(lambda a: a[0]),
            wide_text,
            toml_scalar,
        ),
        max_size=3,
    ),
    "default": st.booleans(),
}


def value_for(key: str) -> st.SearchStrategy[Any]:
    return st.one_of(plausible[key], toml_value)


profile_tables = st.builds(
    lambda known, extra: {**known, **extra},
    st.fixed_dictionaries(
        {key: value_for(key) for key in REQUIRED},
        optional={key: value_for(key) for key in KNOWN_KEYS if key not in REQUIRED},
    ),
    st.dictionaries(
        st.one_of(st.sampled_from(["usrename", "prot", "tls"]), wide_text), toml_value, max_size=2
    ),
)

toml_piece = st.one_of(
    st.sampled_from(
        [
            "\n",
            "name = ",
            "host = ",
            "port = ",
            "security = ",
            "timeout = ",
            '"',
            "'",
            '"""',
            "[",
            "]",
            "{",
            "}",
            "=",
            ",",
            "#",
            "[profile]",
            "[[a]]",
            "1979-05-27T07:32:00Z",
            "nan",
            "inf",
            "0x",
            "true",
            "\\u",
        ]
    ),
    st.text(wide_char, max_size=10),
    # Numbers of any length, and nesting of any depth.
    st.integers(1, 6000).map(lambda n: "1" * n),
    st.integers(1, 3000).flatmap(
        lambda n: st.sampled_from(["[" * n + "]" * n, "{a = " * n + "1" + "}" * n])
    ),
)
toml_texts = st.one_of(
    st.text(wide_char),
    st.lists(toml_piece, max_size=12).map("".join),
    profile_tables.map(tomli_w.dumps),
    # A valid file with a piece spliced in somewhere.
    st.builds(
        lambda text, piece, where: text[:where] + piece + text[where:],
        profile_tables.map(tomli_w.dumps),
        toml_piece,
        st.integers(0, 400),
    ),
)


def assert_names_file_and_key(error: ProfileError, path: Path) -> None:
    assert error.path == path
    assert str(path) in str(error)
    if error.key is not None:
        assert f"key '{error.key}'" in str(error)
    assert error.problem.strip()


@PURE
@given(text=toml_texts, private=st.booleans())  # private: a password in it is allowed
def test_any_profile_text_loads_or_is_a_profile_error(text: str, private: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "home.toml"
        path.write_text(text, encoding="utf-8", newline="")
        path.chmod(0o600 if private else 0o644)
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            assert_names_file_and_key(exc, path)
            return
    assert profile.id == "home"
    assert profile.security in SECURITY_VALUES


@PURE
@given(raw=st.binary(max_size=200))
def test_any_profile_bytes_load_or_are_a_profile_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "home.toml"
        path.write_bytes(raw)
        try:
            load_profile(path)
        except ProfileError as exc:
            assert_names_file_and_key(exc, path)


VALID = {
    "name": "Web Portal",
    "from": "Jane Doe <jane@portal.example>",
    "host": "smtp.portal.example",
    "security": "starttls",
    "auth": "plain",
    "username": "jane",
}


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from(KNOWN_KEYS), data=st.data())
def test_one_bad_value_is_blamed_on_its_key(key: str, data: st.DataObject) -> None:
    value = data.draw(value_for(key))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "portal.toml"
        path.write_text(tomli_w.dumps({**VALID, key: value}), encoding="utf-8")
        path.chmod(0o600)
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            assert_names_file_and_key(exc, path)
            assert exc.key == key
            return
    if key == "networks":  # what was accepted was written as networks
        assert all(isinstance(item, str) for item in value), profile.networks
    if key == "addresses":  # each one an address alone, wildcards aside
        assert all(item.count("@") == 1 and "<" not in item for item in profile.addresses)


profile_id = st.text(
    st.one_of(
        st.sampled_from("abc-_.é "), st.characters(codec="utf-8", exclude_characters="/\x00!")
    ),
    max_size=20,
).filter(lambda s: len(os.fsencode(s + ".toml")) <= 255)


@settings(max_examples=60, deadline=None)
@given(
    files=st.dictionaries(profile_id, toml_texts, max_size=5),
    odd=st.sets(st.sampled_from(["folder", "dangling", "unreadable"])),
)
def test_load_profiles_never_raises(files: dict[str, str], odd: set[str]) -> None:
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        for stem, text in files.items():
            (folder / f"{stem}.toml").write_text(text, encoding="utf-8", newline="")
        odd_paths = {name: folder / f"odd {name}!.toml" for name in odd}
        if "folder" in odd:
            odd_paths["folder"].mkdir()
        if "dangling" in odd:
            odd_paths["dangling"].symlink_to(folder / "nowhere")
        if "unreadable" in odd:
            odd_paths["unreadable"].write_text('name = "x"')
            odd_paths["unreadable"].chmod(0)
        found = load_profiles(folder)
        paths = sorted(folder.glob("*.toml"))
        assert len(found.profiles) + len(found.errors) == len(paths)
        for error in found.errors:
            assert_names_file_and_key(error, error.path)


# -- escaping: the fast way and the pattern agree ----------------------------------------------

# Controls, bidi controls (U+061C, U+200E/F, U+202A-E, U+2066-9), zero-width characters
# (U+200B-D, U+2060, U+FEFF) and line separators: written out here, not taken from the product.
UNSAFE = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069"
    r"\u2028\u2029\ufeff]"
)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@settings(max_examples=2000)
@given(
    text=st.text(
        st.one_of(
            st.characters(codec=None),
            st.sampled_from("\u061c\u200b\u200c\u200d\u200e\u200f\u2060\u2066\u2069\ufeff"),
        )
    )
)
@example(text="\t\u202e\udc80\u2028\x85 \u00a0")
@example(text="a\u200eb\u200bc\ufeff\u061c\u2060")
def test_printable_escapes_exactly_what_the_pattern_finds(text: str) -> None:
    shown = printable(text)
    assert UNSAFE.search(shown) is None
    if UNSAFE.search(text) is None and not any("\udc80" <= c <= "\udcff" for c in text):
        assert shown == text
    else:
        assert shown != text
    assert has_control(text) == (CONTROL.search(text) is not None)
