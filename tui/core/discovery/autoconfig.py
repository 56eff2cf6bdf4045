"""Thunderbird's autoconfig: the domain's own config file over HTTPS, then Mozilla's ISPDB.

The file is untrusted input: it is parsed with defusedxml (no entities, no external
references: a "billion laughs" file is refused, not expanded), its values are checked, and
where it really came from decides whether it is used silently. A redirect to another
domain, or a file that only plain HTTP serves, is kept but marked to ask first: that is how
autoconfig is attacked (an attacker's file points the mail, and the password, at their
server).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from tui.core.discovery.candidates import Candidate, Found, ImapFound
from tui.core.discovery.providers import Login
from tui.core.discovery.reach import Reach
from tui.core.discovery.web import FetchFailed, get

MAX_REDIRECTS = 3
_PATH = "/mail/config-v1.1.xml"
_SOCKET_TYPES = {"SSL": "tls", "STARTTLS": "starttls", "plain": "none"}
_AUTHENTICATION: dict[str, Login] = {
    "oauth2": "oauth2",
    "password-cleartext": "password",
    "password-encrypted": "password",
    "plain": "password",
    "secure": "password",
    "none": "none",
    "client-ip-address": "none",
}
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def under(host: str, domain: str) -> bool:
    """Is `host` the domain or a name under it?"""
    host, domain = host.lower().rstrip("."), domain.lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


def urls(reach: Reach, address: str, domain: str) -> list[tuple[str, str]]:
    """(url, what to call it) for each place the config is looked for, in order."""
    query = "?emailaddress=" + quote(address, safe="@")
    return [
        (f"https://autoconfig.{domain}{_PATH}{query}", f"autoconfig.{domain}"),
        (f"https://{domain}/.well-known/autoconfig{_PATH}{query}", domain),
        (urljoin(reach.ispdb, quote(domain)), "Thunderbird's ISPDB"),
    ]


async def _fetch(reach: Reach, url: str) -> tuple[bytes, str]:
    """The body at `url` and the address it finally came from, following redirects that stay
    on HTTPS (a redirect from HTTPS to plain HTTP is refused)."""
    for _ in range(MAX_REDIRECTS + 1):
        answer = await get(reach, url)
        if answer.status in (301, 302, 303, 307, 308) and answer.location:
            target = urljoin(url, answer.location)
            if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
                raise FetchFailed(f"{urlsplit(url).hostname} redirected to plain HTTP")
            url = target
            continue
        if answer.status != 200:
            quiet = answer.status in (404, 410)
            raise FetchFailed(f"{urlsplit(url).hostname} answered HTTP {answer.status}", quiet)
        return answer.body, url
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")


def parse(xml: bytes, address: str, origin: str, trusted: bool) -> Found:
    """The candidates and IMAP server a config-v1.1 file describes; ValueError with one
    sentence when it is no usable file (malformed, hostile, or no SMTP server in it)."""
    import defusedxml
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(xml, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise ValueError("declares entities or a DTD (as hostile XML does)") from None
    except (ParseError, ValueError):
        raise ValueError("is not well-formed XML") from None
    local, _, domain = address.rpartition("@")

    def filled(text: str) -> str:
        for key, value in (("%EMAILADDRESS%", address), ("%EMAILLOCALPART%", local)):
            text = text.replace(key, value)
        return text.replace("%EMAILDOMAIN%", domain).strip()

    def server(element: Any) -> tuple[str, int, str, Login | None, str | None] | None:
        host = filled(element.findtext("hostname") or "")
        port_text = (element.findtext("port") or "").strip()
        socket_type = _SOCKET_TYPES.get((element.findtext("socketType") or "").strip())
        if not _HOST.match(host) or not port_text.isdigit() or socket_type is None:
            return None
        port = int(port_text)
        if not 0 < port < 65536:
            return None
        logins = [
            _AUTHENTICATION.get(a.text.strip().lower())
            for a in element.iter("authentication")
            if a.text
        ]
        login = next((x for x in logins if x is not None), None)
        username = filled(element.findtext("username") or "") or None
        return host, port, socket_type, login, username

    provider = root.find("emailProvider")
    if root.tag != "clientConfig" or provider is None:
        raise ValueError("is not a Thunderbird config file (no clientConfig/emailProvider)")
    candidates: list[Candidate] = []
    for element in provider.findall("outgoingServer"):
        if element.get("type") != "smtp" or (found := server(element)) is None:
            continue
        host, port, security, login, username = found
        candidates.append(
            Candidate(host, port, security, "autoconfig", origin, login, username, trusted)  # type: ignore[arg-type]
        )
    imap = None
    for element in provider.findall("incomingServer"):
        found = server(element) if element.get("type") == "imap" else None
        if found is not None and found[2] in ("tls", "starttls"):
            imap = ImapFound(found[0], found[1], found[2], origin)  # type: ignore[arg-type]
            break
    if not candidates:
        raise ValueError("names no usable SMTP server")
    return Found(tuple(candidates), imap)


async def lookup(
    reach: Reach, address: str, domain: str, step: Callable[[str], None] = lambda _: None
) -> Found:
    """The config for `address` from the first of the domain's places and the ISPDB that
    has one; then, only when none of them does, from plain HTTP, marked to ask."""
    notes: list[str] = []
    for url, name in urls(reach, address, domain):
        step(f"asking {name} for autoconfig")
        found = await _one(reach, url, name, address, domain, notes)
        if found is not None:
            return found._replace(notes=tuple(notes))
    url = f"http://autoconfig.{domain}{_PATH}?emailaddress=" + quote(address, safe="@")
    step(f"asking autoconfig.{domain} over plain HTTP")
    found = await _one(reach, url, f"autoconfig.{domain}", address, domain, notes)
    return (found or Found())._replace(notes=tuple(notes))


async def _one(
    reach: Reach, url: str, name: str, address: str, domain: str, notes: list[str]
) -> Found | None:
    try:
        body, final = await _fetch(reach, url)
    except FetchFailed as exc:
        if not exc.quiet:
            notes.append(f"autoconfig from {name}: {exc}")
        return None
    host = urlsplit(final).hostname or ""
    secure = urlsplit(final).scheme == "https"
    ispdb = name == "Thunderbird's ISPDB"
    moved = not ispdb and not under(host, domain)
    if moved:
        origin = f"from {host} over HTTPS ({name} redirected there)"
    elif ispdb:
        origin = f"from Thunderbird's ISPDB ({host}) over HTTPS"
    else:
        origin = f"from {host} over {'HTTPS' if secure else 'plain HTTP'}"
    try:
        found = parse(body, address, origin, trusted=secure and not moved)
    except ValueError as exc:
        notes.append(f"autoconfig from {host}: the file {exc}; not used")
        return None
    if not secure:
        notes.append(
            f"the settings from {host} came over plain HTTP, which anyone on the way could "
            "have changed"
        )
    return found


async def from_ispdb(reach: Reach, address: str, domain: str) -> Found:
    """The ISPDB's config for `domain` (the MX host's domain, for a hosted domain)."""
    notes: list[str] = []
    url = urljoin(reach.ispdb, quote(domain))
    found = await _one(reach, url, "Thunderbird's ISPDB", address, domain, notes)
    return (found or Found())._replace(notes=tuple(notes))
