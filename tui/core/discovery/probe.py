"""Trying a candidate server live: connect, greeting, EHLO, TLS, which AUTH it offers.

No login is tried (the person's password is not known yet) and no mail command is sent.
What comes back says whether the candidate works as found, with which security, and, when
not, why in a few words ("does not speak TLS at once", "offers AUTH without TLS").
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import NamedTuple

from tui.core.discovery.candidates import Candidate
from tui.core.discovery.providers import Security
from tui.core.discovery.reach import Reach


class Probe(NamedTuple):
    candidate: Candidate
    works: bool
    security: Security  # what a profile should say: the candidate's, upgraded or "none"
    tls: str | None = None  # the TLS version, when the connection had TLS
    auth: tuple[str, ...] = ()  # the AUTH mechanisms offered (after TLS)
    greeting: str = ""
    problem: str | None = None  # why it does not work, a phrase
    seconds: float = 0.0

    @property
    def server(self) -> str:
        from tui.core.profiles import host_and_port

        return host_and_port(self.candidate.host, self.candidate.port)


def _tls_problem(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate does not check ({exc.verify_message})"
    if "WRONG_VERSION_NUMBER" in str(exc).upper().replace(" ", "_"):
        return "it does not speak TLS at once (a port for STARTTLS?)"
    return f"TLS failed ({exc.reason or exc})"


async def probe(reach: Reach, candidate: Candidate) -> Probe:
    """Try `candidate` (see the module's doc); never raises for what the server does."""
    import aiosmtplib

    start = time.monotonic()
    security = candidate.security

    def result(works: bool, problem: str | None = None, **more: object) -> Probe:
        seconds = round(time.monotonic() - start, 3)
        return Probe(candidate, works, security, problem=problem, seconds=seconds, **more)  # type: ignore[arg-type]

    try:
        sock = await reach.connect(candidate.host, candidate.port)
    except OSError as exc:
        return result(False, str(exc))
    smtp = aiosmtplib.SMTP(
        hostname=candidate.host,
        sock=sock,
        use_tls=security == "tls",
        start_tls=False,
        tls_context=reach.tls_context(),
        timeout=reach.timeout,
    )
    greeting = ""
    try:
        async with asyncio.timeout(reach.timeout * 3):
            reply = await smtp.connect()
            greeting = reply.message.split("\n")[0]
            await smtp.ehlo()
            if security != "tls" and smtp.supports_extension("starttls"):
                await smtp.starttls(server_hostname=candidate.host)
                await smtp.ehlo()
                security = "starttls"
            elif security == "starttls" or (security == "none" and smtp.server_auth_methods):
                if smtp.server_auth_methods:
                    await _quit(smtp)
                    return result(
                        False, "it offers a login without TLS (no STARTTLS)", greeting=greeting
                    )
                security = "none"  # a relay that trusts its network, without TLS
            ssl_object = smtp.transport.get_extra_info("ssl_object") if smtp.transport else None
            tls = ssl_object.version() if ssl_object is not None else None
            auth = tuple(m.upper() for m in smtp.server_auth_methods)
            await _quit(smtp)
    except ssl.SSLError as exc:
        smtp.close()
        return result(False, _tls_problem(exc), greeting=greeting)
    except (TimeoutError, aiosmtplib.SMTPTimeoutError):
        smtp.close()
        if not greeting and security != "tls":
            return result(False, "no greeting (a port that expects TLS at once?)")
        return result(False, "it stopped answering", greeting=greeting)
    except aiosmtplib.SMTPConnectError as exc:
        cause = exc.__cause__ or exc.__context__
        smtp.close()
        if isinstance(cause, ssl.SSLError):
            return result(False, _tls_problem(cause), greeting=greeting)
        return result(False, f"no SMTP greeting ({exc.message})", greeting=greeting)
    except (aiosmtplib.SMTPException, OSError) as exc:
        smtp.close()
        return result(False, f"it answered {exc}", greeting=greeting)
    return result(True, tls=tls, auth=auth, greeting=greeting)


async def _quit(smtp: object) -> None:
    import contextlib

    import aiosmtplib

    assert isinstance(smtp, aiosmtplib.SMTP)
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        await smtp.quit()
    smtp.close()


async def probe_all(reach: Reach, candidates: tuple[Candidate, ...]) -> list[Probe]:
    """Every candidate tried at once; the answers in the candidates' order."""
    return list(await asyncio.gather(*(probe(reach, c) for c in candidates)))
