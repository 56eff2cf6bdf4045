"""Reading a TOML file mailtui is configured by (a profile, config.toml), safely.

A named pipe, a folder, bad bytes, bad syntax or a hostile file (a 5,000-digit number,
lists nested 3,000 deep) each become one `TomlFileError` saying what to do; the caller adds
the file's name and its own error type.
"""

import os
import stat
import tomllib
from pathlib import Path
from typing import Any


class TomlFileError(Exception):
    """A TOML file that cannot be read or parsed; `problem` says why and what to do."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def read_toml(path: Path) -> tuple[dict[str, Any], os.stat_result]:
    """The parsed TOML of a regular file, and its status (for the permission checks).

    Every way the file can be unusable is a `TomlFileError`, except a missing file:
    its `FileNotFoundError` passes through, as a missing file may be fine."""
    try:
        # Non-blocking: a named pipe in its place must not hang mailtui.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise TomlFileError("is not a regular file; make it a TOML file")
            raw = handle.read()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise TomlFileError("is a folder, not a regular file; make it a TOML file") from None
    except OSError as exc:
        raise TomlFileError(f"cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8")), info
    except UnicodeDecodeError:
        raise TomlFileError("is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"is not valid TOML ({exc}); fix the syntax") from None
    except ValueError:  # an integer longer than Python converts (4300 digits)
        raise TomlFileError("has a number too long to read; shorten it or fix the syntax") from None
    except RecursionError:
        raise TomlFileError(
            "has lists or tables nested too deeply to read; fix the syntax"
        ) from None
