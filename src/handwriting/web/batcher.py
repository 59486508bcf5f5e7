"""Dynamic batching: the digits of requests waiting for the network share one forward pass.

A forward pass of the shipped CNN costs 1.2 ms for the 2 digits of one request, and 0.24 ms a
digit in a batch of 100 (2 cores), so a server classifying each request alone spends more than
half of that on fixed costs. Here requests hand their digits to a ``Batcher`` and await them:

- one pass runs at a time, in a worker thread; whatever arrives during it is the next batch;
- a request that finds the network idle goes at once, unless other requests are still being
  decoded (inside ``expecting()``): then it waits for them, at most ``wait_s``.

So a lone client never waits, and under load the network sees the digits of many requests.
Decoding, not the network, is what limits a server on 2 cores, so the wait is set by what it
saves there: with 50 clients, a 30 ms wait gathered 3.7 requests a pass (3 ms: 1.1) and cut
the server's CPU time per request by 13%; 20 ms is the middle ground.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import numpy as np
from starlette.concurrency import run_in_threadpool

WAIT_S = 0.02  # longest a batch waits for requests still being decoded (see the module doc)
MAX_BATCH = 512  # most digits in one pass


class Batcher:
    """Gathers ``predict(x)`` calls from many requests into one call on their rows stacked."""

    def __init__(
        self, predict: Callable[[np.ndarray], np.ndarray], wait_s: float = WAIT_S, max_batch: int = MAX_BATCH
    ) -> None:
        self.predict, self.wait_s, self.max_batch = predict, wait_s, max_batch
        self.passes = 0  # forward passes run: fewer than requests means batching happened
        self._queue: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self._coming = 0
        self._arrived = asyncio.Event()
        self._running: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def expecting(self) -> Iterator[None]:
        """Around a request's decoding: a pass about to start waits (briefly) for it."""
        self._coming += 1
        try:
            yield
        finally:
            self._coming -= 1
            self._arrived.set()

    async def __call__(self, x: np.ndarray) -> np.ndarray:
        """``predict(x)``, computed in a pass shared with the other requests waiting."""
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.append((x, future))
        self._arrived.set()
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await self._gather()
        while self._queue:
            batch = self._take()
            if not batch:  # all of them gave up waiting
                continue
            try:
                proba = await run_in_threadpool(self.predict, np.concatenate([x for x, _ in batch]))
            except Exception as e:  # every request of the pass gets the error (the app words it)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            self.passes += 1
            ends = np.cumsum([len(x) for x, _ in batch])
            for (_, future), rows in zip(batch, np.split(proba, ends[:-1]), strict=True):
                if not future.done():  # a request past its deadline has cancelled its future
                    future.set_result(rows)

    async def _gather(self) -> None:
        """Wait, at most ``wait_s``, while announced requests are still on their way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while self._coming > 0 and len(self._queue) < self.max_batch:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except asyncio.TimeoutError:
                return

    def _take(self) -> list[tuple[np.ndarray, asyncio.Future[np.ndarray]]]:
        """The next batch: queued requests, oldest first, up to ``max_batch`` digits (at least one)."""
        batch, n = [], 0
        while self._queue and (not batch or n + len(self._queue[0][0]) <= self.max_batch):
            x, future = self._queue.pop(0)
            if not future.cancelled():
                batch.append((x, future))
                n += len(x)
        return batch
