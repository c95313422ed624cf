"""Run a started stack in the foreground until Ctrl-C (make run, make cluster).

One loop for both: print where everything is, watch that no server has died,
rotate quiet logs daily, and stop every server on SIGINT or SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import time
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    from clinic_bot.launcher import Stack


def serve_in_foreground(stack: "Stack", extra_lines: List[str]) -> int:
    """Start `stack`, print its addresses and keep it up until Ctrl-C; 1 if it failed to start."""
    try:
        stack.start()
    except Exception as exc:
        print(f"error: {exc}\nlogs: {stack.var_dir / 'logs'}", file=sys.stderr)
        return 1
    print("\nThe assistant is running (Ctrl-C stops everything):")
    for svc in stack.services:
        print(f"  {svc.name:<24} {svc.public_url}")
    for line in extra_lines:
        print(f"  {line}")
    print("  HTTP API                 JWT: .venv/bin/python -m clinic_bot.rasa_api token")
    print(f"  logs                     {stack.var_dir / 'logs'}")
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        last_log_check = time.monotonic()
        while not stop["now"]:
            for svc in stack.services:
                if svc.proc and svc.proc.poll() is not None:
                    print(f"error: {svc.name} exited (code {svc.proc.returncode}); see logs", file=sys.stderr)
                    stop["now"] = True
            if time.monotonic() - last_log_check > 60:
                stack.maintain_logs()
                last_log_check = time.monotonic()
            time.sleep(0.5)
    finally:
        print("\n==> stopping")
        stack.stop()
    return 0
