"""Training on a busy machine: the `mlp` and `cnn` side-by-side benchmarks (handwriting and
PyTorch, epochs interleaved) run quiet, then beside one process that keeps a core busy, and
the slowdown of each system's median epoch is printed.

    pip install -r benchmarks/requirements.txt
    python benchmarks/busy_core.py --data-dir ../shared/data/mnist [--mlp-epochs 3] [--cnn-epochs 1]

On 2 cores the ideal is about 2x slower with one core taken; the target is at most 2.5x.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPIN = "while True: pass"  # the busy neighbour: one core's worth of pure Python


def epoch_seconds(script: str, epochs: int, data_dir: str | None) -> dict[str, float]:
    """Each system's median seconds per epoch, as the side-by-side script prints them."""
    command = [sys.executable, str(HERE / script), "--epochs", str(epochs)]
    if data_dir:
        command += ["--data-dir", data_dir]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE).stdout
    found = re.findall(r"^\s*(\S+(?: \S+)?): ([\d.]+) s/epoch \(median\)", out, flags=re.M)
    return {name: float(seconds) for name, seconds in found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--mlp-epochs", type=int, default=3)
    parser.add_argument("--cnn-epochs", type=int, default=1)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; busy neighbour: python -c {SPIN!r}")
    print(f"{'benchmark':26s} {'quiet s/epoch':>14s} {'busy s/epoch':>13s} {'slowdown':>9s}")
    for script, epochs in (("mlp_vs_pytorch.py", args.mlp_epochs), ("cnn_vs_pytorch.py", args.cnn_epochs)):
        quiet = epoch_seconds(script, epochs, args.data_dir)
        spinner = subprocess.Popen([sys.executable, "-c", SPIN])
        try:
            busy = epoch_seconds(script, epochs, args.data_dir)
        finally:
            spinner.kill()
            spinner.wait()
        for name, seconds in quiet.items():
            label = f"{script.split('_')[0]} {name}"
            print(f"{label:26s} {seconds:14.2f} {busy[name]:13.2f} {busy[name] / seconds:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
