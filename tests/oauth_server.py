"""A small OAuth2 authorization server on loopback, for the tests (no provider is ever
contacted): the device authorization endpoint (RFC 8628), the authorization endpoint with
PKCE (RFC 7636), and the token endpoint for the device code, the authorization code and
the refresh token. The access tokens it issued, unexpired and unrevoked, are the only ones
`accepts` takes: the SMTP server's XOAUTH2/OAUTHBEARER check (ServerSpec.bearer)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "mailtui-tests"


@dataclass
class Issued:
    user: str
    expires_at: float
    revoked: bool = False


@dataclass
class OAuthServer:
    user: str = "jane"
    access_lifetime: float = 3600.0
    device_interval: int = 1
    device_expires_in: int = 600
    # What the device token endpoint answers to successive polls before the approval is
    # looked at: "authorization_pending", "slow_down", "expired_token", "access_denied".
    device_script: list[str] = field(default_factory=list)
    on_token: Callable[[str], None] | None = None  # hears each token issued (leak guard)
    access: dict[str, Issued] = field(default_factory=dict)
    refresh: dict[str, Issued] = field(default_factory=dict)
    approved: set[str] = field(default_factory=set)
    device_codes: dict[str, str] = field(default_factory=dict)  # device code -> user code
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (challenge, uri)
    polls: list[float] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    # -- the test's side: approve, revoke, expire ------------------------------------------

    def approve(self, user_code: str) -> None:
        """The person typed the code on the provider's page and said yes."""
        self.approved.add(user_code)

    def revoke_all(self) -> None:
        for issued in (*self.access.values(), *self.refresh.values()):
            issued.revoked = True

    def expire_access_tokens(self) -> None:
        for issued in self.access.values():
            issued.expires_at = time.time() - 1

    def accepts(self, user: str, token: str) -> bool:
        issued = self.access.get(token)
        return (
            issued is not None
            and not issued.revoked
            and issued.user == user
            and issued.expires_at > time.time()
        )

    @property
    def issued_access_tokens(self) -> list[str]:
        return list(self.access)

    # -- the endpoints -------------------------------------------------------------------

    def _issue(self, with_refresh: bool = True) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(24)
        self.access[access] = Issued(self.user, time.time() + self.access_lifetime)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_lifetime),
            "scope": "https://mail.example/smtp",
        }
        tokens = [access]
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh[refresh] = Issued(self.user, time.time() + 86400 * 90)
            answer["refresh_token"] = refresh
            tokens.append(refresh)
        if self.on_token is not None:
            for token in tokens:
                self.on_token(token)
        return answer

    def device_authorization(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID:
            return 400, {"error": "invalid_client"}
        device_code = secrets.token_urlsafe(16)
        user_code = "WDJB-MJHT"
        self.device_codes[device_code] = user_code
        return 200, {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{self.url}/activate",
            "verification_uri_complete": f"{self.url}/activate?user_code={user_code}",
            "expires_in": self.device_expires_in,
            "interval": self.device_interval,
        }

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            self.polls.append(time.monotonic())
            user_code = self.device_codes.get(form.get("device_code", ""))
            if user_code is None:
                return 400, {"error": "invalid_grant"}
            if self.device_script:
                return 400, {"error": self.device_script.pop(0)}
            if user_code not in self.approved:
                return 400, {"error": "authorization_pending"}
            del self.device_codes[form["device_code"]]
            return 200, self._issue()
        if grant == "authorization_code":
            challenge, redirect_uri = self.codes.pop(form.get("code", ""), ("", ""))
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not challenge or computed != challenge or form.get("redirect_uri") != redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "bad code or PKCE"}
            return 200, self._issue()
        if grant == "refresh_token":
            issued = self.refresh.get(form.get("refresh_token", ""))
            if issued is None or issued.revoked:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "The refresh token has been revoked.",
                }
            return 200, self._issue(with_refresh=False)
        return 400, {"error": "unsupported_grant_type"}

    def authorize(self, query: dict[str, str]) -> str:
        """The person approves at once: the redirect back with a code and the state."""
        assert query.get("client_id") == CLIENT_ID
        assert query.get("code_challenge_method") == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = (query["code_challenge"], query["redirect_uri"])
        return query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})


def start_oauth_server(server: OAuthServer) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            path = urlsplit(self.path).path
            if path == "/device":
                self._json(*server.device_authorization(form))
            elif path == "/token":
                self._json(*server.token(form))
            else:
                self._json(404, {"error": "not_found"})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                self.send_response(302)
                self.send_header("Location", server.authorize(query))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(200, {"page": "activate"})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


def oauth_table(server: OAuthServer, **extra: Any) -> dict[str, Any]:
    """The `[oauth]` table of a profile that signs in with `server`."""
    return {
        "provider": "custom",
        "client_id": CLIENT_ID,
        "authorization_url": f"{server.url}/authorize",
        "token_url": f"{server.url}/token",
        "device_authorization_url": f"{server.url}/device",
        "scopes": "https://mail.example/smtp offline_access",
        **extra,
    }
