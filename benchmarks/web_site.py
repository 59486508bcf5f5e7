"""The site ``handwriting export --format web`` writes, against ``handwriting recognize``, on
pictures of MNIST **test** digits: numbers of 1-6 digits as photos (robustness.py's), and
pages of lines (plain paper, separators, touching pairs) as phone photos (pages.py's).

The site is served by Python's plain static file server and run in Debian's Chromium, driven
by Playwright, as the tests do. Printed: how often the browser reads the same text as the
package, how often each reads the true text, and the time per picture of each (the browser's
measured inside the page: decoding, the imaging steps and the network).

    python benchmarks/web_site.py --data-dir ../shared/data/mnist [--n 200]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from handwriting import recognize
from handwriting.data import load_mnist
from handwriting.export import to_web
from handwriting.imaging.synthetic_page import draw_page
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


def pictures(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple[bytes, str]]:
    """(JPEG bytes, true text): every other one a photo of a number, the rest pages."""
    by_digit = {str(d): np.flatnonzero(y == d) for d in range(10)}
    out = []
    for i in range(n):
        if i % 2 == 0:
            idx = rng.integers(0, len(x), int(rng.integers(1, 7)))
            out.append((as_photo([x[j] for j in idx], rng), "".join(str(y[j]) for j in idx)))
        else:
            kind = ("plain", "separators", "touching")[i // 2 % 3]
            data, truth = draw_page(kind, lambda c: x[rng.choice(by_digit[c])], rng)
            out.append((data, "\n".join(truth)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--n", type=int, default=200, help="pictures")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ds = load_mnist(args.data_dir)
    model = load_model()
    cases = pictures(ds.x_test, ds.y_test, args.n, np.random.default_rng(args.seed))
    site = Path(tempfile.mkdtemp())
    to_web(model, site)
    (site / "cases").mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    same = right_py = right_js = 0
    t_py, t_js, differ = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url + "/")
        page.wait_for_function("() => window.reader && !(window.reader instanceof Promise)")
        for i, (data, truth) in enumerate(cases):
            (site / "cases" / f"{i}.jpg").write_bytes(data)
            start = time.perf_counter()
            python = recognize(data, model).text
            t_py.append(time.perf_counter() - start)
            text, ms = page.evaluate(READ, f"{url}/cases/{i}.jpg")
            t_js.append(ms / 1000)
            same += text == python
            if text != python:
                differ.append(f"{i}: {python!r} by recognize, {text!r} in the browser")
            right_py += python == truth
            right_js += text == truth
        browser.close()
    server.shutdown()
    shutil.rmtree(site)
    n = len(cases)
    print(
        f"{n} pictures of MNIST test digits: half numbers as photos, half pages (plain, separators, touching)"
    )
    for line in differ:
        print("  differs:", line)
    print(f"browser reads the same text as recognize: {100 * same / n:6.1f}%")
    print(
        f"text read exactly right: recognize {100 * right_py / n:5.1f}%, browser {100 * right_js / n:5.1f}%"
    )
    for what, f in (("median", np.median), ("mean", np.mean)):
        print(f"ms per picture, {what}: recognize {1000 * f(t_py):5.0f}, browser {1000 * f(t_js):5.0f}")


if __name__ == "__main__":
    main()
