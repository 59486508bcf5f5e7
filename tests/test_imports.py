"""The engine stands alone: ``handwriting.nn`` imports with NumPy alone, and starts no thread."""

import subprocess
import sys

HEAVY = ("PIL", "cv2", "threadpoolctl", "handwriting.recognizer")


def _run(code: str) -> list[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_engine_imports_with_numpy_alone_and_starts_no_thread():
    code = (
        "import sys, threading, handwriting.nn; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); print(threading.active_count())"
    )
    assert _run(code) == ["[]", "1"]


def test_the_package_still_offers_recognize():
    code = "import handwriting; print(handwriting.recognize.__name__, handwriting.Recognition.__name__)"
    assert _run(code) == ["recognize", "Recognition"]
