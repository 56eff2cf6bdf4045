"""Every path mailtui reads or writes, resolved in one place.

`MAILTUI_HOME`, when set, is the single root for profiles and data (tests and the
demo use it); otherwise the platform's user config and data folders are used.
Nothing here creates a file or folder at import time.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

APP_NAME = "mailtui"


def home() -> Path | None:
    """The `MAILTUI_HOME` root, or None when mailtui uses the platform folders."""
    value = os.environ.get("MAILTUI_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    root = home()
    if root is not None:
        return root
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    root = home()
    if root is not None:
        return root
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """The settings that are not a profile's (optional)."""
    return config_dir() / "config.toml"


def profiles_dir() -> Path:
    return config_dir() / "profiles"


def outbox_dir() -> Path:
    return data_dir() / "outbox"


def sent_dir() -> Path:
    return data_dir() / "sent"


def drafts_dir() -> Path:
    return data_dir() / "drafts"


def transcripts_dir() -> Path:
    return data_dir() / "transcripts"


def networks_file() -> Path:
    return data_dir() / "networks.json"


def dmarc_file() -> Path:
    """The From domains' DMARC policies looked up lately (a cache: safe to delete)."""
    return data_dir() / "dmarc.json"


def sent_copies_dir() -> Path:
    """Copies for the IMAP Sent folder that failed after their send, waiting for a retry."""
    return data_dir() / "sent-copies"


def provider_memory_file() -> Path:
    """Which profiles' providers file sent mail in Sent themselves (no copy needed)."""
    return data_dir() / "sent-copy.json"


def oauth_tokens_dir() -> Path:
    """OAuth2 tokens where no system keyring exists: one 0600 file per signed-in profile."""
    return data_dir() / "oauth"


class LinkedFolderError(OSError):
    """A folder mailtui keeps private files in is a symbolic link; it is not followed."""


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed; the folder itself is made 0700.

    A symbolic link in its place is refused, not followed: mailtui would chmod a folder
    elsewhere and file private mail into it. Only the roots (MAILTUI_HOME, the platform's
    config and data folders) may be links, as the person chose them.
    """
    follow = path in _roots()
    if not follow and path.is_symlink():
        raise _linked(path)
    path.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)  # a link put there since the check above
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_symlink():
            raise _linked(path) from None
        raise
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


def _linked(path: Path) -> LinkedFolderError:
    return LinkedFolderError(
        errno.ELOOP,
        f"{path} is a symbolic link, which mailtui does not follow for its private files; "
        "put a real folder in its place",
    )


def _roots() -> set[Path]:
    return {config_dir(), data_dir()}
