"""The ``handwriting`` command: train, evaluate and inspect models."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from . import __version__
from ._atomic import atomic_write
from .calibration import ECE_BINS
from .data import DATASETS, load_dataset
from .errors import HandwritingError
from .imaging.load import PageOf
from .metrics import per_class
from .model import Model
from .nn import DivergenceError
from .paths import user_cache
from .presets import PRESETS
from .recognizer import DEFAULT_THRESHOLD, Recognition


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handwriting",
        description="A neural network from scratch in NumPy that reads handwritten digits.",
    )
    parser.add_argument("--version", action="version", version=f"handwriting {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a network and save it")
    t.add_argument(
        "--preset", choices=sorted(PRESETS), default="mlp", help="architecture and recipe (default: mlp)"
    )
    t.add_argument(
        "--dataset",
        choices=DATASETS,
        default="auto",
        help="mnist (downloaded once if no local copy), digits (built-in, offline), or auto: "
        "MNIST if a local copy is found, else digits (default)",
    )
    t.add_argument(
        "--data-dir", metavar="DIR", help="folder holding the four MNIST files (or set HANDWRITING_DATA)"
    )
    t.add_argument(
        "--epochs", type=_positive_int, help="passes over the training split (default: the preset's)"
    )
    t.add_argument(
        "--batch-size", type=_positive_int, help="examples per gradient step (default: the preset's)"
    )
    t.add_argument("--lr", type=_positive_float, help="learning rate (default: the preset's)")
    t.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling and dropout (default: 0)")
    t.add_argument("--out", metavar="FILE", help="model file to write (default: PRESET-DATASET.npz)")
    t.add_argument("--checkpoint-dir", metavar="DIR", help="save a checkpoint after every epoch in DIR")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest checkpoint in --checkpoint-dir (same options as the first run)",
    )

    e = sub.add_parser("evaluate", help="test accuracy, per-class figures and confusion matrix")
    e.add_argument(
        "models",
        metavar="MODEL",
        nargs="+",
        help="a model file written by 'handwriting train'; several: evaluate them as an ensemble",
    )
    e.add_argument(
        "--data-dir", metavar="DIR", help="folder holding the four MNIST files (or set HANDWRITING_DATA)"
    )
    e.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="the images to score: choose ensembles and --tta on validation, report test (default: test)",
    )
    e.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: average over each image and its four one-pixel shifts",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")

    i = sub.add_parser("info", help="architecture, training and metrics of a model file")
    i.add_argument("model", metavar="MODEL")

    r = sub.add_parser(
        "recognize",
        help="read the digits in image files (PNG, JPEG, BMP, GIF, TIFF, WebP) and folders of them",
    )
    r.add_argument("images", metavar="IMAGE", nargs="+", help="an image file, or a folder (read recursively)")
    r.add_argument(
        "--model", metavar="FILE", help="model file (default: the pretrained model in the package)"
    )
    r.add_argument(
        "--top-k", type=_positive_int, default=1, metavar="K", help="also list the K best guesses per digit"
    )
    r.add_argument(
        "--threshold",
        type=_fraction,
        default=DEFAULT_THRESHOLD,
        metavar="P",
        help=f"below this probability a digit is shown as '?' (default {DEFAULT_THRESHOLD})",
    )
    output = r.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON list, one object per image")
    output.add_argument(
        "--jsonl",
        metavar="FILE",
        help="append one JSON object per image to FILE as each is read (for folders of thousands)",
    )
    r.add_argument("--resume", action="store_true", help="with --jsonl: skip the images FILE already holds")
    r.add_argument(
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="processes reading images side by side (default: one per core)",
    )
    r.add_argument(
        "--digits-only", action="store_true", help="print the digits alone, without separators and spaces"
    )
    r.add_argument("--show", action="store_true", help="draw the 28x28 images the network was given")
    r.add_argument("--save-preprocessed", metavar="DIR", help="write the 28x28 images as PNG files into DIR")

    v = sub.add_parser("serve", help="a web page to draw digits and see them read, with a JSON API")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    v.add_argument("--port", type=_positive_int, default=8000, help="port (default: 8000)")
    v.add_argument("--model", metavar="FILE", help="model file (default: the pretrained model)")
    v.add_argument(
        "--workers", type=_positive_int, default=1, help="server processes, one per core to use (default: 1)"
    )

    x = sub.add_parser(
        "export", help="write a model for another runtime: an ONNX file, or a site that reads in the browser"
    )
    x.add_argument("model", metavar="MODEL", help="a model file (or 'pretrained', the one in the package)")
    x.add_argument(
        "--format",
        choices=("onnx", "web"),
        default="onnx",
        help="onnx: one .onnx file; web: a folder, a page that reads pictures with no server (default: onnx)",
    )
    x.add_argument("--out", metavar="PATH", required=True, help="the file (onnx) or folder (web) to write")

    p = sub.add_parser("report", help="figures and an HTML page about a trained model")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--out", metavar="DIR", default="report", help="folder to write into (default: report)")
    p.add_argument(
        "--data-dir", metavar="DIR", help="folder holding the four MNIST files (or set HANDWRITING_DATA)"
    )
    return parser


def _needs(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise HandwritingError(f"this command needs {module}: pip install 'handwriting[{extra}]'")


def _serve(args: argparse.Namespace) -> int:
    _needs("starlette", "web")
    _needs("uvicorn", "web")
    from .web.app import create_app
    from .web.server import serve

    app = create_app(args.model)  # in this process first: a bad model file fails here, once
    print(f"Serving on http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    serve(app, args.host, args.port, args.workers, args.model)
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import to_onnx, to_web
    from .recognizer import pretrained_path

    model = Model.load(pretrained_path() if args.model == "pretrained" else args.model)
    if args.format == "web":
        written = to_web(model, args.out)
        size = sum(f.stat().st_size for f in written)
        print(
            f"wrote {len(written)} files ({size / 1e6:.1f} MB) to {args.out}; serve that folder with any "
            f"static file server (python -m http.server -d {args.out}) and open it in a browser"
        )
        return 0
    to_onnx(model, args.out)
    print(
        f"wrote {args.out}: input images (N, {model.image_shape[0]}, {model.image_shape[1]}), "
        f"output probabilities (N, {len(model.meta['classes'])})"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    _needs("matplotlib", "report")
    from .report import write_report

    model = Model.load(args.model)
    name = _digits_of(model)
    dataset = load_dataset(name, args.data_dir if name == "mnist" else None)
    page = write_report(model, args.model, dataset, Path(args.out))
    for f in sorted(page.parent.glob("*.png")):
        print(f"wrote {f}")
    print(f"wrote {page}")
    return 0


def _digits_of(model: Model) -> str:
    """The data set whose test digits score ``model`` ("mnist+open-set": MNIST's)."""
    if "dataset" not in model.meta:
        raise HandwritingError(f"{model.source}: records no data set it was trained on, so none to score on")
    return model.meta["dataset"]["name"].split("+")[0]


def _train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .progress import ProgressBar
    from .training import train

    if args.data_dir is not None and args.dataset == "digits":
        raise HandwritingError("--data-dir is for MNIST; the digits data set is built in")
    if args.resume and not args.checkpoint_dir:
        raise HandwritingError("--resume needs --checkpoint-dir DIR, the folder of the run to continue")
    dataset = load_dataset(args.dataset, args.data_dir)
    if args.dataset == "auto" and dataset.name == "digits":
        print(
            "No local MNIST copy found, so training on the built-in UCI digits; "
            "for MNIST use --dataset mnist (downloads 11 MB once) or --data-dir DIR."
        )
    preset = PRESETS[args.preset]
    print(f"Data: {dataset.summary()}")
    print(f"Preset {preset.name}: {preset.describe(dataset.image_shape)}")
    if preset.open_set:
        print("Adding style variants and non-digits, each read by the recognizer's segmentation (minutes)")
    out = _destination(args.out, f"{args.preset}-{dataset.name}.npz")
    try:
        # A diverging run overflows before its cost turns NaN; the divergence guard reports it
        # in one line, so NumPy's warnings on the way there would only be noise.
        with np.errstate(over="ignore", invalid="ignore"):
            model = train(
                dataset,
                args.preset,
                epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                seed=args.seed,
                callbacks=[ProgressBar()],
                command=shlex.join(["handwriting", *argv]),
                checkpoint_dir=args.checkpoint_dir,
                resume=args.resume,
                notify=lambda line: print(f"handwriting: {line}", file=sys.stderr),
            )
    except (KeyboardInterrupt, DivergenceError) as stop:
        saved = _newest_checkpoint(args.checkpoint_dir)
        kept = f"; the checkpoint of epoch {saved} is kept in {args.checkpoint_dir}" if saved else ""
        if isinstance(stop, DivergenceError):
            raise HandwritingError(f"{stop}{kept}") from None
        print(
            f"handwriting: interrupted{kept}" + ("; continue with --resume" if saved else ""), file=sys.stderr
        )
        return 130
    _save_trained(model, out, args.checkpoint_dir)
    m = model.meta["metrics"]
    n_test = model.meta["dataset"]["n_test"]
    right = round(m["test_accuracy"] * n_test)
    tr = model.meta["training"]
    if tr["epochs_run"] < tr["epochs"]:  # (the progress bar has said which epoch's weights are kept)
        print(
            f"Early stopping ended training after epoch {tr['epochs_run']} of {tr['epochs']}: validation "
            f"accuracy had not improved for {preset.patience} epochs"
        )
    print(f"Test: {right:,} of {n_test:,} held-out digits recognized ({100 * m['test_accuracy']:.2f}%)")
    if "test_ece" in m:
        print(
            f"Calibrated: temperature {model.temperature:.3f} (fitted on validation); expected calibration "
            f"error on test {100 * m['test_ece']:.2f}%"
        )
    print(f"Saved {out}")
    return 0


def _destination(out: str | None, default: str) -> Path:
    """Where the trained model will go, checked before training: a folder means the default
    name inside it; the folder must exist or be creatable, and be writable."""
    path = Path(out or default)
    if path.is_dir():
        path = path / default
    if path.exists() and not path.is_file():
        raise HandwritingError(f"--out {path}: exists and is not a file; choose a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=".handwriting-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise HandwritingError(
            f"--out {path}: cannot write there ({e.strerror}); choose a folder you can write to"
        ) from None
    return path


def _save_trained(model: Model, out: Path, checkpoint_dir: str | None) -> None:
    """Save the model to ``out``, having first put it somewhere safe (the checkpoint folder,
    else the cache's ``trained`` folder): if ``out`` then fails (a full disk, a folder gone),
    the error names the safe copy, so the training is never lost."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(checkpoint_dir) if checkpoint_dir else user_cache("trained")
    safe: Path | None = folder / (f"final-{out.name}" if checkpoint_dir else f"{out.stem}-{stamp}.npz")
    try:
        model.save(safe)
    except OSError:
        safe = None  # then out is the only copy: try it all the same
    try:
        model.save(out)
    except OSError as e:
        kept = (
            f"the trained model is safe in {safe}: copy it from there"
            if safe
            else "the trained model could not be kept either; free some space and train again"
        )
        raise HandwritingError(f"could not write {out} ({e.strerror}); {kept}") from None
    if safe and not checkpoint_dir:
        safe.unlink(missing_ok=True)


def _newest_checkpoint(folder: str | None) -> int | None:
    from .checkpoint import latest

    if not folder or not Path(folder).is_dir():
        return None
    found = latest(Path(folder))
    return found.epoch if found else None


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    models = [Model.load(path) for path in args.models]
    names = {_digits_of(m) for m in models}
    if len(names) > 1:
        raise HandwritingError(
            f"these models were trained on different data sets: {', '.join(sorted(names))}"
        )
    name = names.pop()
    dataset = load_dataset(name, args.data_dir if name == "mnist" else None)
    images, labels = (
        (dataset.x_test, dataset.y_test) if args.split == "test" else (dataset.x_val, dataset.y_val)
    )
    result = evaluate(models, images, labels, tta=args.tta)
    cm = result["confusion"]
    stats = per_class(cm)
    label = args.models[0] if len(models) == 1 else f"ensemble of {len(models)} models"
    if args.json:
        print(
            json.dumps(
                {
                    "model": label,
                    "models": [
                        {"file": f, "accuracy": a}
                        for f, a in zip(args.models, result["members"], strict=True)
                    ],
                    "dataset": name,
                    "split": args.split,
                    "tta": args.tta,
                    "n": int(cm.sum()),
                    "accuracy": result["accuracy"],
                    "calibration_error": result["ece"],
                    "per_class": {
                        str(c): {k: float(stats[k][c]) for k in ("precision", "recall", "f1", "support")}
                        for c in range(len(cm))
                    },
                    "confusion": cm.tolist(),
                }
            )
        )
        return 0
    tta = ", each with its four one-pixel shifts" if args.tta else ""
    print(f"{label}: {dataset.name} {args.split} set, {int(cm.sum()):,} images{tta}")
    if len(models) > 1:
        for f, a in zip(args.models, result["members"], strict=True):
            print(f"  {f}: {100 * a:.2f}% alone")
        print("(probabilities averaged)")
    print(f"accuracy {100 * result['accuracy']:.2f}%")
    print(
        f"calibration error {100 * result['ece']:.2f}% "
        f"(top label, {ECE_BINS} bins; 0 means the confidences are the accuracy)\n"
    )
    names = [str(c) if c < 10 else "none" for c in range(len(cm))]  # "none": not a digit
    print("digit  precision  recall     f1  support")
    for c in range(len(cm)):
        print(
            f"{names[c]:>5}  {stats['precision'][c]:>9.4f}  {stats['recall'][c]:>6.4f}  "
            f"{stats['f1'][c]:>5.4f}  {int(stats['support'][c]):>7}"
        )
    print("\nconfusion matrix (rows: true digit, columns: predicted)")
    width = max(5, len(str(cm.max())) + 1)
    print("     " + "".join(f"{n:>{width}}" for n in names))
    for c, row in enumerate(cm):
        print(f"{names[c]:>4} " + "".join(f"{v:>{width}}" for v in row))
    return 0


def _info(args: argparse.Namespace) -> int:
    model = Model.load(args.model)
    meta, net = model.meta, model.network
    print(f"{args.model}: handwriting model, format version {meta['format_version']}")
    print(f"preset:       {meta.get('preset')}")
    print(f"architecture: {' -> '.join(repr(layer) for layer in net.layers)}")
    print(f"cost:         {type(net.cost).__name__}")
    print(f"parameters:   {net.n_params():,} ({net.dtype.name})")
    print(f"input:        images of {'x'.join(map(str, model.image_shape))}")
    classes = meta.get("classes", [])
    print(
        f"classes:      {len(classes)}"
        + (" (the last: not a digit)" if model.reject_class is not None else "")
    )
    print(
        f"calibration:  temperature {model.temperature:g}" + (" (none)" if model.temperature == 1.0 else "")
    )
    tr, ds = meta.get("training", {}), meta.get("dataset", {})
    if tr:
        opt = tr["optimizer"]
        print(
            f"trained on:   {ds.get('name')} ({ds.get('n_train'):,} images; "
            f"{ds.get('n_val'):,} held out for validation)"
        )
        print(
            f"training:     {tr['epochs_run']} of {tr['epochs']} epochs, batch {tr['batch_size']}, "
            f"{opt['type']} lr {opt['lr']:g}, {tr['schedule']} schedule, seed {tr['seed']}, "
            f"{tr['seconds']:.1f} s"
        )
        if tr.get("command"):
            print(f"command:      {tr['command']}")
    for name, digest in ds.get("files", {}).items():
        print(f"data file:    {name} sha256 {digest}")
    for name, value in meta.get("metrics", {}).items():
        shown = f"{100 * value:.2f}%" if "accuracy" in name or "ece" in name else f"{value:.4f}"
        print(f"{name + ':':<15}{shown}")
    return 0


_SHADES = " .:-=+*#%@"


def _ascii(image: np.ndarray) -> list[str]:
    """A 28x28 image as 28 lines of characters, darker characters for more ink."""
    levels = np.clip((image * (len(_SHADES) - 1)).round().astype(int), 0, len(_SHADES) - 1)
    return ["".join(_SHADES[v] * 2 for v in row) for row in levels]


def _recognize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .folders import already_read, expand, read_all, record
    from .recognizer import load_model

    if args.resume and not args.jsonl:
        raise HandwritingError("--resume needs --jsonl FILE, the results of the run to continue")
    load_model(args.model)  # a bad model file is one line, before any picture
    out_dir = _folder_for_images(args.save_preprocessed)
    files = expand(args.images)
    if args.jsonl:
        done = already_read(Path(args.jsonl)) if args.resume else set()
        if not args.resume and Path(args.jsonl).is_file() and Path(args.jsonl).stat().st_size:
            raise HandwritingError(
                f"{args.jsonl} already holds results: add --resume to continue that run, "
                "or choose another file"
            )
        files = [f for f in files if str(f) not in done]
    results, failed = [], 0
    with (
        open(args.jsonl, "a", encoding="utf-8") if args.jsonl else contextlib.nullcontext() as sink,
        tqdm(total=len(files), unit=" pictures", file=sys.stderr, disable=None if sink else True) as bar,
    ):
        for name, found in read_all(files, args.model, args.workers, args.threshold, args.top_k):
            bar.update()
            if isinstance(found, HandwritingError):
                failed += 1
                bar.write(f"handwriting: error: {found}", file=sys.stderr)
            elif out_dir is not None:
                _save_images(found.images, out_dir, _stem(name))
            if sink is not None:
                sink.write(json.dumps(record(name, found)) + "\n")
                sink.flush()  # a killed run loses at most the line it was writing
            elif args.json:
                results.append(record(name, found))
            elif not isinstance(found, HandwritingError):
                _print_found(str(name), found, args)
    if args.json:
        print(json.dumps(results))
    if args.jsonl:
        print(f"{len(files) - failed:,} pictures read into {args.jsonl}, {failed:,} failed")
    return 1 if failed else 0


def _folder_for_images(folder: str | None) -> Path | None:
    if folder is None:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HandwritingError(
            f"--save-preprocessed {folder}: cannot create that folder ({e.strerror}); "
            "choose a folder you can write to"
        ) from None
    return Path(folder)


def _stem(item: str | PageOf) -> str:
    """The name of a picture's saved digits: the file's stem, and the page of a document."""
    if isinstance(item, PageOf):
        return f"{Path(item.source).stem}-page{item.index + 1}"
    return Path(str(item)).stem


def _save_images(images: np.ndarray, folder: Path, stem: str) -> None:
    from PIL import Image

    for i, pixels in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray((pixels * 255).round().astype(np.uint8)).save(buffer, format="PNG")
        with atomic_write(folder / f"{stem}-{i + 1}.png") as f:  # a full disk leaves no half-written picture
            f.write(buffer.getvalue())


SHOW_PER_ROW = 8  # --show draws at most this many digits side by side


def _print_found(name: str, found: Recognition, args: argparse.Namespace) -> None:
    if not found.lines:
        print(f"{name}: no digits found")
        return
    shown = " | ".join(line.digits if args.digits_only else line.text for line in found.lines)
    confidences = " | ".join(" ".join(f"{c:.2f}" for c in line.confidences) for line in found.lines)
    print(f"{name}: {shown} ({confidences})")
    if args.top_k > 1:
        for i, row in enumerate(found.top_k):
            print(f"  digit {i + 1}: " + ", ".join(f"{d} {p:.2f}" for d, p in row))
    if args.show:
        for start in range(0, len(found.images), SHOW_PER_ROW):
            if start:
                print()  # between rows of digits
            for line in zip(*(_ascii(p) for p in found.images[start : start + SHOW_PER_ROW]), strict=True):
                print("  " + " | ".join(line))


def _os_error(e: OSError) -> str:
    """One line: the path, what went wrong, what to do."""
    import errno

    where = f"{e.filename}: " if e.filename else ""
    fix = {
        errno.ENOSPC: "free some space and try again",
        errno.EDQUOT: "free some space and try again",
        errno.EACCES: "choose a place you can write to",
        errno.EPERM: "choose a place you can write to",
        errno.EROFS: "choose a place you can write to",
        errno.ENOENT: "check the path",
        errno.EISDIR: "give a file name, not a folder",
        errno.ENOTDIR: "check the path: part of it is a file",
    }.get(e.errno, "check the path and try again")
    return f"{where}{e.strerror or e}; {fix}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args, argv)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "recognize":
            return _recognize(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "report":
            return _report(args)
        if args.command == "export":
            return _export(args)
        return _info(args)
    except (HandwritingError, ValueError) as e:
        print(f"handwriting: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit either
        return 1
    except OSError as e:  # a full disk, a folder that vanished, a permission taken away
        print(f"handwriting: error: {_os_error(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("handwriting: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
