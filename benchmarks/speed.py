"""How long `recognize` takes per picture: in-process, warm (model loaded, one call before
timing), decoding included, on fixed pictures the project draws:

* a one-digit picture of 400x400 (PNG);
* a 4-digit picture (PNG);
* a 4000x3000 JPEG phone photo of a 3-line page (uneven light, noise).

    python benchmarks/speed.py [--repeat 30] [--compare OLD_SRC]

With ``--compare``, the same pictures are also timed with the package in OLD_SRC (the ``src``
folder of another checkout, e.g. made by ``git worktree add /tmp/old <commit>``), each in its
own process, runs interleaved, and the ratio new / old printed. The pictures are drawn once,
by this checkout, and handed to both (an old checkout may draw differently).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

PICTURES = ("one digit 400x400", "4 digits", "3-line page 4000x3000 JPEG")


def pictures() -> dict[str, bytes]:
    """The three fixed pictures, encoded."""
    from handwriting.imaging.synthetic import render

    rng = np.random.default_rng(0)
    one = Image.new("L", (400, 400), 245)
    one.paste(render("7", height=200, margin=0.2, rng=rng), (100, 60))
    four = render("2026", height=120, rng=rng)
    page = np.full((3000, 4000), 235.0, np.float32)
    for k, text in enumerate(("0612 345 789", "29 11 2026", "3141")):
        line = np.asarray(render(text.replace(" ", ""), height=300, gap=0.35, rng=rng), np.float32)
        h, w = line.shape
        y, x = 500 + 800 * k, 400
        page[y : y + h, x : x + w] = np.minimum(page[y : y + h, x : x + w], line)
    gy, gx = np.mgrid[0:3000, 0:4000].astype(np.float32)
    page *= 1.0 - 0.25 * gx / 4000 - 0.1 * gy / 3000  # uneven light
    page += rng.normal(0, 4, page.shape).astype(np.float32)
    out = {}
    for name, image, fmt in zip(
        PICTURES,
        (one, four, Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))),
        ("PNG", "PNG", "JPEG"),
        strict=True,
    ):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, quality=90)
        out[name] = buffer.getvalue()
    return out


def time_here(repeat: int, drawn: dict[str, bytes]) -> dict[str, float]:
    """Median milliseconds per picture with the handwriting package on sys.path."""
    import handwriting

    results = {}
    for name, data in drawn.items():
        handwriting.recognize(data)  # warm: model loaded, caches filled
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            handwriting.recognize(data)
            times.append(time.perf_counter() - start)
        results[name] = 1000 * float(np.median(times))
    return results


def run_in(src: str | None, repeat: int, folder: str) -> dict[str, float]:
    """``time_here`` in a fresh process whose package comes from ``src`` (None: this one), on
    the pictures saved in ``folder``."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.path.abspath(src)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", folder, "--repeat", str(repeat)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds with --compare")
    parser.add_argument("--compare", metavar="OLD_SRC", help="also time the package in this src folder")
    parser.add_argument("--worker", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        drawn = {name: Path(args.worker, f"{i}.bin").read_bytes() for i, name in enumerate(PICTURES)}
        print(json.dumps(time_here(args.repeat, drawn)))
        return
    sources = [None] + ([args.compare] if args.compare else [])
    runs: dict[str | None, list[dict[str, float]]] = {s: [] for s in sources}
    with tempfile.TemporaryDirectory() as folder:
        for i, data in enumerate(pictures().values()):
            Path(folder, f"{i}.bin").write_bytes(data)
        for _ in range(args.rounds if args.compare else 1):
            for s in sources:
                runs[s].append(run_in(s, args.repeat, folder))
    best = {s: {p: min(r[p] for r in rs) for p in PICTURES} for s, rs in runs.items()}
    header = f"{'picture':<28} {'this (ms)':>10}"
    if args.compare:
        header += f" {'old (ms)':>10} {'new/old':>8}"
    print(header)
    for p in PICTURES:
        line = f"{p:<28} {best[None][p]:>10.1f}"
        if args.compare:
            old = best[args.compare][p]
            line += f" {old:>10.1f} {best[None][p] / old:>8.2f}"
        print(line)


if __name__ == "__main__":
    main()
