"""The Chapter 5 checks accept right answers and reject wrong ones with a message that names the mistake."""

import numpy as np
import pytest

from dlcourse.checks import ch05_overfitting as checks

BASELINE = 0.65


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ data
def test_wine_split_is_the_course_split_and_holds_out_its_test_wines():
    from dlcourse.data import split_red_wine

    X_train, y_train, X_val, y_val, X_test, y_test = checks.wine_split()
    assert (len(X_train), len(X_val), len(X_test)) == (951, 204, 204)
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-3) and np.allclose(X_train.std(axis=0), 1, atol=1e-4)
    parts = split_red_wine().arrays()
    for name, array in zip(("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"), checks.wine_split()):
        assert np.array_equal(array, parts[name]), name
    X_t, y_t = checks.held_out_wines()
    assert np.array_equal(X_t, X_test) and np.array_equal(y_t, y_test)


# ------------------------------------------------------------------ question 1: diagnosis
RUNS = checks.make_runs()
RIGHT = {"A": "overfitting", "B": "underfitting", "C": "good fit"}


def test_runs_show_the_three_regimes():
    assert {name: checks.reference_diagnosis(run, BASELINE) for name, run in RUNS.items()} == RIGHT


@pytest.mark.parametrize("kind", ["overfitting", "underfitting", "good fit", "noisy good fit"])
def test_made_histories_are_far_from_the_thresholds(kind):
    want = kind.replace("noisy ", "")
    for seed in range(40):
        for epochs, base in [(20, 0.1), (60, 0.6), (150, 4.0)]:
            history = checks.make_history(kind, seed=seed, num_epochs=epochs, baseline=base)
            assert len(history["loss"]) == len(history["val_loss"]) == epochs
            assert checks.reference_diagnosis(history, base) == want
            # a rule with thresholds a little off still agrees: the cases test the idea, not the decimals
            assert rule(history, base, up=0.08, gap=0.2, below=0.88, last=3) == want
            assert rule(history, base, up=0.12, gap=0.3, below=0.82, last=8) == want


@pytest.mark.parametrize("kind, want", [("spiked good fit", "good fit"), ("dipped overfitting", "overfitting")])
def test_one_epoch_off_histories_need_the_mean_of_the_last_epochs(kind, want):
    for seed in range(40):
        for epochs, base in [(20, 0.1), (60, 0.6), (150, 4.0)]:
            history = checks.make_history(kind, seed=seed, num_epochs=epochs, baseline=base)
            assert checks.reference_diagnosis(history, base) == want
            assert rule(history, base, last=1) != want                # the last epoch alone misreads it
            assert rule(history, base, up=0.08, gap=0.2, below=0.88) == want
            assert rule(history, base, up=0.12, gap=0.3, below=0.82) == want


def test_diagnose_rejects_a_reading_of_the_last_epoch_alone():
    with pytest.raises(AssertionError, match="last epoch only"):
        checks.check_diagnose(lambda h, b: rule(h, b, last=1))


def rule(history, baseline, up=0.10, gap=0.25, below=0.85, last=5):
    train, val = np.asarray(history["loss"]), np.asarray(history["val_loss"])
    val_end, train_end = val[-last:].mean(), train[-last:].mean()
    if val_end - val.min() > up * baseline and val_end - train_end > gap * baseline:
        return "overfitting"
    return "underfitting" if val.min() > below * baseline else "good fit"


def underfitting_first(history, baseline):
    if min(history["val_loss"]) > 0.85 * baseline:
        return "underfitting"
    return rule(history, baseline)


def test_diagnose_accepts_every_form_of_the_rule():
    checks.check_diagnose(rule)
    checks.check_diagnose(underfitting_first)
    checks.check_diagnose(lambda h, b: rule(h, b).upper().replace(" ", "_"))  # any spelling of a label
    checks.check_diagnose(lambda h, b: {"good fit": "good", "overfitting": "overfit"}.get(rule(h, b), rule(h, b)))


def last_above_min(history, baseline):
    val = history["val_loss"]
    if val[-1] > min(val):
        return "overfitting"
    return "underfitting" if min(val) > 0.85 * baseline else "good fit"


def no_gap(history, baseline):
    return rule(history, baseline, gap=-np.inf)


def absolute(history, baseline):
    return rule(history, 0.6)


def no_baseline(history, baseline):
    verdict = rule(history, baseline)
    return "good fit" if verdict == "underfitting" else verdict


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda h, b: "good fit", "turns back up"),
        (lambda h, b: "overfitting", "level of the baseline"),
        (lambda h, b: "underfitting", "turns back up"),
        (last_above_min, "level of the baseline"),
        (no_gap, "noise, not a trend"),
        (absolute, "scale"),
        (no_baseline, "level of the baseline"),
        (lambda h, b: "fine", "one of the strings"),
        (lambda h, b: 3, "one of the strings"),
        (lambda h, b: None, "forget `return`"),
        (not_written, "not written yet"),
        (RIGHT, "should be a function"),
        ("overfitting", "should be a function"),
    ],
)
def test_diagnose_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_diagnose(wrong)


def test_a_constant_answer_fails_every_kind_of_case():
    for label in checks.LABELS:
        with pytest.raises(AssertionError):
            checks.check_diagnose(lambda h, b, label=label: label)


# ------------------------------------------------------------------ question 2: early stopping rule
def right_epochs(history, patience, min_delta, start_from_epoch=0):
    best, best_epoch = np.inf, 0
    for epoch, value in enumerate(history["val_loss"], start=1):
        if epoch <= start_from_epoch:
            continue
        if value < best - min_delta:
            best, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(history["val_loss"]), best_epoch


def page_replay(history, patience, min_delta, start_from_epoch=0):
    """The chapter page's hand replay wrapped in a function: it knows no warm-up."""
    return right_epochs(history, patience, min_delta)


def keras_epochs(val_loss, patience, min_delta, start_from_epoch=0):
    """What Keras's EarlyStopping itself does, driven epoch by epoch with the recorded values."""
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=min_delta, patience=patience,
                                             restore_best_weights=True, start_from_epoch=start_from_epoch)
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    last = len(val_loss)
    for epoch, value in enumerate(val_loss):
        callback.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:   # fit checks this flag after every epoch
            last = epoch + 1
            break
    return last, callback.best_epoch + 1


@pytest.mark.parametrize("seed", range(12))
def test_reference_rule_is_what_keras_does(seed):
    rng = np.random.default_rng(seed)
    val_loss = list(0.4 + 0.5 * np.exp(-np.arange(30) / 4) + np.abs(rng.normal(0, 0.02, 30)).cumsum() * 0.3)
    patience, min_delta = int(rng.integers(1, 6)), float(rng.choice([0.0, 0.001, 0.01]))
    start = int(rng.choice([0, 0, 3, 8]))
    assert checks.reference_early_stopping(val_loss, patience, min_delta, start) == \
        keras_epochs(val_loss, patience, min_delta, start)
    history = checks._example_history()
    assert checks.reference_early_stopping(history["val_loss"], 3, 0.01) == keras_epochs(history["val_loss"], 3, 0.01)
    history = checks._warmup_history()
    assert checks.reference_early_stopping(history["val_loss"], 3, 0.01, 4) == \
        keras_epochs(history["val_loss"], 3, 0.01, 4)


def test_early_stopping_epochs_accepts_the_rule():
    checks.check_early_stopping_epochs(right_epochs)
    checks.check_early_stopping_epochs(right_epochs, {"loss": [1, 1, 1], "val_loss": [0.5, 0.6, 0.7]}, 1, 0.0)
    checks.check_early_stopping_epochs(right_epochs, checks._warmup_history(), 2, 0.0, 6)


def _from_zero(history, patience, min_delta, start=0):
    last, best = right_epochs(history, patience, min_delta, start)
    return last - 1, best - 1


def _training_curve(history, patience, min_delta, start=0):
    return right_epochs({"val_loss": history["loss"]}, patience, min_delta, start)


def _late_by_one(history, patience, min_delta, start=0):
    last, best = right_epochs(history, patience + 1, min_delta, start)
    return min(last, len(history["val_loss"])), best


def _global_minimum(history, patience, min_delta, start=0):
    last, _ = right_epochs(history, patience, min_delta, start)
    return last, int(np.argmin(history["val_loss"][start:last])) + start + 1


def _never_stops_unhandled(history, patience, min_delta, start=0):
    best, best_epoch = np.inf, 0
    for epoch, value in enumerate(history["val_loss"], start=1):
        if epoch <= start:
            continue
        if value < best - min_delta:
            best, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return 0, best_epoch


def _warmup_counts_for_patience(history, patience, min_delta, start=0):
    # the warm-up's epochs are skipped as improvements but still counted towards the patience
    best, best_epoch = np.inf, 0
    for epoch, value in enumerate(history["val_loss"], start=1):
        if epoch > start and value < best - min_delta:
            best, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(history["val_loss"]), best_epoch


def _warmup_minimum_kept(history, patience, min_delta, start=0):
    # the warm-up is watched for the best value but not for stopping
    last, best = right_epochs(history, patience, min_delta, start)
    full = right_epochs(history, patience, min_delta)
    return last, full[1]


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_from_zero, "Count epochs from 1"),
        (_training_curve, r"\*training\* loss"),
        (lambda h, p, d, s=0: right_epochs(h, p, 0.0, s), "more than min_delta"),
        (_late_by_one, "one epoch too late"),
        (_global_minimum, "last epoch that counted as an improvement"),
        (_never_stops_unhandled, "runs to the last epoch"),
        (page_replay, "without the warm-up"),
        (_warmup_counts_for_patience, "not watched|warm-up"),
        (_warmup_minimum_kept, "lies in the warm-up"),
        (lambda h, p, d, s=0: list(right_epochs(h, p, d, s)), "tuple of two"),
        (lambda h, p, d, s=0: tuple(float(e) for e in right_epochs(h, p, d, s)), "whole number"),
        (lambda h, p, d, s=0: None, "forget `return`"),
        (not_written, "not written yet"),
    ],
)
def test_early_stopping_epochs_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_early_stopping_epochs(wrong)


# ------------------------------------------------------------------ question 3: L2 penalty by hand
def right_penalty(weights, lam):
    kernels = [w for w in weights if w.ndim == 2]
    lams = [lam] * len(kernels) if np.ndim(lam) == 0 else lam
    return sum(strength * np.sum(w**2) for strength, w in zip(lams, kernels))


def one_lam(weights, lam):
    # the chapter's cell: one strength for every kernel
    return lam * sum(np.sum(w**2) for w in weights if w.ndim == 2)


def test_reference_penalty_is_what_keras_adds():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input(shape=(5,)),
                              keras.layers.Dense(7, activation="relu", kernel_regularizer=keras.regularizers.L2(0.03),
                                                 bias_initializer="ones"),
                              keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.03))])
    assert np.isclose(checks.reference_l2_penalty(model.get_weights(), 0.03), checks.kernel_penalty(model), rtol=1e-5)


def test_l2_penalty_accepts_right_answers():
    checks.check_l2_penalty(right_penalty)
    checks.check_l2_penalty(lambda ws, lam: float(np.dot(np.broadcast_to(lam, len(ws) // 2),
                                                        [(w**2).sum() for w in ws[::2]])))
    checks.check_l2_penalty(right_penalty, checks._example_weights(9, (6, 2, 1)), 0.5)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda ws, lam: lam * sum(np.sum(w**2) for w in ws), "biases"),
        (lambda ws, lam: sum(np.sum(w**2) for w in ws if w.ndim == 2), "strength `lam`"),
        (lambda ws, lam: right_penalty(ws, lam) / 2, "factor 1/2"),
        (lambda ws, lam: lam * sum(np.linalg.norm(w) for w in ws if w.ndim == 2), r"\*squared\*"),
        (lambda ws, lam: lam * sum(np.mean(w**2) for w in ws if w.ndim == 2), "averages"),
        (lambda ws, lam: lam * sum(np.abs(w).sum() for w in ws if w.ndim == 2), "L1"),
        (lambda ws, lam: lam * np.sum(ws[0] ** 2), "only one kernel"),
        (lambda ws, lam: [lam * np.sum(w**2) for w in ws if w.ndim == 2], "one number"),
        (lambda ws, lam: 0.01 * sum(np.sum(w**2) for w in ws if w.ndim == 2), "not right"),
        (not_written, "not written yet"),
    ],
)
def test_l2_penalty_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_l2_penalty(wrong)


def test_l2_penalty_per_layer_matches_keras_and_names_the_mistakes():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input(shape=(4,)),
                              keras.layers.Dense(6, kernel_regularizer=keras.regularizers.L2(0.02)),
                              keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(0.005)),
                              keras.layers.Dense(1)])
    assert np.isclose(checks.reference_l2_penalty(model.get_weights(), [0.02, 0.005, 0.0]),
                      checks.kernel_penalty(model), rtol=1e-5)
    checks.check_l2_penalty_per_layer(right_penalty, model.get_weights(), [0.02, 0.005, 0.0])
    with pytest.raises(AssertionError, match="one of them for every kernel") as error:
        checks.check_l2_penalty(lambda ws, lam: one_lam(ws, lam if np.ndim(lam) == 0 else lam[0]))
    assert error.value.tag == "one_strength_for_all"
    with pytest.raises(AssertionError, match="numbers instead of one total") as error:
        checks.check_l2_penalty(one_lam)     # an array times a number: one value per strength
    assert error.value.tag == "strengths_not_paired"
    with pytest.raises(AssertionError, match="Which strength belongs") as error:
        checks.check_l2_penalty(lambda ws, lam: right_penalty(ws, lam if np.ndim(lam) == 0 else lam[::-1]))
    assert error.value.tag == "per_layer_strengths_wrong"


# ------------------------------------------------------------------ question 4: L2 on every hidden layer
def builder(hidden_kernel=True, output_kernel=False, activity=False, bias=False, l1=False, fixed=None,
            only_first=False, units=64, first_l1="both"):
    """first_l1: how the first layer's L1 penalty is added: "both" (right, with L1L2), "callable" (right,
    with a function), "missing", "every" (on both hidden layers) or "instead" (replacing its L2)."""
    def build(lam, l1_strength=0.0):
        import keras

        lam_ = fixed if fixed is not None else lam
        reg = (lambda: keras.regularizers.L1(lam_)) if l1 else (lambda: keras.regularizers.L2(lam_))
        layers = []
        for i in range(2):
            kwargs = {}
            if hidden_kernel and not (only_first and i == 1):
                kwargs["kernel_regularizer"] = reg()
                if l1_strength and not l1 and (i == 0 or first_l1 == "every"):
                    if first_l1 in ("both", "every"):
                        kwargs["kernel_regularizer"] = keras.regularizers.L1L2(l1=l1_strength, l2=lam_)
                    elif first_l1 == "callable":
                        kwargs["kernel_regularizer"] = (
                            lambda w: l1_strength * keras.ops.sum(keras.ops.abs(w))
                            + lam_ * keras.ops.sum(keras.ops.square(w)))
                    elif first_l1 == "instead":
                        kwargs["kernel_regularizer"] = keras.regularizers.L1(l1_strength)
            if activity:
                kwargs["activity_regularizer"] = reg()
            if bias:
                kwargs["bias_regularizer"] = reg()
            layers.append(keras.layers.Dense(units, activation="relu", **kwargs))
        out = keras.layers.Dense(1, kernel_regularizer=reg() if output_kernel else None)
        return keras.Sequential([keras.Input(shape=(11,)), *layers, out])

    return build


def test_build_regularised_accepts_right_answers():
    pytest.importorskip("keras")
    checks.check_build_regularised(builder())
    checks.check_build_regularised(builder(first_l1="callable"))

    def with_bias(lam, l1=0.0):
        import keras

        model = builder()(lam, l1)
        model.layers[-1].bias.assign([5.6])
        return model

    checks.check_build_regularised(with_bias, output_bias=5.6)
    with pytest.raises(AssertionError, match="output bias .* starts at 0"):
        checks.check_build_regularised(builder(), output_bias=5.6)

    def with_activation_layers(lam, l1=0.0):
        import keras

        L2 = keras.regularizers.L2
        return keras.Sequential([keras.Input(shape=(11,)), keras.layers.Dense(64, kernel_regularizer=L2(lam)),
                                 keras.layers.Activation("relu"),
                                 keras.layers.Dense(64, activation="relu", kernel_regularizer=L2(l2=lam)),
                                 keras.layers.Dense(1)])

    with pytest.raises(AssertionError, match="Activation layer"):   # check_dense_stack's rule of ch02
        checks.check_build_regularised(with_activation_layers)


def page_network(lam, l1=0.0):
    """The chapter page's `network((64, 64), l2=lam)`, with the output layer's penalty left out."""
    import keras

    penalty = keras.regularizers.L2(lam) if lam else None
    model = keras.Sequential([keras.Input(shape=(11,))])
    for units in (64, 64):
        model.add(keras.layers.Dense(units, activation="relu", kernel_regularizer=penalty))
    model.add(keras.layers.Dense(1))
    return model


@pytest.mark.parametrize(
    "wrong, message",
    [
        (builder(hidden_kernel=False, output_kernel=True), "only the output layer"),
        (builder(hidden_kernel=False, activity=True), "activity_regularizer"),
        (builder(hidden_kernel=False, bias=True), "bias_regularizer"),
        (builder(only_first=True), "second hidden layer .* no kernel_regularizer"),
        (builder(hidden_kernel=False), "first hidden layer .* no kernel_regularizer"),
        (builder(output_kernel=True), "also penalises the output layer"),
        (builder(activity=True), "activity_regularizer or bias_regularizer as well"),
        (builder(l1=True), "L1"),
        (builder(fixed=0.01), "arguments"),
        (builder(units=32), "32 units"),
        (builder(first_l1="missing"), "L1 penalty of strength l1=.* is missing"),
        (page_network, "L1 penalty of strength l1=.* is missing"),
        (builder(first_l1="every"), "first hidden layer only"),
        (builder(first_l1="instead"), "instead of its L2"),
        (lambda lam, l1=0.0: None, "forget `return model`"),
        (not_written, "not written yet"),
    ],
)
def test_build_regularised_names_the_mistake(wrong, message):
    pytest.importorskip("keras")
    with pytest.raises(AssertionError, match=message):
        checks.check_build_regularised(wrong)


# ------------------------------------------------------------------ questions 5 and 6: trained models
@pytest.fixture(scope="module")
def wine():
    return checks.wine_split()


@pytest.fixture(scope="module")
def trained(wine):
    """A small network trained with and without early stopping on the validation MAE, and L2 twins."""
    keras = pytest.importorskip("keras")
    from dlcourse.setup import setup_notebook
    from dlcourse.training import to_dataset

    setup_notebook(seed=0)
    X_train, y_train, X_val, y_val, _, _ = wine
    train_ds = to_dataset(X_train, y_train, batch_size=64, shuffle=True)
    val_ds = to_dataset(X_val, y_val, batch_size=512)

    def net(lam=0.0, seed=0):
        keras.utils.set_random_seed(seed)
        reg = keras.regularizers.L2(lam) if lam else None
        model = keras.Sequential([
            keras.Input(shape=(11,)),
            keras.layers.Dense(64, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(64, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(float(y_train.mean()))),
        ])
        model.compile(optimizer=keras.optimizers.Adam(0.003), loss="mse", metrics=["mae"])
        return model

    runs = {}
    for name, monitor, restore in [("right", "val_mae", True), ("val_loss", "val_loss", True),
                                   ("no_restore", "val_mae", False), ("loss", "loss", True)]:
        model = net()
        stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=8, restore_best_weights=restore)
        epochs = 200 if monitor != "loss" else 25
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[stop], verbose=0)
        runs[name] = (model, history)
    model = net()
    runs["no_validation"] = (model, model.fit(train_ds, epochs=3, verbose=0))
    plain, l2, l2_shorter, l2_other_seed = net(0.0), net(0.01), net(0.01), net(0.01, seed=5)
    for m, epochs in ((plain, 30), (l2, 30), (l2_shorter, 20), (l2_other_seed, 30)):
        m.fit(train_ds, epochs=epochs, verbose=0)
    runs["plain"], runs["l2"], runs["untrained"] = plain, l2, net(0.01)
    runs["l2_shorter"], runs["l2_other_seed"] = l2_shorter, l2_other_seed
    return runs


def test_early_stopped_accepts_a_right_run(trained, wine):
    model, history = trained["right"]
    checks.check_early_stopped(model, history, wine[2], wine[3])
    checks.check_early_stopped(model, history.history, wine[2], wine[3])   # a plain dict works too
    _, _, _, _, X_test, y_test = wine
    assert np.mean(np.abs(model.predict(X_test, verbose=0).ravel() - y_test)) < 0.56


@pytest.mark.parametrize("name", ["mean_absolute_error", "MAE"])
def test_early_stopped_accepts_every_name_of_the_mae(trained, wine, name):
    # metrics=["mean_absolute_error"], MeanAbsoluteError() and mean_absolute_error record
    # "mean_absolute_error", metrics=["MAE"] records "MAE", not "mae"
    model, history = trained["right"]
    renamed = {key.replace("mae", name): value for key, value in history.history.items()}
    checks.check_early_stopped(model, renamed, wine[2], wine[3])
    assert checks.mae_key(renamed) == name


@pytest.mark.parametrize("metric", ["mae", "MAE", "mean_absolute_error", "MeanAbsoluteError()",
                                    "mean_absolute_error function"])
def test_every_keras_alias_of_the_mae_is_a_known_name(metric):
    keras = pytest.importorskip("keras")
    metric = {"MeanAbsoluteError()": keras.metrics.MeanAbsoluteError(),
              "mean_absolute_error function": keras.metrics.mean_absolute_error}.get(metric, metric)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[metric])
    X, y = np.ones((4, 2), "float32"), np.ones(4, "float32")
    history = model.fit(X, y, validation_data=(X, y), epochs=1, verbose=0).history
    key = checks.mae_key(history)
    assert key is not None and f"val_{key}" in history


def test_early_stopped_names_the_mistake(trained, wine):
    X_val, y_val = wine[2], wine[3]
    cases = {
        "no_restore": "restore_best_weights=True",
        "no_validation": "no validation values",
    }
    for name, message in cases.items():
        with pytest.raises(AssertionError, match=message):
            checks.check_early_stopped(*trained[name], X_val, y_val)
    # the weights of the epoch with the lowest val_loss, in a history whose val_mae is lowest elsewhere
    model, _ = trained["val_loss"]
    mae = float(np.mean(np.abs(model.predict(X_val, verbose=0).ravel() - y_val)))
    history = {"loss": [1.0] * 5, "mae": [1.0] * 5, "val_loss": [0.9, 0.5, 0.6, 0.7, 0.8],
               "val_mae": [0.9, mae, mae - 0.05, 0.7, 0.8]}
    with pytest.raises(AssertionError, match="lowest validation \\*loss\\*"):
        checks.check_early_stopped(model, history, X_val, y_val)
    with pytest.raises(AssertionError, match="epochs=200"):
        checks.check_early_stopped(*trained["loss"], X_val, y_val)
    model, history = trained["loss"]
    with pytest.raises(AssertionError, match="never stopped"):
        checks.check_early_stopped(model, history, X_val, y_val, max_epochs=25)
    with pytest.raises(AssertionError, match="metrics"):
        checks.check_early_stopped(model, {"loss": [1.0], "val_loss": [1.0]}, X_val, y_val)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_early_stopped(None, None, X_val, y_val)
    with pytest.raises(AssertionError, match="target is below"):
        checks.check_early_stopped(*trained["right"], X_val, y_val, target_mae=0.3)


def test_weight_decay_accepts_twins_trained_alike(trained, wine):
    checks.check_weight_decay(trained["plain"], trained["l2"], wine[2], wine[3])
    _, _, _, _, X_test, y_test = wine
    assert np.mean((trained["l2"].predict(X_test, verbose=0).ravel() - y_test) ** 2) < 0.58


def test_weight_decay_names_the_mistake(trained, wine):
    X_val, y_val = wine[2], wine[3]
    with pytest.raises(AssertionError, match="same object"):
        checks.check_weight_decay(trained["l2"], trained["l2"], X_val, y_val)
    with pytest.raises(AssertionError, match="first hidden layer .* no kernel_regularizer"):
        checks.check_weight_decay(trained["plain"], trained["plain"].__class__.from_config(
            trained["plain"].get_config()), X_val, y_val)
    with pytest.raises(AssertionError, match="build it with lam=0"):
        checks.check_weight_decay(trained["l2"], trained["untrained"], X_val, y_val)
    with pytest.raises(AssertionError, match="`model_l2` has not been trained") as error:
        checks.check_weight_decay(trained["plain"], trained["untrained"], X_val, y_val)
    assert error.value.tag == "twin_untrained"
    with pytest.raises(AssertionError, match="not trained the same way") as error:
        checks.check_weight_decay(trained["plain"], trained["l2_shorter"], X_val, y_val)
    assert error.value.tag == "twins_trained_differently"
    with pytest.raises(AssertionError, match="did not start from the same weights") as error:
        checks.check_weight_decay(trained["plain"], trained["l2_other_seed"], X_val, y_val)
    assert error.value.tag == "twins_started_differently"
    with pytest.raises(AssertionError, match="validation MSE of .* too few epochs") as error:
        checks.check_weight_decay(trained["plain"], trained["l2"], X_val, y_val, max_mse=0.0)
    assert error.value.tag == "twin_mse_too_high"
    with pytest.raises(AssertionError, match="still None"):
        checks.check_weight_decay(None, trained["l2"], X_val, y_val)


# ------------------------------------------------------------------ question 7: the table to read
def test_error_table_supports_the_mark_scheme():
    table = checks.error_table().set_index(["model", "training examples"])
    assert table.equals(checks.error_table().set_index(["model", "training examples"]))  # deterministic
    train, val = table["train MSE"], table["val MSE"]
    for n in (250, 1000, 4000):   # linear: training and validation close at every size
        assert abs(val["linear", n] - train["linear", n]) <= 0.1
    assert abs(val["linear", 4000] - val["linear", 1000]) <= 0.02   # more data does not help it
    # the richer networks do clearly better with data: approximation error of at least 0.15
    assert val["linear", 4000] - max(val["1 x 64", 4000], val["3 x 256", 4000]) >= 0.15
    # the big network on 1,000 examples: a large gap that shrinks with more data
    assert val["3 x 256", 1000] - train["3 x 256", 1000] >= 0.3
    assert val["3 x 256", 250] > val["3 x 256", 1000] > val["3 x 256", 4000]
    assert val["1 x 64", 1000] < val["3 x 256", 1000]   # a smaller network helps too
    assert val.min() >= 0.38   # the noise bound the mark scheme quotes (about 0.40)
