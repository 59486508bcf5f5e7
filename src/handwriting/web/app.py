"""An ASGI app (Starlette): one page to draw or upload digits, and a small JSON API.

  GET  /                  the drawing page (plain HTML, CSS and JS shipped in the package)
  POST /api/recognize     an image (multipart field ``image``, or the raw body) -> the same
                          JSON object as one element of ``handwriting recognize --json``,
                          plus per-digit class probabilities and the 28x28 images as PNG
  GET  /api/model         what model is loaded
  GET  /healthz           {"status": "ok"}

Every bad request gets a 4xx status and {"error": "..."}; nothing a client sends can take
the server down. The model is loaded once; form parsing and decoding run in worker threads (one
per core), never on the event loop, so one heavy request cannot stall the others (or
``/healthz``), and the digits of requests waiting together share one forward pass (batcher.py).
Decoding draws on a per-process budget of pixels in flight, and uploads on one of bytes held:
when one is spent, the answer is 503 with ``Retry-After`` rather than a server that grows
until the machine swaps.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import ctypes.util
import email.parser
import email.policy
import functools
import io
import os
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

import anyio
import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import HandwritingError, ModelOutputError
from ..imaging import pdf
from ..recognizer import DEFAULT_THRESHOLD, N_DIGITS, Found, find, load_model
from .batcher import Batcher

MAX_BYTES = 5 * 1024 * 1024  # largest upload accepted
MAX_PIXELS = 25_000_000  # largest image (width x height) accepted
MAX_PARTS = 16  # most parts in a multipart form: the page sends one
BIG_IMAGE = 4_000_000  # pixels: after decoding one this big, freed memory goes back to the system
PIXEL_BUDGET = 2 * MAX_PIXELS  # pixels being decoded at once, per process: two of the largest images
BODY_BUDGET = 64 * 1024 * 1024  # bytes of uploads held at once, per process: a dozen of the largest
RETRY_AFTER_S = 1
RETRY_LATER = {"Retry-After": str(RETRY_AFTER_S)}
DEADLINE_S = 30.0  # a request not answered by then gets 503
BODY_TIMEOUT_S = 30.0  # an upload still arriving by then gets 408 (5 MB in 30 s: 1.4 Mbit/s)
MODEL_ENV = "HANDWRITING_SERVE_MODEL"  # how `serve --workers N` tells each process its model


class BadRequest(Exception):
    """A request answered with an error: ``status`` and a one-line ``message`` as JSON."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class Budget:
    """Pixels being decoded, or bytes of uploads held, at once: ``take(n)`` succeeds while the
    total stays within ``limit``.

    The first taker is always let through (the per-image and per-upload limits bound it), so a
    big upload is served when the server is quiet and deferred when it is busy.
    """

    def __init__(self, limit: int) -> None:
        self.limit, self.in_flight = limit, 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.in_flight and self.in_flight + n > self.limit:
                return False
            self.in_flight += n
            return True

    def give_back(self, n: int) -> None:
        with self._lock:
            self.in_flight -= n


async def _read_body(request: Request, limit: int, timeout_s: float, held: Budget, taken: list[int]) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` (whatever the headers say),
    takes longer than ``timeout_s`` to arrive (a client trickling it holds a connection), or
    finds the ``held`` bytes budget spent; what it took of that is added to ``taken``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the upload is {int(declared):,} bytes; the limit is {limit:,}")

    async def collect() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, f"the upload is over the limit of {limit:,} bytes")
            if not held.take(len(chunk)):
                raise BadRequest(
                    503, "the server is busy receiving other uploads; try again shortly", RETRY_LATER
                )
            taken[0] += len(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(collect(), timeout_s)
    except asyncio.TimeoutError:
        raise BadRequest(408, f"the upload took over {timeout_s:g} s; send it in one go") from None


def _image_bytes(content_type: str, body: bytes, max_parts: int = MAX_PARTS) -> bytes:
    """The image in a request: the ``image`` field of a multipart form, or the body itself.

    A form is parsed only after its parts are counted (a C-speed scan for the boundary), so a
    body of 75,000 tiny parts is refused in milliseconds instead of parsed for seconds.
    """
    if not body:
        raise BadRequest(400, "empty request: send an image (multipart field 'image', or the raw bytes)")
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
    if not boundary:
        raise BadRequest(400, "malformed multipart form: no boundary")
    parts = body.count(b"--" + boundary.encode("latin-1")) - 1
    if parts > max_parts:
        raise BadRequest(413, f"the form has {parts:,} parts; the limit is {max_parts}")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise BadRequest(400, "malformed multipart form")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "image":
            data = part.get_payload(decode=True) or b""
            if not data:
                raise BadRequest(400, "the 'image' field is empty")
            return data
    raise BadRequest(400, "the form has no 'image' field")


def _png(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def _trim_heap() -> None:
    """Hand the memory a big decode freed back to the system. glibc keeps it otherwise: after
    a flood of 25-Mpx uploads the server stayed at 2.3x its idle size (1.4-1.8x with this)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _pixels(data: bytes) -> int:
    """Width x height from the image's header alone (0 when unreadable: recognize says why)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width * image.height
    except Exception:  # any undecodable upload is reported by recognize itself
        return 0


def create_app(
    model_path: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    pixel_budget: int = PIXEL_BUDGET,
    body_budget: int = BODY_BUDGET,
    deadline_s: float = DEADLINE_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> Starlette:
    """The app, with its model loaded now (so a bad model file fails at start, not per request)."""
    model = load_model(model_path)
    budget, bodies = Budget(pixel_budget), Budget(body_budget)
    batcher = Batcher(model.predict_proba)
    # decoding is mostly Python between short NumPy calls: more threads than cores only fight
    # over the GIL (measured: 50 clients got less done than one)
    decoders = anyio.CapacityLimiter(os.cpu_count() or 1)
    static = resources.files("handwriting") / "web" / "static"

    async def index(request: Request) -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    async def api_recognize(request: Request) -> JSONResponse:
        taken = [0]
        try:
            body = await _read_body(request, max_bytes, body_timeout_s, bodies, taken)
            result = await asyncio.wait_for(
                _answer(request.headers.get("content-type", ""), body), deadline_s
            )
        except asyncio.TimeoutError:  # a worker thread still busy finishes on its own; its answer is dropped
            return JSONResponse(
                {"error": f"not answered within {deadline_s:g} s; try again"},
                status_code=503,
                headers=RETRY_LATER,
            )
        except BadRequest as e:
            return JSONResponse({"error": e.message}, status_code=e.status, headers=e.headers)
        except ClientDisconnect:  # gone mid-upload: nobody to answer, nothing worth a traceback
            return JSONResponse({"error": "the client went away"}, status_code=400)
        finally:
            bodies.give_back(taken[0])
        return JSONResponse(result)

    async def _answer(content_type: str, body: bytes) -> dict[str, Any]:
        """Decode and find the digits (a worker thread), classify them in a pass shared with the
        other requests waiting (the batcher), then build the answer (a worker thread)."""
        with batcher.expecting():
            found = await anyio.to_thread.run_sync(_find, content_type, body, limiter=decoders)
        try:
            proba = await batcher(found.pixels) if found.page.digits else np.zeros((0, N_DIGITS))
        except ModelOutputError as e:  # the server's fault, not the request's
            raise BadRequest(500, str(e)) from None
        return await run_in_threadpool(_result, found, proba)

    def _find(content_type: str, body: bytes) -> Found:
        data = _image_bytes(content_type, body)
        if pdf.is_pdf(data[:8]):  # PDFium is for the user's own files, not for strangers' uploads
            raise BadRequest(
                415, "a PDF; send a picture (PNG or JPEG), or read the PDF with `handwriting recognize`"
            )
        n = min(_pixels(data), max_pixels)
        if not budget.take(n):
            raise BadRequest(503, "the server is busy decoding other images; try again shortly", RETRY_LATER)
        try:
            return find(data, model, max_pixels)
        except ModelOutputError as e:
            raise BadRequest(500, str(e)) from None
        except HandwritingError as e:
            message = str(e).removeprefix("<bytes>: ")
            raise BadRequest(413 if "pixels" in message else 400, message) from None
        finally:
            budget.give_back(n)
            if n >= BIG_IMAGE:
                _trim_heap()

    def _result(found: Found, proba: np.ndarray) -> dict[str, Any]:
        read = found.read(proba, model, DEFAULT_THRESHOLD, top_k=N_DIGITS)
        out = read.as_dict()
        # all ten classes per digit, in class order, for the page's probability bars
        out["probabilities"] = [[round(p, 4) for _, p in sorted(row)] for row in read.top_k]
        out["images"] = [_png(p) for p in read.images]
        return out

    async def api_model(request: Request) -> JSONResponse:
        return JSONResponse(model.describe())

    async def favicon(request: Request) -> FileResponse:
        return FileResponse(str(static / "favicon.svg"), media_type="image/svg+xml")

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, HTTPException):  # its headers too: a 405's Allow names the methods
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"error": "internal error"}, status_code=500)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/recognize", api_recognize, methods=["POST"]),
        Route("/api/model", api_model, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),  # asked for by browsers whatever the page says
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: http_error})
    app.state.budget, app.state.bodies = budget, bodies  # for tests and operators: what is in flight
    return app


def app_from_env() -> Starlette:
    """The app for one of ``serve --workers N``'s processes: its model file named by ``MODEL_ENV``."""
    return create_app(os.environ.get(MODEL_ENV) or None)
