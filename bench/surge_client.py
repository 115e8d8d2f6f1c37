"""An open-loop HTTP/1.1 client on asyncio: requests leave at a fixed rate, whatever the server
does, as a flash crowd does (a closed-loop tool like wrk slows down with the server instead).

Keep-alive connections are reused when idle and opened when none is; each request has a
timeout. A reused connection that the server had closed meanwhile (its keep-alive timeout ran
out as the request left) is retried once on a new connection, as browsers and HTTP libraries
do: the server never read that request. Counted as `stale_connections_retried`; every other
failure is an answer with status 0. Its own CPU is measured, so a run shows the client was not
the bottleneck.
"""

import asyncio
import resource
import time
from dataclasses import dataclass


@dataclass
class Answer:
    number: int
    status: int  # 0: no answer (timeout or connection error)
    seconds: float
    body: bytes = b""
    error: str = ""


class StaleConnection(ConnectionError):
    """The connection was closed before any answer began: the request was not read."""


async def _exchange(reader, writer, request: bytes):
    try:
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
    except (ConnectionResetError, BrokenPipeError) as error:
        raise StaleConnection(str(error)) from error
    if not status_line:
        raise StaleConnection("closed before the status line")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionError(f"no status line: {status_line[:60]!r}")
    status = int(parts[1])
    length, keep, chunked = 0, True, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, (await reader.readexactly(length) if length else b""), keep
    body = b""
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        chunk = await reader.readexactly(size + 2)  # the chunk and its CRLF
        if size == 0:
            return status, body, keep
        body += chunk[:-2]


async def _run(host, port, path, bodies, rate, timeout, counts):
    idle: list = []
    answers: list[Answer] = []

    async def send(number: int, body: bytes):
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        started = time.perf_counter()
        connection = None
        try:
            reused = bool(idle)
            connection = idle.pop() if idle else await asyncio.open_connection(host, port)
            try:
                status, answer, keep = await asyncio.wait_for(
                    _exchange(*connection, request), timeout
                )
            except StaleConnection:
                if not reused:
                    raise
                counts["stale_connections_retried"] += 1
                connection[1].close()
                connection = await asyncio.open_connection(host, port)
                status, answer, keep = await asyncio.wait_for(
                    _exchange(*connection, request), timeout - (time.perf_counter() - started)
                )
            answers.append(Answer(number, status, time.perf_counter() - started, answer))
            if keep:
                idle.append(connection)
                connection = None
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as error:
            answers.append(
                Answer(number, 0, time.perf_counter() - started, error=type(error).__name__)
            )
        finally:
            if connection is not None:
                connection[1].close()

    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for number, body in enumerate(bodies):
        delay = start + number / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(number, body)))
    await asyncio.gather(*tasks)
    for _reader, writer in idle:
        writer.close()
    return answers


def open_loop(host: str, port: int, path: str, bodies: list[bytes], *, rate: float,
              timeout: float = 30.0) -> tuple[list[Answer], dict]:  # fmt: skip
    """Send the bodies at `rate` per second; the answers and the client's own costs."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    counts = {"stale_connections_retried": 0}
    answers = asyncio.run(_run(host, port, path, bodies, rate, timeout, counts))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return answers, {
        "wall_seconds": round(wall, 1),
        "client_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "sent_per_second": round(len(bodies) / wall, 1),
        **counts,
    }
