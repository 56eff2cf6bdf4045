"""Keeping the password out of every string: every form a transcript could carry it in, and
the scrubbing of those forms, also when a server splits one over the lines of a reply."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from tui.core.transcript import REDACTED


def secret_forms(username: str | None, password: str | None) -> list[str]:
    """The password (or access token) and every encoding of it that a transcript could
    carry: AUTH PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER."""
    if not password:
        return []
    user = username or ""
    raw = [
        password,
        f"\0{user}\0{password}",
        f"{user}\0{password}",
        f"user={user}\x01auth=Bearer {password}\x01\x01",
        f"n,a={user.replace('=', '=3D').replace(',', '=2C')},\x01auth=Bearer {password}\x01\x01",
    ]
    forms = {password}
    for item in raw:
        forms.add(base64.b64encode(item.encode("utf-8")).decode("ascii"))
    return sorted(forms, key=len, reverse=True)


# What may sit between two pieces of a secret split over the lines of a multi-line reply:
# the line break, the next line's code ("535-", "535 ") and enhanced status code ("5.7.8").
_LINE_START = re.compile(r"\s*(?:\d{3}(?:[ -]|$))?\s*(?:\d\.\d{1,3}\.\d{1,3}(?:\s|$))?\s*")


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret form replaced by ********, also one the server split over
    the lines of a reply: the lines are also searched joined together, with and without
    a space between them and their line codes."""
    secrets = [secret for secret in secrets if secret]
    if not secrets or ("\n" not in text and not any(s in text for s in secrets)):
        return text
    lines = text.split("\n")
    # Every way of reading the reply is searched before anything is replaced: one form
    # replaced first could break up another that overlaps it.
    ways = [("\n", False)]
    if len(lines) > 1:
        ways += [("", False), (" ", False), ("", True), (" ", True)]
    hidden: set[tuple[int, int]] = set()  # (line, column) of each character to redact
    for separator, codes in ways:
        joined: list[str] = []
        origin: list[tuple[int, int] | None] = []  # where each joined character came from
        for number, line in enumerate(lines):
            start = _LINE_START.match(line) if codes else None
            first = start.end() if start else 0
            last = len(line.rstrip()) if codes or separator != "\n" else len(line)
            if number and separator:
                joined.append(separator)
                origin.append(None)
            joined.extend(line[first:last])
            origin.extend((number, column) for column in range(first, last))
        flat = "".join(joined)
        for secret in secrets:
            at = flat.find(secret)
            while at != -1:
                hidden.update(o for o in origin[at : at + len(secret)] if o is not None)
                at = flat.find(secret, at + 1)
    if not hidden:
        return text
    shown = []
    for number, line in enumerate(lines):
        kept: list[str] = []
        hiding = False
        for column, char in enumerate(line):
            if (number, column) not in hidden:
                kept.append(char)
            elif not hiding:
                kept.append(REDACTED)
            hiding = (number, column) in hidden
        shown.append("".join(kept))
    return "\n".join(shown)
