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

# Many small steps per epoch, so that a kill can land anywhere, checkpoint writes included.
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


def test_killed_at_random_moments_and_resumed(tmp_path):
    """SIGKILL the CLI again and again (during epochs and during checkpoint writes), resume
    each time; no checkpoint is ever unreadable and the result equals an uninterrupted run."""
    reference = tmp_path / "reference"
    reference.mkdir()
    assert cli([*RUN, "--out", "model.npz"], reference).wait(timeout=300) == 0

    work = tmp_path / "work"
    work.mkdir()
    rng = np.random.default_rng(0)
    kills, seen_epochs = 0, set()
    for attempt in range(40):
        args = [*RUN, "--checkpoint-dir", "ck", "--out", "model.npz"] + (["--resume"] if attempt else [])
        proc = cli(args, work)
        try:
            code = proc.wait(timeout=float(rng.uniform(0.4, 1.6)))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            for path in (work / "ck").glob("checkpoint-*.npz"):
                seen_epochs.add(checkpoint.load(path).epoch)  # raises if any checkpoint is damaged
            continue
        assert code == 0, proc.stderr.read()
        break
    else:
        pytest.fail("training never completed")
    assert kills >= 3 and len(seen_epochs) >= 2
    done = Model.load(work / "model.npz").network.get_params()
    expected = Model.load(reference / "model.npz").network.get_params()
    for a, b in zip(done, expected, strict=True):
        assert np.array_equal(a, b)
    assert not list((work / "ck").glob(".*.part"))  # no temporary file left that could be mistaken


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
        def on_train_begin(self, network):
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
