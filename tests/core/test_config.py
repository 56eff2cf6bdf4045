"""config.toml: optional, and a file that cannot be used names the file, the key and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.core.config import Config, ConfigError, load_config


def write_config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_file_is_the_defaults(home: Path) -> None:
    assert not (home / "config.toml").exists()
    assert load_config() == Config(sendmail_queue=False)


def test_the_file_sets_sendmail_queue(home: Path) -> None:
    write_config(home, "sendmail_queue = true\n")
    assert load_config().sendmail_queue is True
    write_config(home, "# nothing set yet\n")
    assert load_config() == Config()


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("sendmail_queue = yes\n", None, "is not valid TOML ("),
        ("sendmail_queue = true\nsendmail_queue = false\n", None, "fix the syntax"),
        ("sendmail_queu = true\n", "sendmail_queu", "did you mean 'sendmail_queue'?"),
        ("queue = true\n", "queue", "unknown key; "),
        ('sendmail_queue = "true"\n', "sendmail_queue", "must be true or false, not text"),
        ("sendmail_queue = 1\n", "sendmail_queue", "must be true or false, not a number"),
        ("x = " + "[" * 3000 + "]" * 3000 + "\n", None, "nested too deeply"),
    ],
    ids=["bad-toml", "twice", "typo", "unknown", "text", "number", "deep"],
)
def test_a_bad_file_is_one_sentence_naming_file_key_and_fix(
    home: Path, text: str, key: str | None, words: str
) -> None:
    path = write_config(home, text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    where = f"{path}, key '{key}': " if key is not None else f"{path}: "
    assert message.startswith(where), message
    assert words in message
    assert "\n" not in message


def test_the_fix_for_a_wrong_type_is_spelled_out(home: Path) -> None:
    write_config(home, 'sendmail_queue = "yes"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.key == "sendmail_queue"
    assert caught.value.problem == "must be true or false, not text; write sendmail_queue = true"


def test_a_folder_or_a_pipe_in_its_place_is_an_error_not_a_hang(home: Path) -> None:
    (home / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="not a regular file; make it a TOML file"):
        load_config()
    (home / "config.toml").rmdir()
    os.mkfifo(home / "config.toml")
    with pytest.raises(ConfigError, match="not a regular file; make it a TOML file"):
        load_config()


def test_it_is_read_from_the_config_folder(home: Path, tmp_path: Path) -> None:
    from tui.core import locations

    assert locations.config_file() == home / "config.toml"
    other = tmp_path / "elsewhere.toml"
    other.write_text("sendmail_queue = true\n")
    assert load_config(other).sendmail_queue is True
    assert load_config() == Config()
