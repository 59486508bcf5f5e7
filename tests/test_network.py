import numpy as np
import pytest

from conftest import toy_dataset
from handwriting import training
from handwriting.nn import (
    SGD,
    Constant,
    Cosine,
    Dense,
    EarlyStopping,
    Flatten,
    Network,
    OneCycle,
    ReLU,
    SoftmaxCrossEntropy,
    Step,
)


def small_net(seed=0, dtype=np.float32):
    layers = [Flatten(), Dense(36, 32, "he"), ReLU(), Dense(32, 10, "he")]
    return Network(layers, SoftmaxCrossEntropy(), np.random.default_rng(seed), dtype=dtype)


def test_float32_by_default():
    net = small_net()
    assert all(p.dtype == np.float32 for p in net.get_params())
    ds = toy_dataset()
    assert net.predict_proba(ds.x_test).dtype == np.float32


def test_learns_and_scores():
    ds = toy_dataset()
    net = small_net()
    history = net.fit(
        ds.x_train,
        ds.y_train,
        optimizer=SGD(0.1, 0.9),
        epochs=10,
        batch_size=16,
        validation_data=(ds.x_val, ds.y_val),
    )
    assert history["cost"][-1] < history["cost"][0]
    assert len(history["val_accuracy"]) == 10
    assert net.score(ds.x_test, ds.y_test) > 0.9
    proba = net.predict_proba(ds.x_test)
    assert proba.shape == (len(ds.y_test), 10)
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(net.predict(ds.x_test), proba.argmax(axis=1))


def test_same_seed_same_model_bit_for_bit():
    ds = toy_dataset()
    a, b, c = (training.train(ds, "mlp", epochs=2, seed=s) for s in (3, 3, 4))
    pa, pb, pc = (m.network.get_params() for m in (a, b, c))
    assert all(np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(pa, pc, strict=True))


def test_early_stopping_stops_and_restores_the_best_epoch():
    ds = toy_dataset()
    net = small_net()
    stopper = EarlyStopping("val_cost", patience=2)
    # A huge constant learning rate makes validation cost blow up after the first epochs.
    history = net.fit(
        ds.x_train,
        ds.y_train,
        optimizer=SGD(5.0),
        epochs=30,
        batch_size=8,
        validation_data=(ds.x_val, ds.y_val),
        callbacks=[stopper],
    )
    assert len(history["cost"]) < 30
    best = int(np.argmin(history["val_cost"]))
    assert history["best_epoch"] == best + 1
    assert net.evaluate(ds.x_val, ds.y_val)["cost"] == pytest.approx(history["val_cost"][best], rel=1e-5)


def test_early_stopping_refuses_to_watch_anything_but_validation():
    with pytest.raises(ValueError, match="validation"):
        EarlyStopping("accuracy")


def test_one_cycle_warms_up_then_anneals():
    sched = OneCycle(1.0, total_epochs=10, warmup=0.2, div=25, final_div=1000)
    assert sched(0) == pytest.approx(1 / 25)
    assert sched(2) == pytest.approx(1.0)
    assert sched(10) == pytest.approx(1 / 1000)
    values = [sched(t / 10) for t in range(101)]
    peak = int(np.argmax(values))
    steps = np.diff(values)
    assert (steps[:peak] >= 0).all() and (steps[peak:] <= 0).all()


def test_schedules():
    assert Constant(0.5)(7.3) == 0.5
    step = Step(1.0, step_epochs=2, gamma=0.5)
    assert [step(t) for t in (0, 1.9, 2, 4.5)] == [1.0, 1.0, 0.5, 0.25]
    cos = Cosine(1.0, total_epochs=10)
    assert cos(0) == 1.0 and cos(5) == pytest.approx(0.5) and cos(10) == pytest.approx(0.0)


def test_bad_input_is_refused_at_the_boundary():
    net = small_net()
    x = np.zeros((4, 6, 6), np.float32)
    with pytest.raises(ValueError, match="one label per row"):
        net.fit(x, np.zeros(3, int), optimizer=SGD(0.1))
    with pytest.raises(ValueError, match="integers"):
        net.fit(x, np.zeros(4), optimizer=SGD(0.1))
    with pytest.raises(ValueError, match="positive"):
        SGD(-1.0)


def test_get_and_set_params_round_trip_and_check_shapes():
    a, b = small_net(0), small_net(1)
    b.set_params(a.get_params())
    x = toy_dataset().x_test
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))
    with pytest.raises(ValueError, match="shape"):
        b.set_params([p.T for p in a.get_params()])


def test_training_in_two_calls_equals_one_call():
    """fit(initial_epoch=k) continues exactly where an earlier call stopped."""
    ds = toy_dataset()

    def run(splits):
        net = small_net(seed=2)
        opt, schedule = SGD(0.1, 0.9, nesterov=True), Cosine(0.1, 4)
        for start, stop in splits:
            net.fit(
                ds.x_train,
                ds.y_train,
                optimizer=opt,
                schedule=schedule,
                epochs=stop,
                initial_epoch=start,
                batch_size=32,
            )
        return net.get_params()

    once, twice = run([(0, 4)]), run([(0, 1), (1, 4)])
    assert all(np.array_equal(a, b) for a, b in zip(once, twice, strict=True))


def test_weight_decay_shrinks_weights_only_as_each_layer_declares():
    """Weights decay; biases and batch norm's scale and shift do not (optim.py's rule)."""
    from handwriting.nn import SGD, BatchNorm, Dense, Network, ReLU, SoftmaxCrossEntropy

    net = Network([Dense(4, 3), BatchNorm(3), ReLU(), Dense(3, 2)], SoftmaxCrossEntropy())
    for layer in net.layers:
        for k in layer.params:
            layer.grads[k] = np.zeros_like(layer.params[k])  # no gradient: only decay moves anything
    before = [p.copy() for p, _, _ in net.parameters()]
    SGD(0.1, weight_decay=0.5).step(net.parameters())
    moved = [not np.array_equal(b, p) for b, (p, _, _) in zip(before, net.parameters(), strict=True)]
    assert moved == [True, False, False, False, True, False]  # W, b, gamma, beta, W, b


def test_dense_products_shared_among_the_cores_equal_the_whole_product():
    """Every network shares its large products among the cores itself (parallel.matmul)."""
    from handwriting.nn.parallel import _cores, engine_threads, matmul, use_cores

    rng = np.random.default_rng(0)
    a, b = rng.random((128, 784), dtype=np.float32), rng.random((784, 800), dtype=np.float32)
    try:
        use_cores(2)
        with engine_threads():
            shared = matmul(a, b)
            into = matmul(a, b, out=np.empty((128, 800), np.float32))
    finally:
        use_cores(_cores)
    np.testing.assert_allclose(shared, a @ b, rtol=1e-5)
    np.testing.assert_allclose(into, a @ b, rtol=1e-5)
