"""Dynamic batching: requests waiting together share one forward pass, each gets its own rows."""

import asyncio
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")
from handwriting.web.batcher import Batcher


class Network:
    """A stand-in network: row i of the answer is the sum of digit i's pixels; passes are logged."""

    def __init__(self, fail: bool = False) -> None:
        self.passes: list[int] = []
        self.fail = fail

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.fail:
            raise ValueError("the network broke")
        self.passes.append(len(x))
        return x.sum(axis=(1, 2))[:, None]


def digits(n: int, value: float) -> np.ndarray:
    return np.full((n, 28, 28), value, np.float32)


async def request(batcher: Batcher, x: np.ndarray, decode_s: float) -> np.ndarray:
    with batcher.expecting():
        await asyncio.sleep(decode_s)  # decoding, in the app a worker thread
    return await batcher(x)


def test_requests_decoded_together_share_one_pass_and_get_their_own_rows():
    network = Network()

    async def main():
        batcher = Batcher(network, wait_s=5.0)
        return await asyncio.gather(*(request(batcher, digits(i + 1, i), 0.01 * i) for i in range(4)))

    answers = asyncio.run(main())
    assert network.passes == [1 + 2 + 3 + 4]  # the first waited for the three still decoding
    for i, rows in enumerate(answers):
        assert rows.shape == (i + 1, 1) and np.all(rows == 784 * i)


def test_a_lone_request_does_not_wait_and_the_wait_is_bounded():
    network = Network()

    async def lone():
        return await request(Batcher(network, wait_s=5.0), digits(2, 1), 0)

    start = time.perf_counter()
    asyncio.run(lone())
    assert time.perf_counter() - start < 1.0  # nobody else expected: no 5 s wait

    async def with_a_straggler():
        batcher = Batcher(network, wait_s=0.05)
        return await asyncio.gather(request(batcher, digits(1, 1), 0), request(batcher, digits(1, 2), 1.0))

    asyncio.run(with_a_straggler())
    assert network.passes[-2:] == [1, 1]  # the first went without the straggler after 50 ms


def test_a_failed_pass_reaches_every_request_in_it():
    async def main():
        batcher = Batcher(Network(fail=True), wait_s=5.0)
        return await asyncio.gather(
            request(batcher, digits(1, 1), 0), request(batcher, digits(1, 2), 0.01), return_exceptions=True
        )

    assert [str(e) for e in asyncio.run(main())] == ["the network broke"] * 2


def test_a_request_that_gave_up_is_left_out_of_the_pass():
    network = Network()

    async def main():
        batcher = Batcher(network, wait_s=5.0)
        quitter = asyncio.create_task(request(batcher, digits(3, 1), 0))
        stayer = asyncio.create_task(request(batcher, digits(1, 2), 0.05))
        await asyncio.sleep(0.01)
        quitter.cancel()  # past its deadline while waiting for the pass
        return await stayer

    assert np.all(asyncio.run(main()) == 2 * 784) and network.passes == [1]
