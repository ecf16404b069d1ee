"""The narrow interface between the grader and a student's kernel, and what a submission may contain.

No kernel is started here: the agent (the kernel's side) is called in-process through the same
JSON text a real kernel returns, so every rule of plain data is tested quickly.
"""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pandas as pd
import pytest

from dlcourse.grading import agent, interface, plain
from dlcourse.grading.submission import read_submission


def roundtrip(value):
    return plain.decode(json.loads(json.dumps(plain.encode(value))))


@pytest.mark.parametrize("value", [
    None, True, 3, -2 ** 70, 2.5, float("nan"), "text", [1, "a"], (1, (2.0, None)), {"a": 1, 2.5: [3], (1, 2): "t"},
    np.float32(1.5), np.int64(7), np.arange(6, dtype="int16").reshape(2, 3), np.ones((0, 3)), np.array(True),
    np.array(["b", "g", "cat"]),  # class labels (ch07): fixed-width Unicode, never objects
    {"small_shift", "flip"}, frozenset({1, (2, "a")}), {"aerial": {"rotate"}},  # sets of names (ch08)
])
def test_plain_values_cross_unchanged(value):
    got = roundtrip(value)
    assert type(got) is type(value)
    if isinstance(value, np.ndarray):
        assert got.dtype == value.dtype and got.shape == value.shape and np.array_equal(got, value)
    elif isinstance(value, float) and value != value:
        assert got != got
    else:
        assert got == value


def test_pandas_frames_cross_with_index_and_columns():
    df = pd.DataFrame({"v": range(4), "s": list("abcd"), 0.01: [0.5, 1, 2, 3]}, index=range(100, 104))
    got = roundtrip(df)
    assert list(got.columns) == ["v", "s", 0.01] and list(got.index) == [100, 101, 102, 103]
    assert got["s"].tolist() == list("abcd") and got["v"].dtype == np.int64
    assert roundtrip(df["v"]).tolist() == [0, 1, 2, 3]


def test_subclasses_cross_as_the_plain_value_they_claim():
    class Liar(float):
        def __eq__(self, other):
            return True

    got = roundtrip(Liar(1.0))
    assert type(got) is float and got != 2.0
    assert type(roundtrip([Liar(1.0)])[0]) is float


@pytest.mark.parametrize("data", [
    {"__nd__": ["|O", [1], "AAAAAAAAAAA="]},            # object dtype
    {"__nd__": ["<f8", [2], "AAAAAAAAAAA="]},           # size does not match the shape
    {"__fn__": ["os", "system"]},                       # a function outside the allowed modules
    {"__keras__": {"config": {"module": "os", "class_name": "system", "config": {}}, "weights": []}},
    {"__keras__": {"config": {"module": "keras.layers", "class_name": "Lambda", "config": {}}, "weights": []}},
    {"__h__": 1},                                       # a handle where data was required
    {"__pickle__": "gASVAAAA"},
    {"__d__": [[[1, 2], 3]]},                           # an unhashable key
    {"__np__": ["<f8", [2], "AAAAAAAAAAAAAAAAAAAAAA=="]},
])
def test_malformed_or_dangerous_data_is_refused(data):
    with pytest.raises(plain.PlainDataError):
        plain.decode(data)


def test_objects_that_are_not_plain_data_are_refused_without_a_handle():
    with pytest.raises(plain.PlainDataError):
        plain.encode(object())
    with pytest.raises(plain.PlainDataError):
        plain.encode(np.array([object()]))


class FakeKernel:
    """The kernel side in-process: a user namespace and the agent, answering like IPython does."""

    def __init__(self, ns):
        self.ns = ns
        self.sent = []

    def __call__(self, expression):
        self.sent.append(expression)
        prefix = "__import__('dlcourse.grading.agent', fromlist=['handle']).handle('"
        assert expression.startswith(prefix)
        text = expression[len(prefix):-2]
        import IPython

        old = IPython.get_ipython
        IPython.get_ipython = lambda: type("Shell", (), {"user_ns": self.ns})()
        try:
            answer = agent.handle(text)
        finally:
            IPython.get_ipython = old
        return {"status": "ok", "user_expressions": {"r": {"status": "ok", "data": {"text/plain": repr(answer)}}}}


def run(source, ns, setup=None):
    fake = FakeKernel(ns)
    setup = setup if setup is not None else {"np": np}
    kernel = interface.StudentKernel(fake, interface.setup_refs(setup))
    outputs = interface.run_test(source, "t", setup, kernel)
    errors = [o for o in outputs if o["output_type"] == "error"]
    return (errors[0]["ename"], errors[0]["evalue"]) if errors else None, fake, kernel


def test_a_test_cell_reads_values_and_calls_functions_in_the_kernel():
    ns = {"mse": lambda a, b: float(np.mean((np.asarray(a) - np.asarray(b)) ** 2)), "answer": {"x": (1, 2)}}
    source = ('"""doc"""\nassert abs(mse(np.zeros(2), np.array([3.0, -1.0])) - 5.0) < 1e-9\n'
              'assert answer["x"] == (1, 2)\nassert isinstance(answer["x"], tuple)\n')
    error, fake, _ = run(source, ns)
    assert error is None
    assert len(fake.sent) == 3  # a read of mse, its call, a read of answer (once)


def test_hidden_test_code_and_expected_values_never_reach_the_kernel():
    ns = {"mse": lambda a, b: 0.0}
    source = 'assert abs(mse(np.zeros(2), np.array([3.0, -1.0])) - 5.0) < 1e-9, "SECRET-MESSAGE"\n'
    error, fake, _ = run(source, ns)
    assert error == ("AssertionError", "SECRET-MESSAGE")
    sent = " ".join(fake.sent)
    import base64

    decoded = " ".join(base64.b64decode(s.split("handle('")[1][:-2]).decode() for s in fake.sent)
    assert "SECRET" not in sent + decoded and "5.0" not in decoded and "assert" not in decoded


def test_a_missing_name_is_a_name_error_and_a_student_exception_keeps_its_type():
    error, _, _ = run("task_types\n", {})
    assert error[0] == "NameError"

    def broken(x):
        raise NotImplementedError("not yet")

    error, _, _ = run("broken(1)\n", {"broken": broken})
    assert error == ("NotImplementedError", "not yet")


def test_patched_numpy_in_the_kernel_cannot_change_a_verdict():
    fake_np = type("FakeNumpy", (), {"allclose": staticmethod(lambda *a, **k: True)})()
    error, _, _ = run("assert np.allclose(value, [1.0, 2.0]), 'wrong'\n", {"np": fake_np, "value": [0.0, 0.0]})
    assert error == ("AssertionError", "wrong")


def test_a_lying_kernel_can_only_fail_its_tests():
    setup = {"np": np}
    for reply in ["not a string literal", repr('{"ok": {"__pickle__": 1}}'), repr("[1, 2]"), "__import__('os')"]:
        kernel = interface.StudentKernel(
            lambda e, r=reply: {"status": "ok", "user_expressions": {"r": {"status": "ok", "data": {"text/plain": r}}}})
        outputs = interface.run_test("assert value == 1\n", "t", setup, kernel)
        assert outputs[-1]["ename"] == "InterfaceError" and kernel.problems
    kernel = interface.StudentKernel(lambda e: {"status": "ok", "user_expressions": {}})
    assert interface.run_test("value\n", "t", setup, kernel)[-1]["ename"] == "InterfaceError"


def test_objects_stay_in_the_kernel_as_handles_with_remote_attributes():
    class History:
        def __init__(self):
            self.history = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}

    error, _, _ = run('assert history.history["val_loss"] == [3.5, 2.5]\n'
                      'assert type(history).__name__ == "History"\nassert history is not None\n',
                      {"history": History()})
    assert error is None


def test_set_up_functions_pass_by_name_and_numpy_functions_by_path():
    def relu(z):
        return np.maximum(0, z)

    def neuron(x, w, g):
        return float(g(w[0] + x @ w[1:]))

    ns = {"neuron": neuron, "relu": relu}
    source = ("assert np.isclose(neuron(np.array([3.0]), np.array([2.0, -1.0]), relu), 0.0)\n"
              "assert np.isclose(neuron(np.arange(2.0), np.arange(3.0), np.tanh), np.tanh(2.0))\n")
    error, _, _ = run(source, ns, {"np": np, "relu": relu})
    assert error is None


def test_keras_models_are_rebuilt_from_config_and_weights_and_arguments_go_by_value():
    """Issue 24, item 3: a student's function that changes its Keras argument (zeroes the weights of
    the reference model a test predicts with) changes only its own copy; a check that needs what the
    function did reads the student's copy explicitly (``call_returning_arguments``)."""
    keras = pytest.importorskip("keras")
    from dlcourse.checks._common import call_returning_arguments

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="relu")])

    def set_weights(layer, w, b):
        layer.set_weights([np.asarray(w, dtype="float32"), np.asarray(b, dtype="float32")])

    def numpy_predict(net, X):  # the attack: a right answer that also zeroes the caller's model
        out = net.predict(np.asarray(X), verbose=0)
        net.set_weights([np.zeros_like(w) for w in net.get_weights()])
        return out

    source = ("assert isinstance(model, keras.Model) and model.layers[0].units == 2\n"
              "assert model.layers[0].activation.__name__ == 'relu'\n"
              "_m = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])\n"
              "_m.layers[0].set_weights([np.array([[1.0], [2.0]]), np.array([0.5])])\n"
              "_X = np.array([[1.0, 1.0]])\n"
              "assert np.allclose(numpy_predict(_m, _X), [[3.5]])\n"
              "assert np.allclose(_m.predict(_X, verbose=0), [[3.5]]), 'the reference model was changed'\n"
              "_n = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])\n"
              "_before = [w.copy() for w in _n.get_weights()]\n"
              "_, (_layer, *_) = call_returning_arguments(set_weights, 'set_weights', _n.layers[0], [[1.0], [2.0]], [0.5])\n"
              "assert all(np.array_equal(a, b) for a, b in zip(_n.get_weights(), _before)), 'written back'\n"
              "assert _layer is not _n.layers[0] and np.allclose(_layer.get_weights()[1], [0.5])\n")
    error, _, _ = run(source, {"model": model, "set_weights": set_weights, "numpy_predict": numpy_predict},
                      {"np": np, "keras": keras, "call_returning_arguments": call_returning_arguments})
    assert error is None


# --- submissions are regular files ---------------------------------------------------------------

def test_only_regular_files_are_read_and_each_refusal_has_a_reason(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "nb.ipynb").write_text("{}")
    (sub / "data").mkdir()
    (sub / "data" / "x.csv").write_text("1,2")
    secret = tmp_path / "solution.ipynb"
    secret.write_text("SOLUTION")
    (sub / "link.ipynb").symlink_to(secret)
    (sub / "dirlink").symlink_to(tmp_path)
    os.link(secret, sub / "hard.ipynb")
    os.mkfifo(sub / "pipe")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sub / "sock"))
        got = read_submission(sub)
    assert sorted(got.files) == ["data/x.csv", "nb.ipynb"]
    assert dict(got.rejected) == {
        "link.ipynb": "a symbolic link", "dirlink": "a symbolic link", "hard.ipynb": "a hard link shared with another file",
        "pipe": "a named pipe (FIFO)", "sock": "a socket",
    }
    assert got.problem is None


def test_a_linked_submission_folder_and_too_many_or_too_large_files_are_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.ipynb").write_text("x" * 100)
    (tmp_path / "linked").symlink_to(real)
    assert read_submission(tmp_path / "linked").problem.startswith("the submission folder is a symbolic link")
    for i in range(5):
        (real / f"f{i}").write_text("y")
    assert read_submission(real, max_files=3).problem == "more than 3 files in the submission"
    assert read_submission(real, max_bytes=50).problem == "the submission is larger than 0 MiB"
    assert read_submission(real).problem is None


def test_functions_of_the_checks_modules_pass_by_path_and_test_lambdas_are_refused():
    from dlcourse.checks import ch03_activations as checks

    def neuron(x, w, g):
        return float(g(w[0] + np.asarray(x) @ np.asarray(w[1:])))

    error, _, _ = run("checks.check_neuron(neuron)\n", {"neuron": neuron}, {"np": np, "checks": checks})
    assert error is None
    error, _, _ = run("neuron(np.ones(1), np.ones(2), lambda z: z)\n", {"neuron": neuron})
    assert error[0] == "PlainDataError" and "not plain data" in error[1]


def test_a_trained_model_stays_trained_when_rebuilt():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 1)), np.ones(8), epochs=3, batch_size=8, verbose=0)
    error, _, _ = run("assert int(model.optimizer.iterations.numpy()) == 3\n", {"model": model}, {"np": np})
    assert error is None


# --- the trusted namespace comes from the release (issue 24, items 1 and 2) ------------------------

def _release(*cells):
    """A release notebook of (kind, grade_id, source) cells; kind is setup, answer or test."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for kind, gid, source in cells:
        meta = {"grade_id": gid, "locked": kind != "answer", "solution": kind == "answer", "grade": kind == "test",
                "schema_version": 3}
        if kind == "test":
            meta["points"] = 1
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta}))
    return nb


RELEASE = _release(
    ("setup", "setup", "import numpy as np\n"),
    ("answer", "q1", "def mse(a, b):\n    raise NotImplementedError\n"),
    ("setup", "q1_data", "y_ref = np.arange(4.0)\nmargin = 0.5\n"),
    ("test", "q1_test", "assert mse(y_ref, y_ref) == 0.0\nassert abs(mse(y_ref, y_ref + 1) - 1.0) < margin\n"),
    ("setup", "q2_show", "shown = mse(y_ref, y_ref)\n"),  # calls the answer: runs in the kernel only
    ("test", "q2_test", "assert shown == 0.0\n"),
)


def run_planned(test_id, ns, release=RELEASE):
    plan = interface.ReleasePlan(release)
    side = interface.GraderSide(plan)
    fake = FakeKernel(ns)
    kernel = interface.StudentKernel(fake)
    source = release.cells[plan.position[test_id]].source
    outputs = interface.run_test(source, test_id, {}, kernel, plan=plan, side=side, position=plan.position[test_id])
    errors = [o for o in outputs if o["output_type"] == "error"]
    asked = [json.loads(__import__("base64").b64decode(s.split("handle('")[1][:-2])) for s in fake.sent]
    return (errors[0]["ename"], errors[0]["evalue"]) if errors else None, [r.get("name") for r in asked if r["op"] == "get"]


def test_the_release_plan_allows_only_the_answers_names_and_runs_locked_cells_in_the_grader():
    plan = interface.ReleasePlan(RELEASE)
    assert plan.answer_names == {"mse"}
    assert [c["kind"] for c in plan.cells] == ["locked", "answer", "locked", "test", "dependent", "test"]
    good = {"mse": lambda a, b: float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))}
    assert run_planned("q1_test", good) == (None, ["mse"])  # np, y_ref, margin: the grader's own


def test_reference_data_and_set_up_names_never_come_from_the_kernel():
    """The kernel redefines the set-up and data names (after an answer moved above the set-up, or
    with NaN in the reference data): the test still uses the release's, and the wrong answer fails."""
    nan = float("nan")
    hostile = {"mse": lambda a, b: 0.0, "y_ref": np.array([nan]), "margin": nan, "np": None,
               "checks": None}
    error, asked = run_planned("q1_test", hostile)
    assert error is not None and error[0] == "AssertionError" and asked == ["mse"]


def test_a_name_defined_only_by_a_dependent_cell_or_by_nobody_is_a_name_error():
    error, asked = run_planned("q2_test", {"mse": lambda a, b: 0.0, "shown": 0.0})
    assert error[0] == "NameError" and asked == []



def test_an_object_with_a_predict_method_is_not_a_model():
    """Issue 24, item 4: a plain object whose predict looks the true targets up crosses as a handle;
    the grader never calls its predict (nor sends it the kept-back rows), so the test fails."""
    class Lookup:
        def predict(self, X, verbose=0):
            return np.zeros((len(X), 1))

    error, fake, _ = run("_X = np.ones((3, 2))\nassert np.allclose(model.predict(_X), 0)\n", {"model": Lookup()})
    assert error[0] == "TypeError" and "not a Keras model" in error[1]
    assert not any("predict" in __import__("base64").b64decode(s.split("handle('")[1][:-2]).decode() for s in fake.sent)


def test_a_keras_model_that_cannot_be_rebuilt_is_refused_and_flagged_never_a_handle():
    payload = {"__keras__": {"config": {"module": "keras.layers", "class_name": "Lambda", "config": {}},
                             "weights": []}, "__h__": 1}
    with pytest.raises(plain.PlainDataError):
        plain.decode(payload, lambda data: "a handle")


@pytest.mark.parametrize("module,name", [("numpy", "save"), ("numpy", "fromfile"), ("numpy", "seterr"),
                                         ("numpy", "load"), ("keras.ops", "random_seed"), ("keras.activations", "get"),
                                         ("keras.config", "set_max_epochs"), ("os", "system")])
def test_only_pure_functions_pass_by_reference(module, name):
    """Issue 24, "Function references": files, global state and randomness never cross by reference."""
    with pytest.raises(plain.PlainDataError):
        plain.decode({"__fn__": [module, name]})


def test_pure_functions_still_pass_by_reference():
    assert plain.decode({"__fn__": ["numpy", "tanh"]}) is np.tanh
    assert plain.decode({"__fn__": ["numpy", "mean"]}) is np.mean
    assert plain.decode({"__fn__": ["math", "exp"]}) is __import__("math").exp


def _dense_payload(units: int, weights: list) -> dict:
    layer = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "d", "units": units, "activation": "linear", "use_bias": True}}
    return {"__keras__": {"config": layer, "weights": weights}, "__h__": 1}


def test_a_config_that_implies_more_weights_than_sent_is_refused_before_it_is_built(monkeypatch):
    """Issue 24, item 7: a 400-byte config for Dense(50_000_000) is refused before any kernel is allocated."""
    import keras

    built = []
    monkeypatch.setattr(keras.saving, "deserialize_keras_object", lambda *a, **k: built.append(a) or None)
    with pytest.raises(plain.PlainDataError, match="units = 50000000"):
        plain.decode(_dense_payload(50_000_000, []), lambda data: "a handle")
    assert built == []


def test_a_keras_config_may_name_only_pure_keras_functions():
    """Issue 24, "Grader state": keras.config.set_max_epochs given as an activation is refused."""
    for module, name in [("keras.config", "set_max_epochs"), ("builtins", "exec"), ("keras.activations", "get")]:
        payload = _dense_payload(2, [])
        payload["__keras__"]["config"]["config"]["activation"] = {
            "module": module, "class_name": "function", "config": name, "registered_name": "function"}
        with pytest.raises(plain.PlainDataError, match="pure Keras functions|Keras.s own classes"):
            plain.decode(payload, lambda data: "a handle")


def test_a_reply_with_too_many_values_is_refused_before_it_is_parsed():
    """Issue 24, item 7: decoding costs about 50 bytes a value; a flood of empty lists is refused unparsed."""
    flood = json.dumps({"ok": [[]] * (interface.MAX_REPLY_VALUES // 2 + 1)})
    reply = {"status": "ok", "user_expressions": {"r": {"status": "ok", "data": {"text/plain": repr(flood)}}}}
    kernel = interface.StudentKernel(lambda expression: reply)
    with pytest.raises(interface.InterfaceError, match="too many values"):
        kernel.get("x")
    assert kernel.problems == ["the kernel's answer has too many values"]


def test_an_error_raised_by_the_students_code_is_marked_as_the_students_message():
    """Issue 24, item 5: feedback hides such a message when a hidden input caused it."""
    def f(x):
        raise ValueError(f"got {list(x)}")

    fake = FakeKernel({"f": f})
    kernel = interface.StudentKernel(fake, interface.setup_refs({"np": np}))
    verdict = {}
    outputs = interface.run_test("f(np.array([4, 2]))\n", "t", {"np": np}, kernel, verdict=verdict)
    assert outputs[-1]["ename"] == "ValueError" and verdict["kind"] == "student_exception"
    verdict = {}
    interface.run_test("assert False, 'the check'\n", "t", {"np": np}, kernel, verdict=verdict)
    assert verdict["kind"] == "check"
