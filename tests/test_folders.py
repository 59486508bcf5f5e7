"""Folders of pictures (issue #14): read recursively, image files only, one JSON line per
picture as it goes, a run resumed where it stopped, the work shared among processes with the
same results, a damaged picture one error record that never stops the run."""

import json

import numpy as np
import pytest

from conftest import run_cli
from handwriting import recognize
from handwriting.folders import already_read, expand
from handwriting.imaging.synthetic import render
from handwriting.recognizer import recognize_many


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """40 numbers in a tree of folders, a text file and a damaged PNG among them."""
    root = tmp_path_factory.mktemp("scans")
    (root / "a" / "b").mkdir(parents=True)
    for i in range(40):
        where = ("a/b/", "a/", "")[i % 3]
        render(f"{i % 10}{(3 * i) % 10}", height=60).save(root / f"{where}p{i:02d}.png")
    (root / "a" / "notes.txt").write_text("not a picture")
    (root / "a" / "broken.png").write_bytes(b"\x89PNG damaged")
    return root


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_folder_is_read_recursively_image_files_only(folder):
    files = expand([str(folder)])
    assert len(files) == 41 and not any(f.endswith(".txt") for f in files)
    assert files == sorted(files)


def test_jsonl_has_one_record_per_picture_and_a_damaged_one_does_not_stop_the_run(folder, tmp_path):
    out = tmp_path / "out.jsonl"
    result = run_cli("recognize", str(folder), "--jsonl", str(out), "--workers", "2")
    assert result.returncode == 1  # one picture failed
    assert "broken.png: not an image we can read" in result.stderr and "Traceback" not in result.stderr
    records = {r["file"]: r for r in _records(out)}
    assert len(records) == 41
    assert "error" in records[str(folder / "a" / "broken.png")]
    assert records[str(folder / "p02.png")]["digits"] == "26"
    assert records[str(folder / "a" / "b" / "p00.png")]["version"] == 2


def test_resume_skips_what_is_done_and_redoes_a_line_cut_short(folder, tmp_path):
    out = tmp_path / "out.jsonl"
    assert run_cli("recognize", str(folder), "--jsonl", str(out), "--workers", "1").returncode == 1
    whole = out.read_bytes()
    out.write_bytes(whole[: whole.index(b"\n", len(whole) // 2) + 40])  # a run killed mid-line
    assert len(already_read(out)) == whole[: len(whole) // 2].count(b"\n") + 1
    again = run_cli("recognize", str(folder), "--jsonl", str(out), "--resume")
    assert again.returncode in (0, 1), again.stderr
    records = _records(out)
    assert len(records) == 41 and len({r["file"] for r in records}) == 41
    refused = run_cli("recognize", str(folder), "--jsonl", str(out))
    assert refused.returncode == 1 and "add --resume" in refused.stderr


def test_json_and_jsonl_exclude_each_other(folder, tmp_path):
    result = run_cli("recognize", str(folder), "--json", "--jsonl", str(tmp_path / "x.jsonl"))
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_batched_and_one_by_one_reading_agree(folder):
    files = expand([str(folder)])
    together = recognize_many(files)
    for name, found in zip(files, together, strict=True):
        if name.endswith("broken.png"):
            assert "not an image" in str(found)
            continue
        alone = recognize(name)
        assert found.as_dict() == alone.as_dict()
        assert np.allclose(found.probabilities, alone.probabilities, atol=1e-5)


def test_several_processes_give_the_same_results_as_one(folder, tmp_path):
    outputs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.jsonl"
        run_cli("recognize", str(folder), "--jsonl", str(out), "--workers", workers)
        outputs[workers] = sorted(_records(out), key=lambda r: r["file"])
    assert outputs["1"] == outputs["2"]
