"""mailtui's own settings: `config.toml` in the config folder, beside `profiles/`.

The file is optional; a key it leaves out keeps its default. A file that cannot be used is
a `ConfigError` naming the file, the key and the fix, never a half-read configuration.
"""

from pathlib import Path
from typing import Any, NamedTuple

from tui.core import locations
from tui.core.profiles import kind_of, nearest
from tui.core.toml_files import TomlFileError, read_toml


class Config(NamedTuple):
    """The settings, each at its default unless config.toml says otherwise."""

    # As `mailtui sendmail --queue`: after a temporary failure the message waits in the
    # outbox (exit 0) instead of going back to the program that handed it over.
    sendmail_queue: bool = False
    # Seconds a `mailtui-sendmail` stays after sending, to take the next message without
    # starting again (tui/warm.py); 0 turns it off.
    sendmail_linger: float = 5.0


# key in the file -> (accepted type, description of the type, an example line)
_KEYS: dict[str, tuple[tuple[type, ...], str, str]] = {
    "sendmail_queue": ((bool,), "true or false", "sendmail_queue = true"),
    "sendmail_linger": ((int, float), "a number of seconds", "sendmail_linger = 5"),
}


class ConfigError(Exception):
    """A config.toml that cannot be used, with the key at fault and how to fix it."""

    def __init__(self, path: Path, key: str | None, problem: str) -> None:
        super().__init__(path, key, problem)
        self.path, self.key, self.problem = path, key, problem

    def __str__(self) -> str:
        where = f"{self.path}" + (f", key '{self.key}'" if self.key is not None else "")
        return f"{where}: {self.problem}"


def load_config(path: Path | None = None) -> Config:
    """The settings in config.toml (by default the one in the config folder); defaults for
    a missing file. Raises `ConfigError` for the first fault found."""
    path = path or locations.config_file()
    try:
        data, _info = read_toml(path)
    except FileNotFoundError:
        return Config()
    except TomlFileError as exc:
        raise ConfigError(path, None, exc.problem) from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate the parsed TOML of config.toml."""
    for key, value in data.items():
        if key not in _KEYS:
            near = nearest(key, list(_KEYS))
            hint = f"did you mean '{near}'?" if near else f"valid keys are {', '.join(_KEYS)}"
            raise ConfigError(path, key, f"unknown key; {hint}")
        wanted, description, example = _KEYS[key]
        if type(value) not in wanted:  # TOML's true is no number, nor 1 a true
            raise ConfigError(
                path, key, f"must be {description}, not {kind_of(value)}; write {example}"
            )
    linger = data.get("sendmail_linger", 0)
    if not 0 <= linger <= 3600:
        raise ConfigError(
            path,
            "sendmail_linger",
            "must be from 0 (off) to 3600 seconds; write sendmail_linger = 5",
        )
    return Config(**data)
