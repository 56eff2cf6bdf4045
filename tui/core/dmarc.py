"""A domain's DMARC policy: does it tell recipients to refuse mail From it that its own
servers did not send (`p=reject`), or to file it as spam (`p=quarantine`)?

The `_dmarc` TXT record is looked up with dnspython's async resolver. A lookup never fails
and never takes longer than `LOOKUP_TIMEOUT`, and its answer is kept for a day, in memory
and in `dmarc.json` under the data folder, so that most sends make no lookup at all.
dnspython is imported only for a lookup: it takes about as long to load as the rest of
`mailtui send`. Whether a profile's server fits the policy is from_fit.py's question.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from tui.core import locations
from tui.core.cancelling import stop_if_cancelled

if TYPE_CHECKING:
    from dns.asyncresolver import Resolver

Policy = Literal["reject", "quarantine", "none"]
POLICIES: tuple[Policy, ...] = ("reject", "quarantine", "none")

# The whole lookup, organizational domain included; past it the send goes on unwarned.
LOOKUP_TIMEOUT = 1.5
# How long an answer (a policy, or "no record") is trusted.
CACHE_SECONDS = 24 * 3600
# After a lookup that failed (timeout, no answer from the resolver): when to try again, so
# that being offline costs one LOOKUP_TIMEOUT now and then, not one per send.
RETRY_SECONDS = 15 * 60
# `MAILTUI_DNS=127.0.0.1:5353` (or `[::1]:5353`, or an address alone for port 53): the one
# DNS server to ask, instead of the system's. Tests and the demo point it at loopback.
DNS_ENV = "MAILTUI_DNS"

# Names that never publish a policy (RFC 2606, RFC 6761, RFC 8375): never looked up, so
# example profiles, the demo and the tests send no DNS query.
RESERVED: tuple[str, ...] = ("example", "test", "invalid", "localhost", "local", "home.arpa")
RESERVED += ("example.com", "example.net", "example.org")

# The organizational domain (RFC 7489, section 3.2) is the registrable domain: properly it
# needs the Public Suffix List. mailtui takes the last two labels, or three under these
# common second-level suffixes, which is right for the providers that publish p=reject.
# fmt: off
SECOND_LEVEL = frozenset({
    "co.uk", "org.uk", "me.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz",
    "co.jp", "ne.jp", "or.jp", "com.br", "com.cn", "com.mx", "co.za", "co.in", "com.tr",
    "com.ar", "co.kr", "com.sg", "com.hk", "com.tw", "co.id", "co.il",
})
# fmt: on


# -- names ---------------------------------------------------------------------------------


def normalise(domain: str) -> str | None:
    """`domain` as DNS asks for it (lower case, IDNA), or None when it is no DNS name."""
    name = domain.strip().rstrip(".").lower()
    if not name or name.startswith("[") or "." not in name:
        return None  # an address literal, or a single label
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return name


def is_reserved(domain: str) -> bool:
    return any(domain == name or domain.endswith(f".{name}") for name in RESERVED)


def organizational_domain(domain: str) -> str:
    """The registrable domain: mail.yahoo.com -> yahoo.com, smtp.yahoo.co.uk -> yahoo.co.uk."""
    labels = domain.split(".")
    keep = 3 if ".".join(labels[-2:]) in SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


# -- the record --------------------------------------------------------------------------


def parse_record(texts: list[str], subdomain: bool = False) -> Policy | None:
    """The policy a `_dmarc` TXT RRset states, or None when it holds no DMARC record.

    RFC 7489, 6.6.3: only strings starting with `v=DMARC1` count, and more than one of those
    is no record at all. A missing or unknown `p` is taken as "none". For a subdomain whose
    own name has no record (`subdomain`), `sp` overrides `p` when present.
    """
    records = [t for t in texts if t.replace(" ", "").upper().startswith("V=DMARC1")]
    if len(records) != 1:
        return None
    tags: dict[str, str] = {}
    for part in records[0].split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip().lower())
    found = tags.get("sp") if subdomain and "sp" in tags else tags.get("p")
    return next((p for p in POLICIES if p == found), "none")


# -- where to ask ----------------------------------------------------------------------------


class DnsSettingError(ValueError):
    """MAILTUI_DNS is set but is no address[:port]."""


def nameserver() -> tuple[str, int] | None:
    """The DNS server MAILTUI_DNS names, as (address, port); None to use the system's.

    Raises DnsSettingError for a value that is not an IP address with an optional port: mailtui
    then asks no one rather than the system's resolver, which the setting meant to avoid.
    """
    value = os.environ.get(DNS_ENV, "").strip()
    if not value:
        return None
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise DnsSettingError(value)
            port = rest[1:]
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise DnsSettingError(value) from None
    if not 0 < number < 65536:
        raise DnsSettingError(value)
    return host, number


def _import_dnspython() -> None:
    import dns.asyncresolver  # noqa: F401  (about 60 ms: kept off the common path)


def make_resolver() -> Resolver:
    """dnspython's async resolver, asking MAILTUI_DNS's server when set, else the system's."""
    import dns.asyncresolver

    server = nameserver()
    if server is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    resolver.timeout = resolver.lifetime = LOOKUP_TIMEOUT
    return resolver


class _Failed(Exception):
    """The lookup got no answer (timeout, SERVFAIL, no usable resolver)."""


async def _txt(resolver: Resolver, name: str) -> list[str] | None:
    """The TXT strings at `name`, None when the name or its TXT record does not exist."""
    import dns.exception
    import dns.resolver

    try:
        answer = await resolver.resolve(name, "TXT", search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.exception.DNSException as exc:
        raise _Failed(str(exc)) from exc
    if answer.rrset is None:
        return None
    return [
        b"".join(getattr(rdata, "strings", ())).decode("utf-8", "replace") for rdata in answer.rrset
    ]


async def _lookup(domain: str, resolver: Resolver | None) -> Policy | None:
    if resolver is None:
        resolver = make_resolver()
    texts = await _txt(resolver, f"_dmarc.{domain}")
    found = parse_record(texts) if texts is not None else None
    org = organizational_domain(domain)
    if found is None and org != domain:
        texts = await _txt(resolver, f"_dmarc.{org}")
        found = parse_record(texts, subdomain=True) if texts is not None else None
    return found


# -- the cache ---------------------------------------------------------------------------


class _Entry(NamedTuple):
    policy: Policy | None
    until: float


# Per cache file (so each MAILTUI_HOME has its own): domain -> what was found, until when.
_memory: dict[Path, dict[str, _Entry]] = {}


def _read(path: Path) -> dict[str, _Entry]:
    try:
        data: Any = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # missing, or not mailtui's JSON
        return {}
    entries: dict[str, _Entry] = {}
    if isinstance(data, dict):
        for domain, item in data.items():
            if not isinstance(item, dict):
                continue
            policy, until = item.get("policy"), item.get("until")
            if (policy is None or policy in POLICIES) and isinstance(until, int | float):
                entries[str(domain)] = _Entry(policy, float(until))
    return entries


def _remember(path: Path, domain: str, entry: _Entry) -> None:
    """Keep `entry` in memory and on disk; a file that cannot be written is no failure."""
    now = time.time()
    entries = {d: e for d, e in _read(path).items() if e.until > now}
    entries[domain] = entry
    _memory[path] = entries
    data = {d: {"policy": e.policy, "until": e.until} for d, e in sorted(entries.items())}
    with contextlib.suppress(Exception):
        from tui.core.files import write_private

        write_private(path, json.dumps(data, indent=1).encode(), sync=False)


def cached(domain: str) -> tuple[bool, Policy | None]:
    """(True, policy) when an answer for `domain` less than a day old is kept, else (False,
    None); reads the file only when this process has not yet."""
    path = locations.dmarc_file()
    if path not in _memory:
        _memory[path] = _read(path)
    entry = _memory[path].get(domain)
    if entry is None or entry.until <= time.time():
        return False, None
    return True, entry.policy


def forget() -> None:
    """Drop what this process remembers (the file stays)."""
    _memory.clear()


async def policy(domain: str, resolver: Resolver | None = None) -> Policy | None:
    """The DMARC policy of `domain` ("reject", "quarantine", "none"), None when it has no
    record or the lookup failed. Never raises, never takes longer than LOOKUP_TIMEOUT.

    `resolver` (dnspython's async Resolver) replaces the one MAILTUI_DNS or the system
    configures. Without a record at `_dmarc.<domain>`, the organizational domain's applies.
    """
    name = normalise(domain)
    if name is None or is_reserved(name):
        return None
    hit, found = cached(name)
    if hit:
        return found
    try:
        nameserver()
    except DnsSettingError:
        return None
    try:
        async with asyncio.timeout(LOOKUP_TIMEOUT):
            await asyncio.to_thread(_import_dnspython)  # off the event loop: the app stays live
            found = await _lookup(name, resolver)
        stop_if_cancelled()  # dnspython's wait_for may have dropped it (cancelling.py)
    except asyncio.CancelledError:
        raise
    except Exception:  # a timeout, no resolver configured, anything: the send goes on
        _remember(locations.dmarc_file(), name, _Entry(None, time.time() + RETRY_SECONDS))
        return None
    _remember(locations.dmarc_file(), name, _Entry(found, time.time() + CACHE_SECONDS))
    return found
