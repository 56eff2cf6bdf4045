"""The domain's DNS records that say where to send: SRV (RFC 6186, RFC 8314) and MX.

`_submissions._tcp` names a server that speaks TLS from the first byte (preferred, RFC
8314), `_submission._tcp` one that greets in plain text and upgrades with STARTTLS. A
target of "." says the service is not offered. The MX names where mail *to* the domain
goes; its own domain says who hosts the domain's mail (aspmx.l.google.com: Google).
"""

from __future__ import annotations

from tui.core.discovery.candidates import Candidate, Found
from tui.core.discovery.reach import LookupFailed, Reach

SERVICES = (("_submissions._tcp", "tls"), ("_submission._tcp", "starttls"))


async def srv(reach: Reach, domain: str) -> Found:
    """Candidates from the domain's submission SRV records, in the order they ask for."""
    candidates: list[Candidate] = []
    notes: list[str] = []
    for service, security in SERVICES:
        name = f"{service}.{domain}"
        try:
            found = await reach.records(name, "SRV")
        except LookupFailed as exc:
            notes.append(str(exc))
            continue
        for record in sorted(found, key=lambda r: (r.priority, -r.weight)):
            target = record.target.to_text(omit_final_dot=True)
            if target in ("", ".") or not 0 < record.port < 65536:
                continue  # "." : the service is decidedly not offered here
            candidates.append(
                Candidate(target, record.port, security, "srv", f"from the SRV record {name}")  # type: ignore[arg-type]
            )
    return Found(tuple(candidates), None, tuple(notes))


async def mx_hosts(reach: Reach, domain: str) -> list[str]:
    """The domain's MX hosts, most preferred first; LookupFailed when DNS does not answer."""
    found = await reach.records(domain, "MX")
    ordered = sorted(found, key=lambda r: r.preference)
    names = [r.exchange.to_text(omit_final_dot=True).lower() for r in ordered]
    return [n for n in names if n and n != "."]
