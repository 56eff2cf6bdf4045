"""Case 7 of bench/run.py: `git send-email` of a patch series, with mailtui-sendmail as its
sendmail command against msmtp as a person would set it up (~/.msmtprc, one account).

git send-email runs its sendmail command once per patch, so the case measures what a
sendmail costs per message, start-up included, the way a maintainer meets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FROM = "Bench <bench@example.org>"  # the "bench" profile's address
MSMTPRC = """\
account default
host 127.0.0.1
port {port}
from bench@example.org
auth off
tls off
"""
# A sendmail that only reads the message: what git send-email itself costs.
NULL_SENDMAIL = "#!/bin/sh\nexec cat >/dev/null\n"


def available() -> str | None:
    """Why the case cannot run here, or None."""
    git = shutil.which("git")
    if git is None:
        return "git is not installed"
    exec_path = subprocess.run([git, "--exec-path"], capture_output=True, text=True).stdout
    if not (Path(exec_path.strip()) / "git-send-email").is_file():
        return "git send-email is not installed (bash tests/interop/setup_clients.sh)"
    if shutil.which("msmtp") is None:
        return "msmtp is not installed (bash tests/interop/setup_clients.sh)"
    return None


def make_series(folder: Path, count: int) -> list[Path]:
    """A repository of `count` small commits and their series from `git format-patch`."""
    repo = folder / "repo"
    repo.mkdir(parents=True)
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(folder),
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)

    git("init", "-q")
    for number in range(count + 1):  # the first commit is the base the series applies to
        (repo / f"file{number % 7}.txt").write_text(
            "".join(f"line {line} of change {number}\n" for line in range(40))
        )
        git("add", ".")
        git("commit", "-q", "-m", f"Change {number}\n\nWhy change {number} is needed.")
    git("format-patch", "-q", f"-{count}", "-o", str(folder / "series"))
    return sorted((folder / "series").glob("*.patch"))


def tools(
    folder: Path, port: int, env: dict[str, str], sendmail: str, count: int
) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """The three ways to send the series, for bench/run.py's `interleaved`."""
    patches = make_series(folder, count)
    home = folder / "home"  # msmtp reads ~/.msmtprc, git ~/.gitconfig: none of the person's
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.org\n")
    (home / ".msmtprc").write_text(MSMTPRC.format(port=port))
    (home / ".msmtprc").chmod(0o600)
    null = folder / "null-sendmail"
    null.write_text(NULL_SENDMAIL)
    null.chmod(0o755)
    git_env = {**env, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}

    def send_email(command: str) -> list[str]:
        return [
            "git",
            "send-email",
            "--quiet",
            "--confirm=never",
            "--suppress-cc=all",
            "--to=bob@example.org",
            f"--from={FROM}",
            f"--sendmail-cmd={command}",
            *map(str, patches),
        ]

    return {
        "mailtui-sendmail": (send_email(sendmail), git_env),
        "msmtp": (send_email(str(shutil.which("msmtp"))), git_env),
        "cat > /dev/null (git's own share)": (send_email(str(null)), git_env),
    }
