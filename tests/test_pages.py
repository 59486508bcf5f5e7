"""Pages, not one clean row: several lines, ruled paper, underlines, frames, circles, form
boxes, separators and touching digits, on pictures the project draws (its own digits, so
no data set is needed), read through ``handwriting.recognize`` and the CLI as a user would."""

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

import handwriting
from handwriting.cli import main
from handwriting.imaging import read_page, to_mnist
from handwriting.imaging.faint import give_back_faint
from handwriting.imaging.segment import Digit
from handwriting.imaging.synthetic import render
from handwriting.imaging.synthetic_page import KINDS, draw_page
from handwriting.recognizer import _second_look


def _glyph(rng: np.random.Generator):
    def glyph(c: str) -> np.ndarray:
        image = render(c, height=60, margin=0.1, pen=float(rng.uniform(0.08, 0.12)), rng=rng)
        ink = 1.0 - np.asarray(image, np.float32) / 255.0
        ys, xs = np.nonzero(ink > 0.2)
        return to_mnist(ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])

    return glyph


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row = row, [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
    return row[-1]


def _digits(lines: list[str]) -> str:
    return "\n".join("".join(c for c in line if c.isdigit() or c == "?") for line in lines)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_page_is_read_line_by_line(kind):
    rng = np.random.default_rng(KINDS.index(kind))
    glyph = _glyph(rng)
    errors = total = right_lines = 0
    for _ in range(6):
        data, truth = draw_page(kind, glyph, rng)
        result = handwriting.recognize(data)
        read = [line.text for line in result.lines]
        errors += _distance(_digits(truth), _digits(read))
        total += sum(c.isdigit() for c in "".join(truth))
        right_lines += len(read) == len(truth)
    assert right_lines >= 5, f"{kind}: wrong number of lines on {6 - right_lines} of 6 pages"
    # BENCHMARKS.md has the figures on MNIST digits; the target there (1%) is not met yet
    assert errors <= 0.1 * total, f"{kind}: {errors} digit errors in {total}"


def _picture(lines: list[str], gap: float = 0.3) -> bytes:
    """Lines of digits drawn one under the other (separators drawn by the page generator's
    strokes are not needed here), as PNG."""
    rng = np.random.default_rng(7)
    rows = [np.asarray(render(t, height=60, gap=gap, rng=rng)) for t in lines]
    width = max(r.shape[1] for r in rows)
    page = np.full((sum(r.shape[0] for r in rows), width), 245, np.uint8)
    y = 0
    for r in rows:
        page[y : y + r.shape[0], : r.shape[1]] = r
        y += r.shape[0]
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue()


def test_two_rows_are_two_lines_not_one_merged_number():
    result = handwriting.recognize(_picture(["12", "34"]))
    assert [line.digits for line in result.lines] == ["12", "34"]
    assert result.digits == "12\n34" and result.text == "12\n34"
    assert len(result.confidences) == len(result.boxes) == 4
    five = handwriting.recognize(_picture(["123", "45"]))
    assert five.digits == "123\n45"


def test_json_format_version_2(tmp_path, capsys):
    path = tmp_path / "rows.png"
    path.write_bytes(_picture(["507", "26"]))
    assert main(["recognize", "--json", "--top-k", "2", str(path)]) == 0
    [out] = json.loads(capsys.readouterr().out)
    assert out["version"] == 2 and out["file"] == str(path)
    assert out["text"] == "507\n26" and out["digits"] == "507\n26"
    assert [line["digits"] for line in out["lines"]] == ["507", "26"]
    for line in out["lines"]:
        n = len(line["digits"])
        assert len(line["confidences"]) == len(line["boxes"]) == len(line["top_k"]) == n
        assert all(len(row) == 2 for row in line["top_k"])
    width, height = Image.open(path).size
    for x0, y0, x1, y1 in out["boxes"]:  # in the picture's own pixels, x1 and y1 exclusive
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert out["rejected"] == []
    # the first line's boxes lie above the second's
    assert max(b[3] for b in out["lines"][0]["boxes"]) <= min(b[1] for b in out["lines"][1]["boxes"]) + 5


def _png(ink: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _drawn(c: str, seed: int) -> np.ndarray:
    """A digit drawn by the project (ink = 1), cropped to its rows of ink."""
    ink = 1.0 - np.asarray(render(c, height=120, pen=0.09, rng=np.random.default_rng(seed)), np.float32) / 255
    rows = np.flatnonzero((ink > 0.5).any(axis=1))
    return ink[rows.min() : rows.max() + 1]


@pytest.mark.parametrize(("digit", "seed"), [("3", 0), ("5", 1)])
def test_a_digit_broken_in_an_upper_and_a_lower_half_is_one_digit_not_two_lines(digit, seed):
    """The pen (or a faint photo) left a gap across the middle: the two halves, one over the
    other, were read as two lines ('7' over '3'); read together, they are one digit."""
    ink = np.pad(_drawn(digit, seed), 20)
    rows = np.flatnonzero((ink > 0.5).any(axis=1))
    top, bottom = rows.min(), rows.max()
    ink[int(top + 0.47 * (bottom - top)) : int(top + 0.55 * (bottom - top))] = 0
    result = handwriting.recognize(_png(ink))
    assert result.text == digit and len(result.lines) == 1


def test_a_digit_in_pieces_that_are_each_no_digit_is_read_whole():
    """An 8 cut into four quarters: the network calls each "not a digit", so the picture gave
    no digit; read together, the pieces are the 8."""
    ink = 1.0 - np.asarray(render("8", height=100, pen=0.1, rng=np.random.default_rng(0)), np.float32) / 255
    ys, xs = np.nonzero(ink > 0.5)
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    ink[int(top + 0.45 * (bottom - top)) : int(top + 0.53 * (bottom - top))] = 0
    ink[:, int(left + 0.46 * (right - left)) : int(left + 0.54 * (right - left))] = 0
    result = handwriting.recognize(_png(ink))
    assert result.text == "8" and len(result.lines) == 1
    assert not [r for r in result.rejected if r.reason == "not a digit"]


def test_two_1s_written_tightly_one_over_the_other_stay_two_lines():
    """Two pieces one just over the other are one digit only if the network reads them together
    clearly more surely than apart: two 1s read as one long 1 are not."""
    upper, lower = _drawn("1", 1), _drawn("1", 2)
    width = max(upper.shape[1], lower.shape[1])
    gap = np.zeros((12, width), np.float32)  # a tenth of the digits' height
    ink = np.concatenate([np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in (upper, gap, lower)])
    assert handwriting.recognize(_png(np.pad(ink, 20))).text == "1\n1"


def test_plain_output_separates_lines_with_a_bar(tmp_path, capsys):
    path = tmp_path / "rows.png"
    path.write_bytes(_picture(["81", "470"]))
    assert main(["recognize", str(path)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{path}: 81 | 470 (")


def test_boxes_are_in_the_original_pictures_pixels_for_a_large_picture():
    big = Image.open(io.BytesIO(_picture(["42"]))).resize((2400, 1080))
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    result = handwriting.recognize(buffer.getvalue())
    assert result.digits == "42"
    x0, y0, x1, y1 = result.boxes[0]
    assert x1 - x0 > 200 and y1 - y0 > 400  # not the reduced working copy's pixels


def test_exif_orientation_is_honoured_and_boxes_follow_it():
    rng = np.random.default_rng(3)
    data, truth = draw_page("plain", _glyph(rng), rng, photo=False)
    upright = Image.open(io.BytesIO(data))
    turned = upright.transpose(Image.Transpose.ROTATE_90)  # stored on its side ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with the tag that says to turn it back
    buffer = io.BytesIO()
    turned.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    result = handwriting.recognize(buffer.getvalue())
    assert [line.text for line in result.lines] == truth
    width, height = upright.size
    assert all(x1 <= width and y1 <= height for _, _, x1, y1 in result.boxes)


def test_separators_and_spaces_are_kept_in_text_and_dropped_from_digits(tmp_path, capsys):
    rng = np.random.default_rng(11)
    glyph = _glyph(rng)
    seen = 0
    for _ in range(8):
        data, truth = draw_page("separators", glyph, rng, photo=False)
        result = handwriting.recognize(data)
        if [line.text for line in result.lines] == truth:
            seen += 1
            for line, true in zip(result.lines, truth, strict=True):
                assert line.digits == "".join(c for c in true if c.isdigit())
    assert seen >= 6
    path = tmp_path / "date.jpg"
    path.write_bytes(data)
    assert main(["recognize", "--digits-only", str(path)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out.split(": ", 1)[1].split(" (")[0] for c in ".,:-")


def test_an_underline_and_a_frame_are_listed_as_rejected_not_read():
    rng = np.random.default_rng(5)
    glyph = _glyph(rng)
    for kind, reasons in (("underlined", {"underline", "rule"}), ("framed", {"frame", "boxes", "rule"})):
        data, truth = draw_page(kind, glyph, rng, photo=False)
        result = handwriting.recognize(data)
        assert [line.text for line in result.lines] == truth
        assert result.rejected and {r.reason for r in result.rejected} <= reasons


def test_a_blank_picture_has_no_lines_and_says_so(tmp_path, capsys):
    path = tmp_path / "blank.png"
    Image.new("L", (300, 200), 240).save(path)
    result = handwriting.recognize(str(path))
    assert result.lines == [] and result.digits == "" and result.text == ""
    assert main(["recognize", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: no digits found"


def test_a_small_digit_beside_large_ones_is_read_not_dropped():
    rng = np.random.default_rng(2)
    big, small = np.asarray(render("47", height=150, rng=rng)), np.asarray(render("2", height=60, rng=rng))
    page = np.full((big.shape[0], big.shape[1] + small.shape[1]), 245, np.uint8)
    page[:, : big.shape[1]] = big
    y = big.shape[0] - small.shape[0] - 40  # sitting on the same baseline
    page[y : y + small.shape[0], big.shape[1] :] = small
    result = handwriting.recognize(page)
    assert result.digits == "472"


def test_a_speck_too_small_to_read_is_reported_not_silently_dropped():
    image = np.asarray(render("38", height=150, rng=np.random.default_rng(6))).copy()
    image[20:36, 10:26] = 20  # a blot about a pen stroke wide, far from the digits
    result = handwriting.recognize(image)
    assert result.digits == "38"
    assert [r.reason for r in result.rejected] == ["too small"]


def test_a_comma_below_the_baseline_and_a_stroke_left_apart_stay_on_their_line():
    from handwriting.imaging.lines import group_lines

    boxes = np.array(
        [
            [0, 0, 30, 40],  # "1", "2", then a comma hanging below the baseline, then "3"
            [40, 0, 70, 40],
            [85, 32, 95, 58],
            [100, 0, 130, 40],
            [0, 100, 30, 140],  # "4", "5", and the 5's flag drawn apart, well above its body
            [40, 110, 70, 140],
            [50, 90, 58, 100],
        ]
    )
    assert [line.tolist() for line in group_lines(boxes, 40.0)] == [[0, 1, 2, 3], [4, 5, 6]]


def test_rules_the_line_search_missed_do_not_pass_for_writing(monkeypatch):
    """A ruled page whose photo hid some rules from the line search: what is left of them, joined
    by the margin line into a mesh as wide as the page, must not set the digits' height."""
    import cv2

    from handwriting.imaging import page

    mask = np.zeros((600, 400), np.uint8)
    for y in (100, 200, 300, 400, 500):
        cv2.line(mask, (0, y), (399, y), 1, 4)
    cv2.line(mask, (30, 0), (30, 599), 1, 4)  # the margin
    for k in range(12):  # digits (rings 24 pixels tall) between the rules
        cv2.circle(mask, (70 + 50 * (k % 6), 150 + 100 * (k // 6)), 10, 1, 4)
    mask = mask.astype(bool)
    found = np.zeros_like(mask)
    found[98:103] = found[198:203] = True  # only the first two rules were found
    monkeypatch.setattr(page, "_page_lines", lambda m: (found & m, 2))
    height = page._digit_height(mask, 4.0, page._components(mask))
    assert height is not None and 20 <= height <= 30


@pytest.mark.parametrize("digits", ["64", "2345"])
def test_a_ring_the_digits_touch_from_inside_is_set_aside_not_read(digits):
    """A ring round a number under a plain one, each digit touching it from inside at the top
    or the bottom: one piece, ring and digits, which must be told from a 0 and from digits
    that touch each other."""
    import cv2

    rng = np.random.default_rng(3)
    glyphs = []
    for c in digits:
        glyph = np.asarray(render(c, height=60, margin=0.0, rng=rng))
        ys, xs = np.nonzero(glyph < 128)
        glyphs.append(glyph[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    width = sum(g.shape[1] + 15 for g in glyphs)
    page = np.full((300, width + 300), 245, np.uint8)
    plain = np.asarray(render("806", height=60, rng=rng))
    page[: plain.shape[0], 40 : 40 + plain.shape[1]] = plain
    (cx, cy), (a, b) = (150 + width // 2, 195), (width // 2 + 90, 47)  # 1.5 digit heights inside
    cv2.ellipse(page, (cx, cy), (a + 3, b + 3), 0, 0, 360, 30, 6)
    x = 150
    for k, glyph in enumerate(glyphs):
        h, w = glyph.shape
        reach = int(b * np.sqrt(1 - ((x + w / 2 - cx) / a) ** 2))  # the ring's inner edge
        y = cy - reach - 1 if k % 2 == 0 else cy + reach + 1 - h
        page[y : y + h, x : x + w] = np.minimum(page[y : y + h, x : x + w], glyph)
        x += w + 15
    result = handwriting.recognize(page)
    assert [line.digits for line in result.lines] == ["806", digits]
    assert [r.reason for r in result.rejected] == ["frame"]


def test_a_flag_drawn_apart_on_a_small_digit_is_part_of_it_not_a_dash():
    """A small 5 whose flat top stroke the pen left apart, a little to the right of its body:
    the stroke rests on the digit's top, so it is the digit's, not a dash between digits."""
    rng = np.random.default_rng(4)

    def ink(c: str, height: int) -> np.ndarray:
        glyph = np.asarray(render(c, height=height, margin=0.0, rng=rng))
        ys, xs = np.nonzero(glyph < 128)
        return glyph[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]

    def cropped(a: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(a < 128)
        return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]

    three, five, seven = ink("3", 60), ink("5", 40), ink("7", 60)
    flag_rows = int(np.argmax((five < 128).sum(axis=1) < 0.5 * five.shape[1]))  # the bar's rows
    flag, body = cropped(five[:flag_rows]), cropped(five[flag_rows + 2 :])
    page = np.full((140, 300), 245, np.uint8)
    base = 100
    page[base - 60 : base, 20 : 20 + three.shape[1]] = three
    x = 40 + three.shape[1]
    page[base - body.shape[0] : base, x : x + body.shape[1]] = body
    fx = x + body.shape[1] - max(1, flag.shape[1] // 10)  # overlapping the body by a tenth of its width
    fy = base - body.shape[0] - 1 - flag.shape[0]
    page[fy : fy + flag.shape[0], fx : fx + flag.shape[1]] = np.minimum(
        page[fy : fy + flag.shape[0], fx : fx + flag.shape[1]], flag
    )
    page[base - 60 : base, 220 : 220 + seven.shape[1]] = seven
    result = handwriting.recognize(page)
    assert "-" not in result.text and len(result.digits) == 3, result.text


@pytest.mark.parametrize("seed", [0, 9])
def test_digits_joined_to_the_only_form_boxes_are_read_without_the_dividers(seed):
    """Two printed boxes and nothing else, each digit touching its box, photographed: one
    piece as tall as the boxes, so the digits' height must be judged again once the box lines
    are off, or the dividers (no taller than that first guess) are read as 1s."""
    import cv2

    from handwriting.imaging.synthetic_page import _as_photo

    ink = np.zeros((60, 160), np.float32)
    for x0 in (30, 66):
        cv2.rectangle(ink, (x0, 6), (x0 + 36, 44), 1.0, 2)
    cv2.ellipse(ink, (48, 20), (8, 13), 0, 0, 360, 1.0, 2)  # a 0 touching its box's top
    cv2.polylines(ink, [np.array([[74, 7], [92, 7], [81, 36]])], False, 1.0, 2)  # a 7 hanging from it
    result = handwriting.recognize(_as_photo(ink, np.random.default_rng(seed)))
    assert result.text == "07"


def _nth_page(kind: str, seed: int, n: int) -> tuple[bytes, list[str]]:
    """The n-th page of ``kind`` that the generator draws from ``seed`` (1 is the first)."""
    rng = np.random.default_rng(seed)
    glyph = _glyph(rng)
    for _ in range(n):
        data, truth = draw_page(kind, glyph, rng)
    return data, truth


def test_the_size_of_large_writing_is_checked_where_the_digits_stand_apart():
    """On the 200-pixel copy that judges how far to shrink large writing, a digit close to a
    rule merges with it into one tall piece; taken for the digit, it shrank this page's '1'
    to a sliver that was read as nothing. The scale is now checked at the size chosen."""
    data, truth = _nth_page("ruled", seed=7, n=17)
    assert truth == ["17"]
    assert handwriting.recognize(data).digits == "17"


def test_the_blurred_edge_of_an_underline_does_not_join_the_digits_that_touch_it():
    """A one-pixel strip of an underline's blurred edge, left beside it, joined the foot of
    a 9 and of a 7 standing on the line into one wide piece, read as '291'. The edge is now
    removed before the strokes crossing the line are put back."""
    data, truth = _nth_page("underlined", seed=100, n=34)
    assert truth == ["97212994"]
    assert handwriting.recognize(data).text == "97212994"


def test_a_thin_straight_1_among_digits_is_read_not_rejected():
    """The network, taught with pieces of photographed clothes as "not a digit", took this
    page's plain upright 1 for one of them; among digits it is read as a 1."""
    rng = np.random.default_rng(11)
    data, truth = draw_page("plain", _glyph(rng), rng)
    result = handwriting.recognize(data)
    assert [line.text for line in result.lines] == truth
    assert "not a digit" not in {r.reason for r in result.rejected}


def test_a_photographed_1_alone_is_read_where_the_network_only_doubts_it_is_a_digit():
    """A drawn 1, alone in its photo, that the network calls "not a digit" with less than
    LONE_ONE_AT of probability: a thin straight upright stroke, so it is read as 1."""
    from handwriting.imaging.synthetic import photo

    rng = np.random.default_rng(23)
    height, pen = int(rng.integers(40, 160)), float(rng.uniform(0.05, 0.13))
    image = render("1", height=height, pen=pen, ink=0, paper=255, rng=rng)
    data = photo(1.0 - np.asarray(image, np.float32) / 255.0, rng)
    model = handwriting.recognizer.load_model(None)
    found = handwriting.recognizer.find(data, model)
    p_none = model.predict_proba(found.pixels)[:, model.reject_class]
    assert 0.5 <= p_none.min() < handwriting.recognizer.LONE_ONE_AT  # the network alone rejects it
    assert handwriting.recognize(data).digits == "1"


def test_only_an_upright_stroke_read_as_1_is_kept_from_rejection_and_alone_only_when_in_doubt():
    from handwriting.imaging.segment import Digit
    from handwriting.recognizer import _read_ones, load_model

    model = load_model(None)
    bar, ring = np.zeros((28, 28), np.float32), np.zeros((28, 28), np.float32)
    bar[4:24, 13:16] = 1.0
    ring[4:24, 6:22] = 1.0
    ring[7:21, 9:19] = 0.0
    four = np.eye(11)[4] * 0.98 + 0.002
    one_or_none = np.array([0.0, 0.3, 0, 0, 0, 0, 0, 0, 0, 0, 0.7])
    surely_none = np.array([0.0, 0.05, 0, 0, 0, 0, 0, 0, 0, 0, 0.95])
    seven_or_none = np.array([0.0, 0, 0, 0, 0, 0, 0, 0.3, 0, 0, 0.7])

    def decided(pixels, rows):
        return _read_ones([Digit((0, 0, 1, 1), p) for p in pixels], np.array(rows), model)

    proba, classes = decided([ring, bar], [four, one_or_none])
    assert list(classes) == [4, 1] and proba[1, 1] == pytest.approx(1.0) and proba[1, 10] == 0
    assert list(decided([bar], [one_or_none])[1]) == [1]  # alone, and the network in doubt
    assert list(decided([bar], [surely_none])[1]) == [10]  # alone, and the network sure
    assert list(decided([ring, bar], [four, surely_none])[1]) == [4, 1]  # beside a digit
    assert list(decided([ring, ring], [four, one_or_none])[1]) == [4, 10]  # not a stroke
    assert list(decided([ring, bar], [four, seven_or_none])[1]) == [4, 10]  # not read as a 1


def _half_faint(c: str, seed: int, side: str) -> np.ndarray:
    """A digit drawn by the project whose left or right half is in faint ink (a third as dark)."""
    ink = np.pad(_drawn(c, seed), 20)
    xs = np.flatnonzero((ink > 0.5).any(axis=0))
    middle = (xs.min() + xs.max()) // 2
    ink[:, :middle] *= 0.35 if side == "left" else 1.0
    ink[:, middle:] *= 0.35 if side == "right" else 1.0
    return ink


@pytest.mark.parametrize(("digit", "seed", "side"), [("8", 0, "right"), ("9", 1, "left"), ("8", 2, "right")])
def test_a_digit_half_in_faint_ink_is_read_with_its_faint_strokes(digit, seed, side, monkeypatch):
    """The faint half is below the ink threshold, so the first reading lost it (no digit, or
    unsure); read again with the faint ink joined to the strokes, it is the digit."""
    data = _png(_half_faint(digit, seed, side))
    assert handwriting.recognize(data).text == digit
    monkeypatch.setattr("handwriting.imaging.page.give_back_faint", lambda *args: None)
    assert handwriting.recognize(data).text != digit  # without the faint strokes given back


def test_each_digit_on_a_rule_gets_its_own_faint_half_back():
    """Two digits standing on a rule, each with a faint half: the rule is taken off, and each
    digit's second image holds more ink than its first (the faint half)."""
    eight, nine = _half_faint("8", 0, "right"), _half_faint("9", 1, "left")
    height = max(eight.shape[0], nine.shape[0])
    ink = np.concatenate([np.pad(a, ((0, height - a.shape[0]), (0, 0))) for a in (eight, nine)], axis=1)
    bottom = int(np.flatnonzero((ink > 0.5).any(axis=1)).max())
    ink[bottom - 1 : bottom + 2, :] = np.maximum(ink[bottom - 1 : bottom + 2, :], 0.9)
    page = read_page(1.0 - ink)
    assert len(page.digits) == 2 and {why for _, why in page.rejected} <= {"rule", "underline"}
    assert all(digit.faint is None for digit in page.digits)  # made only when asked for
    page.give_back_faint(page.digits)
    for digit in page.digits:
        assert digit.faint is not None and digit.faint.sum() > 1.15 * digit.pixels.sum()
    assert all(digit.strokes_given for digit in page.digits)


def test_faint_ink_that_only_thickens_a_mark_gives_back_no_strokes():
    """A bar whose faint ink is its blurred rim: its mask grows by that rim (a second image),
    but no stroke is given back; the same bar with a faint arm joined to it: a stroke is."""
    mask = np.zeros((40, 30), bool)
    mask[5:35, 13:17] = True
    rim = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~mask
    arm = np.zeros_like(mask)
    arm[18:21, 17:27] = True
    for faint, given in ((rim, False), (rim | arm, True)):
        ink = np.where(mask, 1.0, np.where(faint, 0.3, 0.0)).astype(np.float32)
        digit = Digit((13, 5, 17, 35), to_mnist(ink[5:35, 13:17]), mask[5:35, 13:17])
        give_back_faint([digit], [digit.box], ink, faint)
        assert digit.faint is not None and digit.strokes_given is given


class _Reads:
    """A reader whose answer for an image is looked up by the image's first pixel."""

    reject_class = 10

    def __init__(self, answers: dict[float, int | None]) -> None:
        self.answers = answers  # a sure digit, or None for "not a digit"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        out = np.zeros((len(images), 11), np.float32)
        for row, image in zip(out, images, strict=True):
            answer = self.answers[round(float(image[0, 0]), 3)]
            row[10 if answer is None else answer] = 0.98
            row[:10] += 0.002
        return out

    def decide(self, proba: np.ndarray) -> np.ndarray:
        return np.where(proba[:, 10] >= 0.5, 10, proba[:, :10].argmax(axis=1))


def test_a_rejected_mark_comes_back_as_a_digit_only_with_strokes_given_back():
    """Two marks called "not a digit" whose second images both read as a sure 7: the one whose
    faint ink gave back strokes is read as 7; the one only drawn bolder (its rim) stays
    rejected, as a letter drawn bolder is still no digit. A third mark reads 3 throughout."""

    def digit(first: float, second: float | None, given: bool) -> Digit:
        pixels, faint = np.full((28, 28), first, np.float32), None
        if second is not None:
            faint = np.full((28, 28), second, np.float32)
        return Digit((0, 0, 1, 1), pixels, faint=faint, strokes_given=given)

    model = _Reads({0.0: 3, 0.1: None, 0.2: None, 0.3: 7, 0.4: 7})
    digits = [digit(0.0, None, False), digit(0.1, 0.3, True), digit(0.2, 0.4, False)]
    first = model.predict_proba(np.stack([d.pixels for d in digits]))
    proba = _second_look(digits, first, model, 0.9, lambda digits: None)  # (their faint images made)
    assert list(model.decide(proba)) == [3, 7, 10]
