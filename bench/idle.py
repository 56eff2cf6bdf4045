"""Case 8: what the app costs while it sits open on its main screen and nobody types.

    uv run python bench/idle.py [--seconds 60] [--windows 3] [--sizes 80x24,160x48]

mailtui and the minimal Textual app (bench/peers/minimal_textual.py --stay: the same kinds
of widgets, the cursor in an input as mailtui's is in To) run side by side, each in a tmux
pane of the same size on a private tmux server, so both go through the same idle minutes and
a busy spell on the machine falls on both alike. Their CPU time (user + system, from
/proc/<pid>/stat) is read at the start and end of each window, once both have settled after
start-up. Prints one line per window and size, then "target = value; ok|NO" lines.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MAILTUI = str(Path(PYTHON).parent / "mailtui")
MINIMAL = str(ROOT / "bench" / "peers" / "minimal_textual.py")
TICK = os.sysconf("SC_CLK_TCK")
TARGET = 1.2
SETTLE_SECONDS = 5.0


def cpu_ticks(pid: int) -> int:
    """User + system time of a process so far, in clock ticks (its threads included)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


class Panes:
    """Processes in panes of a tmux server of their own, stopped together."""

    def __init__(self) -> None:
        self.socket = f"mailtui-bench-{os.getpid()}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def start(self, name: str, size: tuple[int, int], argv: list[str], env: dict[str, str]) -> int:
        """Run `argv` in a new session of `size`; its pid (exec'd: the pane's own process)."""
        setting = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f"exec env {setting} {shlex.join(argv)}"
        width, height = size
        out = self.tmux(
            "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
            "-P", "-F", "#{pane_pid}", command,
        )  # fmt: skip
        return int(out.strip())

    def text(self, name: str) -> str:
        return self.tmux("capture-pane", "-p", "-t", name)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def mailtui_home(folder: Path) -> Path:
    """Two profiles (neither is tried while idle), as a person's would be."""
    profiles = folder / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "home.toml").write_text(
        'name = "Home ISP"\nfrom = "jane@isp.example"\nhost = "127.0.0.1"\nport = 2525\n'
        'security = "none"\nauth = "none"\n'
    )
    (profiles / "work.toml").write_text(
        'name = "Work"\nfrom = "jane@work.example"\nhost = "127.0.0.1"\nport = 2587\n'
        'security = "none"\nauth = "none"\n'
    )
    return folder


def wait_until_shown(panes: Panes, name: str, pid: int, marker: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while marker not in panes.text(name):
        if not Path(f"/proc/{pid}").exists():
            raise RuntimeError(f"{name} ended before its first screen")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} showed no {marker!r} in {limit:.0f} s")
        time.sleep(0.2)


def measure(
    sizes: list[tuple[int, int]], seconds: float, windows: int
) -> list[tuple[str, int, int]]:
    """(size, mailtui ticks, minimal ticks) for each window and size."""
    panes = Panes()
    work = Path(tempfile.mkdtemp(prefix="mailtui-bench-idle-"))
    base = {
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    rows: list[tuple[str, int, int]] = []
    try:
        pids: dict[tuple[int, int], tuple[int, int]] = {}
        for width, height in sizes:
            label = f"{width}x{height}"
            home = mailtui_home(work / label)
            mine = panes.start(
                f"mailtui-{label}", (width, height), [MAILTUI], {**base, "MAILTUI_HOME": str(home)}
            )
            peer = panes.start(
                f"minimal-{label}", (width, height), [PYTHON, MINIMAL, "--stay"], base
            )
            wait_until_shown(panes, f"mailtui-{label}", mine, "Outbox")
            wait_until_shown(panes, f"minimal-{label}", peer, "Minimal")
            pids[(width, height)] = (mine, peer)
        time.sleep(SETTLE_SECONDS)  # start-up's own work (first layouts, the gc) is done
        for _window in range(windows):
            before = {size: (cpu_ticks(a), cpu_ticks(b)) for size, (a, b) in pids.items()}
            time.sleep(seconds)
            for size, (a, b) in pids.items():
                was = before[size]
                rows.append((f"{size[0]}x{size[1]}", cpu_ticks(a) - was[0], cpu_ticks(b) - was[1]))
    finally:
        panes.close()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def report(rows: list[tuple[str, int, int]], seconds: float) -> list[str]:
    """The windows one line each, then a target line per size (the median window's ratio)."""
    lines = []
    for size, mine, peer in rows:
        lines.append(
            f"idle {size}, {seconds:.0f} s: mailtui {mine} ticks ({mine / TICK:.2f} s CPU), "
            f"minimal Textual {peer} ticks ({peer / TICK:.2f} s) = {mine / max(peer, 1):.2f}×"
        )
    for size in dict.fromkeys(r[0] for r in rows):
        ratios = sorted(mine / max(peer, 1) for s, mine, peer in rows if s == size)
        median = ratios[len(ratios) // 2]
        spread = f"{ratios[0]:.2f}–{ratios[-1]:.2f}"
        lines.append(
            f"8. idle {size}: mailtui / minimal Textual CPU ≤ {TARGET} = {median:.2f} "
            f"(windows {spread}); {'ok' if median <= TARGET else 'NO'}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--sizes", default="80x24,160x48")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux): case 8 needs it")
    sizes = [(int(w), int(h)) for w, h in (s.split("x") for s in args.sizes.split(","))]
    for line in report(measure(sizes, args.seconds, args.windows), args.seconds):
        print(line, flush=True)


if __name__ == "__main__":
    main()
