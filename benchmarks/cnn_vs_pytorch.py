"""The PyTorch `examples/mnist` network trained with handwriting (NumPy) and with PyTorch on
the CPU, in one run, epochs interleaved: seconds per epoch of each and their ratio, test
accuracy, and inference speed (test images per second).

    pip install -r benchmarks/requirements.txt
    python benchmarks/cnn_vs_pytorch.py --data-dir ../shared/data/mnist [--epochs 2]

The network: conv 32 3x3, ReLU, conv 64 3x3, ReLU, max-pool 2, dropout 0.25, fc 9216-128,
ReLU, dropout 0.5, fc 10; batch 64. Both sides use the same recipe (SGD, momentum 0.9,
lr 0.01 cosine-annealed per step; PyTorch's example uses Adadelta, which handwriting does not
have) on the same 50,000 training images.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from handwriting.data import load_mnist
from handwriting.nn import SGD, Conv2D, Cosine, Dense, Dropout, Flatten, MaxPool2D, Network, ReLU, Reshape
from handwriting.nn import SoftmaxCrossEntropy as CrossEntropy
from torch_loop import predict, train_epochs

BATCH, LR = 64, 0.01


def handwriting_net(seed: int) -> Network:
    layers = [
        Reshape((1, 28, 28)),
        Conv2D(1, 32, 3),
        ReLU(),
        Conv2D(32, 64, 3),
        ReLU(),
        MaxPool2D(2),
        Dropout(0.25),
        Flatten(),
        Dense(9216, 128, "he"),
        ReLU(),
        Dropout(0.5),
        Dense(128, 10, "he"),
    ]
    return Network(layers, CrossEntropy(), np.random.default_rng(seed))


def handwriting_trainer(ds, epochs: int, seed: int):
    net = handwriting_net(seed)
    opt, schedule = SGD(LR, momentum=0.9), Cosine(LR, epochs)
    for epoch in range(epochs):
        h = net.fit(
            ds.x_train,
            ds.y_train,
            optimizer=opt,
            schedule=schedule,
            batch_size=BATCH,
            epochs=epoch + 1,
            initial_epoch=epoch,
        )
        yield h["seconds"][0], net.score(ds.x_test, ds.y_test)
    start = time.perf_counter()
    net.predict_proba(ds.x_test, batch_size=500)
    yield len(ds.y_test) / (time.perf_counter() - start)


def pytorch_trainer(ds, epochs: int, seed: int, threads: int):
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Dropout(0.25),
        torch.nn.Flatten(),
        torch.nn.Linear(9216, 128),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9)
    yield from train_epochs(net, opt, Cosine(LR, epochs), ds, BATCH, epochs, seed, (1, 28, 28))
    x_test = torch.from_numpy(ds.x_test[:, None])
    start = time.perf_counter()
    predict(net, x_test)
    yield len(x_test) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    import torch

    ds = load_mnist(args.data_dir)
    print(f"MNIST: {ds.summary()}; batch {BATCH}, SGD momentum 0.9, lr {LR} cosine, {args.epochs} epochs")
    versions = f"numpy {np.__version__}, torch {torch.__version__}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {versions}")
    trainers = {
        "handwriting": handwriting_trainer(ds, args.epochs, args.seed),
        "pytorch": pytorch_trainer(ds, args.epochs, args.seed, args.threads),
    }
    results = {name: {"seconds": [], "accuracy": []} for name in trainers}
    for epoch in range(args.epochs):
        for name, trainer in trainers.items():  # interleaved: a busy spell hits both alike
            seconds, accuracy = next(trainer)
            results[name]["seconds"].append(seconds)
            results[name]["accuracy"].append(accuracy)
            print(
                f"epoch {epoch + 1} {name:>12}: {seconds:6.1f} s, test accuracy {100 * accuracy:.2f}%",
                flush=True,
            )
    for name, trainer in trainers.items():
        results[name]["images_per_second"] = next(trainer)
    hw, pt = results["handwriting"], results["pytorch"]
    for name, r in results.items():
        print(
            f"{name:>12}: {statistics.median(r['seconds']):.1f} s/epoch (median), final test accuracy "
            f"{100 * r['accuracy'][-1]:.2f}%, inference {r['images_per_second']:,.0f} images/s"
        )
    ratio = statistics.median(hw["seconds"]) / statistics.median(pt["seconds"])
    print(f"epoch-time ratio handwriting / pytorch: {ratio:.2f} (target <= 1.5, stretch <= 1.0)")
    speedup = pt["images_per_second"] / hw["images_per_second"]
    print(f"inference speed ratio pytorch / handwriting: {speedup:.2f}")


if __name__ == "__main__":
    main()
