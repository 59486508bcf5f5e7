"""The site ``handwriting export --format web`` writes, against ``handwriting recognize``, on
pictures of MNIST **test** digits: numbers of 1-6 digits as photos (robustness.py's), and
pages of every kind pages.py draws, as phone photos (plain and ruled paper, underlined,
framed and circled numbers, form boxes, separators, touching pairs); with ``--blocky N``, also N
test digits made 8x8 the way the UCI digits were and blown up to 64x64 with nearest-neighbour
resampling (PNG), which both readers must first smooth.

The site is served by Python's plain static file server and run in Debian's Chromium, driven
by Playwright, as the tests do. Printed, per kind of picture: how often the browser reads the
same text as the package, and how often each reads the true text; then the time per picture
of each (the browser's measured inside the page: decoding, the imaging steps and the network).

    python benchmarks/web_site.py --data-dir ../shared/data/mnist [--n 200] [--blocky 200]
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

from generalization import uci_picture
from handwriting import recognize
from handwriting.data import load_mnist
from handwriting.data.openset import counted
from handwriting.export import to_web
from handwriting.imaging.synthetic_page import KINDS, draw_page
from handwriting.recognizer import load_model
from robustness import as_photo

READ = """async (url) => {
  const blob = await (await fetch(url)).blob();
  const start = performance.now();
  const result = await window.reader.readBlob(blob);
  return [result.text, performance.now() - start];
}"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pictures(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple[str, bytes, str]]:
    """(kind, JPEG bytes, true text): every other one a photo of a number, the rest pages of
    each kind in turn."""
    by_digit = {str(d): np.flatnonzero(y == d) for d in range(10)}
    out = []
    for i in range(n):
        if i % 2 == 0:
            idx = rng.integers(0, len(x), int(rng.integers(1, 7)))
            out.append(("number", as_photo([x[j] for j in idx], rng), "".join(str(y[j]) for j in idx)))
        else:
            kind = KINDS[i // 2 % len(KINDS)]
            data, truth = draw_page(kind, lambda c: x[rng.choice(by_digit[c])], rng)
            out.append((kind, data, "\n".join(truth)))
    return out


def blocky(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple[str, bytes, str]]:
    """(kind, PNG bytes, true text): n digits binned to 8x8 and blown up to 64x64, blockily."""
    out = []
    for i in rng.choice(len(x), n, replace=False):
        buffer = io.BytesIO()
        uci_picture(counted(x[i : i + 1])[0], Image.Resampling.NEAREST).save(buffer, "PNG")
        out.append(("blocky", buffer.getvalue(), str(y[i])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--n", type=int, default=200, help="pictures")
    parser.add_argument("--blocky", type=int, default=0, help="blocky 8x8 digits blown up to 64x64")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ds = load_mnist(args.data_dir)
    model = load_model()
    rng = np.random.default_rng(args.seed)
    cases = pictures(ds.x_test, ds.y_test, args.n, rng) + blocky(ds.x_test, ds.y_test, args.blocky, rng)
    site = Path(tempfile.mkdtemp())
    to_web(model, site)
    (site / "cases").mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    kinds = ("number", *KINDS, "blocky") if args.blocky else ("number", *KINDS)
    counts = {kind: np.zeros(4, int) for kind in kinds}  # pictures, same, right here, there
    t_py, t_js, differ = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url + "/")
        page.wait_for_function("() => window.reader && !(window.reader instanceof Promise)")
        for i, (kind, data, truth) in enumerate(cases):
            (site / "cases" / f"{i}.jpg").write_bytes(data)  # the browser goes by content, not name
            start = time.perf_counter()
            python = recognize(data, model).text
            t_py.append(time.perf_counter() - start)
            text, ms = page.evaluate(READ, f"{url}/cases/{i}.jpg")
            t_js.append(ms / 1000)
            counts[kind] += (1, text == python, python == truth, text == truth)
            if text != python:
                differ.append(f"{i} ({kind}): {python!r} by recognize, {text!r} in the browser")
        browser.close()
    server.shutdown()
    shutil.rmtree(site)
    print(f"{len(cases)} pictures of MNIST test digits: half numbers as photos, half pages of each kind")
    for line in differ:
        print("  differs:", line)
    print(f"{'kind':<12} {'pictures':>8} {'same text':>10} {'right here':>11} {'in browser':>11}")
    for kind, (n, *shares) in counts.items():
        print(f"{kind:<12} {n:>8} " + " ".join(f"{100 * k / n:>10.1f}%" for k in shares))
    n, same = (sum(c[k] for c in counts.values()) for k in (0, 1))
    print(f"all: the browser reads the same text as recognize on {100 * same / n:.2f}% of {n}")
    for what, f in (("median", np.median), ("mean", np.mean)):
        print(f"ms per picture, {what}: recognize {1000 * f(t_py):5.0f}, browser {1000 * f(t_js):5.0f}")


if __name__ == "__main__":
    main()
