"""The web page and its API, served for real on 127.0.0.1 and used through HTTP and through
a real headless Chromium (Debian's, driven by Playwright), as a person would."""

import io
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handwriting.imaging.synthetic import render
from handwriting.model import Model
from handwriting.nn import Dense, Flatten, Network, SoftmaxCrossEntropy

uvicorn = pytest.importorskip("uvicorn", reason="the web extra is not installed: pip install '.[web]'")
from browser import chromium_page, draw, read, upload_a_text_file  # noqa: E402
from handwriting.web.app import MAX_PARTS, Budget, create_app  # noqa: E402
from handwriting.web.server import Protocol  # noqa: E402

SHOTS = (
    Path(os.environ.get("HANDWRITING_SCREENSHOTS", "")) if os.environ.get("HANDWRITING_SCREENSHOTS") else None
)


class Server:
    """uvicorn in a thread, on a free port of 127.0.0.1, with the protocol ``serve`` uses."""

    def __init__(self, app, protocol=Protocol):
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", http=protocol)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server():
    s = Server(create_app())
    yield s
    s.stop()


@pytest.fixture(scope="module")
def small_server():
    s = Server(create_app(max_bytes=20_000, max_pixels=1_000_000))
    yield s
    s.stop()


def request(url, data=None, content_type=None, method=None):
    req = urllib.request.Request(url, data=data, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def multipart(field, data, filename="x.png"):
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def png(text, **kw):
    buffer = io.BytesIO()
    render(text, **kw).save(buffer, format="PNG")
    return buffer.getvalue()


def test_health_and_model(server):
    assert request(server.url + "/healthz") == (200, {"status": "ok"})
    status, model = request(server.url + "/api/model")
    assert status == 200 and model["image_shape"] == [28, 28] and model["parameters"] > 0
    assert model["metrics"]["test_accuracy"] >= 0.98


def test_recognize_multipart_and_raw_body(server):
    body, ctype = multipart("image", png("305"))
    status, result = request(server.url + "/api/recognize", body, ctype)
    assert status == 200 and result["digits"] == "305" and len(result["confidences"]) == 3
    assert len(result["probabilities"]) == 3 and all(len(p) == 10 for p in result["probabilities"])
    assert result["images"][0].startswith("data:image/png;base64,")
    status, raw = request(server.url + "/api/recognize", png("305"), "image/png")
    assert status == 200 and raw["digits"] == "305"


def _document(fmt: str) -> bytes:
    """A scan of two pages, as a PDF or a multi-page TIFF."""
    buffer = io.BytesIO()
    render("12").save(buffer, format=fmt, save_all=True, append_images=[render("3")])
    return buffer.getvalue()


@pytest.mark.parametrize(
    "send, status, words",
    [
        (lambda: multipart("image", b"not an image at all"), 400, "not an image"),
        (lambda: (b"", "image/png"), 400, "empty request"),
        (lambda: multipart("file", png("1")), 400, "no 'image' field"),
        (lambda: multipart("image", b""), 400, "empty"),
        (lambda: (b"--x\r\ngarbage", "multipart/form-data; boundary=zzz"), 400, ""),
        (lambda: multipart("image", _document("PDF")), 415, "a PDF; send a picture"),
        (lambda: multipart("image", _document("TIFF")), 400, "a document of 2 pages"),
    ],
)
def test_bad_requests_get_a_json_error(server, send, status, words):
    body, ctype = send()
    code, result = request(server.url + "/api/recognize", body, ctype)
    assert code == status and words in result["error"]


def test_limits(small_server):
    big = np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)  # noise: PNG stays big
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG")
    code, result = request(small_server.url + "/api/recognize", buffer.getvalue(), "image/png")
    assert code == 413 and "limit" in result["error"]
    bomb = io.BytesIO()
    Image.new("1", (3000, 3000)).save(bomb, format="PNG")  # 9 megapixels in a few kB
    code, result = request(small_server.url + "/api/recognize", bomb.getvalue(), "image/png")
    assert code == 413 and "pixels" in result["error"]


def test_a_form_of_many_parts_is_refused_without_stalling_the_server(server):
    boundary = "b" * 16
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n' * 50_000).encode()
    body += f"--{boundary}--\r\n".encode()
    with ThreadPoolExecutor(2) as pool:
        flood = pool.submit(
            request, server.url + "/api/recognize", body, f"multipart/form-data; boundary={boundary}"
        )
        start = time.perf_counter()
        assert request(server.url + "/healthz") == (200, {"status": "ok"})
        assert time.perf_counter() - start < 1.0
        code, result = flood.result()
    assert code == 413 and f"limit is {MAX_PARTS}" in result["error"]
    few, ctype = multipart("image", png("7"))  # a normal form still passes the count
    assert request(server.url + "/api/recognize", few, ctype)[0] == 200


def test_the_pixel_budget_defers_work_instead_of_growing():
    budget = Budget(100)
    assert budget.take(150)  # alone, any single image is let through
    assert not budget.take(1)  # ... but nothing else while it is decoded
    budget.give_back(150)
    assert budget.take(60) and budget.take(40) and not budget.take(1)
    budget.give_back(60)
    budget.give_back(40)
    assert budget.in_flight == 0


@pytest.mark.parametrize(
    ("limit", "budget", "words"),
    [
        ("pixel_budget", "budget", "decoding other images"),
        ("body_budget", "bodies", "receiving other uploads"),
    ],
)
def test_a_spent_budget_answers_503_with_retry_after(limit, budget, words):
    """Pixels being decoded, or upload bytes held: when others have spent the budget, come back later."""
    app = create_app(**{limit: 10_000})
    spent = getattr(app.state, budget)
    s = Server(app)
    try:
        data = png("12")
        assert spent.take(10_000)  # as if other requests held it all
        code, headers, body = _raw(s.url + "/api/recognize", data)
        assert code == 503 and headers["Retry-After"] == "1" and words in body["error"]
        spent.give_back(10_000)
        code, _, body = _raw(s.url + "/api/recognize", data)
        assert code == 200 and body["digits"] == "12" and spent.in_flight == 0
    finally:
        s.stop()


def test_the_open_file_limit_is_raised_for_the_connections():
    resource = pytest.importorskip("resource")
    from handwriting.web.server import connection_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard open-file limit is {hard}")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # a low default, as on many systems
        assert connection_limit(1000) == 1000
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 1064
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_request_past_its_deadline_answers_503():
    s = Server(create_app(deadline_s=0.001))
    try:
        code, headers, body = _raw(s.url + "/api/recognize", png("12", height=600))
    finally:
        s.stop()
    assert code == 503 and headers["Retry-After"] == "1" and "within 0.001 s" in body["error"]


class QuickProtocol(Protocol):
    header_timeout_s = 0.5


@pytest.fixture(scope="module")
def strict_server():
    s = Server(create_app(body_timeout_s=0.5), QuickProtocol)
    yield s
    s.stop()


def _connect(url):
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _answer_or_close(sock) -> bytes:
    """What the server sends before it closes the connection (b"": closed without a word)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_silent_and_slow_header_connections_are_closed(strict_server):
    silent, slow = _connect(strict_server.url), _connect(strict_server.url)
    start = time.perf_counter()
    slow.sendall(b"POST /api/recognize HTTP/1.1\r\nHost: x\r\n")  # ... and the rest never comes
    assert _answer_or_close(silent) == b"" and _answer_or_close(slow) == b""
    assert 0.4 < time.perf_counter() - start < 5
    assert request(strict_server.url + "/healthz") == (200, {"status": "ok"})  # others are served


def test_a_keep_alive_connection_gets_its_header_deadline_back_after_each_answer(strict_server):
    sock = _connect(strict_server.url)
    for _ in range(3):  # each request within the deadline, together longer than it
        time.sleep(0.3)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while not got.endswith(b'{"status":"ok"}'):
            got += sock.recv(65536)
        assert got.startswith(b"HTTP/1.1 200")
    assert _answer_or_close(sock) == b""  # then idle: closed


def test_a_body_that_trickles_in_gets_408(strict_server):
    sock = _connect(strict_server.url)
    data = png("12")
    sock.sendall(
        f"POST /api/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data[:100]
    )
    answer = _answer_or_close(sock).decode("latin-1")
    assert answer.startswith("HTTP/1.1 408") and "the upload took over 0.5 s" in answer


def _raw(url, data):
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())


def test_outputs_that_overflow_get_a_json_500(tmp_path):
    """A model whose finite weights overflow: a JSON error, never NaN in an answer."""
    net = Network([Flatten(), Dense(784, 10)], SoftmaxCrossEntropy())
    net.set_params([np.full((784, 10), 3e38, np.float32), np.zeros(10, np.float32)])
    Model(net, {"image_shape": [28, 28], "classes": list(range(10))}).save(tmp_path / "m.npz")
    s = Server(create_app(str(tmp_path / "m.npz")))
    try:
        status, body = request(s.url + "/api/recognize", png("1"), "image/png")
    finally:
        s.stop()
    assert status == 500 and "not finite" in body["error"]


def test_wrong_method_and_path(server):
    assert request(server.url + "/api/recognize")[0] == 405
    code, result = request(server.url + "/nope")
    assert code == 404 and "error" in result
    code, result = request(server.url + "/healthz", b"x", "text/plain", method="POST")
    assert code == 405 and "error" in result
    try:
        urllib.request.urlopen(urllib.request.Request(server.url + "/api/recognize"), timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 405 and e.headers["Allow"] == "POST"
    else:
        raise AssertionError("GET /api/recognize answered")


def test_the_page_has_an_icon(server):
    with urllib.request.urlopen(server.url + "/favicon.ico", timeout=10) as r:
        assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")
    with urllib.request.urlopen(server.url + "/", timeout=10) as r:
        assert b'rel="icon"' in r.read()


def test_many_simultaneous_requests_are_answered_correctly(server):
    rng = np.random.default_rng(7)
    numbers = ["".join(rng.choice(list("0123456789"), int(rng.integers(1, 5)))) for _ in range(24)]
    images = [png(n, gap=0.5, rng=np.random.default_rng(i)) for i, n in enumerate(numbers)]

    def ask(i):
        body, ctype = multipart("image", images[i])
        return request(server.url + "/api/recognize", body, ctype)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(len(numbers))))
    assert [a[0] for a in answers] == [200] * len(numbers)
    assert [a[1]["digits"] for a in answers] == numbers
    assert request(server.url + "/healthz")[0] == 200  # and it is still up


# ---- in a real browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def page(server):
    with chromium_page(server.url + "/") as pg:
        yield pg


def shot(page, name):
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_browser_draw_one_digit(page):
    page.click("#clear")
    draw(page, "3")
    assert read(page, "3") == "3"
    assert page.locator("#details .digit").count() == 1
    assert page.locator("#details .digit .bar").count() == 10
    shot(page, "one-digit")


def test_browser_draw_a_number_and_undo(page):
    page.click("#clear")
    draw(page, "472")
    assert read(page, "472") == "472"
    shot(page, "number")
    page.click("#undo")  # the 2 was one stroke: it goes
    assert read(page, "47") == "47"


def test_browser_upload_an_image(page, tmp_path):
    path = tmp_path / "photo.png"
    render("2026", rng=np.random.default_rng(3)).save(path)
    page.set_input_files("#file", str(path))
    assert read(page, "2026") == "2026"
    shot(page, "upload")


def test_browser_shows_the_error_for_a_non_image(page, tmp_path):
    assert "not an image" in upload_a_text_file(page, tmp_path)
    shot(page, "error")


def _underlined_rows() -> bytes:
    """Two lines of digits, the second underlined, as a PNG."""
    rng = np.random.default_rng(4)
    top, bottom = np.asarray(render("305", rng=rng)), np.asarray(render("71", rng=rng))
    page = np.full((top.shape[0] + bottom.shape[0] + 20, top.shape[1]), 245, np.uint8)
    page[: top.shape[0]] = top
    y = top.shape[0]
    page[y : y + bottom.shape[0], : bottom.shape[1]] = bottom
    line_y = y + int(0.8 * bottom.shape[0])
    page[line_y : line_y + 5, 30 : bottom.shape[1] - 20] = 20  # the underline
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue()


def test_api_reads_lines_and_lists_what_it_set_aside(server):
    status, out = request(server.url + "/api/recognize", _underlined_rows(), "image/png")
    assert status == 200 and out["version"] == 2
    assert [line["digits"] for line in out["lines"]] == ["305", "71"] and out["text"] == "305\n71"
    assert [r["reason"] for r in out["rejected"]] == ["underline"]
    assert len(out["images"]) == len(out["probabilities"]) == 5


def test_browser_upload_shows_each_line_and_draws_the_boxes(page, tmp_path):
    path = tmp_path / "rows.png"
    path.write_bytes(_underlined_rows())
    page.set_input_files("#file", str(path))
    assert read(page, "305\n71") == "305\n71"
    # the digits' boxes are drawn in green over the picture, the underline's dashed in red
    page.wait_for_function(
        """() => {
          const c = document.getElementById('canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let green = 0, red = 0;
          for (let i = 0; i < d.length; i += 4) {
            if (d[i] < 60 && d[i + 1] > 120 && d[i + 2] < 60) green++;
            if (d[i] > 150 && d[i + 1] < 60 && d[i + 2] < 60) red++;
          }
          return green > 200 && red > 20;
        }""",
        timeout=15000,
    )
    shot(page, "upload-lines")
