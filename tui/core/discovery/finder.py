"""From an email address to tested submission settings: the sources in order, each
source's candidates tried live, the first that works kept, with where each setting came from.

The sources, as Thunderbird asks them: the provider table (providers.py), autoconfig and
the ISPDB (autoconfig.py), SRV records, the MX host's provider (records.py), then guesses
(smtp.<domain>, mail.<domain> on 465, 587, 25). A source's candidates are tried at once and
the safest that answers wins: implicit TLS, then STARTTLS, then a relay without TLS. When
none answers, the first settings found are kept, untested, with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from tui.core.discovery import autoconfig, records
from tui.core.discovery.autoconfig import under
from tui.core.discovery.candidates import Candidate, Found, ImapFound, preferred
from tui.core.discovery.probe import Probe, probe_all
from tui.core.discovery.providers import Login, ProviderRow, by_domain, by_mx
from tui.core.discovery.reach import LookupFailed, Reach
from tui.core.profiles import ImapSettings, Profile, host_and_port

GUESS_PORTS: tuple[tuple[int, str], ...] = ((465, "tls"), (587, "starttls"), (25, "starttls"))

Step = Callable[[str], None]


class AddressError(ValueError):
    """No email address discovery can start from; the message says what to type."""


def split_address(address: str) -> tuple[str, str]:
    """(address as typed, its domain in lower case and IDNA); AddressError otherwise."""
    from tui.core.dmarc import normalise

    address = address.strip()
    local, at, domain = address.rpartition("@")
    name = normalise(domain) if at and local and " " not in address else None
    if name is None:
        raise AddressError(
            f"'{address}' is not an email address; give one such as jane@example.org"
        )
    return address, name


@dataclass(frozen=True)
class Discovery:
    """What discovery found for `address`: the chosen candidate and its test, or why none."""

    address: str
    domain: str
    candidate: Candidate | None = None
    probe: Probe | None = None  # the chosen candidate's test; None: untested
    tried: tuple[Probe, ...] = ()
    imap: ImapFound | None = None
    notes: tuple[str, ...] = ()
    problem: str | None = None  # nothing usable found or nothing answered, one sentence

    @property
    def row(self) -> ProviderRow | None:
        return self.candidate.row if self.candidate else None

    @property
    def login(self) -> Login:
        """How the person logs in: as the source says, else as the server's offer says."""
        if self.candidate is not None and self.candidate.login is not None:
            return self.candidate.login
        if self.probe is not None and self.probe.works and not self.probe.auth:
            return "none"
        return "password"

    @property
    def security(self) -> str:
        if self.probe is not None and self.probe.works:
            return self.probe.security
        return self.candidate.security if self.candidate else "starttls"

    @property
    def question(self) -> str | None:
        """What to ask before saving: settings from another domain, or from plain HTTP."""
        found = self.candidate
        if found is None or found.source == "table":
            return None
        server = f"{found.host}:{found.port}"
        if not found.trusted and found.origin.endswith("plain HTTP"):
            return (
                f"The settings for {self.domain} came {found.origin}, which anyone on the "
                f"network could have changed: send your mail and password to {server}?"
            )
        if not found.trusted or not under(found.host, self.domain):
            return (
                f"The server {server} is not in {self.domain} (it came {found.origin}): "
                "send your mail and password there?"
            )
        return None

    def provenance(self) -> list[tuple[str, str, str]]:
        """(setting, value, where it came from) for each setting found."""
        found = self.candidate
        if found is None:
            return []
        tested = self.probe is not None and self.probe.works
        where = "guessed" if found.source == "guess" else found.origin
        if tested:
            where += ", and tested" if found.source != "guess" else " and tested"
        server = f"{host_and_port(found.host, found.port)} ({self.security})"
        rows = [("server", server, where)]
        if found.login is not None:
            rows.append(("auth", _auth(self.login), found.origin))
        elif self.probe is not None and self.probe.works:
            offered = " ".join(self.probe.auth)
            told = f"the server offers AUTH {offered}" if offered else "the server offers no login"
            rows.append(("auth", _auth(self.login), told))
        if self.login != "none":
            rows.append(
                ("username", self.username, found.origin if found.username else "your address")
            )
        if self.imap is not None:
            imap = self.imap
            rows.append(("imap", f"{imap.host}:{imap.port} ({imap.security})", imap.origin))
        return rows

    @property
    def username(self) -> str:
        return (self.candidate.username if self.candidate else None) or self.address

    def suggested_id(self, taken: set[str]) -> str:
        """A profile id from the address's domain: gmail, example, example-2…"""
        import re

        base = self.domain.split(".")[0]
        base = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:40] or "profile"
        chosen, n = base, 1
        while chosen in taken:
            n += 1
            chosen = f"{base}-{n}"
        return chosen

    def profile(self, profile_id: str, ca_file: str | None = None) -> Profile:
        """The profile these settings make (provider "portal" when it logs in, "isp" for a
        relay that needs no login); ValueError when nothing was found."""
        found = self.candidate
        if found is None:
            raise ValueError(self.problem or "nothing found")
        login = self.login
        imap = None
        if self.imap is not None:
            default = 993 if self.imap.security == "tls" else 143
            port = None if self.imap.port == default else self.imap.port
            imap = ImapSettings(self.imap.host, self.imap.security, port)
        standard = {"tls": 465, "starttls": 587, "none": 25}[self.security]
        return Profile(
            id=profile_id,
            name=found.row.name if found.row else self.domain,
            from_=self.address,
            host=found.host,
            security=self.security,  # type: ignore[arg-type]
            provider="isp" if login == "none" else "portal",
            port=None if found.port == standard else found.port,
            auth=_auth(login),  # type: ignore[arg-type]
            username=None if login == "none" else self.username,
            ca_file=ca_file,
            imap=imap,
        )


def _auth(login: Login) -> str:
    return {"none": "none", "oauth2": "xoauth2"}.get(login, "auto")


def from_row(row: ProviderRow, address: str, how: str = "") -> Found:
    local = address.rpartition("@")[0]
    origin = f"from the provider table ({row.name}{how})"
    candidate = Candidate(
        row.host,
        row.port,
        row.security,
        "table",
        origin,
        row.login,
        local if row.username == "local" else address,
        row=row,
    )
    imap = ImapFound(*row.imap, origin) if row.imap else None
    return Found((candidate,), imap)


def guesses(domain: str) -> Found:
    return Found(
        tuple(
            Candidate(f"{prefix}.{domain}", port, security, "guess", "guessed")  # type: ignore[arg-type]
            for prefix in ("smtp", "mail")
            for port, security in GUESS_PORTS
        )
    )


async def _by_mx(reach: Reach, address: str, domain: str, step: Step) -> Found:
    step(f"looking up the MX of {domain}")
    try:
        hosts = await records.mx_hosts(reach, domain)
    except LookupFailed as exc:
        return Found(notes=(str(exc),))
    for host in hosts[:1]:
        row = by_mx(host)
        if row is not None:
            return from_row(row, address, f", the MX {host}")
        from tui.core.dmarc import organizational_domain

        hosted_by = organizational_domain(host)
        if hosted_by != domain:
            step(f"asking Thunderbird's ISPDB about {hosted_by}")
            found = await autoconfig.from_ispdb(reach, address, hosted_by)
            how = f" for {hosted_by}, the MX {host}"
            return found._replace(
                candidates=tuple(
                    c._replace(source="mx", origin=c.origin + how) for c in found.candidates
                )
            )
    return Found()


async def discover(address: str, reach: Reach, step: Step = lambda _: None) -> Discovery:
    """Find and test the submission settings for `address` (see the module's doc). Raises
    AddressError for no address; otherwise always returns, with `problem` when nothing
    usable was found."""
    address, domain = split_address(address)
    notes: list[str] = []
    fallback: tuple[Candidate, ImapFound | None] | None = None
    tried: list[Probe] = []
    imap: ImapFound | None = None

    async def sources() -> AsyncIterator[Found]:
        row = by_domain(domain)
        if row is not None:
            yield from_row(row, address)
        yield await autoconfig.lookup(reach, address, domain, step)
        step(f"looking up the SRV records of {domain}")
        yield await records.srv(reach, domain)
        yield await _by_mx(reach, address, domain, step)
        yield guesses(domain)

    async for found in sources():
        notes.extend(found.notes)
        if not found.candidates:
            continue
        imap = imap or found.imap
        ordered = preferred(found.candidates)
        if fallback is None and ordered[0].source != "guess":  # a guess untested is nothing
            fallback = (ordered[0], found.imap)
        shown = ", ".join(f"{c.host}:{c.port}" for c in ordered[:4])
        step(f"trying {shown}{' …' if len(ordered) > 4 else ''}")
        probes = await probe_all(reach, ordered)
        tried.extend(probes)
        working = [p for p in probes if p.works]
        if working:
            best = working[0]
            return Discovery(
                address, domain, best.candidate, best, tuple(tried), found.imap, tuple(notes)
            )
    if fallback is None:
        return Discovery(
            address,
            domain,
            tried=tuple(tried),
            notes=tuple(notes),
            problem=f"No settings were found for {domain}, and no server answered; "
            "fill them in from your provider's help pages.",
        )
    candidate, imap = fallback
    return Discovery(
        address,
        domain,
        candidate,
        None,
        tuple(tried),
        imap,
        tuple(notes),
        problem=f"Settings were found for {domain} ({candidate.origin}), but no server "
        "answered, so they are untested; check the network, then check the profile.",
    )
