"""A small web server on loopback for the discovery tests: HTTPS (or plain HTTP) answering
from a table by the Host it is asked for and the path, as autoconfig servers would.

    pages = {("autoconfig.example.org", "/mail/config-v1.1.xml"): (200, {}, b"<clientConfig…")}
    server = WebServer(pages, context)   # context: an ssl server context, None for plain
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Page = tuple[int, dict[str, str], bytes]


class WebServer:
    """Serves `pages` on 127.0.0.1:`port` (0: any free port) until `close()`; `asked` lists
    every (host, path with query) requested, in order."""

    def __init__(
        self,
        pages: dict[tuple[str, str], Page],
        context: ssl.SSLContext | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.pages = pages
        self.asked: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                owner.asked.append((host, self.path))
                status, headers, body = owner.pages.get(
                    (host, urlsplit(self.path).path), (404, {}, b"not here")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


def config_xml(
    smtp: list[tuple[str, int, str]],
    imap: tuple[str, int, str] | None = None,
    authentication: str = "password-cleartext",
    username: str = "%EMAILADDRESS%",
) -> bytes:
    """A Thunderbird config-v1.1 file with these SMTP servers (host, port, socketType)."""
    incoming = ""
    if imap is not None:
        incoming = (
            f'<incomingServer type="imap"><hostname>{imap[0]}</hostname><port>{imap[1]}</port>'
            f"<socketType>{imap[2]}</socketType><authentication>password-cleartext"
            f"</authentication><username>{username}</username></incomingServer>"
        )
    outgoing = "".join(
        f'<outgoingServer type="smtp"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{kind}</socketType><authentication>{authentication}</authentication>"
        f"<username>{username}</username></outgoingServer>"
        for host, port, kind in smtp
    )
    return (
        '<?xml version="1.0"?>\n<clientConfig version="1.1"><emailProvider id="example">'
        f"<domain>example</domain><displayName>Example</displayName>{incoming}{outgoing}"
        "</emailProvider></clientConfig>\n"
    ).encode()
