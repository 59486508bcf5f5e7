"""Pictures the wrong way up with no EXIF tag to say so (a scan fed upside down, a photo
turned sideways): read the right way up, their boxes in the picture's own pixels."""

import numpy as np
import pytest

import handwriting
from handwriting import recognizer
from handwriting.imaging.orient import looks_sideways, turn, unturn
from handwriting.imaging.page import read_page
from handwriting.imaging.synthetic import render


@pytest.mark.parametrize("quarters", range(4))
def test_unturn_takes_a_box_back_to_the_image_as_it_came(quarters):
    rng = np.random.default_rng(quarters)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(5, 40, 2))
        x0, y0 = int(rng.integers(0, w - 1)), int(rng.integers(0, h - 1))
        box = (x0, y0, int(rng.integers(x0 + 1, w + 1)), int(rng.integers(y0 + 1, h + 1)))
        image = np.zeros((h, w))
        image[box[1] : box[3], box[0] : box[2]] = 1
        turned = turn(image, quarters)
        ys, xs = np.nonzero(turned)
        found = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        assert unturn(found, turned.shape, quarters) == box


def test_marks_wider_than_tall_look_sideways():
    upright = np.array([[0, 0, 12, 20], [20, 0, 30, 20], [40, 0, 52, 21]])
    assert not looks_sideways(upright)
    assert looks_sideways(upright[:, [1, 0, 3, 2]])  # the same marks on their side
    assert not looks_sideways(np.zeros((0, 4)))


@pytest.mark.parametrize("number", ["4735", "3051274", "94817362"])
@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_number_turned_without_a_tag_is_read_the_right_way_up(number, degrees):
    picture = render(number, rng=np.random.default_rng(1))
    upright = handwriting.recognize(picture)
    assert upright.text == number
    turned = handwriting.recognize(picture.rotate(degrees, expand=True, fillcolor=255))
    assert turned.text == number
    # each box is where that digit's ink is in the turned picture: the upright box, turned
    w, h = picture.size
    for (x0, y0, x1, y1), box in zip(upright.boxes, turned.boxes, strict=True):
        expected = {
            90: (y0, w - x1, y1, w - x0),
            180: (w - x1, h - y1, w - x0, h - y0),
            270: (h - y1, x0, h - y0, x1),
        }[degrees]
        assert box == pytest.approx(expected, abs=4)


@pytest.mark.parametrize("number, gap", [("00", -0.2), ("44", -0.15), ("77", -0.2)])
def test_upright_touching_pairs_are_read_as_they_are(number, gap, monkeypatch):
    # each pair one piece wider than tall, as digits on their side would be: tried turned,
    # but read as they are, as without the turning
    picture = render(number, gap=gap, rng=np.random.default_rng(3))
    assert recognizer.find(picture, recognizer.load_model()).page.sideways
    read = handwriting.recognize(picture)
    monkeypatch.setattr(recognizer, "TURN_MARGIN", np.inf)
    assert read.as_dict() == handwriting.recognize(picture).as_dict()


def test_a_page_on_its_side_is_first_read_without_cutting_its_digits():
    # every digit on its side is wide: cut where the network reads it best, it would be shown
    # to the network in dozens of pieces, for a reading that the turned one replaces
    model = recognizer.load_model()
    picture = render("94817362", rng=np.random.default_rng(2)).rotate(90, expand=True, fillcolor=255)
    gray = np.asarray(picture, np.float32) / 255
    shown = []

    def classify(images):
        shown.append(len(images))
        return model.predict_proba(images)

    first = read_page(gray, classify, cut_sideways=False)
    assert first.sideways and not first.cut and not shown
    cut = read_page(gray, classify)
    assert cut.sideways and cut.cut and sum(shown) > 8 * 10
    assert handwriting.recognize(picture).text == "94817362"
