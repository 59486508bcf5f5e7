"""A real headless Chromium (Debian's, driven by Playwright) for the page tests, and a hand
that writes on the page's canvas with the mouse."""

import contextlib
import shutil
from collections.abc import Iterator

import pytest

from handwriting.imaging.synthetic import STROKES, WIDTH

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextlib.contextmanager
def chromium_page(url: str) -> Iterator[object]:
    """A page at ``url`` in a fresh headless Chromium; skips the test where there is none."""
    if CHROMIUM is None:
        pytest.skip("no Chromium: apt-get install chromium (the CI script installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install '.[dev]'"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 1000})
        page.goto(url)
        yield page
        browser.close()


def draw(page, text: str, height: float = 170, top: float = 40) -> None:
    """Write ``text`` on the canvas with mouse strokes, digit by digit, as a person would."""
    box = page.locator("#canvas").bounding_box()
    x = box["x"] + 40
    for ch in text:
        for stroke in STROKES[ch]:
            points = [(x + px * height, box["y"] + top + py * height) for px, py in stroke]
            page.mouse.move(*points[0])
            page.mouse.down()
            for p in points[1:]:
                page.mouse.move(*p, steps=2)
            page.mouse.up()
        x += (WIDTH[ch] + 0.35) * height


def read(page, expected: str, timeout: float = 15000) -> str:
    """The page's answer, once it shows ``expected`` (or a timeout)."""
    page.wait_for_function(
        "e => document.getElementById('digits').textContent === e", arg=expected, timeout=timeout
    )
    return page.locator("#digits").text_content()


def upload_a_text_file(page, folder) -> str:
    """Upload a file that is not an image; the error the page then shows."""
    path = folder / "notes.txt"
    path.write_text("not an image")
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#error:not([hidden])", timeout=15000)
    return page.locator("#error").text_content()
