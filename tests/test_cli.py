"""The command line as a user runs it: a separate process, its output, its files, its exit code."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

run = run_cli


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    result = run("train", "--preset", "mlp", "--epochs", "4", "--out", str(folder / "m.npz"), cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "m.npz", result


def test_train_defaults_to_the_built_in_digits_offline(digits_model):
    path, result = digits_model
    assert path.is_file()
    assert "built-in UCI digits" in result.stdout
    assert "epoch 4/4" in result.stdout and "validation" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("Test:"))
    right, total = line.split()[1], line.split()[3]
    assert int(total) == 360 and int(right) > 320


def test_evaluate_json(digits_model):
    path, _ = digits_model
    result = run("evaluate", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    cm = report["confusion"]
    assert len(cm) == 10 and sum(map(sum, cm)) == 360
    assert report["accuracy"] == pytest.approx(sum(cm[i][i] for i in range(10)) / 360)
    assert 0.9 < report["accuracy"] <= 1
    assert set(report["per_class"]["3"]) == {"precision", "recall", "f1", "support"}


def test_evaluate_text_and_info(digits_model):
    path, _ = digits_model
    text = run("evaluate", str(path)).stdout
    assert "confusion matrix" in text and "precision" in text
    info = run("info", str(path))
    assert info.returncode == 0
    assert "Dense(n_in=64, n_out=800" in info.stdout
    assert "parameters:   60,010" in info.stdout
    assert "handwriting train --preset mlp --epochs 4" in info.stdout
    assert "digits.csv.gz sha256" in info.stdout


def test_seed_preset_trains(tmp_path):
    result = run("train", "--preset", "seed", "--dataset", "digits", "--epochs", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "seed-digits.npz").is_file()
    assert "64-16-16-10 sigmoid" in result.stdout  # the UCI digits' 8x8 inputs, not MNIST's 784


@pytest.mark.parametrize(
    "args, message",
    [
        (["info", "nope.npz"], "nope.npz: no such model file"),
        (["evaluate", "bad.npz"], "bad.npz: not a readable model file"),
        (["train", "--dataset", "mnist", "--data-dir", "empty"], "empty: no train-images-idx3-ubyte.gz"),
        (["train", "--dataset", "digits", "--data-dir", "empty"], "--data-dir is for MNIST"),
    ],
)
def test_errors_are_one_clear_line(tmp_path, args, message):
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    (tmp_path / "empty").mkdir()
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "option", [["--epochs", "0"], ["--lr", "-1"], ["--batch-size", "x"], ["--preset", "big"]]
)
def test_bad_option_values(tmp_path, option):
    result = run("train", *option, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error:" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_train_and_evaluate_on_real_mnist(mnist_dir, tmp_path):
    """Two epochs of the mlp preset on full MNIST, through the CLI, with --data-dir."""
    out = tmp_path / "mlp.npz"
    result = run("train", "--preset", "mlp", "--epochs", "2", "--data-dir", str(mnist_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "50,000 training, 10,000 validation, 10,000 test" in result.stdout
    report = json.loads(run("evaluate", str(out), "--data-dir", str(mnist_dir), "--json").stdout)
    assert report["n"] == 10_000 and report["accuracy"] > 0.97


def test_progress_bar_shows_running_loss_on_a_terminal(tmp_path):
    """On a terminal, each epoch draws a tqdm bar with the running loss (off in logs and CI)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    env = {k: v for k, v in os.environ.items() if k != "HANDWRITING_DATA"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    proc = subprocess.Popen(
        [sys.executable, "-m", "handwriting", "train", "--preset", "seed", "--epochs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=tmp_path,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closed: the process has exited
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    shown = b"".join(chunks).decode(errors="replace")
    assert "epoch 1/1" in shown and "batch" in shown and "loss=" in shown


def test_evaluate_an_ensemble(digits_model, tmp_path):
    path, _ = digits_model
    other = tmp_path / "other.npz"
    assert (
        run(
            "train", "--preset", "mlp", "--epochs", "4", "--seed", "7", "--out", str(other), cwd=tmp_path
        ).returncode
        == 0
    )
    report = json.loads(run("evaluate", str(path), str(other), "--json").stdout)
    assert report["model"] == "ensemble of 2 models"
    assert [m["file"] for m in report["models"]] == [str(path), str(other)]
    assert sum(map(sum, report["confusion"])) == 360
    assert report["accuracy"] >= min(m["accuracy"] for m in report["models"]) - 0.01
    text = run("evaluate", str(path), str(other)).stdout
    assert "ensemble of 2 models" in text and "% alone" in text


def test_report_writes_figures_and_a_self_contained_page(digits_model, tmp_path):
    pytest.importorskip("matplotlib", reason="the report extra is not installed: pip install '.[report]'")
    path, _ = digits_model
    result = run("report", str(path), "--out", str(tmp_path / "rep"))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert names == [
        "confusion.png",
        "first-layer.png",
        "learning-curves.png",
        "mistakes.png",
        "reliability.png",
        "report.html",
    ]
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.count("src='data:image/png;base64,") == 5
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere
    assert "test accuracy" in page and "handwriting train --preset mlp" in page


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_then_finishes_what_is_in_flight_on_sigterm(tmp_path, workers):
    pytest.importorskip("uvicorn", reason="the web extra is not installed: pip install '.[web]'")
    import io
    import signal
    import socket
    import time
    import urllib.request

    from handwriting.imaging.synthetic import render

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "HANDWRITING_DATA"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "handwriting", "serve", "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline, body = time.time() + 60, None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body == {"status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert "<canvas" in r.read().decode()
        # a request half sent when SIGTERM comes is still answered, then the server exits
        picture = io.BytesIO()
        render("38").save(picture, format="PNG")
        data = picture.getvalue()
        head = f"POST /api/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head.encode() + data[:100])
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            sock.sendall(data[100:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and b'"digits":"38"' in answer
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert f"Serving on http://127.0.0.1:{port}/" in proc.stdout.read()


def test_evaluate_on_the_validation_split_with_test_time_augmentation(digits_model):
    path, _ = digits_model
    plain = json.loads(run("evaluate", str(path), "--split", "validation", "--json").stdout)
    tta = json.loads(run("evaluate", str(path), "--split", "validation", "--tta", "--json").stdout)
    test = json.loads(run("evaluate", str(path), "--json").stdout)
    assert (plain["split"], tta["split"], test["split"]) == ("validation", "validation", "test")
    assert tta["tta"] and not plain["tta"]
    assert plain["n"] == tta["n"] == sum(map(sum, tta["confusion"]))
    assert plain["confusion"] != test["confusion"]  # other images
    assert 0.8 < tta["accuracy"] <= 1 and tta["confusion"] != plain["confusion"]
    text = run("evaluate", str(path), "--split", "validation", "--tta").stdout
    assert "validation set" in text and "four one-pixel shifts" in text


def test_version(capsys):
    import handwriting
    from handwriting.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert (
        stop.value.code == 0 and capsys.readouterr().out.strip() == f"handwriting {handwriting.__version__}"
    )


def test_output_piped_into_a_command_that_stops_reading_is_no_error():
    """`handwriting recognize ... | head -1`: once the reader has gone, no "Broken pipe" error
    and no traceback, on stderr or anywhere."""
    photo = Path(__file__).resolve().parent.parent / "examples" / "phone.jpg"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    with os.fdopen(write_end, "wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "handwriting", "recognize", str(photo), "--show"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.stderr == ""
