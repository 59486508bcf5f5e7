"""Reading many pictures: folders expanded to their image files, the work shared among
processes (each loads the model once and classifies the digits of a chunk of pictures in one
forward pass), and a JSON-lines file that a run appends to as it goes and can resume from.

When one machine is not enough, :func:`read_partition` is what a Dask cluster maps over
partitions of the file list (``dask.bag``; see README): each worker process loads the model
once, and the records are the ``--jsonl`` ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from .errors import HandwritingError
from .imaging.load import PageOf, pages
from .nn.parallel import use_cores
from .recognizer import Recognition, load_model, recognize_many

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pdf"}
CHUNK = 16  # pictures a worker reads per task: their digits go through the network together

Item = str | PageOf  # a picture: a file, or one page of a document of several pages
Outcome = tuple[Item, Recognition | HandwritingError]


def expand(paths: Sequence[str]) -> list[Item]:
    """The pictures to read: each path as given, a folder replaced by its image files (by
    suffix, recursively, in sorted order), a document of several pages (a multi-page TIFF, a
    PDF) by its pages. Paths that do not exist are kept: reading them gives their error."""
    files = []
    for p in paths:
        if Path(p).is_dir():
            found = (f for f in Path(p).rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file())
            files += sorted(str(f) for f in found)
        else:
            files.append(p)
    return [item for f in files for item in pages(f)]  # type: ignore[misc]


def already_read(jsonl: Path) -> set[str]:
    """The pictures a previous run recorded in ``jsonl``, named as ``str(item)`` names them;
    a last line cut short (the run was killed while writing it) is removed from the file, so
    its picture is read again."""
    if not jsonl.is_file():
        return set()
    data = jsonl.read_bytes()
    done, good = set(), 0
    for line in data.splitlines(keepends=True):
        try:
            if not line.endswith(b"\n"):
                raise ValueError("cut short")
            found = json.loads(line)
            done.add(str(PageOf(found["file"], found["page"] - 1)) if "page" in found else found["file"])
        except (ValueError, KeyError, TypeError):
            break
        good += len(line)
    if good < len(data):
        with open(jsonl, "r+b") as f:
            f.truncate(good)
    return done


def read_all(
    files: Sequence[Item], model_path: str | None, workers: int, threshold: float, top_k: int
) -> Iterator[Outcome]:
    """(picture, its Recognition or error) for each picture, in order; with ``workers`` > 1 and
    enough files, read in that many processes."""
    chunks = [list(files[i : i + CHUNK]) for i in range(0, len(files), CHUNK)]
    read = partial(_read_chunk, model_path=model_path, threshold=threshold, top_k=top_k)
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield from read(chunk)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), initializer=_one_thread) as pool:
        for outcomes in pool.map(read, chunks):
            yield from outcomes


def _read_chunk(files: list[Item], model_path: str | None, threshold: float, top_k: int) -> list[Outcome]:
    model = load_model(model_path)  # cached: loaded once per process
    return list(zip(files, recognize_many(files, model, threshold, top_k), strict=True))


def _one_thread() -> None:
    """In a worker: the engine and NumPy's BLAS on one thread each, since the processes
    already share the cores."""
    from threadpoolctl import threadpool_limits

    use_cores(1)
    threadpool_limits(1)


def read_partition(
    files: Sequence[str], model_path: str | None = None, threshold: float = 0.5, top_k: int = 1
) -> list[dict[str, object]]:
    """One record per picture, as ``--jsonl`` writes them (``{"file", ...}`` or ``{"file",
    "error"}``), for a partition of files on a Dask worker (or anywhere): plain data, so it
    travels between processes; the model is loaded once per process."""
    items = [item for f in files for item in pages(f)]
    return [record(item, found) for item, found in _read_chunk(items, model_path, threshold, top_k)]  # type: ignore[arg-type]


def record(item: Item, found: Recognition | HandwritingError) -> dict[str, object]:
    """One picture's JSON record: ``{"file", **the result}``, or ``{"file", "error"}``; a
    page of a document of several pages also has ``"page"`` (1 = the first)."""
    where: dict[str, object] = {"file": item}
    if isinstance(item, PageOf):
        where = {"file": str(item.source), "page": item.index + 1}
    if isinstance(found, HandwritingError):
        return {**where, "error": str(found)}
    return {**where, **found.as_dict()}
