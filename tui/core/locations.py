"""Every path mailtui reads or writes, resolved in one place.

`MAILTUI_HOME`, when set, is the single root for profiles and data (tests and the
demo use it); otherwise the platform's user config and data folders are used.
Nothing here creates a file or folder at import time.
"""

from __future__ import annotations

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


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed; the folder itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
