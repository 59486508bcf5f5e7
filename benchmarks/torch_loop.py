"""The PyTorch side of the side-by-side benchmarks: one training loop for any network,
driven the way handwriting's Network.fit is (shuffled by a NumPy generator, the learning
rate set by the same schedule before every step)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np


def train_epochs(
    net,
    opt,
    schedule: Callable[[float], float],
    ds,
    batch_size: int,
    epochs: int,
    seed: int,
    image_shape: tuple[int, ...],
) -> Iterator[tuple[float, float]]:
    """Yields (seconds of training, test accuracy) after each epoch; the test pass is not timed."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(ds.x_train.reshape(-1, *image_shape))
    y = torch.from_numpy(ds.y_train)
    x_test = torch.from_numpy(ds.x_test.reshape(-1, *image_shape))
    y_test = torch.from_numpy(ds.y_test)
    rng = np.random.default_rng(seed)
    n = len(y)
    n_batches = -(-n // batch_size)
    for epoch in range(epochs):
        net.train()
        start = time.perf_counter()
        order = torch.from_numpy(rng.permutation(n))
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            for group in opt.param_groups:
                group["lr"] = schedule(epoch + b / n_batches)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
        seconds = time.perf_counter() - start
        yield seconds, float(predict(net, x_test).eq(y_test).float().mean())


def predict(net, x, batch_size: int = 500):
    """Most probable class of each row of ``x``, in evaluation mode, in batches."""
    import torch

    net.eval()
    with torch.no_grad():
        return torch.cat([net(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
