"""Address parsing and message building, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.message import (
    AddressError,
    Draft,
    MessageInputError,
    build_message,
    compose,
    parse_address_list,
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
