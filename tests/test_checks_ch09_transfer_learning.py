"""The Chapter 9 checks accept right answers and reject wrong ones with a message that teaches."""

from __future__ import annotations

import types

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from keras import layers  # noqa: E402

from dlcourse.checks import ch09_transfer_learning as checks  # noqa: E402
from dlcourse.data import load_pretrained_base  # noqa: E402
from dlcourse.training import to_dataset  # noqa: E402

DATA = checks.exercise_data()


def not_written(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ data
def test_splits_are_disjoint_and_the_noise_is_as_documented():
    X_noisy, y_noisy = checks.noisy_digits()
    X_hidden, _ = checks.hidden_rows()
    assert X_noisy.shape == (1000, 28, 28, 1) and X_hidden.shape == (797, 28, 28, 1)
    assert DATA["X_lab"].shape == (50, 28, 28, 1) and DATA["X_val"].shape == (300, 28, 28, 1)
    assert np.bincount(DATA["y_lab"]).tolist() == [5] * 10
    flat = lambda a: {row.tobytes() for row in a}  # noqa: E731
    assert not flat(X_hidden) & flat(X_noisy)
    assert not flat(DATA["X_lab"]) & flat(DATA["X_val"])
    flips = checks.flipped_rows()
    assert len(flips) == 100 and len(set(flips.tolist())) == 100
    clean = {row.tobytes(): label for row, label in zip(X_noisy, y_noisy)}
    assert len(clean) > 900


# ------------------------------------------------------------------ question 1
def build(n_classes, *, freeze=True, pool="gap", hidden=32, act="relu", fixed=None,
          softmax="dense", head_hidden=True):
    base = load_pretrained_base()
    base.trainable = not freeze
    inputs = keras.Input((28, 28, 1))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x) if pool == "gap" else layers.Flatten()(x)
    if head_hidden:
        x = layers.Dense(hidden, activation=act)(x)
    units = fixed or n_classes
    if softmax == "dense":
        out = layers.Dense(units, activation="softmax")(x)
    elif softmax == "layer":
        out = layers.Activation("softmax")(layers.Dense(units)(x))
    else:
        out = layers.Dense(units)(x)
    return keras.Model(inputs, out)


def sequential_build(n_classes):
    base = load_pretrained_base()
    base.trainable = False
    return keras.Sequential([keras.Input((28, 28, 1)), base, layers.GlobalAveragePooling2D(),
                             layers.Dense(32), layers.ReLU(), layers.Dense(n_classes),
                             layers.Softmax()])


@pytest.mark.parametrize("fn", [build, lambda n: build(n, softmax="layer"), sequential_build])
def test_transfer_model_accepts_every_right_build(fn):
    checks.check_build_transfer_model(fn)
    checks.check_trainable_count((64 + 1) * 32 + 33 * 10, fn)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n: build(n, freeze=False), "still trainable"),
        (lambda n: build(n, pool="flatten"), "flattens"),
        (lambda n: build(n, hidden=16), "has 16 units"),
        (lambda n: build(n, act="sigmoid"), "activation is 'sigmoid'"),
        (lambda n: build(n, fixed=10), "use the argument"),
        (lambda n: build(n, softmax=None), "softmax"),
        (lambda n: build(n, head_hidden=False), "1 Dense layer(s)"),
        (lambda n: None, "returned None"),
        (not_written, "not written yet"),
    ],
)
def test_transfer_model_rejects_wrong_builds(wrong, message):
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        checks.check_build_transfer_model(wrong)


def test_trainable_count_rejects_the_total_and_other_numbers():
    with pytest.raises(AssertionError, match="frozen base included"):
        checks.check_trainable_count(build(10).count_params(), build)
    with pytest.raises(AssertionError, match="not the number of trainable"):
        checks.check_trainable_count(650, build)
    with pytest.raises(AssertionError, match="still None"):
        checks.check_trainable_count(None, build)


# ------------------------------------------------------------------ questions 2 and 3
@pytest.fixture(scope="module")
def head_model():
    keras.utils.set_random_seed(0)
    model = build(10)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(to_dataset(DATA["X_lab"], DATA["y_lab"], batch_size=32, shuffle=True), epochs=100,
              verbose=0)
    return model


def copy_of(model):
    clone = build(10)
    clone.set_weights(model.get_weights())
    return clone


def variable(model, path):
    return next(v for v in model.weights if v.path == path)


def test_head_check_accepts_a_trained_head(head_model):
    checks.check_head_trained(head_model, DATA["X_val"], DATA["y_val"])


def test_head_check_rejects_a_changed_base_and_an_untrained_head(head_model):
    changed = copy_of(head_model)
    v = variable(changed, "bn2/moving_mean")
    v.assign(v.numpy() + 1e-3)
    with pytest.raises(AssertionError, match="bn2/moving_mean changed"):
        checks.check_head_trained(changed, DATA["X_val"], DATA["y_val"])
    with pytest.raises(AssertionError, match="validation digits correctly"):
        checks.check_head_trained(build(10), DATA["X_val"], DATA["y_val"])
    with pytest.raises(AssertionError, match="still None"):
        checks.check_head_trained(None, DATA["X_val"], DATA["y_val"])


def tuned_copy(head_model):
    """A copy of ``head_model`` whose base's last convolution moved a little: fine-tuned."""
    tuned = copy_of(head_model)
    v = variable(tuned, "conv3/kernel")
    v.assign(v.numpy() * 1.0001)
    return tuned


def test_finetune_check(head_model):
    tuned = tuned_copy(head_model)
    checks.check_finetuned(tuned, DATA["X_val"], DATA["y_val"])
    with pytest.raises(AssertionError, match="No convolution of the base changed"):
        checks.check_finetuned(copy_of(head_model), DATA["X_val"], DATA["y_val"])
    m = variable(tuned, "bn1/moving_variance")
    m.assign(m.numpy() * 1.01)
    with pytest.raises(AssertionError, match="bn1/moving_variance changed"):
        checks.check_finetuned(tuned, DATA["X_val"], DATA["y_val"])


def page_model():
    """The page's model: its head has no hidden layer, so it is not question 1's."""
    base = load_pretrained_base()
    base.trainable = False
    inputs = keras.Input((28, 28, 1))
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Activation("softmax")(layers.Dense(10)(x)))


def test_questions_2_and_3_need_question_1s_head():
    model = page_model()
    with pytest.raises(AssertionError, match="no hidden layer") as error:
        checks.check_head_trained(model, DATA["X_val"], DATA["y_val"])
    assert error.value.tag == "not_question1_head"
    with pytest.raises(AssertionError, match="no hidden layer"):
        checks.check_finetuned(model, DATA["X_val"], DATA["y_val"])


def test_finetune_check_rejects_a_model_tuned_in_place(head_model):
    """Fine-tuning head_model itself changes question 2's model: the check asks for a copy."""
    tuned = tuned_copy(head_model)
    checks.check_finetuned(tuned, DATA["X_val"], DATA["y_val"], head_model=head_model)
    with pytest.raises(AssertionError, match="changed the base of `head_model` too") as error:
        checks.check_finetuned(tuned, DATA["X_val"], DATA["y_val"], head_model=tuned)
    assert error.value.tag == "ft_changed_head_model"


def test_finetune_check_rejects_a_wrecked_model(head_model):
    wrecked = copy_of(head_model)
    v = variable(wrecked, "conv1/kernel")
    v.assign(np.random.default_rng(0).normal(0, 1, v.shape).astype("float32"))
    with pytest.raises(AssertionError, match="learning rate that is too large"):
        checks.check_finetuned(wrecked, DATA["X_val"], DATA["y_val"])


def test_the_moving_statistics_move_when_bn_is_not_frozen(head_model):
    """The mistake question 3 is about really happens in this Keras (keras-team/keras#20285)."""
    model = copy_of(head_model)
    base = model.layers[1]
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    model.fit(DATA["X_lab"], DATA["y_lab"], epochs=1, verbose=0)
    with pytest.raises(AssertionError, match="moving_.* changed"):
        checks.check_finetuned(model, DATA["X_val"], DATA["y_val"], min_accuracy=0.0)


# ------------------------------------------------------------------ question 4
def test_suspects():
    flips = checks.flipped_rows()
    checks.check_suspects(flips)
    others = np.setdiff1d(np.arange(1000), flips)
    checks.check_suspects(np.concatenate([flips[:50], others[:50]]))
    with pytest.raises(AssertionError, match="49 of your 100 suspects.*too weak to trust") as error:
        checks.check_suspects(np.concatenate([flips[:49], others[:51]]))
    assert error.value.tag == "suspects_weak_model"
    with pytest.raises(AssertionError, match="fewer than a random choice.*highest") as error:
        checks.check_suspects(others[:100])
    assert error.value.tag == "suspects_lowest_loss"
    with pytest.raises(AssertionError, match="more than once"):
        checks.check_suspects(np.concatenate([flips[:99], flips[:1]]))
    with pytest.raises(AssertionError, match="has 50 rows"):
        checks.check_suspects(flips[:50])
    with pytest.raises(AssertionError, match="from 0 to 999"):
        checks.check_suspects(np.concatenate([flips[:99], [1000]]))
    with pytest.raises(AssertionError, match="still None"):
        checks.check_suspects(None)


# ------------------------------------------------------------------ question 5
@pytest.fixture(scope="module")
def cam():
    base = load_pretrained_base()
    head = checks.make_cam_head(base.predict(DATA["X_val"], verbose=0), DATA["y_val"])
    return base, head


def student_cam(base, head, *, relu=True, resize=True, scale=True, softmax=False):
    def grad_cam(images, classes):
        images = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
        with tf.GradientTape() as tape:
            maps = base(images, training=False)
            tape.watch(maps)
            logits = head(maps)
            if softmax:
                logits = tf.nn.softmax(logits)
            scores = tf.gather(logits, np.asarray(classes), axis=1, batch_dims=1)
        grads = tape.gradient(scores, maps)
        alpha = tf.reduce_mean(grads, axis=(1, 2))
        cam = tf.einsum("nhwk,nk->nhw", maps, alpha)
        cam = tf.nn.relu(cam) if relu else cam
        if resize:
            cam = tf.image.resize(cam[..., None], images.shape[1:3])[..., 0]
        cam = cam.numpy()
        if scale:
            cam = cam / np.maximum(np.abs(cam).max(axis=(1, 2), keepdims=True), 1e-12)
        return cam
    return grad_cam


def test_grad_cam_accepts_a_right_function(cam):
    base, head = cam
    checks.check_grad_cam(student_cam(base, head), head, DATA["X_val"][:40], DATA["y_val"][:40])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"resize": False}, "size of the feature maps"),
        ({"scale": False}, "maximum is 1"),
        ({"relu": False}, "negative values"),
        ({"softmax": True}, "differ from Grad-CAM"),
    ],
)
def test_grad_cam_rejects_wrong_functions(cam, options, message):
    base, head = cam
    with pytest.raises(AssertionError, match=message):
        checks.check_grad_cam(student_cam(base, head, **options), head, DATA["X_val"][:40],
                              DATA["y_val"][:40])


def test_grad_cam_quadrant_rule_can_fail(cam):
    """Transposed heatmaps match nothing: the check says so."""
    base, head = cam
    right = student_cam(base, head)
    with pytest.raises(AssertionError, match="differ from Grad-CAM"):
        checks.check_grad_cam(lambda im, c: right(im, c).transpose(0, 2, 1), head,
                              DATA["X_val"][:40], DATA["y_val"][:40])
    X = DATA["X_val"][:40]
    q = np.random.default_rng(0).integers(0, 4, 40)
    from dlcourse.transfer import place_in_quadrant

    heat = checks.reference_grad_cam(base, head, place_in_quadrant(X, q, canvas=64), DATA["y_val"][:40])
    assert checks.quadrant_hits(heat, q) >= 0.9
    assert checks.quadrant_hits(heat.transpose(0, 2, 1), q) < 0.8


# ------------------------------------------------------------------ question 7
def fair(results, a, b, *, tune="validation", per_seed=False, single=False, align=True, paired=True,
         divide=True, ddof=1, doubled=False, scale=100, sign=1, k=2, edge="own", report="test"):
    """Question 7's answer, or one of its mistakes (each option a named mistake)."""
    lr, at_edge, scores = {}, {}, {}
    for m in (a, b):
        rows = results[results["method"] == m]
        tuning = rows[rows["split"] == tune]
        means = tuning.groupby("lr")["accuracy"].mean()
        lr[m] = float(tuning.loc[tuning["accuracy"].idxmax(), "lr"] if single else means.idxmax())
        grid = results["lr"] if edge == "all" else means.index
        at_edge[m] = edge != "never" and lr[m] in (grid.min(), grid.max())
        test = rows[rows["split"] == report]
        if per_seed:                 # each seed's own best rate
            val = rows[rows["split"] == "validation"]
            picked = val.loc[val.groupby("seed")["accuracy"].idxmax(), ["seed", "lr"]]
            scores[m] = test.merge(picked, on=["seed", "lr"]).set_index("seed")["accuracy"]
        else:
            chosen = test[test["lr"] == lr[m]]
            scores[m] = chosen.set_index("seed")["accuracy"] if align else chosen["accuracy"]
    if align:
        d = scale * sign * (scores[a] - scores[b])
    else:                            # the rows' order, not the seeds, pairs the runs
        d = scale * sign * (scores[a].to_numpy() - scores[b].to_numpy())
    d = np.asarray(d, dtype=float)
    diff, n = float(d.mean()), len(d)
    if paired:
        se = float(np.std(d, ddof=ddof) / (np.sqrt(n) if divide else 1))
    else:
        sa, sb = (scale * np.asarray(scores[m], dtype=float) for m in (a, b))
        se = float(np.sqrt((sa.var(ddof=1) + sb.var(ddof=1)) / n))
    se = 2 * se if doubled else se
    verdict = a if diff > k * se else b if diff < -k * se else "no measurable difference"
    return {"lr": lr, "at_edge": at_edge, "diff": diff, "se": se, "verdict": verdict}


def page_fair(results, a, b):
    """The page's code, adapted as little as possible: `chosen` from the test rows, its `paired`
    (mean and two standard errors) and its verdict, here named instead of a sentence."""
    test = results[results.split == "test"]
    chosen = test.groupby("method")["lr"].first().to_dict()
    at_k = test.set_index("seed")
    d = 100 * (at_k[at_k.method == a].accuracy - at_k[at_k.method == b].accuracy)
    diff, band = d.mean(), 2 * d.std() / np.sqrt(len(d))
    verdict = a if diff > band else b if diff < -band else "no measurable difference"
    return {"lr": chosen, "at_edge": {a: False, b: False}, "diff": diff, "se": band, "verdict": verdict}


FAIR_MISTAKES = [
    ({"tune": "test"}, "fair_tuned_on_test"),
    ({"per_seed": True}, "fair_diff_per_seed"),
    ({"single": True}, "fair_lr_best_single_run"),
    ({"align": False}, "fair_se_wrong"),
    ({"paired": False}, "fair_se_unpaired"),
    ({"divide": False}, "fair_se_not_divided"),
    ({"ddof": 0}, "fair_se_ddof0"),
    ({"doubled": True}, "fair_se_doubled"),
    ({"report": "validation"}, "fair_diff_on_validation"),
    ({"scale": 1}, "fair_diff_fraction"),
    ({"sign": -1}, "fair_diff_sign"),
    ({"k": 1}, "fair_verdict_one_se"),
    ({"edge": "never"}, "fair_edge_wrong"),
    ({"edge": "all"}, "fair_edge_wrong"),
]


def hidden_cell(grade_id):
    """The source of a graded test cell's hidden part, from the solution notebook."""
    import nbformat

    from conftest import solution_path

    nb = nbformat.read(solution_path("ch09_transfer_learning"), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]


def run_hidden(fn):
    exec(hidden_cell("q7_fair_verdict_test"), {"np": np, "checks": checks, "fair_verdict": fn})


def test_fair_verdict_accepts_the_right_answer_visible_and_hidden():
    checks.check_fair_verdict(fair)
    run_hidden(fair)
    checks.check_fair_verdict(lambda r, a, b: {**fair(r, a, b), "se": np.array(fair(r, a, b)["se"])})
    for results, a, b, _ in checks.fair_cases():
        got, want = fair(results, a, b), checks.reference_fair_verdict(results, a, b)
        assert got["diff"] == pytest.approx(want["diff"]) and got["se"] == pytest.approx(want["se"])
        assert (got["lr"], got["at_edge"], got["verdict"]) == (want["lr"], want["at_edge"],
                                                               want["verdict"])


@pytest.mark.parametrize("options, tag", FAIR_MISTAKES, ids=[t for _, t in FAIR_MISTAKES])
def test_fair_verdict_rejects_each_mistake_visible_and_hidden(options, tag):
    wrong = lambda r, a, b: fair(r, a, b, **options)  # noqa: E731
    with pytest.raises(AssertionError) as error:
        checks.check_fair_verdict(wrong)
    assert error.value.tag == tag, str(error.value)
    with pytest.raises(AssertionError):
        run_hidden(wrong)


def test_fair_verdict_compares_small_rates_relatively():
    """A neighbour of a tiny tuned rate (1e-7 for 1e-8) is a different rate, not a rounding error."""
    results, a, b, _ = checks.fair_cases()[0]
    want = fair(results, a, b)["lr"][a]
    grid = sorted(results[results.method == a].lr.unique())
    other = grid[grid.index(want) - 1]
    with pytest.raises(AssertionError) as error:
        checks.check_fair_verdict(
            lambda r, a, b: {**fair(r, a, b), "lr": {a: other, b: fair(r, a, b)["lr"][b]}})
    assert error.value.tag.startswith("fair_lr"), str(error.value)
    scaled = results.assign(lr=np.where(results.method == a, results.lr * 1e-4, results.lr))
    case = [(scaled, a, b, "a comparison with tiny rates")]
    checks.check_fair_verdict(fair, cases=case)
    assert min(scaled.lr) < 1e-9
    tiny = sorted(scaled[scaled.method == a].lr.unique())
    tiny_want = fair(scaled, a, b)["lr"][a]
    tiny_other = tiny[tiny.index(tiny_want) - 1]
    with pytest.raises(AssertionError) as error:
        checks.check_fair_verdict(
            lambda r, a, b: {**fair(r, a, b), "lr": {a: tiny_other, b: fair(r, a, b)["lr"][b]}},
            cases=case)
    assert error.value.tag.startswith("fair_lr"), str(error.value)


def test_fair_verdict_rejects_the_page_code_and_nonsense():
    lr_tags = {"fair_lr_wrong", "fair_tuned_on_test", "fair_lr_best_single_run"}
    for fn, tag in [(page_fair, "a learning rate"), (lambda r, a, b: None, "fair_none"),
                    (not_written, "not_implemented"), (lambda r, a, b: (1.0, 0.5), "fair_not_dict"),
                    (lambda r, a, b: {**fair(r, a, b), "se": float("nan")}, "fair_not_finite"),
                    (lambda r, a, b: {**fair(r, a, b), "diff": "3.8"}, "fair_not_number"),
                    (lambda r, a, b: {**fair(r, a, b), "verdict": f"{a} is ahead"},
                     "fair_verdict_not_allowed")]:
        with pytest.raises(AssertionError) as error:
            checks.check_fair_verdict(fn)
        assert error.value.tag in (lr_tags if fn is page_fair else {tag}), str(error.value)
        with pytest.raises(AssertionError):
            run_hidden(fn)


def hidden_cases():
    captured = {}
    exec(hidden_cell("q7_fair_verdict_test"),
         {"np": np, "checks": types.SimpleNamespace(
             COMPARISON_KINDS=checks.COMPARISON_KINDS, make_comparison=checks.make_comparison,
             check_fair_verdict=lambda fn, cases: captured.update(cases=cases)),
          "fair_verdict": fair})
    return captured["cases"]


@pytest.mark.parametrize("where", ["visible", "hidden"])
def test_the_comparisons_are_what_they_claim(where):
    """Each kind does what it is for, in the visible check and in the hidden test alike: tuning on
    test flips the verdict, the edge case is at an edge, the null is null, pairing matters."""
    cases = checks.fair_cases() if where == "visible" else hidden_cases()
    flips = unpaired_flips = between = 0
    kinds = set()
    for results, a, b, _ in cases:
        want = checks.reference_fair_verdict(results, a, b)
        means = results[results.split == "validation"].groupby(["method", "lr"]).accuracy.mean()
        for m in (a, b):             # no near-ties: the tuned rate is unambiguous
            top = means[m].sort_values().to_numpy()[-2:]
            assert top[1] - top[0] > 1e-4
        ratio = abs(want["diff"]) / want["se"]
        assert abs(ratio - 2) > 0.02 and abs(ratio - 1) > 0.02     # no verdict on a knife's edge
        between += 1 < ratio < 2
        on_test = fair(results, a, b, tune="test")
        flips += on_test["verdict"] != want["verdict"]
        unpaired_flips += fair(results, a, b, paired=False)["verdict"] != want["verdict"]
        kinds.add(("edge" if any(want["at_edge"].values()) else "inside", want["verdict"] == a,
                   want["verdict"] == b, want["verdict"] == checks.NO_DIFFERENCE))
    assert flips >= 1 and unpaired_flips >= 1 and between >= 1
    assert any(k[0] == "edge" for k in kinds) and any(k[1] for k in kinds)
    assert any(k[2] for k in kinds) and any(k[3] for k in kinds)
