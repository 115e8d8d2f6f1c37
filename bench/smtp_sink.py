"""A counting SMTP sink in its own process, so the benchmark's sender has the CPU to itself.

    python bench/smtp_sink.py PORT COUNTS_FILE

Appends "C" to COUNTS_FILE for every connection and "M" for every message accepted.
"""

import sys
import time

from aiosmtpd.controller import Controller


def main():
    port, counts_path = int(sys.argv[1]), sys.argv[2]
    counts = open(counts_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            counts.write("M\n")
            return "250 OK"

    class CountingController(Controller):
        def factory(self):
            counts.write("C\n")
            return super().factory()

    controller = CountingController(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
