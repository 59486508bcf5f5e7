"""MNIST: the four official files, read from a local folder or downloaded once into the
user cache, always checked against their published SHA-256."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .._atomic import atomic_write
from ..errors import DataError
from ..paths import user_cache
from .dataset import Dataset, holdout_split
from .idx import read_idx

ENV_VAR = "HANDWRITING_DATA"

# name -> SHA-256 of the official gzip file (see shared/data/mnist/README.md)
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# Tried in order; the yann.lecun.com originals are often unavailable, so mirrors come first.
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

HOW_TO_GET = (
    f"copy the four MNIST .gz files into a folder and pass --data-dir DIR (or set {ENV_VAR}=DIR), "
    "or train on the built-in digits with --dataset digits"
)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/handwriting/mnist``, or ``~/.cache/handwriting/mnist``."""
    return user_cache("mnist")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _find_file(folder: Path, gz_name: str) -> Path | None:
    """The file in ``folder``: gzip as published, or uncompressed (also the common
    ``train-images.idx3-ubyte`` spelling)."""
    plain = gz_name[: -len(".gz")]
    for name in (gz_name, plain, plain.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def _verify(path: Path) -> str:
    """SHA-256 of ``path``; for the official .gz name it must match the published one."""
    digest = sha256_of(path)
    expected = FILES.get(path.name)
    if expected is not None and digest != expected:
        raise DataError(
            f"{path}: SHA-256 {digest[:12]}... does not match the official file "
            f"({expected[:12]}...); it is damaged or not MNIST: delete it and download it again"
        )
    return digest


def find_local(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The first folder holding all four files: ``data_dir``, then $HANDWRITING_DATA, then the cache."""
    candidates = [data_dir, os.environ.get(ENV_VAR), cache_dir()]
    for folder in candidates:
        if folder and all(_find_file(Path(folder), name) for name in FILES):
            return Path(folder)
    return None


def download(folder: Path | None = None, mirrors: list[str] | None = None) -> Path:
    """Fetch the files missing from ``folder`` (default: the cache), each checked by SHA-256
    and renamed into place only when complete; a bad copy is discarded and the next mirror tried."""
    folder = folder or cache_dir()
    for name, expected in FILES.items():
        if (folder / name).is_file():
            continue
        errors = []
        for mirror in mirrors or MIRRORS:
            try:
                _fetch(mirror + name, folder / name, expected)
                break
            except (OSError, DataError) as e:
                errors.append(f"{mirror}: {e}")
        else:
            raise DataError(f"could not download {name} ({'; '.join(errors)}). Offline? {HOW_TO_GET}")
    return folder


def _fetch(url: str, target: Path, expected: str) -> None:
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=30) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            atomic_write(target) as f,
            tqdm(total=total, unit="B", unit_scale=True, desc=target.name, leave=False, disable=None) as bar,
        ):
            for chunk in iter(lambda: response.read(1 << 16), b""):
                h.update(chunk)
                f.write(chunk)
                bar.update(len(chunk))
            if h.hexdigest() != expected:
                raise DataError(f"checksum mismatch for {url}: file discarded")


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download_missing: bool = True,
    val_size: int = 10_000,
) -> Dataset:
    """MNIST with the last ``val_size`` of the 60,000 training images held out for validation.

    Looks in ``data_dir`` if given (and only there), else in $HANDWRITING_DATA, else in the
    cache, downloading into the cache what is missing when ``download_missing``.
    """
    if data_dir is not None:
        folder = Path(data_dir)
        missing = [n for n in FILES if _find_file(folder, n) is None]
        if missing:
            raise DataError(f"{folder}: no {', '.join(missing)} there; {HOW_TO_GET}")
    else:
        found = find_local()
        if found is None and not download_missing:
            raise DataError(f"no local copy of MNIST; {HOW_TO_GET}")
        folder = found or download()
    paths = {n: _find_file(folder, n) for n in FILES}
    files = {p.name: _verify(p) for p in paths.values() if p is not None}
    arrays = {n: read_idx(p) for n, p in paths.items() if p is not None}
    x_all, y_all = _images_and_labels(arrays, "train", paths)
    x_test, y_test = _images_and_labels(arrays, "t10k", paths)
    x_train, y_train, x_val, y_val = holdout_split(x_all, y_all, val_size)
    return Dataset("mnist", x_train, y_train, x_val, y_val, x_test, y_test, files)


def _images_and_labels(
    arrays: dict[str, np.ndarray], prefix: str, paths: dict[str, Path | None]
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = arrays[f"{prefix}-images-idx3-ubyte.gz"], arrays[f"{prefix}-labels-idx1-ubyte.gz"]
    ipath, lpath = paths[f"{prefix}-images-idx3-ubyte.gz"], paths[f"{prefix}-labels-idx1-ubyte.gz"]
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{ipath}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{lpath}: {labels.shape} labels for {images.shape[0]} images in {ipath}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{lpath}: labels must be whole numbers (digits 0-9), got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise DataError(f"{lpath}: labels must be digits 0-9, found {bad}")
    if images.shape[0] == 0 or images.shape[1:] != (28, 28):
        raise DataError(f"{ipath}: expected 28x28 MNIST images, got {images.shape[0]} of {images.shape[1:]}")
    return (images.astype(np.float32) / np.float32(255.0)), labels.astype(np.int64)
