"""`mailtui` and `python -m tui`: start the command line with garbage collection paused.

A command is a short process that spends much of its life loading modules; the collector,
run while they load, only walks the objects they are creating and frees none of them. The
command line resumes it (with everything loaded by then frozen out of its way) as soon as a
command starts its work (tui.cli._run), and the app once its first screen is up.
"""

import gc
import sys


def run() -> int:
    if sys.argv[1:2] == ["sendmail"]:
        return _sendmail(sys.argv[2:])
    gc.disable()
    try:
        from tui.cli import main

        return main()
    finally:
        gc.enable()  # for commands that never reached their work (and for callers of run())


def run_sendmail() -> int:
    """`mailtui-sendmail`: the same as `mailtui sendmail`, for tools that want a program."""
    return _sendmail(sys.argv[1:])


def _sendmail(args: list[str]) -> int:
    """Handed to a warm sendmail when one waits (tui/warm.py), else sent here, after which
    this process stays warm for the next call."""
    from tui.warm import hand_over

    code, stdin = hand_over(args)
    if code is not None:
        return code
    gc.disable()
    try:
        from tui.sendmail_cli import main

        code = main(args, stdin=stdin)
    finally:
        gc.enable()
    from tui.warm_serving import linger

    linger()
    return code


if __name__ == "__main__":
    sys.exit(run())
