"""Reading people's digits with the pretrained model that ships in the package: the
digits are drawn as pen strokes by the project (handwriting.imaging.synthetic), then
shifted, scaled, inverted, compressed and soiled the way real pictures are."""

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

import handwriting
from conftest import run_cli
from handwriting.errors import ImageError
from handwriting.imaging.synthetic import render
from handwriting.recognizer import load_model, pretrained_path

DIGITS = "0123456789"


def jpeg(image, quality):
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def on_canvas(image, size, at):
    canvas = Image.new("L", size, 245)
    canvas.paste(image, at)
    return canvas


def noisy(image, sigma, seed=0):
    a = np.asarray(image, np.float32) + np.random.default_rng(seed).normal(0, sigma, image.size[::-1])
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


TRANSFORMS = {
    "plain": lambda im: im,
    "shifted": lambda im: on_canvas(im, (600, 400), (420, 230)),
    "small": lambda im: im.resize((im.width // 4, im.height // 4), Image.Resampling.LANCZOS),
    "large": lambda im: im.resize((im.width * 5, im.height * 5), Image.Resampling.BICUBIC),
    "inverted": lambda im: Image.eval(im, lambda v: 255 - v),
    "jpeg": lambda im: jpeg(im, 25),
    "noisy": lambda im: noisy(im, 25),
    "blurred": lambda im: im.filter(ImageFilter.GaussianBlur(2)),
    "grey paper": lambda im: Image.eval(im, lambda v: int(v * 0.55)),
}


def test_the_pretrained_model_ships_in_the_package():
    path = pretrained_path()
    assert path.is_file() and path.stat().st_size <= 5 * 1024 * 1024
    model = load_model()
    assert model.image_shape == (28, 28)
    assert model.meta["metrics"]["test_accuracy"] >= 0.98
    assert model.meta["training"]["command"].startswith("handwriting train")
    files = model.meta["dataset"]["files"]  # the four MNIST files' checksums (and Fashion-MNIST's)
    assert {"train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} <= set(files)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_each_digit_survives_each_transform(name):
    rng = np.random.default_rng(3)
    for d in DIGITS:
        image = TRANSFORMS[name](render(d, height=100, rng=rng))
        result = handwriting.recognize(image)
        assert result.digits == d, f"{name}: drew {d}, read {result.digits!r} {result.confidences}"


@pytest.mark.parametrize("length", range(2, 11))
def test_numbers_of_2_to_10_digits_with_varied_gaps(length):
    rng = np.random.default_rng(length)
    for _ in range(4):
        text = "".join(rng.choice(list(DIGITS), length))
        image = render(text, height=int(rng.integers(40, 150)), gap=float(rng.uniform(0.3, 0.9)), rng=rng)
        result = handwriting.recognize(image)
        assert result.digits == text
        assert len(result.confidences) == len(result.boxes) == length
        assert [b[0] for b in result.boxes] == sorted(b[0] for b in result.boxes)  # left to right (x0 first)


def side_by_side(*images):
    canvas = Image.new("L", (sum(i.width for i in images), max(i.height for i in images)), 245)
    x = 0
    for image in images:
        canvas.paste(image, (x, 0))
        x += image.width
    return canvas


@pytest.mark.parametrize("pair", ["00", "47", "35", "89", "20", "77", "23"])
def test_touching_digits_are_split(pair):
    """Two digits whose strokes touch, between two separate ones (which show how wide one
    digit is here): the joined group is cut where it reads best."""
    image = side_by_side(
        render("5", wobble=0), render(pair, gap=0, margin=0.1, wobble=0), render("8", wobble=0)
    )
    assert handwriting.recognize(image).digits == f"5{pair}8"


def test_accepts_path_bytes_pil_and_array(tmp_path):
    image = render("59", rng=np.random.default_rng(1))
    path = tmp_path / "n.png"
    image.save(path)
    for source in (path, str(path), path.read_bytes(), image, np.asarray(image)):
        assert handwriting.recognize(source).digits == "59"


def test_low_confidence_is_reported_as_unknown():
    result = handwriting.recognize(render("3"), threshold=1.0)
    assert result.digits == "?"
    assert handwriting.recognize(render("3"), threshold=0.0).digits == "3"
    top = handwriting.recognize(render("3"), top_k=3).top_k[0]
    assert len(top) == 3 and top[0][0] == 3 and top[0][1] >= top[1][1] >= top[2][1]


def test_blank_image_has_no_digits():
    result = handwriting.recognize(Image.new("L", (300, 200), 255))
    assert result.digits == "" and result.confidences == []


def test_a_model_for_other_images_is_refused(tmp_path):
    from handwriting import training
    from handwriting.data import load_digits
    from handwriting.errors import ModelFileError

    path = tmp_path / "digits8x8.npz"
    training.train(load_digits(), "seed", epochs=1).save(path)
    with pytest.raises(ModelFileError, match="28x28"):
        handwriting.recognize(render("1"), model=str(path))


def test_non_image_is_a_clear_error():
    with pytest.raises(ImageError, match="not an image"):
        handwriting.recognize(b"<html>not a picture</html>")


def cli(*args, cwd=None):
    return run_cli("recognize", *args, cwd=cwd)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    render("2026", rng=np.random.default_rng(4)).save(folder / "year.png")
    render("31", gap=0.5, mode="RGB", rng=np.random.default_rng(5)).save(folder / "photo.jpg", quality=70)
    Image.new("L", (100, 100), 255).save(folder / "blank.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_cli_one_line_per_image_and_errors_for_bad_files(pictures):
    result = cli("year.png", "notes.txt", "missing.png", "photo.jpg", "blank.png", cwd=pictures)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("year.png: 2026 (") and len(lines[0].split("(")[1].split()) == 4
    assert lines[1].startswith("photo.jpg: 31 (")
    assert lines[2] == "blank.png: no digits found"
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in result.stderr
    assert "notes.txt: not an image" in errors[0] and "missing.png: no such file" in errors[1]


def test_cli_json(pictures):
    result = cli("year.png", "notes.txt", "--json", "--top-k", "2", cwd=pictures)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report[0]["file"] == "year.png" and report[0]["digits"] == "2026"
    assert len(report[0]["confidences"]) == 4 and len(report[0]["top_k"][0]) == 2
    assert report[1]["file"] == "notes.txt" and "not an image" in report[1]["error"]


def test_cli_shows_and_saves_what_the_network_saw(pictures, tmp_path):
    result = cli("year.png", "--show", "--save-preprocessed", str(tmp_path / "seen"), cwd=pictures)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1 + 28
    saved = sorted(p.name for p in (tmp_path / "seen").iterdir())
    assert saved == ["year-1.png", "year-2.png", "year-3.png", "year-4.png"]
    assert Image.open(tmp_path / "seen" / "year-1.png").size == (28, 28)


def test_cli_show_wraps_long_numbers(tmp_path):
    render("0123456789", height=60).save(tmp_path / "long.png")
    result = cli("long.png", "--show", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("long.png: 0123456789")
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 28 + 1 + 28  # 8 digits, a blank line, the other 2
    assert max(len(r) for r in rows) == 2 + 8 * 56 + 7 * 3


def test_cli_bad_model_is_one_line(pictures):
    result = cli("year.png", "--model", "nope.npz", cwd=pictures)
    assert (
        result.returncode == 1 and result.stderr.strip() == "handwriting: error: nope.npz: no such model file"
    )
