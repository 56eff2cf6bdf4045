"""One HTTP GET for an autoconfig file, over a connection `Reach` opens.

The standard library's asyncio streams are enough for a small file: HTTP/1.0, the
connection closed by the server after the answer, redirects returned to the caller (who
decides whether to follow them), the body cut off at `MAX_BODY`, the whole within the
reach's timeout.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple
from urllib.parse import urlsplit

from tui.core.discovery.reach import Reach

MAX_BODY = 256 * 1024  # an autoconfig file is a few kilobytes


class FetchFailed(Exception):
    """The file could not be fetched: the message says why, in a few words. `quiet` when
    that is the usual "there is none here" (no such host, nothing listening, 404)."""

    def __init__(self, reason: str, quiet: bool = False) -> None:
        super().__init__(reason)
        self.quiet = quiet


class Answer(NamedTuple):
    status: int
    location: str | None  # the Location of a redirect
    body: bytes


async def get(reach: Reach, url: str) -> Answer:
    """GET `url` (http or https): its status, any redirect's Location and its body."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"{url} is not an http or https address")
    secure = parts.scheme == "https"
    host = parts.hostname
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        sock = await reach.connect(host, port)
    except OSError as exc:
        raise FetchFailed(str(exc), quiet=True) from None
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(reach.timeout):
            reader, writer = await asyncio.open_connection(
                sock=sock,
                ssl=reach.tls_context() if secure else None,
                server_hostname=host if secure else None,
            )
            shown_host = host if port == (443 if secure else 80) else f"{host}:{port}"
            writer.write(
                f"GET {path} HTTP/1.0\r\nHost: {shown_host}\r\nAccept: application/xml, "
                "text/xml\r\nUser-Agent: mailtui\r\nConnection: close\r\n\r\n".encode("ascii")
            )
            await writer.drain()
            raw = await reader.read(MAX_BODY + 16 * 1024)
            while len(raw) < MAX_BODY + 16 * 1024 and (more := await reader.read(65536)):
                raw += more
    except TimeoutError:
        raise FetchFailed(f"{host} did not answer within {reach.timeout:g} s") from None
    except OSError as exc:  # ssl.SSLError included: a certificate that does not check
        reason = getattr(exc, "verify_message", None) or exc.strerror or str(exc)
        raise FetchFailed(f"{host}: {reason}") from None
    finally:
        if writer is not None:
            writer.close()
        else:
            sock.close()
    return _parse(raw, host)


def _parse(raw: bytes, host: str) -> Answer:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    words = lines[0].split(None, 2)
    if not sep or len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise FetchFailed(f"{host} did not answer in HTTP")
    location = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "location":
            location = value.strip()
    if len(body) > MAX_BODY:
        raise FetchFailed(f"{host} sent more than {MAX_BODY // 1024} KB")
    return Answer(int(words[1]), location, body)
