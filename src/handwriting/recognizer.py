"""Read the digits in a person's picture with a trained model: picture -> lines of ink ->
28x28 digits -> network -> text, with a probability per digit, '?' where the network is
unsure, and every mark it did not read listed with the reason.

The result (``Recognition.as_dict``, also what ``--json`` and the server print) is format
version 2; README.md documents it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import HandwritingError, ModelFileError
from .imaging.load import MAX_PIXELS, ImageSource, load_picture, pages
from .imaging.normalize import FIELD, looks_like_a_one
from .imaging.orient import turn, unturn
from .imaging.page import Page, read_page, whole_digit
from .imaging.segment import Box, Digit, Separator
from .model import Model

DEFAULT_THRESHOLD = 0.5
UNKNOWN = "?"
PRETRAINED = "mnist.npz"
FORMAT_VERSION = 2
N_DIGITS = 10
# A lone thin straight upright stroke is read as 1 unless the network gives "not a digit"
# at least this probability (chosen on the validation stand-ins; BENCHMARKS.md).
LONE_ONE_AT = 0.9
# A picture is read turned only where its marks read surer by this much evidence: the sum,
# over the marks, of the log of the best digit's probability (natural log; chosen on the
# validation pages, where upright pages gained at most 1.9 by a turn: BENCHMARKS.md).
TURN_MARGIN = 2.0
# Below this mean probability of the best digits, the marks are also tried upside down.
UPSIDE_DOWN_BELOW = 0.97
# A page on its side, found uncut, keeps a turn that beats that reading where the turned marks
# read at least this surely (mean probability of the best digits); else a turn must beat the
# page found again cut. Chosen on the validation pages: the turns kept that way read 0.90 or
# more; an upright page of touching pairs, turned, 0.19 (BENCHMARKS.md).
TURN_SURE = 0.5
# A picture is turned only where it holds this many marks read turned: a lone mark turned
# (a shoe, a letter m) reads as some digit too easily, and one or two say little.
TURN_MARKS = 3


@dataclass
class Line:
    """One line of writing. ``text`` holds its digits, separators and spaces; ``digits`` only
    its digits; ``confidences``, ``boxes``, ``top_k`` and ``images`` have one entry per digit."""

    text: str
    digits: str
    confidences: list[float]
    boxes: list[Box]
    top_k: list[list[tuple[int, float]]]
    probabilities: np.ndarray  # (n, 10): each digit class's probability
    images: np.ndarray  # (n, 28, 28): what the network was shown

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "digits": self.digits,
            "confidences": [round(c, 4) for c in self.confidences],
            "boxes": [list(b) for b in self.boxes],
            "top_k": [[{"digit": d, "probability": round(p, 4)} for d, p in row] for row in self.top_k],
        }


@dataclass
class Rejected:
    """A mark seen but not read as a digit, and why (rule, underline, frame, boxes, not a
    digit, too small)."""

    box: Box
    reason: str


@dataclass
class Recognition:
    """What was read in one picture: its lines, top to bottom, and the marks set aside.
    Boxes are (x0, y0, x1, y1) in the picture's own pixels (x1, y1 exclusive)."""

    lines: list[Line] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def digits(self) -> str:
        return "\n".join(line.digits for line in self.lines)

    @property
    def confidences(self) -> list[float]:
        return [c for line in self.lines for c in line.confidences]

    @property
    def boxes(self) -> list[Box]:
        return [b for line in self.lines for b in line.boxes]

    @property
    def top_k(self) -> list[list[tuple[int, float]]]:
        return [row for line in self.lines for row in line.top_k]

    @property
    def probabilities(self) -> np.ndarray:
        return np.concatenate([line.probabilities for line in self.lines] or [np.zeros((0, N_DIGITS))])

    @property
    def images(self) -> np.ndarray:
        return np.concatenate(
            [line.images for line in self.lines] or [np.zeros((0, FIELD, FIELD), np.float32)]
        )

    def as_dict(self) -> dict[str, object]:
        lines = [line.as_dict() for line in self.lines]
        return {
            "version": FORMAT_VERSION,
            "text": self.text,
            "digits": self.digits,
            "confidences": [c for line in lines for c in line["confidences"]],  # type: ignore[attr-defined]
            "boxes": [b for line in lines for b in line["boxes"]],  # type: ignore[attr-defined]
            "top_k": [row for line in lines for row in line["top_k"]],  # type: ignore[attr-defined]
            "lines": lines,
            "rejected": [{"box": list(r.box), "reason": r.reason} for r in self.rejected],
        }

    def __str__(self) -> str:
        shown = " | ".join(line.text for line in self.lines) or "no digits found"
        return f"{shown} ({len(self.confidences)} digits, {len(self.rejected)} marks set aside)"


def pretrained_path() -> Path:
    """The model file that ships inside the package."""
    return Path(str(resources.files("handwriting") / "models" / PRETRAINED))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model:
    """A model for recognition (default: the pretrained one), loaded once and cached."""
    model = Model.load(path or pretrained_path())
    if model.image_shape != (FIELD, FIELD):
        raise ModelFileError(
            f"{path}: trained on {'x'.join(map(str, model.image_shape))} images; recognizing needs a "
            f"model trained on 28x28 MNIST (handwriting train --dataset mnist)"
        )
    return model


def recognize(
    image: ImageSource,
    model: Model | str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int = 3,
    max_pixels: int = MAX_PIXELS,
) -> Recognition:
    """Read the digits in ``image`` (a path, encoded bytes, a PIL image or an array).

    The picture is read into lines of digits and separators (see ``imaging.page``), and every
    digit is classified. A digit whose best probability is below ``threshold`` is reported
    as '?'; a mark the model calls "not a digit" (models trained with that class) is left out
    of the text and listed in ``rejected``. A document of several pages (a multi-page TIFF,
    a PDF) is refused, rather than read one page of: :func:`recognize_pages` reads each.
    """
    result = recognize_many([image], model, threshold, top_k, max_pixels)[0]
    if isinstance(result, HandwritingError):
        raise result
    return result


def recognize_pages(
    document: ImageSource,
    model: Model | str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int = 3,
    max_pixels: int = MAX_PIXELS,
) -> list[Recognition]:
    """:func:`recognize` for each page of ``document``: a multi-page TIFF (a scanner's) or a
    PDF (with the ``pdf`` extra). A picture of one page gives a list of one."""
    results = recognize_many(pages(document), model, threshold, top_k, max_pixels)
    for result in results:
        if isinstance(result, HandwritingError):
            raise result
    return [r for r in results if isinstance(r, Recognition)]


def recognize_many(
    images: Sequence[ImageSource],
    model: Model | str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int = 3,
    max_pixels: int = MAX_PIXELS,
) -> list[Recognition | HandwritingError]:
    """:func:`recognize` for several pictures, faster: the digits of all of them are classified
    in one forward pass. A picture that cannot be read (damaged, too large, ...) gives its
    error in its place, and the others are still read."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    if not isinstance(model, Model):
        model = load_model(None if model is None else str(model))
    found: list[Found | HandwritingError] = []
    for image in images:
        try:
            found.append(find(image, model, max_pixels))
        except HandwritingError as e:
            found.append(e)
    pixels = np.concatenate(
        [f.pixels for f in found if isinstance(f, Found)] or [np.zeros((0, FIELD, FIELD))]
    )
    try:
        proba = model.predict_proba(pixels) if len(pixels) else np.zeros((0, N_DIGITS))
    except HandwritingError as e:  # the model fails on these digits: each picture gets the error
        return [e if isinstance(f, Found) else f for f in found]
    results: list[Recognition | HandwritingError] = []
    start = 0
    for f in found:
        if isinstance(f, HandwritingError):
            results.append(f)
            continue
        n = len(f.page.digits)
        results.append(f.read(proba[start : start + n], model, threshold, top_k))
        start += n
    return results


@dataclass
class Found:
    """A picture's page of lines, found but not yet classified, and how its working image's
    pixels map to the picture's own. ``find`` makes one; ``read`` turns it into the result once
    the network has classified ``pixels`` (so the digits of many pictures can share one pass)."""

    page: Page
    scale: tuple[float, float]
    size: tuple[int, int]
    gray: np.ndarray  # the working image, for reading rejected marks together (``_together``)
    quarters: int = 0  # quarter turns, counter-clockwise, given to the working image before reading

    @property
    def pixels(self) -> np.ndarray:
        """(n, 28, 28): the digits to classify, in reading order."""
        if not self.page.digits:
            return np.zeros((0, FIELD, FIELD), np.float32)
        return np.stack([d.pixels for d in self.page.digits])

    def box(self, b: Box) -> Box:
        """A box in the (turned) working image as a box in the picture's own pixels."""
        (sx, sy), (width, height) = self.scale, self.size
        x0, y0, x1, y1 = unturn(b, self.gray.shape, self.quarters)
        return (
            int(np.floor(x0 * sx)),
            int(np.floor(y0 * sy)),
            min(width, int(np.ceil(x1 * sx))),
            min(height, int(np.ceil(y1 * sy))),
        )

    def read(self, proba: np.ndarray, model: Model, threshold: float, top_k: int) -> Recognition:
        """The result, from the network's probabilities for ``pixels``, in order; read the
        other way up where the picture lies on its side or upside down (see ``_oriented``)."""
        found, proba = self._oriented(proba, model)
        return found._read(proba, model, threshold, top_k)

    def _oriented(self, proba: np.ndarray, model: Model) -> tuple[Found, np.ndarray]:
        """The picture the way up it reads best, found, with its probabilities: turned where
        its marks read surer that way by TURN_MARGIN (``_evidence``) and turned it holds
        TURN_MARKS marks or more. Tried a quarter turn either way when its pieces of ink are
        mostly wider than tall (digits lying on their side); upside down when its marks read
        unsure and their images read surer turned over; not where the network calls every
        mark "not a digit". A page on its side was found without cutting its pieces
        (``read_page``'s ``cut_sideways``): a turn that beats that reading and reads at least
        TURN_SURE is kept; else the page is found again with its pieces cut, and a turn must
        beat that reading (an upright page of touching pairs, each wider than tall, reads
        poorly uncut). The turns are tried then if the uncut reading tried none (its marks
        may all be "not a digit")."""
        turns = self._turns(proba, model)
        best = _surest(turns, proba)
        if self.page.cut or (best is not None and _mean_best(best[1]) >= TURN_SURE):
            return best or (self, proba)
        again, proba = self._turn(0, model)
        return _surest(turns or again._turns(proba, model), proba) or (again, proba)

    def _turns(self, proba: np.ndarray, model: Model) -> list[tuple[Found, np.ndarray]]:
        """The picture found again turned each way worth trying, with its probabilities."""
        return [self._turn(quarters, model) for quarters in self._tries(proba, model)]

    def _tries(self, proba: np.ndarray, model: Model) -> tuple[int, ...]:
        """The quarter turns worth trying (``_oriented``)."""
        if self.quarters or not self.page.digits or (model.decide(proba) == model.reject_class).all():
            return ()  # (marks that are each no digit are read together first: ``_together``)
        if self.page.sideways:
            return (1, 3)
        if _mean_best(proba) < UPSIDE_DOWN_BELOW and (
            _evidence(model.predict_proba(self.pixels[:, ::-1, ::-1])) > _evidence(proba)
        ):
            return (2,)
        return ()

    def _turn(self, quarters: int, model: Model) -> tuple[Found, np.ndarray]:
        """The picture turned ``quarters`` times (0: as it lies) and found again, touching
        digits cut, with its probabilities."""
        gray = turn(self.gray, quarters) if quarters else self.gray
        found = Found(read_page(gray, model.predict_proba), self.scale, self.size, gray, quarters)
        return found, _classified(found, model)

    def _read(self, proba: np.ndarray, model: Model, threshold: float, top_k: int) -> Recognition:
        """The result of the picture as it is found."""
        out = Recognition(rejected=[Rejected(self.box(b), why) for b, why in self.page.rejected])
        reading = {id(d): i for i, d in enumerate(self.page.digits)}
        proba = _second_look(self.page.digits, proba, model, threshold, self.page.give_back_faint)
        proba, decided = _read_ones(self.page.digits, proba, model)
        not_a_digit = decided == model.reject_class
        for segmented in self.page.lines:
            rows = [reading[id(it)] for it in segmented.items if isinstance(it, Digit)]
            line, not_digits = _read_line(
                segmented.items, segmented.spaces, proba[rows], not_a_digit[rows], threshold, top_k
            )
            out.rejected += [Rejected(self.box(b), "not a digit") for b in not_digits]
            if line is not None:
                line.boxes = [self.box(b) for b in line.boxes]
                out.lines.append(line)
        if not out.lines and not_a_digit.sum() >= 2:
            return self._together(out, model, threshold, top_k)
        return out

    def _together(self, out: Recognition, model: Model, threshold: float, top_k: int) -> Recognition:
        """A picture whose marks the network each calls "not a digit", read as one digit if all
        of them together are one (the strokes of an 8 or a 4 that came apart in a blurred or
        blocky picture); else ``out`` as it is."""
        boxes = np.array([d.box for d in self.page.digits])
        x0, y0 = (int(v) for v in boxes[:, :2].min(axis=0))
        x1, y1 = (int(v) for v in boxes[:, 2:].max(axis=0))
        digit = whole_digit(self.gray, (x0, y0, x1, y1))
        proba = model.predict_proba(digit.pixels[None])
        if model.decide(proba)[0] == model.reject_class:
            return out
        line, _ = _read_line([digit], [False], proba, np.array([False]), threshold, top_k)
        line.boxes = [self.box(b) for b in line.boxes]
        return Recognition([line], [r for r in out.rejected if r.reason != "not a digit"])


def find(image: ImageSource, model: Model, max_pixels: int = MAX_PIXELS) -> Found:
    """Decode ``image`` and find its lines (touching digits are cut where ``model`` reads them
    best; on a page that lies on its side, not yet: see ``Found._oriented``)."""
    gray, (width, height) = load_picture(image, max_pixels)
    page = read_page(gray, model.predict_proba, cut_sideways=False)
    return Found(page, (width / gray.shape[1], height / gray.shape[0]), (width, height), gray)


def _classified(found: Found, model: Model) -> np.ndarray:
    """The network's probabilities for ``found``'s digits."""
    return model.predict_proba(found.pixels) if found.page.digits else np.zeros((0, N_DIGITS))


def _surest(turns: list[tuple[Found, np.ndarray]], proba: np.ndarray) -> tuple[Found, np.ndarray] | None:
    """Of the turned readings ``turns``, the one with the most evidence, if it holds TURN_MARKS
    marks or more and beats the reading as it is (``proba``) by TURN_MARGIN; else None."""
    best, bar = None, _evidence(proba) + TURN_MARGIN
    for found, p in turns:
        if len(p) >= TURN_MARKS and (evidence := _evidence(p)) > bar:
            best, bar = (found, p), evidence
    return best


def _mean_best(proba: np.ndarray) -> float:
    """How surely the marks read: the geometric mean over them of P(the likeliest digit)."""
    return float(np.exp(np.mean(_best_digit(proba))))


def _best_digit(proba: np.ndarray) -> np.ndarray:
    """log P(the likeliest digit), for each mark."""
    return np.log(np.maximum(proba[:, :N_DIGITS].max(axis=1), 1e-9))


def _evidence(proba: np.ndarray) -> float:
    """How well a reading explains the marks as digits: the sum over them of log P(the
    likeliest digit), the log-likelihood of the reading were the marks independent."""
    return float(_best_digit(proba).sum())


def _read_line(
    items: list[Digit | Separator],
    spaces: list[bool],
    proba: np.ndarray,
    rejected: np.ndarray,
    threshold: float,
    top_k: int,
) -> tuple[Line | None, list[Box]]:
    """One line from its items, the probabilities of its digits in order and whether each is
    "not a digit" (None if no digit is left), and the boxes of the marks that are not digits."""
    text, chars, conf, boxes, tops, keep, not_digits = "", "", [], [], [], [], []
    rows = iter(range(len(proba)))
    space = False
    for item, gap in zip(items, spaces, strict=True):
        space |= gap
        if isinstance(item, Separator):
            text += (" " if space and text else "") + item.char
            space = False
            continue
        i = next(rows)
        if rejected[i]:
            not_digits.append(item.box)
            continue
        p = proba[i, :N_DIGITS]
        best = int(p.argmax())
        char = str(best) if p[best] >= threshold else UNKNOWN
        text += (" " if space and text else "") + char
        space = False
        chars += char
        conf.append(float(p[best]))
        boxes.append(item.box)
        tops.append([(int(k), float(p[k])) for k in np.argsort(-p)[: max(1, top_k)]])
        keep.append((i, item.pixels))
    if not chars:
        return None, not_digits
    images = np.stack([pixels for _, pixels in keep]).astype(np.float32)
    probabilities = proba[[i for i, _ in keep], :N_DIGITS].astype(np.float32)
    return Line(_trim(text), chars, conf, boxes, tops, probabilities, images), not_digits


def _read_ones(digits: list[Digit], proba: np.ndarray, model: Model) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities and decisions for a picture's digits, where a mark the network calls
    "not a digit" but reads best as 1 is a 1 if it is one thin straight upright stroke (as a 1
    is written): on a picture that holds other digits, whatever the network's doubt; alone,
    unless P(not a digit) >= LONE_ONE_AT. Taught with pieces of photographed clothes, the
    network takes some such strokes for one of them. Such a mark's probabilities become those
    of the digits alone, P(k | a digit) = p_k / (1 - p_none)."""
    if not digits:
        return proba, np.zeros(0, np.int64)
    decided = model.decide(proba)
    reject = model.reject_class
    if reject is None:
        return proba, decided
    doubt = 1.0 if (decided != reject).any() else LONE_ONE_AT
    ones = [
        i
        for i, d in enumerate(digits)
        if decided[i] == reject
        and proba[i, reject] < doubt
        and proba[i, :reject].argmax() == 1
        and looks_like_a_one(d.pixels)
    ]
    if not ones:
        return proba, decided
    proba, decided = proba.copy(), decided.copy()
    proba[ones, reject] = 0.0
    proba[ones] /= proba[ones].sum(axis=1, keepdims=True)
    decided[ones] = 1
    return proba, decided


def _second_look(
    digits: list[Digit],
    proba: np.ndarray,
    model: Model,
    threshold: float,
    give_back: Callable[[list[Digit]], None],
) -> np.ndarray:
    """The probabilities for a picture's digits, where a digit read unsure (no digit above
    ``threshold``) or called "not a digit" is read again from its image with the faint ink
    given back (``Digit.faint``, made by ``give_back`` for those digits only), and that
    reading replaces the first if it is a digit and surer: max_k p_k higher (and, for a mark
    called "not a digit", at least ``threshold`` and with strokes given back, not only its
    rim thickened: a rejected mark comes back only as a sure digit, not as '?', and a letter
    drawn bolder is no digit). A stroke too faint for the ink mask lost the digit a part. Not
    where the network calls every mark, two or more, "not a digit": those are read together
    first (``Found._together``)."""
    if not digits or model.reject_class is None:
        return proba
    decided = model.decide(proba)
    if len(digits) >= 2 and (decided == model.reject_class).all():
        return proba
    unsure = np.flatnonzero((decided == model.reject_class) | (proba[:, :N_DIGITS].max(axis=1) < threshold))
    give_back([digits[i] for i in unsure])
    unsure = [int(i) for i in unsure if digits[i].faint is not None]
    if not unsure:
        return proba
    again = model.predict_proba(np.stack([digits[i].faint for i in unsure]))
    surer = again[:, :N_DIGITS].max(axis=1) > proba[unsure, :N_DIGITS].max(axis=1)
    sure = again[:, :N_DIGITS].max(axis=1) >= threshold
    was_rejected = decided[unsure] == model.reject_class
    given = np.array([digits[i].strokes_given for i in unsure])
    better = surer & (model.decide(again) != model.reject_class) & ((sure & given) | ~was_rejected)
    proba = proba.copy()
    proba[np.asarray(unsure)[better]] = again[better]
    return proba


def _trim(text: str) -> str:
    """A line's text without separators hanging at its ends (left by a rejected mark)."""
    digits = [i for i, c in enumerate(text) if c.isdigit() or c == UNKNOWN]
    return text[digits[0] : digits[-1] + 1]
