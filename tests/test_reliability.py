"""Nothing lost: checkpoints survive kills at any moment, resumed runs end bit for bit where
uninterrupted ones do, and a diverging run stops with a clear message."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import toy_dataset
from handwriting import checkpoint, training
from handwriting.errors import HandwritingError
from handwriting.model import Model
from handwriting.nn import Callback, DivergenceError

RUN = ["train", "--preset", "seed", "--dataset", "digits", "--epochs", "30", "--batch-size", "2"]


def cli(args, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k != "HANDWRITING_DATA"}
    return subprocess.Popen(
        [sys.executable, "-m", "handwriting", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_resumed_run_equals_uninterrupted_run_in_process(tmp_path):
    ds = toy_dataset()
    whole = training.train(ds, "cnn", epochs=3, seed=1)

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        training.train(ds, "cnn", epochs=3, seed=1, checkpoint_dir=tmp_path, callbacks=[Stop()])
    assert checkpoint.latest(tmp_path).epoch == 2
    resumed = training.train(ds, "cnn", epochs=3, seed=1, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(whole.network.get_params(), resumed.network.get_params(), strict=True):
        assert np.array_equal(a, b)
    assert resumed.meta["history"]["val_accuracy"] == whole.meta["history"]["val_accuracy"]
    assert resumed.meta["training"]["resumed_from_epoch"] == 2


def test_early_stopping_state_survives_a_resume(tmp_path):
    ds = toy_dataset()
    whole = training.train(ds, "mlp", epochs=8, seed=2, lr=3.0)  # a large step: validation wobbles

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 4:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        training.train(ds, "mlp", epochs=8, seed=2, lr=3.0, checkpoint_dir=tmp_path, callbacks=[Stop()])
    resumed = training.train(ds, "mlp", epochs=8, seed=2, lr=3.0, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(whole.network.get_params(), resumed.network.get_params(), strict=True):
        assert np.array_equal(a, b)
    assert resumed.meta["training"]["best_epoch"] == whole.meta["training"]["best_epoch"]


def _newest(folder):
    names = sorted(folder.glob("checkpoint-*.npz")) if folder.is_dir() else []
    return names[-1].name if names else None


def _kill_soon_after_progress(proc, folder, rng, timeout=60):
    """SIGKILL ``proc`` at a random moment shortly after it writes its next checkpoint (so
    every run makes progress, however fast the machine)."""
    before = _newest(folder)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and _newest(folder) == before:
        time.sleep(0.001)
    time.sleep(float(rng.uniform(0, 0.03)))
    proc.send_signal(signal.SIGKILL)


def _kill_while_writing(proc, folder, timeout=60):
    """SIGKILL ``proc`` the moment a checkpoint's temporary file appears in ``folder``."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if folder.is_dir() and any(folder.glob(".checkpoint-*.part")):
            break
        time.sleep(0.0002)
    proc.send_signal(signal.SIGKILL)


def test_killed_at_random_moments_and_resumed(tmp_path):
    """SIGKILL the CLI again and again, at random moments and in the middle of checkpoint
    writes, resuming each time: no checkpoint is ever unreadable, and the result equals an
    uninterrupted run bit for bit."""
    run = ["train", "--preset", "seed", "--dataset", "digits", "--epochs", "40", "--batch-size", "1"]
    reference = tmp_path / "reference"
    reference.mkdir()
    assert cli([*run, "--out", "model.npz"], reference).wait(timeout=300) == 0

    work, folder = tmp_path / "work", tmp_path / "work" / "ck"
    work.mkdir()
    rng = np.random.default_rng(0)
    kills, mid_write, seen_epochs = 0, 0, set()
    while kills < 12:
        args = [*run, "--checkpoint-dir", "ck", "--out", "model.npz"] + (["--resume"] if kills else [])
        proc = cli(args, work)
        if kills % 2:
            _kill_while_writing(proc, folder)
        else:
            _kill_soon_after_progress(proc, folder, rng)
        code = proc.wait()
        if code == 0:  # it finished before the kill landed
            break
        assert code == -signal.SIGKILL, proc.stderr.read()
        kills += 1
        mid_write += any(folder.glob(".checkpoint-*.part"))  # a half-written file was left behind
        for path in folder.glob("checkpoint-*.npz"):
            seen_epochs.add(checkpoint.load(path).epoch)  # raises if any checkpoint is damaged
    else:
        assert cli([*run, "--checkpoint-dir", "ck", "--out", "model.npz", "--resume"], work).wait() == 0
    assert kills >= 8 and mid_write >= 2 and len(seen_epochs) >= 5
    print(f"survived {kills} SIGKILLs ({mid_write} in the middle of a checkpoint write)")
    done = Model.load(work / "model.npz").network.get_params()
    expected = Model.load(reference / "model.npz").network.get_params()
    for a, b in zip(done, expected, strict=True):
        assert np.array_equal(a, b)
    assert not list(folder.glob(".*.part"))  # the leftovers were cleaned up on resume


def test_ctrl_c_stops_cleanly_and_says_how_to_continue(tmp_path):
    proc = cli([*RUN, "--checkpoint-dir", "ck"], tmp_path)
    deadline = time.time() + 60
    while not list((tmp_path / "ck").glob("checkpoint-*.npz")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    err = proc.stderr.read()
    assert "interrupted; the checkpoint of epoch" in err and "--resume" in err and "Traceback" not in err
    assert checkpoint.latest(tmp_path / "ck") is not None


def test_divergence_names_epoch_and_batch_and_keeps_the_last_checkpoint(tmp_path):
    ds = toy_dataset()

    class Poison(Callback):  # runs after the checkpoint of epoch 2 is written
        def on_train_begin(self, network, epochs):
            self.network = network

        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                self.network.layers[1].params["W"][0, 0] = np.inf

    diverged = pytest.raises(DivergenceError, match=r"epoch 3, batch 1 .*smaller learning rate")
    with diverged, np.errstate(all="ignore"):
        training.train(ds, "mlp", epochs=4, seed=0, checkpoint_dir=tmp_path, callbacks=[Poison()])
    kept = checkpoint.latest(tmp_path)
    assert kept.epoch == 2 and all(np.isfinite(p).all() for p in kept.params)


def test_cli_divergence_is_one_line(tmp_path):
    proc = cli(["train", "--preset", "mlp", "--dataset", "digits", "--lr", "1e6"], tmp_path)
    assert proc.wait(timeout=120) == 1
    err = proc.stderr.read().strip()
    assert err.count("\n") == 0 and "diverged at epoch 1, batch" in err and "--lr" in err


def test_checkpoints_of_another_run_are_not_mixed_in(tmp_path):
    ds = toy_dataset()
    training.train(ds, "seed", epochs=2, seed=0, checkpoint_dir=tmp_path)
    with pytest.raises(HandwritingError, match="already holds checkpoints"):
        training.train(ds, "seed", epochs=2, seed=0, checkpoint_dir=tmp_path)
    with pytest.raises(HandwritingError, match="seed: 0 there, 1 now"):
        training.train(ds, "seed", epochs=2, seed=1, checkpoint_dir=tmp_path, resume=True)


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    ds = toy_dataset()
    training.train(ds, "seed", epochs=3, seed=0, checkpoint_dir=tmp_path)
    newest = sorted(tmp_path.glob("checkpoint-*.npz"))[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    assert checkpoint.latest(tmp_path).epoch == 2
    with pytest.raises(HandwritingError, match="damaged checkpoint"):
        checkpoint.load(newest)


def test_a_run_checkpointed_when_the_cost_was_called_loss_resumes(tmp_path):
    """A checkpoint written before the code said "cost" everywhere: its history's "loss" and
    "val_loss" are read as "cost" and "val_cost", so the resumed record is one history."""
    import json

    ds = toy_dataset()
    training.train(ds, "seed", epochs=3, seed=0, checkpoint_dir=tmp_path)
    (tmp_path / "checkpoint-0003.npz").unlink()  # as if stopped after epoch 2
    for path in tmp_path.glob("checkpoint-*.npz"):
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(bytes(arrays["meta"]))
        meta["history"] = {k.replace("cost", "loss"): v for k, v in meta["history"].items()}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        np.savez(path, **arrays)
    model = training.train(ds, "seed", epochs=3, seed=0, checkpoint_dir=tmp_path, resume=True)
    history = model.meta["history"]
    assert len(history["cost"]) == len(history["val_cost"]) == 3 and "loss" not in history
