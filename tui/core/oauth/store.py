"""Where a profile's OAuth2 tokens are kept between sends.

In the system keyring (service `mailtui-oauth`, user = profile id) as one small JSON record;
where no keyring works (a headless machine), in a 0600 file under the data folder, written
atomically. The record holds the refresh token, and the access token with its expiry so
that a send within the hour needs no trip to the provider.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from tui.core import locations
from tui.core.files import exclusive_lock, write_private

KEYRING_SERVICE = "mailtui-oauth"
# An access token this close to its expiry is renewed before a send rather than risked.
EXPIRY_MARGIN = 60.0


class StoredTokens(NamedTuple):
    """One profile's tokens; the access token is only worth its `expires_at` (epoch s)."""

    refresh_token: str | None
    access_token: str | None = None
    expires_at: float | None = None

    def __repr__(self) -> str:  # never a token, whatever prints it
        return f"StoredTokens(expires_at={self.expires_at!r})"

    def fresh_access_token(self, now: float | None = None) -> str | None:
        """The access token if it stays valid for a while yet, else None."""
        if self.access_token is None:
            return None
        if self.expires_at is None:
            return self.access_token
        now = time.time() if now is None else now
        return self.access_token if self.expires_at - EXPIRY_MARGIN > now else None

    def to_json(self) -> str:
        return json.dumps(self._asdict())

    @classmethod
    def from_json(cls, text: str) -> StoredTokens | None:
        try:
            data: Any = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        refresh, access, expires = (
            data.get("refresh_token"),
            data.get("access_token"),
            data.get("expires_at"),
        )
        if not isinstance(refresh, str | None) or not isinstance(access, str | None):
            return None
        if not isinstance(expires, int | float | None) or isinstance(expires, bool):
            return None
        return cls(refresh, access, None if expires is None else float(expires))


def token_file(profile_id: str) -> Path:
    return locations.oauth_tokens_dir() / f"{profile_id}.json"


@contextlib.contextmanager
def locked(profile_id: str, timeout: float = 30.0) -> Iterator[None]:
    """One process at a time reads, renews and writes a profile's tokens: a provider that
    rotates refresh tokens would otherwise see the older one reused."""
    with exclusive_lock(locations.oauth_tokens_dir() / f".{profile_id}.lock", timeout):
        yield


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def load(profile_id: str) -> StoredTokens | None:
    """The profile's tokens, from the keyring, else from the file; None when signed out."""
    keyring = _keyring()
    if keyring is not None:
        try:
            text = keyring.get_password(KEYRING_SERVICE, profile_id)
        except Exception:  # any backend failing means "no keyring here"
            text = None
        if text:
            return StoredTokens.from_json(text)
    try:
        return StoredTokens.from_json(token_file(profile_id).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError):
        return None


def save(profile_id: str, tokens: StoredTokens) -> str:
    """Keep `tokens`; returns where, in words ("the system keyring" or the file's path)."""
    text = tokens.to_json()
    keyring = _keyring()
    if keyring is not None:
        try:
            keyring.set_password(KEYRING_SERVICE, profile_id, text)
            kept = keyring.get_password(KEYRING_SERVICE, profile_id) == text
        except Exception:
            kept = False
        if kept:
            token_file(profile_id).unlink(missing_ok=True)
            return "the system keyring"
    path = token_file(profile_id)
    write_private(path, text.encode("utf-8"))
    return str(path)


def forget(profile_id: str) -> bool:
    """Remove the profile's tokens from the keyring and the file; True if there were any."""
    had = load(profile_id) is not None
    keyring = _keyring()
    if keyring is not None:
        with contextlib.suppress(Exception):
            keyring.delete_password(KEYRING_SERVICE, profile_id)
    path = token_file(profile_id)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        had = True
    return had
