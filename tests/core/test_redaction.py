"""The server's words before they are stored or shown: secrets scrubbed from a reply as a
whole, terminal controls, bidi and zero-width characters escaped."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from tui.core.redaction import scrub, secret_forms
from tui.core.transcript import printable

USER = "jane"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


passwords = st.text(string.ascii_letters + string.digits + "&!#+/= ", min_size=8, max_size=40)


@given(
    password=passwords,
    kind=st.sampled_from(["AUTH PLAIN", "AUTH LOGIN", "the password"]),
    cut=st.integers(1, 1000),
    status=st.sampled_from(["", "5.7.8 "]),
)
@example(password="Tr0ub4dor&3 s3cret", kind="the password", cut=11, status="")
def test_a_secret_split_over_two_reply_lines_is_scrubbed(
    password: str, kind: str, cut: int, status: str
) -> None:
    """As aiosmtplib hands over a multi-line reply: the line codes gone, lines stripped."""
    assume(password == password.strip() and "  " not in password)
    form = {"AUTH PLAIN": _b64(f"\0{USER}\0{password}"), "AUTH LOGIN": _b64(password)}.get(
        kind, password
    )
    at = 1 + cut % (len(form) - 1)
    head, tail = form[:at].strip(), form[at:].strip()
    assume(head and tail)
    said = "5.7.8 Authentication failed, you sent "
    assume(password not in said + status)
    shown = scrub(f"{said}{head}\n{status}{tail}", secret_forms(USER, password))
    first, second = shown.split("\n")
    # Every character of both pieces is gone (a few of the words around them may go too).
    for line, around in ((first, said), (second, status)):
        assert line.endswith("********")
        assert len(line.replace("********", "")) <= len(around)
    assert first.startswith("5.7.8 Authentication")


def test_scrub_leaves_other_replies_alone() -> None:
    forms = secret_forms(USER, "Tr0ub4dor&3 s3cret")
    reply = "mx.example.net\nPIPELINING\nSIZE 10240000\nAUTH PLAIN LOGIN"
    assert scrub(reply, forms) == reply
    assert scrub(reply, []) == reply


@pytest.mark.parametrize(
    "char",
    [
        "\u061c",  # Arabic letter mark
        "\u200b",  # zero width space
        "\u200c",  # zero width non-joiner
        "\u200d",  # zero width joiner
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides
        "\u2060",  # word joiner
        *(chr(c) for c in range(0x2066, 0x206A)),  # isolates
        "\ufeff",  # zero width no-break space
    ],
)
def test_bidi_and_zero_width_characters_are_shown_escaped(char: str) -> None:
    assert printable(f"user{char}name") == f"user\\u{ord(char):04x}name"
