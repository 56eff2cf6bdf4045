"""What a source of settings says: candidate submission servers, an IMAP server, notes.

A candidate carries its provenance in words ("from the provider table (Gmail)", "from
autoconfig.example.org over HTTPS", "SRV record _submissions._tcp.example.org", "guessed")
and whether it may be used without asking (`trusted`: not when it came over plain HTTP or
from another domain than the address's).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from tui.core.discovery.providers import Login, ProviderRow, Security

Source = Literal["table", "autoconfig", "srv", "mx", "guess"]

# The order a source's candidates are tried in when several answer: implicit TLS first
# (RFC 8314), then STARTTLS, then a port without TLS (a relay trusting its network).
SECURITY_ORDER: dict[str, int] = {"tls": 0, "starttls": 1, "none": 2}


class Candidate(NamedTuple):
    host: str
    port: int
    security: Security
    source: Source
    origin: str  # where it came from, in words
    login: Login | None = None  # None: what the server offers decides
    username: str | None = None  # None: the address
    trusted: bool = True  # False: ask before saving (plain HTTP, another domain)
    row: ProviderRow | None = None  # the provider table's row it came from


class ImapFound(NamedTuple):
    host: str
    port: int
    security: Literal["tls", "starttls"]
    origin: str


class Found(NamedTuple):
    """What one source said (no candidates: it knew nothing), and why not, in `notes`."""

    candidates: tuple[Candidate, ...] = ()
    imap: ImapFound | None = None
    notes: tuple[str, ...] = ()


def preferred(candidates: tuple[Candidate, ...]) -> tuple[Candidate, ...]:
    """The candidates in the order to prefer them, each server once."""
    unique = {(c.host.lower(), c.port, c.security): c for c in reversed(candidates)}
    ordered = sorted(
        reversed(list(unique.values())), key=lambda c: SECURITY_ORDER.get(c.security, 3)
    )
    return tuple(ordered)
