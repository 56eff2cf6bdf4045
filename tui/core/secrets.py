"""Where a profile's password comes from, in the contract's order.

`password_command`, then the system keyring (service `mailtui`, user = profile id), then
`password` in the file, then a prompt. The secret itself never appears in an error.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from tui.core.profiles import Profile

KEYRING_SERVICE = "mailtui"
COMMAND_TIMEOUT = 15.0

Prompt = Callable[[Profile], str | None]


class SecretError(Exception):
    """The password could not be obtained; the message says why without revealing output."""


def run_password_command(profile: Profile) -> str:
    """Run `password_command` without a shell and return its first output line."""
    assert profile.password_command is not None
    return run_secret_command(profile.id, profile.password_command, "password_command", "password")


def run_secret_command(
    profile_id: str, command: str, key: str, what: str, timeout: float | None = None
) -> str:
    """Run a profile's `command` (its `key`: password_command, token_command) without a
    shell and return the first line it prints, the `what` it gives. Its output never
    appears in an error: it may hold the secret or part of it."""
    timeout = COMMAND_TIMEOUT if timeout is None else timeout
    try:
        import shlex  # only profiles with a command need it

        argv = shlex.split(command)
    except ValueError as exc:
        raise SecretError(
            f"{key} of profile {profile_id} cannot be parsed ({exc}); fix its quoting"
        ) from None
    if not argv:
        raise SecretError(f"{key} of profile {profile_id} is empty")
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise SecretError(
            f"{key} of profile {profile_id}: program '{argv[0]}' was not found"
        ) from None
    except subprocess.TimeoutExpired:
        raise SecretError(
            f"{key} of profile {profile_id} did not finish within {timeout:g} seconds"
        ) from None
    except OSError as exc:
        raise SecretError(f"{key} of profile {profile_id} could not run ({exc.strerror})") from None
    if done.returncode != 0:
        raise SecretError(f"{key} of profile {profile_id} failed with exit code {done.returncode}")
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0].strip():
        raise SecretError(f"{key} of profile {profile_id} printed no {what}")
    return lines[0].strip() if key == "token_command" else lines[0]


def keyring_password(profile_id: str) -> str | None:
    """The password stored in the system keyring, or None when there is none or no keyring."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, profile_id)
    except (KeyringError, RuntimeError, OSError):
        return None


def resolve_password(profile: Profile, prompt: Prompt | None = None) -> str:
    """The profile's password from the first source that has one."""
    if profile.password_command:
        return run_password_command(profile)
    stored = keyring_password(profile.id)
    if stored:
        return stored
    if profile.password is not None:
        return profile.password
    if prompt is not None:
        typed = prompt(profile)
        if typed:
            return typed
    raise SecretError(
        f"profile {profile.id} has no password: set password_command, store one in the "
        "keyring, or run mailtui where it can prompt"
    )


def store_in_keyring(profile_id: str, password: str) -> str | None:
    """Keep the password in the system keyring; returns why it could not, or None."""
    fallback = (
        "set a password command instead (for example: pass show mail), or leave the password "
        "empty to be asked for it when sending"
    )
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return f"No system keyring is available here; {fallback}."
    try:
        keyring.set_password(KEYRING_SERVICE, profile_id, password)
        stored = keyring.get_password(KEYRING_SERVICE, profile_id)
    except (KeyringError, RuntimeError, OSError):
        stored = None
    if stored != password:
        backend = type(keyring.get_keyring()).__name__
        return f"No usable system keyring is available here ({backend}); {fallback}."
    return None
