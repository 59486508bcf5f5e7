"""`handwriting serve` under load and under abuse, on loopback: throughput, latency, errors and
the server's memory, with the load generator on the same machine.

The server is started as a user starts it (``python -m handwriting serve``, one process unless
``--workers``); its resident memory is sampled from /proc every 5 ms. Every scenario is bounded
in requests and seconds. Each prints requests answered per second, p50/p99 latency, the status
codes seen, the server's peak RSS during it, and ``/healthz``'s worst latency while it ran:

- 1 client vs 50 clients sending a 300x150 PNG of two digits back to back (same run);
- a fixed rate of half the 50-client throughput (open loop: latency counts from the moment a
  request was due, so a stalled server cannot hide its queue);
- a flood of 20 parallel 5000x5000 (25-Mpx) uploads, and the RSS 3 s afterwards;
- a 5 MB form of ~75,000 parts;
- slow clients (headers, or a body, one byte every 0.5 s) while one client reads normally;
- 600 idle connections, then a normal request, and how long the server keeps them open.

    python benchmarks/serve_load.py [--requests 1500] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
from PIL import Image

from handwriting.imaging.synthetic import render

HOST = "127.0.0.1"


# -- the requests -------------------------------------------------------------------------


def two_digits() -> bytes:
    """The issue's request: a 300x150 PNG with two handwritten digits."""
    image = render("47", height=75, margin=0.6).resize((300, 150))
    return _png(image)


def huge() -> bytes:
    """A 5000x5000 (25-Mpx) PNG: a few digits on white paper, ~100 KB compressed."""
    page = Image.new("L", (5000, 5000), 245)
    page.paste(render("2026", height=400), (800, 2000))
    return _png(page)


def many_parts(size: int = 5_000_000) -> tuple[bytes, str]:
    """A multipart form of about ``size`` bytes made of tiny fields."""
    boundary = uuid.uuid4().hex
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'.encode()
    body = part * (size // len(part)) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def http(method: str, path: str, body: bytes = b"", content_type: str = "image/png") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
    if body:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


# -- a small keep-alive HTTP/1.1 client (the load generator must cost little CPU) ---------


class Connection:
    def __init__(self, port: int) -> None:
        self.port, self.reader, self.writer = port, None, None

    async def ask(self, request: bytes) -> int:
        """Send one request, read its whole answer; the status (0: connection failed). A kept-alive
        connection the server has closed meanwhile is retried once on a new one, as browsers do."""
        reused = self.writer is not None
        status = await self._ask(request)
        if status == 0 and reused:
            status = await self._ask(request)
        return status

    async def _ask(self, request: bytes) -> int:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            await self.reader.readexactly(int(headers.get("content-length", 0)))
            if headers.get("connection") == "close":
                self.close()
            return int(lines[0].split()[1])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.close()
            return 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Tally:
    """Latencies and status codes of one scenario."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.start, self.end = time.perf_counter(), 0.0

    def add(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.latencies.append(seconds)

    def stop(self) -> Tally:
        self.end = time.perf_counter()
        return self

    def rate(self) -> float:
        return len(self.latencies) / ((self.end or time.perf_counter()) - self.start)

    def summary(self) -> str:
        codes = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        if not self.latencies:
            return f"no 200s  [{codes}]"
        p50, p99 = np.percentile(self.latencies, [50, 99]) * 1000
        return f"{self.rate():7.1f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  [{codes}]"


# -- watching the server ------------------------------------------------------------------


class Memory:
    """The server's resident memory (its worker processes' too), sampled every 5 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        threading.Thread(target=self._watch, daemon=True).start()

    def now(self) -> int:
        return sum(_rss(pid) for pid in _tree(self.pid))

    def _watch(self) -> None:
        while True:  # until the server is gone
            try:
                self.peak = max(self.peak, self.now())
            except OSError:
                return
            time.sleep(0.005)

    def reset(self) -> None:
        self.peak = self.now()


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return [pid]
    return [pid] + [p for c in children for p in _tree(c)]


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


class Health:
    """``/healthz`` asked every 50 ms on its own connection while a scenario runs."""

    def __init__(self, port: int) -> None:
        self.port, self.worst, self.failed = port, 0.0, 0

    async def probe(self, stop: asyncio.Event) -> None:
        connection = Connection(self.port)
        while not stop.is_set():
            start = time.perf_counter()
            if await connection.ask(http("GET", "/healthz")) != 200:
                self.failed += 1
            self.worst = max(self.worst, time.perf_counter() - start)
            await asyncio.sleep(0.05)
        connection.close()

    def summary(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"/healthz worst {self.worst * 1000:.0f} ms{failed}"


async def scenario(name: str, port: int, memory: Memory, work) -> object:
    """Run ``work()`` with /healthz probed and memory watched; print one line."""
    memory.reset()
    health, stop = Health(port), asyncio.Event()
    probe = asyncio.create_task(health.probe(stop))
    result = await work()
    if isinstance(result, Tally):
        result.stop()
    stop.set()
    await probe
    shown = result.summary() if isinstance(result, Tally) else str(result)
    print(f"{name:34s} {shown}  peak RSS {memory.peak / 2**20:,.0f} MB  {health.summary()}", flush=True)
    return result


# -- the scenarios ------------------------------------------------------------------------


async def closed_loop(port: int, clients: int, requests: int, seconds: float, body: bytes) -> Tally:
    """``clients`` each sending ``body`` back to back, until ``requests`` or ``seconds``."""
    tally, request = Tally(), http("POST", "/api/recognize", body)
    left, deadline = [requests], time.perf_counter() + seconds

    async def client() -> None:
        connection = Connection(port)
        while left[0] > 0 and time.perf_counter() < deadline:
            left[0] -= 1
            start = time.perf_counter()
            tally.add(await connection.ask(request), time.perf_counter() - start)
        connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return tally


async def open_loop(port: int, rate: float, seconds: float, body: bytes) -> Tally:
    """Requests due every 1/``rate`` s whatever the answers; latency counted from when due."""
    tally, request, idle = Tally(), http("POST", "/api/recognize", body), []
    start = time.perf_counter()

    async def one(due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        connection = idle.pop() if idle else Connection(port)
        tally.add(await connection.ask(request), time.perf_counter() - due)
        idle.append(connection)

    await asyncio.gather(*(one(start + i / rate) for i in range(int(rate * seconds))))
    for connection in idle:
        connection.close()
    return tally


async def together(port: int, requests: list[bytes]) -> Tally:
    """Every request at once, each on its own connection."""
    tally = Tally()

    async def one(request: bytes) -> None:
        connection, start = Connection(port), time.perf_counter()
        tally.add(await connection.ask(request), time.perf_counter() - start)
        connection.close()

    await asyncio.gather(*(one(r) for r in requests))
    return tally


async def trickle(port: int, head: bytes, rest: bytes, cut: list[float]) -> None:
    """Send ``head`` at once, then ``rest`` one byte every 0.5 s; append to ``cut`` the seconds
    until the server answered or closed the connection (nothing, if it never did)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    start = time.perf_counter()
    try:
        writer.write(head)
        for byte in rest:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(1024), 0.5)  # data or EOF: the server acted
                cut.append(time.perf_counter() - start)
                return
            except asyncio.TimeoutError:
                pass
    except OSError:
        cut.append(time.perf_counter() - start)
    finally:
        writer.close()


async def slow_clients(port: int, body: bytes, n: int = 20, seconds: float = 35.0) -> str:
    """``n`` clients trickling their headers and ``n`` trickling a body while one normal client
    reads for ``seconds``: the normal client's figures, and when the server cut the slow ones."""
    request = http("POST", "/api/recognize", body)
    split = request.index(b"\r\n\r\n") + 4
    headers_cut: list[float] = []
    body_cut: list[float] = []
    slow = [asyncio.create_task(trickle(port, b"", request, headers_cut)) for _ in range(n)]
    slow += [asyncio.create_task(trickle(port, request[:split], request[split:], body_cut)) for _ in range(n)]
    normal = await closed_loop(port, 1, 100_000, seconds, body)
    for task in slow:
        task.cancel()
    await asyncio.gather(*slow, return_exceptions=True)
    cuts = f"slow headers cut: {_cuts(headers_cut, n)}, slow bodies cut: {_cuts(body_cut, n)}"
    return f"{normal.summary()}  {cuts}"


def _cuts(cut: list[float], n: int) -> str:
    return f"{len(cut)}/{n}" + (f" after {min(cut):.0f}-{max(cut):.0f} s" if cut else "")


async def idle_connections(port: int, body: bytes, n: int = 600, wait: float = 40.0) -> str:
    """Open ``n`` connections that send nothing, then ask normally; then wait up to ``wait`` s
    for the server to close the idle ones."""
    opened = []
    for _ in range(n):
        try:
            opened.append(await asyncio.open_connection(HOST, port))
        except OSError:
            break
    start, closed, served = time.perf_counter(), 0, None
    tally = Tally()
    while served is None and time.perf_counter() - start < wait:
        asked, connection = time.perf_counter(), Connection(port)
        status = await connection.ask(http("POST", "/api/recognize", body))
        connection.close()
        tally.add(status, time.perf_counter() - asked)
        if status == 200:
            served = time.perf_counter() - start
        else:
            await asyncio.sleep(0.25)
    while time.perf_counter() - start < wait:
        closed = sum(reader.at_eof() for reader, _ in opened)
        if closed == len(opened):
            break
        await asyncio.sleep(0.25)
        for reader, _ in opened:  # let EOFs be noticed
            if not reader.at_eof():
                with contextlib.suppress(asyncio.TimeoutError, OSError):
                    await asyncio.wait_for(reader.read(1), 0.001)
    for _, writer in opened:
        writer.close()
    took = f"all closed after {time.perf_counter() - start:.0f} s" if closed == len(opened) else "still open"
    first = f"first 200 after {served:.1f} s" if served is not None else "no 200"
    codes = " ".join(f"{k}:{v}" for k, v in sorted(tally.statuses.items()))
    return f"{len(opened)} idle, then asking: {first} [{codes}]; idle ones: {closed}/{len(opened)} {took}"


# -- running it -----------------------------------------------------------------------------


def start_server(workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "handwriting", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the server did not start: {server.stdout.read() if server.stdout else ''}")


async def run(args: argparse.Namespace) -> None:
    server, port = start_server(args.workers)
    memory = Memory(server.pid)
    body = two_digits()
    try:
        await closed_loop(port, 4, 40, 30.0, body)  # warm up: model, caches, threads
        idle = memory.now()
        print(f"idle RSS {idle / 2**20:,.0f} MB; request: {len(body):,}-byte 300x150 PNG of two digits")
        n = args.requests
        one = await scenario("1 client", port, memory, lambda: closed_loop(port, 1, n // 3, 30.0, body))
        many = await scenario(
            "50 clients", port, memory, lambda: closed_loop(port, 50, args.requests, 30.0, body)
        )
        print(f"{'':34s} 50 clients / 1 client: {many.rate() / one.rate():.2f}x")
        if args.quick:
            return
        half = many.rate() / 2
        await scenario(f"fixed rate {half:.0f}/s", port, memory, lambda: open_loop(port, half, 10.0, body))
        flood = [http("POST", "/api/recognize", huge())] * 20
        await scenario("20 parallel 25-Mpx uploads", port, memory, lambda: together(port, flood))
        await asyncio.sleep(3)
        print(f"{'':34s} RSS 3 s later {memory.now() / 2**20:,.0f} MB ({memory.now() / idle:.1f}x idle)")
        form, kind = many_parts()
        parts = [http("POST", "/api/recognize", form, kind)]
        name = f"one {len(form) / 1e6:.1f} MB form of many parts"
        await scenario(name, port, memory, lambda: together(port, parts))
        await scenario("slow clients", port, memory, lambda: slow_clients(port, body))
        await scenario("idle connections", port, memory, lambda: idle_connections(port, body))
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests of the 50-client run")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--quick", action="store_true", help="only 1 vs 50 clients")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; server: handwriting serve --workers {args.workers}; client: this process")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
