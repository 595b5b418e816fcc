"""A counting SMTP sink for the benchmark: `python -m kabuguard.notifications.sink PORT`.

Prints "ready" once listening; when its stdin closes it prints how many messages it accepted
and the CPU seconds it used since "ready" (not its start-up), and exits.
"""

from __future__ import annotations

import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, _envelope: Envelope) -> str:
        self.count += 1
        return "250 OK"


def main(port: int) -> None:
    counter = _Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    started = time.process_time()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(counter.count, time.process_time() - started, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
