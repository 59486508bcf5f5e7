"""Knowing what it is looking at: pictures and marks that are not digits give no digit, with
the shipped model (trained with the class "not a digit"), as a user sees it."""

import io
import os

import numpy as np
import pytest
from PIL import Image

import handwriting
from conftest import run_cli
from handwriting.data.idx import read_idx
from handwriting.data.openset import FASHION_DIRS
from handwriting.imaging.synthetic import SHAPES, photo, render, shape
from handwriting.recognizer import load_model


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_shipped_model_knows_not_a_digit_and_is_calibrated():
    model = load_model()
    assert model.reject_class == 10 and model.meta["classes"][-1] == "not a digit"
    assert model.temperature != 1.0 and model.meta["calibration"]["fitted_on"] == "validation split"
    assert model.meta["metrics"]["test_ece"] <= 0.02


@pytest.mark.parametrize("kind", SHAPES)
def test_drawn_shapes_are_not_digits(kind):
    rng = np.random.default_rng(SHAPES.index(kind))
    rejected = 0
    for _ in range(5):
        result = handwriting.recognize(_png(shape(kind, height=int(rng.integers(60, 160)), rng=rng)))
        if result.digits == "":
            rejected += 1
            assert [r.reason for r in result.rejected] and result.lines == []
    assert rejected >= 3, f"{kind}: read as digits in {5 - rejected} of 5 pictures"


def test_a_mark_between_digits_is_left_out_and_listed():
    rng = np.random.default_rng(1)
    left, right = np.asarray(render("4", rng=rng)), np.asarray(render("7", rng=rng))
    star = np.asarray(
        shape("star", height=left.shape[0] // 2, rng=rng).resize((left.shape[1], left.shape[0]))
    )
    result = handwriting.recognize(np.hstack([left, star, right]))
    assert result.digits == "47"
    assert "not a digit" in [r.reason for r in result.rejected]


def test_the_cli_says_no_digits_found_for_a_picture_of_something_else(tmp_path):
    path = tmp_path / "scribble.png"
    shape("spiral", height=200, rng=np.random.default_rng(0)).save(path)
    done = run_cli("recognize", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{path}: no digits found"


FASHION = next(
    (d for d in FASHION_DIRS if os.path.isfile(os.path.join(d, "t10k-images-idx3-ubyte.gz"))), None
)


@pytest.mark.skipif(
    FASHION is None, reason="no Fashion-MNIST: apt-get install dataset-fashion-mnist (CI does)"
)
def test_photos_of_clothes_and_shoes_give_no_digit():
    items = read_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))[:60].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    none = sum(handwriting.recognize(photo(item, rng)).digits == "" for item in items)
    assert none >= 55, f"{60 - none} of 60 Fashion-MNIST test items read as digits"
