"""Documents of several pages (a scanner's multi-page TIFF, a PDF): every page is read and
reported as its own picture, never only the first."""

import io
import json
import sys

import pytest
from PIL import Image

import handwriting
from conftest import run_cli
from handwriting.errors import ImageError
from handwriting.imaging.load import PageOf, load_picture, pages
from handwriting.imaging.synthetic import render

NUMBERS = ("12", "345", "6")


def _document(path, fmt: str) -> None:
    first, *rest = (render(n) for n in NUMBERS)
    first.save(path, format=fmt, save_all=True, append_images=rest)


@pytest.fixture
def tiff(tmp_path):
    path = tmp_path / "scan.tiff"
    _document(path, "TIFF")
    return path


@pytest.fixture
def pdf(tmp_path):
    pytest.importorskip("pypdfium2")
    path = tmp_path / "scan.pdf"
    _document(path, "PDF")
    return path


def test_the_cli_reads_every_page_of_a_tiff_and_a_pdf(tiff, pdf):
    run = run_cli("recognize", str(tiff), str(pdf))
    assert run.returncode == 0, run.stderr
    shown = [line.split(" (")[0] for line in run.stdout.splitlines()]
    assert shown == [f"{doc} page {i + 1}: {n}" for doc in (tiff, pdf) for i, n in enumerate(NUMBERS)]


def test_json_names_the_page_and_a_one_page_picture_has_no_page(tmp_path, tiff):
    render("7").save(tmp_path / "one.png")
    records = json.loads(run_cli("recognize", str(tiff), str(tmp_path / "one.png"), "--json").stdout)
    assert [(r["file"], r.get("page"), r["digits"]) for r in records] == [
        (str(tiff), 1, "12"),
        (str(tiff), 2, "345"),
        (str(tiff), 3, "6"),
        (str(tmp_path / "one.png"), None, "7"),
    ]


def test_recognize_refuses_a_document_and_recognize_pages_reads_it(tiff, pdf):
    for document in (tiff, pdf, tiff.read_bytes()):
        with pytest.raises(ImageError, match=r"a document of 3 pages.*recognize_pages"):
            handwriting.recognize(document)
        assert [r.digits for r in handwriting.recognize_pages(document)] == list(NUMBERS)
    assert [r.digits for r in handwriting.recognize_pages(render("8"))] == ["8"]  # one picture, one page


def test_a_folder_of_scans_resumes_at_the_page_where_it_stopped(tmp_path, tiff):
    out = tmp_path / "out.jsonl"
    assert run_cli("recognize", str(tmp_path), "--jsonl", str(out)).returncode == 0
    lines = out.read_text().splitlines()
    assert [json.loads(line)["page"] for line in lines] == [1, 2, 3]
    out.write_text(lines[0] + "\n" + lines[1][:20])  # killed while writing page 2
    run = run_cli("recognize", str(tmp_path), "--jsonl", str(out), "--resume")
    assert run.returncode == 0, run.stderr
    assert "2 pictures read" in run.stdout
    assert [json.loads(line)["digits"] for line in out.read_text().splitlines()] == list(NUMBERS)


def test_saved_digits_are_named_by_page(tmp_path, tiff):
    folder = tmp_path / "digits"
    assert run_cli("recognize", str(tiff), "--save-preprocessed", str(folder)).returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "scan-page1-1.png", "scan-page1-2.png",
        "scan-page2-1.png", "scan-page2-2.png", "scan-page2-3.png",
        "scan-page3-1.png",
    ]  # fmt: skip


def test_pdf_boxes_are_in_pixels_of_the_page_at_200_dpi(tiff, pdf):
    # Pillow writes the pictures into the PDF at 72 dpi: one of its pixels is one point
    (from_tiff,), (from_pdf,) = (handwriting.recognize_pages(d)[:1] for d in (tiff, pdf))
    for a, b in zip(from_tiff.boxes, from_pdf.boxes, strict=True):
        assert b == pytest.approx([v * 200 / 72 for v in a], abs=8)


def test_a_page_past_the_end_and_a_damaged_pdf_are_one_line_each(tiff, pdf):
    with pytest.raises(ImageError, match=r"scan.tiff page 4: the file has 3 pages"):
        load_picture(PageOf(str(tiff), 3))
    with pytest.raises(ImageError, match=r"scan.pdf page 4: the PDF has 3 pages"):
        load_picture(PageOf(str(pdf), 3))
    damaged = pdf.read_bytes()[:200]
    assert pages(damaged) == [damaged]  # not opened: reading it says why
    with pytest.raises(ImageError, match="damaged or password-protected PDF"):
        load_picture(damaged)
    cut = pdf.with_name("cut.pdf")
    cut.write_bytes(damaged)
    run = run_cli("recognize", str(cut))
    assert run.returncode == 1 and run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"handwriting: error: {cut}: a damaged or password-protected PDF")


def test_without_pdfium_a_pdf_says_what_to_install(pdf, monkeypatch):
    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # as if the extra were not installed
    with pytest.raises(ImageError, match=r"scan.pdf: a PDF; .*pip install \"handwriting\[pdf\]\""):
        load_picture(str(pdf))


def test_an_animation_is_one_picture_not_pages():
    frames = [render(n) for n in NUMBERS]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert pages(buffer.getvalue()) == [buffer.getvalue()]
    assert handwriting.recognize(buffer.getvalue()).digits == "12"  # the first frame, as before
    assert Image.open(buffer).n_frames == 3


def test_a_pdf_picture_past_the_pixel_limit_is_refused_before_decoding(tmp_path):
    pytest.importorskip("pypdfium2")
    path = tmp_path / "big.pdf"
    render("5").save(path, format="PDF")
    width, height = render("5").size
    with pytest.raises(ImageError, match=rf"big.pdf: holds a picture of {width}x{height} pixels, more than"):
        load_picture(str(path), max_pixels=width * height - 1)
    assert load_picture(str(path), max_pixels=width * height)[0].ndim == 2
