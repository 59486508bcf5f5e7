"""Reading a folder of pictures: `handwriting recognize DIR --jsonl FILE` against a one-by-one
Python loop over `handwriting.recognize`, in the same run, on the same pictures: one-digit
photo-like JPEGs made from MNIST **test** digits (as in robustness.py).

Prints the time and pictures per second of: the loop (model loaded once); `recognize_many`
in one process (the digits of 16 pictures a forward pass); the CLI with one worker and with
--workers N (a fresh process each, its start-up and model loading included), and the CLI's
speed-up over the loop. Also checks that they all read the same digits.

    python benchmarks/folders.py --data-dir ../shared/data/mnist [--n 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from handwriting import recognize
from handwriting.data import load_mnist
from handwriting.folders import CHUNK, expand
from handwriting.recognizer import load_model, recognize_many
from robustness import as_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--n", type=int, default=2000, help="pictures")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ds = load_mnist(args.data_dir)
    rng = np.random.default_rng(args.seed)
    model = load_model(None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pictures"
        for k, i in enumerate(rng.permutation(len(ds.y_test))[: args.n]):
            (folder / f"{k // 500:02d}").mkdir(parents=True, exist_ok=True)
            (folder / f"{k // 500:02d}" / f"{k:05d}-{ds.y_test[i]}.jpg").write_bytes(
                as_photo([ds.x_test[i]], rng)
            )
        files = expand([str(folder)])
        print(f"{len(files):,} one-digit pictures; {os.cpu_count()} cores")

        start = time.perf_counter()
        loop = [recognize(f, model).digits for f in files]
        base = time.perf_counter() - start
        report("loop over handwriting.recognize", base, len(files), base)

        start = time.perf_counter()
        batched = [
            r.digits for i in range(0, len(files), CHUNK) for r in recognize_many(files[i : i + CHUNK], model)
        ]
        report(f"recognize_many, {CHUNK} pictures a pass", time.perf_counter() - start, len(files), base)

        for workers in sorted({1, args.workers}):
            out = Path(tmp) / f"out-{workers}.jsonl"
            start = time.perf_counter()
            command = ["-m", "handwriting", "recognize", str(folder), "--jsonl", str(out)]
            subprocess.run(
                [sys.executable, *command, "--workers", str(workers)], check=True, capture_output=True
            )
            seconds = time.perf_counter() - start
            report(f"handwriting recognize DIR --jsonl, --workers {workers}", seconds, len(files), base)
            by_file = {r["file"]: r["digits"] for r in map(json.loads, out.read_text().splitlines())}
            same = sum(by_file[f] == d for f, d in zip(files, loop, strict=True))
            print(f"    same digits as the loop: {same:,} of {len(files):,}")
        right = sum(d == Path(f).stem.split("-")[1] for f, d in zip(files, loop, strict=True))
        agree = sum(a == b for a, b in zip(loop, batched, strict=True))
        print(
            f"read right: {100 * right / len(files):.2f}%; recognize_many agrees with the loop on {agree:,}"
        )


def report(what: str, seconds: float, n: int, base: float) -> None:
    print(f"  {what:<48} {seconds:7.1f} s  {n / seconds:7.1f} pictures/s  {base / seconds:5.2f}x the loop")


if __name__ == "__main__":
    main()
