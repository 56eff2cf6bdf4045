"""`mailtui` and `python -m tui`: start the command line with garbage collection paused.

A command is a short process that spends much of its life loading modules; the collector,
run while they load, only walks the objects they are creating and frees none of them. The
command line resumes it (with everything loaded by then frozen out of its way) as soon as a
command starts its work (tui.cli._run), and the app once its first screen is up.
"""

import gc
import sys


def run() -> int:
    gc.disable()
    try:
        from tui.cli import main

        return main()
    finally:
        gc.enable()  # for commands that never reached their work (and for callers of run())


def run_sendmail() -> int:
    """`mailtui-sendmail`: the same as `mailtui sendmail`, for tools that want a program."""
    gc.disable()
    try:
        from tui.sendmail_cli import main

        return main()
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(run())
