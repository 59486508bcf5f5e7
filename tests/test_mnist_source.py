"""Where MNIST comes from: a local folder, $HANDWRITING_DATA, the cache, or a download that
tries mirrors in turn and keeps only files whose SHA-256 matches. Uses small fake files in
the MNIST layout, served from 127.0.0.1."""

import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from handwriting.data import DataError, load_dataset, load_mnist, mnist, write_idx


def make_fake_mnist(folder: Path, n_train=30, n_test=10) -> dict[str, str]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in arrays}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A folder of fake MNIST files whose checksums stand in for the official ones."""
    folder = tmp_path / "fake"
    folder.mkdir()
    for name, digest in make_fake_mnist(folder).items():
        monkeypatch.setitem(mnist.FILES, name, digest)
    monkeypatch.delenv("HANDWRITING_DATA", raising=False)
    return folder


def test_reads_a_local_folder_with_a_validation_split(fake):
    ds = load_mnist(fake, val_size=10)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (20, 10, 10)
    assert ds.x_train.dtype == np.float32 and ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    assert set(ds.files) == set(mnist.FILES)


def test_environment_variable_names_the_folder(fake, monkeypatch):
    monkeypatch.setenv("HANDWRITING_DATA", str(fake))
    assert mnist.find_local() == fake
    assert len(load_mnist(download_missing=False, val_size=5).y_test) == 10


def test_auto_falls_back_to_the_built_in_digits(monkeypatch):
    monkeypatch.delenv("HANDWRITING_DATA", raising=False)
    assert load_dataset("auto").name == "digits"


def test_wrong_checksum_is_refused(fake):
    path = fake / "t10k-labels-idx1-ubyte.gz"
    write_idx(path, np.zeros(10, np.uint8))
    with pytest.raises(DataError, match="does not match the official file") as e:
        load_mnist(fake, val_size=10)
    assert str(path) in str(e.value)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(DataError, match="--dataset digits"):
        load_mnist(tmp_path)


def test_offline_without_a_copy_says_how_to_get_the_data(monkeypatch):
    monkeypatch.delenv("HANDWRITING_DATA", raising=False)
    with pytest.raises(DataError, match="--data-dir"):
        load_mnist(download_missing=False)


class _Server:
    """Serves a dict path -> bytes on 127.0.0.1; other paths get 404."""

    def __init__(self, files: dict[str, bytes]):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_tries_mirrors_and_keeps_only_verified_files(fake, monkeypatch):
    good = {f"/good/{p.name}": p.read_bytes() for p in fake.iterdir()}
    corrupt = {f"/corrupt/{p.name}": b"\x1f\x8b not the file" for p in fake.iterdir()}
    server = _Server({**good, **corrupt})
    try:
        mirrors = [f"{server.url}/missing/", f"{server.url}/corrupt/", f"{server.url}/good/"]
        monkeypatch.setattr(mnist, "MIRRORS", mirrors)
        ds = load_mnist(val_size=10)  # nothing local: downloads into the cache
    finally:
        server.close()
    cache = mnist.cache_dir()
    assert sorted(p.name for p in cache.iterdir()) == sorted(mnist.FILES)  # no temporary files left
    assert all((cache / n).read_bytes() == (fake / n).read_bytes() for n in mnist.FILES)
    assert len(ds.y_test) == 10
    # Once cached, it is not downloaded again: no mirror answers now, and it still loads.
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/"])
    assert len(load_mnist(val_size=10).y_test) == 10


def test_failed_download_leaves_nothing_and_explains(fake, monkeypatch):
    corrupt = {f"/corrupt/{p.name}": b"garbage" for p in fake.iterdir()}
    server = _Server(corrupt)
    try:
        monkeypatch.setattr(mnist, "MIRRORS", [f"{server.url}/corrupt/", f"{server.url}/missing/"])
        with pytest.raises(DataError, match="could not download") as e:
            load_mnist()
    finally:
        server.close()
    assert "checksum mismatch" in str(e.value) and "404" in str(e.value)
    assert "--dataset digits" in str(e.value)
    cache = mnist.cache_dir()
    assert not cache.exists() or list(cache.iterdir()) == []


def test_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert mnist.cache_dir() == tmp_path / "handwriting" / "mnist"
