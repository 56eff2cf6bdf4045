"""Address parsing and message building, without a server."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tui.core.message import (
    AddressError,
    Composed,
    Draft,
    MessageInputError,
    build_message,
    compose,
    parse_address_list,
    prepare,
)


def test_address_lists_respect_quotes_and_brackets() -> None:
    parsed = parse_address_list(
        '"Doe, Jane" <jane@x.example>, bob@y.example; Carol <c@z.example>', "to"
    )
    assert [m.addr_spec for m in parsed] == ["jane@x.example", "bob@y.example", "c@z.example"]
    assert parsed[0].display_name == "Doe, Jane"


@pytest.mark.parametrize(
    "bad",
    ["jane", "jane@", "@x.example", "a b@x.example", "a@b@c", "x@-bad-.example", "x@exa mple.org"],
)
def test_invalid_addresses_are_named(bad: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_address_list(bad, "cc")
    assert caught.value.field_name == "cc"
    assert "the Cc address" in caught.value.reason


def test_message_id_is_on_the_from_domain() -> None:
    composed = compose("Jane <jane@bücher.example>", Draft(to=("bob@x.example",), subject="s"))
    assert composed.message_id.endswith("@xn--bcher-kva.example>")


def test_no_recipient_is_an_error() -> None:
    with pytest.raises(MessageInputError, match="no recipient"):
        compose("jane@x.example", Draft(subject="s"))


def test_missing_attachment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MessageInputError, match="not a readable file"):
        compose("jane@x.example", Draft(to=("b@x.example",), attachments=(tmp_path / "nope.pdf",)))


def test_long_lines_are_encoded_to_fit_smtp() -> None:
    composed = compose("jane@x.example", Draft(to=("b@x.example",), subject="s", body="x" * 5000))
    data = build_message(composed, smtputf8=False).as_bytes()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_without_8bitmime_the_body_is_7bit() -> None:
    composed = compose(
        "jane@x.example", Draft(to=("b@x.example",), subject="s", body="schöne Grüße")
    )
    assert build_message(composed, smtputf8=False, eight_bit=False).as_bytes().isascii()


# Regressions found by the properties in test_properties.py.


def _headers(composed: Composed) -> EmailMessage:
    message = message_from_bytes(prepare(composed).data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _lines_fit(composed: Composed) -> bool:
    return all(len(line) <= 998 for line in prepare(composed).data.split(b"\r\n"))


def test_quoted_local_part_is_not_quoted_twice() -> None:
    # Was To: "\"a b\""@x.example, a different mailbox from the envelope's "a b"@x.example.
    message = _headers(compose("jane@x.example", Draft(to=('"a b"@x.example',), subject="s")))
    [address] = message["To"].addresses
    assert (address.username, address.domain) == ("a b", "x.example")
    assert '"a b"@x.example' in str(message["To"])


@pytest.mark.parametrize("local", ['"=?utf-8?q?x?="', "=?utf-8?q?x?=", '""'])
def test_local_part_that_would_read_differently_is_refused(local: str) -> None:
    # Was sent with To: x@x.example in the header (the email package decoded the local part).
    with pytest.raises(AddressError, match="before the @"):
        compose("jane@x.example", Draft(to=(f"{local}@x.example",), subject="s"))


def test_encoded_word_text_arrives_as_typed() -> None:
    # Was read back as "x" and "Jane x": the email package decoded what was typed.
    composed = compose(
        "=?utf-8?q?x?= Jane <jane@x.example>",
        Draft(to=("b@x.example",), subject="About =?utf-8?q?x?= and more"),
    )
    message = _headers(composed)
    assert message["Subject"] == "About =?utf-8?q?x?= and more"
    assert message["From"].addresses[0].display_name == "=?utf-8?q?x?= Jane"


def test_long_quoted_display_name_stays_one_address() -> None:
    # Was From: aaa…a\r\n evil@attacker.example, b <j@x.example>: folding dropped the quotes
    # (CPython gh-80222), so the name became an address of its own.
    display = "a" * 70 + " evil@attacker.example, b"
    composed = compose(f'"{display}" <j@x.example>', Draft(to=("b@x.example",), subject="s"))
    [address] = _headers(composed)["From"].addresses
    assert address.addr_spec == "j@x.example"
    assert "evil@attacker.example" in address.display_name
    assert _lines_fit(composed)


@pytest.mark.parametrize("to", ["b@x.example", "jürgen@x.example"])
def test_long_display_name_word_fits_in_998_octets(to: str) -> None:
    # Was a header line of 1,201 octets (7-bit) or 801 and more (SMTPUTF8).
    for display in ("x" * 1200, "😀" * 300):
        composed = compose(f"{display} <j@x.example>", Draft(to=(to,), subject="s"))
        assert _lines_fit(composed)


def test_spaces_around_subject_and_display_name_are_dropped() -> None:
    # Mail programs drop them on reading, so what was sent and what arrives differed.
    composed = compose('" " <j@x.example>', Draft(to=("b@x.example",), subject=" Hi "))
    assert composed.subject == "Hi"
    assert composed.sender.display_name == ""
    assert _headers(composed)["Subject"] == "Hi"


def test_a_run_of_spaces_in_a_display_name_is_one_space() -> None:
    # "Jane  Doe" was kept as typed but read back as "Jane Doe".
    composed = compose("Jane  Doe <j@x.example>", Draft(to=("b@x.example",), subject="s"))
    assert composed.sender.display_name == "Jane Doe"
    assert _headers(composed)["From"].addresses[0].display_name == "Jane Doe"


def test_a_local_part_that_must_stay_quoted_does() -> None:
    # Was From: .@x.example, which is not an address at all.
    composed = compose('"."@x.example', Draft(to=("b@x.example",), subject="s"))
    assert b'"."@x.example' in prepare(composed).data
    assert _headers(composed)["From"].defects == ()


@pytest.mark.parametrize(
    "subject",
    [
        # The email package folded this one with an extra space before "evil@…¡".
        "Bcc: evil@example.org" * 4 + "¡",
        # And this one right after "Subject:", which Python's reader keeps as a leading space.
        "0000000" + "Bcc: evil@example.org" * 3,
    ],
)
def test_folding_adds_no_space(subject: str) -> None:
    composed = compose("j@x.example", Draft(to=("b@x.example",), subject=subject))
    assert _headers(composed)["Subject"] == subject


@pytest.mark.parametrize(
    ("name", "words"), [(" ", "is blank"), ("=?utf-8?q?x?=.pdf", "MIME encoded text")]
)
def test_attachment_name_that_cannot_arrive_as_it_is_is_refused(
    tmp_path: Path, name: str, words: str
) -> None:
    # "=?utf-8?q?x?=.pdf" arrived as "x.pdf"; " " as no name at all.
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(MessageInputError, match=words) as caught:
        compose("jane@x.example", Draft(to=("b@x.example",), attachments=(path,)))
    assert caught.value.field_name == "attachment name"


def test_attachment_name_loses_only_the_spaces_around_it(tmp_path: Path) -> None:
    path = tmp_path / " report 2026.pdf "
    path.write_bytes(b"%PDF")
    composed = compose("jane@x.example", Draft(to=("b@x.example",), attachments=(path,)))
    [part] = list(_headers(composed).iter_attachments())
    assert part.get_filename() == "report 2026.pdf"


def test_a_pasted_list_with_one_address_a_line_is_every_address() -> None:
    pasted = 'bob@y.example\r\nCarol <c@z.example>\n\n"Doe; Jane" <jane@x.example>\n'
    parsed = parse_address_list(pasted, "to")
    assert [m.addr_spec for m in parsed] == ["bob@y.example", "c@z.example", "jane@x.example"]
    assert parsed[2].display_name == "Doe; Jane"


@pytest.mark.parametrize(
    "folded",
    ["bob@y.example\n <c@z.example>", "bob@y.example\r\n\tc@z.example", '"Bo\nb" <b@y.example>'],
)
def test_a_line_break_that_is_no_separator_is_still_refused(folded: str) -> None:
    with pytest.raises(AddressError, match="line break"):
        parse_address_list(folded, "to")
