"""sendmail's command line and the message it is handed (tui/core/sendmail.py): the options
callers really pass, and the bytes that go out exactly as written but for what sendmail adds
or removes."""

from __future__ import annotations

import io

import pytest

from tui.core.message import Dsn, MessageInputError, Prepared
from tui.core.sendmail import (
    MessageTooLong,
    Options,
    UsageError,
    parse_options,
    read_message,
    routing_address,
    submission,
)
from tui.core.transaction import unsendable, xtext

PROFILE_FROM = "Jane Doe <jane@isp.example>"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # git send-email: sendmail -i rcpt…
        (["-i", "bob@example.org", "carol@example.org"],
         Options(recipients=("bob@example.org", "carol@example.org"), ignored=("-i",))),
        # mutt / neomutt: sendmail -oem -oi -- rcpt
        (["-oem", "-oi", "--", "bob@example.org"],
         Options(recipients=("bob@example.org",), ignored=("-oem", "-oi"))),
        # cron (cronie): sendmail -FCronDaemon -i -B8BITMIME -oem rcpt
        (["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
         Options(recipients=("root",), full_name="CronDaemon",
                 ignored=("-i", "-B 8BITMIME", "-oem"))),
        # grouped flags and values attached or apart
        (["-ti", "-fjane@isp.example", "-a", "portal"],
         Options(from_headers=True, sender="jane@isp.example", profile="portal",
                 ignored=("-i",))),
        (["-t", "-r", "<>"], Options(from_headers=True, sender="<>")),
        (["-N", "success,failure", "-R", "hdrs", "-V", "q1 x+y"],
         Options(dsn=Dsn("SUCCESS,FAILURE", "HDRS", "q1 x+y"))),
        (["-N", "never"], Options(dsn=Dsn("NEVER", "", ""))),
        (["-q"], Options(action="flush")),
        (["-q30m"], Options(action="flush")),
        (["-bp"], Options(action="list")),
        (["-odq", "bob@example.org"], Options(recipients=("bob@example.org",), action="queue")),
        (["--queue", "--auto-switch", "--profile=isp", "-v", "x@y.example"],
         Options(recipients=("x@y.example",), queue=True, auto_switch=True, profile="isp",
                 verbose=True)),
        (["--account", "isp", "--read-recipients"], Options(from_headers=True, profile="isp")),
    ],
)  # fmt: skip
def test_options_as_callers_pass_them(argv: list[str], expected: Options) -> None:
    assert parse_options(argv) == expected


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["-x"], "unknown option -x"),
        (["--frobnicate"], "unknown option --frobnicate"),
        (["-bs"], "-bs is not supported"),
        (["-f"], "option -f needs a value"),
        (["-N", "sometimes"], "-N sometimes"),
        (["-R", "body"], "-R body"),
        (["-o"], "option -o needs a setting"),
    ],
)
def test_a_bad_option_is_named(argv: list[str], named: str) -> None:
    with pytest.raises(UsageError, match=named):
        parse_options(argv)


def test_the_message_goes_as_written_but_for_bcc_crlf_and_what_is_added() -> None:
    raw = (
        b"From: Jane <jane@isp.example>\n"
        b"To: Bob <bob@example.org>\n"
        b"Bcc: hidden@example.org,\n"
        b"  also.hidden@example.org\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\n"
        b"X-Odd:   spacing kept\t\n"
        b"\n"
        b"Line one\n"
        b".leading dot stays as written (stuffed on the wire only)\n"
        b"Crlf already\r\n"
    )
    ready = submission(raw, parse_options(["-t"]), PROFILE_FROM, now=0)
    assert ready.recipients == (
        "bob@example.org",
        "hidden@example.org",
        "also.hidden@example.org",
    )
    assert ready.sender == "jane@isp.example"
    assert ready.added == ("Date", "Message-ID")
    head, body = ready.data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[:4] == [
        b"From: Jane <jane@isp.example>",
        b"To: Bob <bob@example.org>",
        b"Subject: =?utf-8?q?caf=C3=A9?=",
        b"X-Odd:   spacing kept\t",
    ]
    assert lines[4].startswith(b"Date: ") and b"1970" in lines[4]  # `now`, in local time
    assert lines[5].startswith(b"Message-ID: <") and lines[5].endswith(b"@isp.example>")
    assert b"hidden" not in ready.data
    assert body == (
        b"Line one\r\n.leading dot stays as written (stuffed on the wire only)\r\nCrlf already\r\n"
    )
    assert ready.subject == "café"
    assert not ready.smtputf8 and not ready.eight_bit


def test_a_message_without_from_date_or_id_gets_them_from_the_profile() -> None:
    """cron and mailx: a bare body, or a header with only To and Subject."""
    ready = submission(
        b"Subject: cron job\nTo: root@host.example\n\nit ran\n",
        parse_options(["-FCronDaemon", "root@host.example"]),
        PROFILE_FROM,
    )
    assert ready.added == ("From", "Date", "Message-ID")
    assert b"\r\nFrom: CronDaemon <jane@isp.example>\r\n" in ready.data
    bare = submission(b"just a line\n", parse_options(["bob@example.org"]), PROFILE_FROM)
    assert bare.data.startswith(b"From: Jane Doe <jane@isp.example>\r\nDate: ")
    assert bare.data.endswith(b"\r\n\r\njust a line\r\n")


# What cron writes: Debian's (Vixie) cron, cronie without MAILFROM, and a bare name.
@pytest.mark.parametrize(
    ("written", "name"),
    [("root (Cron Daemon)", "Cron Daemon"), ('"(Cron Daemon)" <root>', "Cron Daemon"),
     ("root", "CronDaemon")],
)  # fmt: skip
def test_a_local_user_as_from_is_given_the_profiles_address_keeping_its_name(
    written: str, name: str
) -> None:
    """sendmail qualifies a local user's name with the machine's domain; mailtui, which
    sends as a profile, gives it the profile's address (and routes it as mail without a
    sender, to the default profile) rather than refusing cron's mail."""
    raw = f"From: {written}\nTo: jane@example.org\nSubject: Cron <root@host> backup\n\nok\n"
    options = parse_options(["-i", "-FCronDaemon", "-B8BITMIME", "-oem", "jane@example.org"])
    assert routing_address(raw.encode(), options) is None
    ready = submission(raw.encode(), options, PROFILE_FROM)
    assert ready.sender == "jane@isp.example" and ready.recipients == ("jane@example.org",)
    assert ready.added == ("From", "Date", "Message-ID")
    head = ready.data.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("To: jane@example.org\r\nSubject: Cron <root@host> backup\r\n")
    assert f"\r\nFrom: {name} <jane@isp.example>\r\n" in head
    assert head.count("From:") == 1 and "root" not in head.replace("root@host", "")


def test_groups_and_empty_fields_name_no_recipient() -> None:
    raw = b"To: undisclosed-recipients:;\nCc:\nBcc: friends: a@x.example, b@y.example;\n\nhi\n"
    ready = submission(raw, parse_options(["-t", "c@z.example"]), PROFILE_FROM)
    assert ready.recipients == ("c@z.example", "a@x.example", "b@y.example")


def test_resent_headers_pick_the_recipients_with_t() -> None:
    raw = (
        b"Resent-From: jane@isp.example\nResent-To: dave@example.org\n"
        b"Resent-Bcc: eve@example.org\nFrom: bob@example.org\nTo: jane@isp.example\n\nfwd\n"
    )
    ready = submission(raw, parse_options(["-t", "extra@example.org"]), PROFILE_FROM)
    assert ready.recipients == ("extra@example.org", "dave@example.org", "eve@example.org")
    assert b"eve@" not in ready.data


def test_eight_bit_bodies_and_utf8_headers_are_flagged_never_changed() -> None:
    body = "Grüße\n".encode()
    ready = submission(b"Subject: x\n\n" + body, parse_options(["bob@example.org"]), PROFILE_FROM)
    assert ready.eight_bit and not ready.smtputf8
    assert ready.data.endswith("Grüße\r\n".encode())
    utf8 = submission(
        "Subject: Grüße\n\nhi\n".encode(), parse_options(["bob@example.org"]), PROFILE_FROM
    )
    assert utf8.smtputf8 and not utf8.eight_bit

    def prepared(smtputf8: bool, eight_bit: bool) -> Prepared:
        return Prepared(
            "a@b.example", ("c@d.example",), b"", smtputf8, "<x@b>", eight_bit=eight_bit
        )

    def offers(*names: str):  # type: ignore[no-untyped-def]
        return lambda name: name in names

    assert "8BITMIME" in (unsendable(prepared(False, True), offers("smtputf8")) or "")
    assert "SMTPUTF8" in (unsendable(prepared(True, False), offers("8bitmime")) or "")
    assert unsendable(prepared(True, True), offers("8bitmime", "smtputf8")) is None


def test_an_idn_envelope_goes_as_punycode_when_nothing_needs_smtputf8() -> None:
    ready = submission(b"Subject: x\n\nhi\n", parse_options(["bob@bücher.example"]), PROFILE_FROM)
    assert ready.recipients == ("bob@xn--bcher-kva.example",) and not ready.smtputf8


@pytest.mark.parametrize(
    ("raw", "argv", "said"),
    [
        (b"", ["bob@example.org"], "empty"),
        (b"\n\n  \n", ["bob@example.org"], "empty"),
        (b"Subject: x\n\nhi\n", [], "no recipient was given"),
        (b"Subject: x\n\nhi\n", ["-t"], "the message has no recipient"),
        (b"Subject: a\x00b\n\nhi\n", ["bob@example.org"], "header contains a NUL byte"),
        (b"Subject: x\n\nhi\x00\n", ["bob@example.org"], "body contains a NUL byte"),
        (b"Subject: x\n\n" + b"x" * 999 + b"\n", ["bob@example.org"], "line 3 of the message"),
        (b"To: not an address\n\nhi\n", ["-t"], "in the message's header"),
        (b"Subject: x\n\nhi\n", ["bob@@example.org"], "recipient address"),
        (b"From: a..b@example.org\n\nhi\n", ["bob@example.org"], "the From address"),
        # an entry Python's parser gives up on is named, never dropped from the others
        (b"To: Bob <bob@>, c@d.example\n\nhi\n", ["-t"], "To 'Bob <bob@>, c@d.example' has an"),
        (b"From: Jane <jane@>\n\nhi\n", ["bob@example.org"], "From 'Jane <jane@>' has an"),
    ],
)
def test_bad_input_is_named(raw: bytes, argv: list[str], said: str) -> None:
    with pytest.raises(MessageInputError, match=said):
        submission(raw, parse_options(argv), PROFILE_FROM)


def test_a_998_octet_line_is_fine() -> None:
    ready = submission(
        b"Subject: x\n\n" + b"x" * 998 + b"\n", parse_options(["b@c.example"]), PROFILE_FROM
    )
    assert b"x" * 998 + b"\r\n" in ready.data


def test_reading_stops_at_the_limit() -> None:
    assert read_message(io.BytesIO(b"abc"), limit=3) == b"abc"
    with pytest.raises(MessageTooLong):
        read_message(io.BytesIO(b"abcd"), limit=3)


def test_the_profile_is_picked_by_f_else_by_from() -> None:
    raw = b"From: Someone <someone@portal.example>\n\nhi\n"
    assert routing_address(raw, parse_options([])) == "someone@portal.example"
    assert routing_address(raw, parse_options(["-f", "jane@isp.example"])) == "jane@isp.example"
    assert routing_address(b"no header\n", parse_options([])) is None


def test_xtext() -> None:
    assert xtext("q1 x+y=z") == b"q1+20x+2By+3Dz"
