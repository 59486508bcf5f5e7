"""How well `recognize` reads pages built from MNIST **test** digits by the project's page
generator (``handwriting.imaging.synthetic_page``): 1-12 lines on plain or ruled paper with a
margin line or on squared paper (a printed grid, finer than the pen, light or dark),
underlined, framed and circled numbers, numbers in a form's printed boxes, dates, decimals,
times and phone numbers with separators, touching pairs, plain pages stored upside down or
on their side with no EXIF tag; all as phone photos (uneven light, noise, blur, JPEG, slight
rotation and perspective, EXIF orientation).

Per kind it prints the digit error rate (edit distance between the true and the read digits,
lines joined by a newline, over the number of true digits), the share of pages with the
right number of lines, the share of lines read exactly (on pages with the right number of
lines; for touching pairs, one pair a line), the share of pages read entirely right (text
with separators and spaces), the calibration error of the digits' confidences (ECE, top
label, 15 bins; over the digits of lines read with the right number of digits, whose
truth is known position by position) and the time per page.

    python benchmarks/pages.py --data-dir ../shared/data/mnist [--pages 100] [--model FILE]

``--split validation`` draws the pages from MNIST's validation digits instead: for choosing
settings, so that the test pages are measured, not tuned on.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from handwriting import recognize
from handwriting.calibration import calibration_error
from handwriting.data import load_mnist
from handwriting.imaging.synthetic_page import KINDS, draw_page
from handwriting.recognizer import Recognition, load_model


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, one row at a time."""
    row = np.arange(len(b) + 1)
    for i, ca in enumerate(a, 1):
        previous, row = row, np.empty_like(row)
        row[0] = i
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
    return int(row[-1])


def digits_of(lines: list[str]) -> str:
    return "\n".join("".join(c for c in line if c.isdigit() or c == "?") for line in lines)


def scored_digits(truth: list[str], result: Recognition) -> tuple[list[float], list[bool]]:
    """The confidence of each digit read, and whether it is the true one, on the lines read
    with as many digits as they truly hold (elsewhere which digit is which is not known)."""
    confidences: list[float] = []
    correct: list[bool] = []
    if len(result.lines) != len(truth):
        return confidences, correct
    for line, true_line in zip(result.lines, truth, strict=True):
        true_digits = [c for c in true_line if c.isdigit()]
        if len(line.digits) == len(true_digits):
            confidences += line.confidences
            correct += [a == b for a, b in zip(line.digits, true_digits, strict=True)]
    return confidences, correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--model", help="model file (default: the pretrained model)")
    parser.add_argument("--pages", type=int, default=100, help="pages per kind")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("test", "validation"), default="test", help="digits drawn from")
    parser.add_argument(
        "--show-errors", type=int, default=0, metavar="N", help="print N misread pages per kind"
    )
    args = parser.parse_args()

    ds = load_mnist(args.data_dir)
    model = load_model(args.model)
    x, y = (ds.x_test, ds.y_test) if args.split == "test" else (ds.x_val, ds.y_val)
    by_digit = {str(d): np.flatnonzero(y == d) for d in range(10)}
    print(
        f"model: {args.model or 'pretrained'} ({model.meta.get('preset')}); {args.pages} pages per kind, "
        f"MNIST {args.split} digits"
    )
    columns = ("digit errors", "line count", "lines right", "pages right", "ECE")
    print(f"{'kind':<12} " + " ".join(f"{c:>12}" for c in columns) + f" {'ms/page':>8}")
    totals = np.zeros(6)
    every: tuple[list[float], list[bool]] = ([], [])
    for kind in args.kinds:
        rng = np.random.default_rng([args.seed, KINDS.index(kind)])

        def glyph(c: str, rng: np.random.Generator = rng) -> np.ndarray:
            return x[rng.choice(by_digit[c])]

        errors = n_digits = lines_right = pages_right = exact = n_lines = 0
        seconds = 0.0
        confidences: list[float] = []
        correct: list[bool] = []
        shown = 0
        for _ in range(args.pages):
            data, truth = draw_page(kind, glyph, rng)
            start = time.perf_counter()
            result = recognize(data, model)
            seconds += time.perf_counter() - start
            read = [line.text for line in result.lines]
            true_digits = digits_of(truth)
            errors += edit_distance(true_digits, digits_of(read))
            n_digits += sum(c.isdigit() for c in true_digits)
            lines_right += len(read) == len(truth)
            pages_right += read == truth
            n_lines += len(truth)
            exact += sum(r == t for r, t in zip(read, truth, strict=False)) if len(read) == len(truth) else 0
            scored = scored_digits(truth, result)
            confidences += scored[0]
            correct += scored[1]
            if read != truth and shown < args.show_errors:
                shown += 1
                print(f"    {kind}: {truth} read as {read}")
        totals += (errors, n_digits, lines_right, pages_right, exact, n_lines)
        every[0].extend(confidences)
        every[1].extend(correct)
        print(
            f"{kind:<12} {100 * errors / n_digits:>11.2f}% {100 * lines_right / args.pages:>11.1f}% "
            f"{100 * exact / n_lines:>11.1f}% {100 * pages_right / args.pages:>11.1f}% "
            f"{100 * calibration_error(confidences, correct):>11.2f}% {1000 * seconds / args.pages:>8.1f}"
        )
    n = args.pages * len(args.kinds)
    errors, lines, pages = 100 * totals[0] / totals[1], 100 * totals[2] / n, 100 * totals[3] / n
    ece = 100 * calibration_error(*every)
    print(
        f"{'all':<12} {errors:>11.2f}% {lines:>11.1f}% {100 * totals[4] / totals[5]:>11.1f}% {pages:>11.1f}% "
        f"{ece:>11.2f}%"
    )


if __name__ == "__main__":
    main()
