"""Train the `mlp` preset on full MNIST with handwriting (NumPy) and the same network with
PyTorch on the CPU, in one run (their epochs interleaved), and print seconds per epoch,
time to 98% test accuracy, final accuracy, and the ratio of epoch times.

    pip install -r benchmarks/requirements.txt
    python benchmarks/mlp_vs_pytorch.py --data-dir ../shared/data/mnist

Both train on the same 50,000 images (the validation split held out), with the same batch
size, optimizer, weight decay, learning-rate schedule and number of epochs. Epoch time
counts the training passes only; the test accuracy printed after each epoch is measured
outside that time and is never used to choose anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

import numpy as np

from handwriting.data import load_mnist
from handwriting.presets import PRESETS
from torch_loop import train_epochs

TARGET = 0.98


def time_to_target(seconds, accuracy):
    for i, acc in enumerate(accuracy):
        if acc >= TARGET:
            return sum(seconds[: i + 1]), i + 1
    return None, None


def handwriting_trainer(ds, epochs, seed):
    """Yields (seconds, test accuracy) after each epoch of the `mlp` preset, trained by
    Network.fit exactly as `handwriting train` does (minus early stopping)."""
    p = PRESETS["mlp"]
    net = p.build((28, 28), np.random.default_rng(seed))
    optimizer, schedule = p.make_optimizer(p.lr), p.make_schedule(p.lr, epochs)
    for epoch in range(epochs):
        history = net.fit(
            ds.x_train,
            ds.y_train,
            optimizer=optimizer,
            schedule=schedule,
            batch_size=p.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
        )
        yield history["seconds"][0], net.score(ds.x_test, ds.y_test)


def pytorch_trainer(ds, epochs, seed, threads):
    """The same network and recipe in PyTorch: He-initialized Linear layers, cross-entropy,
    Nesterov SGD with weight decay on the weights only, the preset's cosine schedule per step."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    p = PRESETS["mlp"]
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 800), torch.nn.ReLU(), torch.nn.Linear(800, 10)
    )
    for layer in (net[1], net[3]):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    weights = [net[1].weight, net[3].weight]
    biases = [net[1].bias, net[3].bias]
    opt = torch.optim.SGD(
        [{"params": weights, "weight_decay": p.weight_decay}, {"params": biases, "weight_decay": 0.0}],
        lr=p.lr,
        momentum=0.9,
        nesterov=True,
    )
    yield from train_epochs(net, opt, p.make_schedule(p.lr, epochs), ds, p.batch_size, epochs, seed, (784,))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--epochs", type=int, default=PRESETS["mlp"].epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--skip-pytorch", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()

    ds = load_mnist(args.data_dir)
    p = PRESETS["mlp"]
    print(f"MNIST: {ds.summary()}")
    print(
        f"mlp preset: 784-800-10 ReLU, batch {p.batch_size}, {p.optimizer} lr {p.lr} {p.schedule}, "
        f"weight decay {p.weight_decay}, {args.epochs} epochs"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; numpy {np.__version__}")
    trainers = {"handwriting": handwriting_trainer(ds, args.epochs, args.seed)}
    if not args.skip_pytorch:
        import torch

        trainers[f"pytorch {torch.__version__}"] = pytorch_trainer(ds, args.epochs, args.seed, args.threads)
    # Epochs alternate between the two, so a slow spell of a shared machine hits both alike.
    results = {name: ([], []) for name in trainers}
    for _ in range(args.epochs):
        for name, trainer in trainers.items():
            seconds, accuracy = next(trainer)
            results[name][0].append(seconds)
            results[name][1].append(accuracy)

    print("\nepoch  " + "  ".join(f"{name:>26}" for name in results))
    for e in range(args.epochs):
        cells = []
        for seconds, accuracy in results.values():
            cells.append(f"{seconds[e]:>8.2f} s  {100 * accuracy[e]:>6.2f}% test" if e < len(seconds) else "")
        print(f"{e + 1:>5}  " + "  ".join(f"{c:>26}" for c in cells))

    summary = {}
    print()
    for name, (seconds, accuracy) in results.items():
        # The first epoch includes one-time warm-up (thread pools, page faults): report the median.
        per_epoch = statistics.median(seconds)
        t98, e98 = time_to_target(seconds, accuracy)
        summary[name] = {
            "seconds_per_epoch_median": per_epoch,
            "seconds_per_epoch_mean": statistics.mean(seconds),
            "time_to_98": t98,
            "epochs_to_98": e98,
            "final_test_accuracy": accuracy[-1],
            "epochs": len(seconds),
        }
        reach = f"{t98:.1f} s (epoch {e98})" if t98 is not None else "not reached"
        print(
            f"{name:>16}: {per_epoch:.2f} s/epoch (median), time to 98%: {reach}, "
            f"final test accuracy {100 * accuracy[-1]:.2f}%"
        )
    if len(summary) == 2:
        (a, ra), (b, rb) = summary.items()
        ratio = ra["seconds_per_epoch_median"] / rb["seconds_per_epoch_median"]
        summary["ratio"] = ratio
        print(f"epoch-time ratio {a} / {b}: {ratio:.2f} (target <= 1.2)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
