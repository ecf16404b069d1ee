"""Plain data: the only thing that crosses between a student's kernel and the grader (Instructors' guide).

:func:`encode` turns a value into JSON-able data and :func:`decode` turns it back, on either
side of :mod:`dlcourse.grading.interface`. What can cross:

* ``None``, ``bool``, ``int``, ``float``, ``str`` (exact types: a subclass of ``float`` with its
  own ``__eq__`` crosses as a plain ``float``);
* NumPy arrays and scalars of numeric or boolean dtype, and arrays of Unicode strings (class
  labels such as ``"b"``/``"g"``): raw bytes, dtype and shape; never object arrays;
* lists, tuples and dicts of those (dict keys: None, bool, int, float, str or tuples of them);
* sets and frozensets of such keys (a set of names, ch08's ``keeps_label``);
* pandas ``DataFrame``/``Series`` whose index and columns are such values (rebuilt from them);
* Keras models and layers as their config and weights (rebuilt with ``safe_mode``, from
  Keras's own modules only, never ``Lambda`` or ``TFSMLayer``); one that cannot be rebuilt is
  refused (:class:`PlainDataError`), never replaced by a handle to the kernel's object;
* references: an opaque handle to an object that stays in the kernel (``{"__h__": id}``), a
  name of a function in the other side's notebook namespace or a NumPy/Keras function by path.

Nothing is ever pickled; :func:`decode` builds only the types above and rejects anything else
with :class:`PlainDataError`. Size and depth are capped.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Callable

import numpy as np

MAX_DEPTH = 64
NUMERIC_KINDS = "biufc"
#: dtype kinds an array may have: numbers, booleans and fixed-width Unicode strings (no objects).
ARRAY_KINDS = NUMERIC_KINDS + "U"
#: Modules whose functions may be passed by reference (the other side imports them by path).
REF_MODULES = ("numpy", "math", "keras.activations", "keras.ops", "keras.losses", "keras.metrics")
#: The course's public checks: their module-level functions (an activation a check passes to the
#: student's function, say) are passed by path too; a lambda or a function local to a test cannot be.
CHECK_MODULES = ("dlcourse.checks",)
#: NumPy functions that are not ufuncs and may still be passed by reference: pure functions only
#: (every ufunc is pure; ``np.save``, ``np.fromfile``, ``np.seterr`` or ``np.random`` never cross).
PURE_NUMPY = frozenset({"mean", "sum", "prod", "max", "min", "amax", "amin", "median", "std", "var", "clip", "dot",
                        "where", "argmax", "argmin", "round", "around", "zeros_like", "ones_like", "asarray", "array",
                        "cumsum", "diff", "outer", "tensordot", "einsum", "stack", "concatenate", "sort"})
#: Names of the Keras modules of REF_MODULES that are not pure functions of their arguments.
IMPURE_KERAS = frozenset({"get", "serialize", "deserialize"})
#: Keras classes that can never be rebuilt from a student's config.
FORBIDDEN_KERAS = {"Lambda", "TFSMLayer", "SavedModel", "LambdaLayer"}


class PlainDataError(ValueError):
    """A value that is not plain data, or data that does not decode to plain data."""


def is_keras(value: Any) -> bool:
    """A Keras model or layer (never imports Keras for a value that is not one of its objects)."""
    module = type(value).__module__ or ""
    if not module.startswith("keras"):
        return False
    import keras

    return isinstance(value, (keras.Model, keras.layers.Layer))


def _is_frame(value: Any) -> str | None:
    module = type(value).__module__ or ""
    if not module.startswith("pandas"):
        return None
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return "df"
    if isinstance(value, pd.Series):
        return "series"
    if isinstance(value, pd.Index):
        return "index"
    return None


def _array(value: np.ndarray) -> dict:
    if value.dtype.kind not in ARRAY_KINDS or value.dtype.hasobject:
        raise PlainDataError(f"an array of dtype {value.dtype} is not plain data")
    return {"__nd__": [value.dtype.str, list(value.shape), base64.b64encode(value.tobytes(order="C")).decode("ascii")]}


def _keras_payload(value: Any) -> dict:
    import keras

    config = keras.saving.serialize_keras_object(value)
    weights = [np.asarray(w) for w in value.get_weights()]
    payload = {"config": config, "weights": [_array(w) for w in weights]}
    try:  # how many steps it was trained for (checks tell a trained model from an untrained one by it)
        payload["iterations"] = int(value.optimizer.iterations.numpy())
    except Exception:  # noqa: BLE001  (not compiled)
        pass
    return payload


def encode(value: Any, handle: Callable[[Any], int] | None = None, ref: Callable[[Any], Any] | None = None,
           depth: int = 0) -> Any:
    """``value`` as JSON-able plain data; objects that are not become handles via ``handle``.

    ``handle(obj)`` returns an id for an object that stays on this side (the kernel); without it,
    such an object raises :class:`PlainDataError`. ``ref(obj)`` may return a reference for a
    function (the grader's set-up functions). Keras objects cross as config and weights, with
    a handle as well where ``handle`` is given.
    """
    if depth > MAX_DEPTH:
        raise PlainDataError("data nested too deeply")
    t = type(value)
    if value is None or t in (bool, str):
        return value
    if t is int:
        return value if abs(value) < 2 ** 53 else {"__int__": str(value)}
    if t is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, (bool, int, float, str)) and not isinstance(value, np.generic):
        # a subclass: cross as the plain value it claims to be, with none of its methods
        for base in (bool, int, float, str):
            if isinstance(value, base):
                return encode(base(value), handle, ref, depth + 1)
    if isinstance(value, np.ndarray) and value.dtype.kind in ARRAY_KINDS:
        return _array(value)
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC_KINDS:
        return {"__np__": _array(np.asarray(value))["__nd__"]}
    if t is list or t is tuple:
        items = [encode(v, handle, ref, depth + 1) for v in value]
        return items if t is list else {"__t__": items}
    if t is dict:
        return {"__d__": [[encode(k, None, None, depth + 1), encode(v, handle, ref, depth + 1)]
                          for k, v in value.items()]}
    if t is set or t is frozenset:
        items = [encode(v, None, None, depth + 1) for v in value]  # elements never become handles
        return {"__set__" if t is set else "__fset__": items}
    kind = _is_frame(value)
    if kind:
        return _frame(value, kind, depth)
    module = type(value).__module__ or ""
    if module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy") and hasattr(value, "dtype") \
            and not is_keras(value):
        try:  # a tensor or a variable: its values
            return encode(np.asarray(value), handle, ref, depth + 1)
        except Exception:  # noqa: BLE001
            pass
    if is_keras(value):
        out = {"__keras__": _keras_payload(value)}
        if handle is not None:
            out["__h__"] = handle(value)
        return out
    if ref is not None:
        found = ref(value)
        if found is not None:
            return found
    path = function_path(value)
    if path is not None:
        return {"__fn__": path}
    if isinstance(value, (list, tuple, dict, set, frozenset)):  # subclasses of containers: as the plain one
        base = next(b for b in (dict, tuple, list, frozenset, set) if isinstance(value, b))
        return encode(base(value), handle, ref, depth + 1)
    if handle is None:
        raise PlainDataError(f"a {type(value).__name__} is not plain data")
    return {"__h__": handle(value), "type": type(value).__name__[:60]}


def _under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == m or module.startswith(m + ".") for m in roots)


def _ref_module(module: str) -> bool:
    return _under(module, REF_MODULES + CHECK_MODULES)


def pure_reference(module: str, name: str) -> bool:
    """Whether ``module.name`` may be passed by reference: an allowlist of pure functions (Instructors' guide).

    NumPy: ufuncs and :data:`PURE_NUMPY`; ``math``: its functions; ``keras.activations``,
    ``keras.ops``, ``keras.losses``, ``keras.metrics``: their public functions except
    :data:`IMPURE_KERAS` and anything random or seeded; the course's checks: their public functions.
    Nothing that reads or writes files, changes global state or draws random numbers.
    """
    if not name or name.startswith("__") or not name.replace("_", "").isalnum():
        return False
    if _under(module, CHECK_MODULES):
        return True
    if name.startswith("_"):
        return False
    if module == "numpy":
        return isinstance(getattr(np, name, None), np.ufunc) or name in PURE_NUMPY
    if module == "math":
        return True
    if module in ("keras.activations", "keras.ops", "keras.losses", "keras.metrics"):
        return name not in IMPURE_KERAS and "random" not in name and "seed" not in name
    return False


def function_path(value: Any) -> list[str] | None:
    """``[module, name]`` of an allowlisted pure function (:func:`pure_reference`) or a function of the checks."""
    if isinstance(value, np.ufunc):
        return ["numpy", value.__name__]
    module, name = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if callable(value) and isinstance(module, str) and isinstance(name, str) and "." not in name \
            and "<" not in name and _ref_module(module) and pure_reference(module, name):
        return [module, name]
    return None


def _frame(value: Any, kind: str, depth: int) -> dict:
    def column(values) -> Any:
        arr = np.asarray(values)
        if arr.dtype.kind in NUMERIC_KINDS:
            return _array(arr)
        return [encode(v.item() if isinstance(v, np.generic) else v, None, None, depth + 2) for v in arr.tolist()]

    if kind == "index":
        return {"__pd__": ["index", column(value), encode(value.name, None, None, depth + 1)]}
    index = column(value.index)
    if kind == "series":
        return {"__pd__": ["series", column(value.to_numpy()), index, encode(value.name, None, None, depth + 1)]}
    columns = [encode(c.item() if isinstance(c, np.generic) else c, None, None, depth + 1) for c in value.columns]
    return {"__pd__": ["df", [column(value.iloc[:, i].to_numpy()) for i in range(value.shape[1])], index, columns]}


def _decode_array(spec: Any) -> np.ndarray:
    if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str) and isinstance(spec[2], str)):
        raise PlainDataError("malformed array")
    dtype = np.dtype(spec[0])
    if dtype.kind not in ARRAY_KINDS or dtype.hasobject or dtype.fields is not None:
        raise PlainDataError(f"dtype {spec[0]} is not allowed")
    shape = spec[1]
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)) or len(shape) > 32:
        raise PlainDataError("malformed array shape")
    raw = base64.b64decode(spec[2].encode("ascii"), validate=True)
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise PlainDataError("array size does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def check_keras_config(config: Any, depth: int = 0) -> None:
    """Reject a Keras config that names code outside Keras (Instructors' guide)."""
    if depth > 200:
        raise PlainDataError("Keras config nested too deeply")
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
            raise PlainDataError(f"a Keras config may only name Keras's own classes, not {module!r}")
        if config.get("class_name") in FORBIDDEN_KERAS or config.get("registered_name") not in (None, config.get("class_name")):
            raise PlainDataError(f"{config.get('class_name')!r} cannot be rebuilt from a config")
        if config.get("class_name") == "__lambda__" or "function_type" in config:
            raise PlainDataError("a Keras config with code in it cannot be rebuilt")
        if "function" in (config.get("class_name"), config.get("registered_name")) and not (
                isinstance(module, str) and isinstance(config.get("config"), str)
                and pure_reference(module, config["config"])):
            raise PlainDataError(f"a Keras config may only name pure Keras functions, not "
                                 f"{module}.{config.get('config')}")
        for v in config.values():
            check_keras_config(v, depth + 1)
    elif isinstance(config, list):
        for v in config:
            check_keras_config(v, depth + 1)


#: Sizes up to this are accepted in any Keras config, whatever weights come with it.
SMALL_SIZE = 1 << 16


def _config_sizes(config: Any, key: str = "", depth: int = 0):
    """Every size-like integer of a Keras config (layer widths, input dimensions), not seeds or flags."""
    if depth > 200:
        return
    if isinstance(config, dict):
        for k, v in config.items():
            yield from _config_sizes(v, str(k), depth + 1)
    elif isinstance(config, list):
        for v in config:
            yield from _config_sizes(v, key, depth + 1)
    elif type(config) is int and "seed" not in key:
        yield key, config


def check_config_size(config: Any, weights: list) -> None:
    """Refuse a Keras config that implies more parameters than the weights sent with it (Instructors' guide).

    A layer of width ``n`` (units, filters, an input dimension) has at least ``n`` parameters, or
    feeds one that does, so no size may exceed the number of values in the weights the kernel sent
    (or :data:`SMALL_SIZE`). Checked before anything is built: a 400-byte config for
    ``Dense(50_000_000)`` never allocates its kernel.
    """
    sent = 0
    for w in weights:
        spec = w.get("__nd__") if isinstance(w, dict) else None
        if isinstance(spec, list) and len(spec) == 3 and isinstance(spec[1], list):
            n = 1
            for d in spec[1]:
                n *= d if type(d) is int and d >= 0 else 0
            sent += n
    for key, size in _config_sizes(config):
        if size > max(SMALL_SIZE, sent):
            raise PlainDataError(f"the Keras config asks for {key} = {size}, more than the {sent} weights sent")


def rebuild_keras(payload: Any) -> Any:
    """A Keras model or layer from its config and weights, with ``safe_mode`` (Instructors' guide)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("weights"), list):
        raise PlainDataError("malformed Keras payload")
    config = payload.get("config")
    check_keras_config(config)
    check_config_size(config, payload["weights"])
    import keras
    obj = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if not isinstance(obj, (keras.Model, keras.layers.Layer)):
        raise PlainDataError("the config is not a Keras model or layer")
    weights = [_decode_array(w.get("__nd__") if isinstance(w, dict) else None) for w in payload["weights"]]
    if weights or obj.weights:
        obj.set_weights(weights)
    steps = payload.get("iterations")
    if type(steps) is int and steps >= 0 and getattr(obj, "optimizer", None) is not None:
        try:
            obj.optimizer.iterations.assign(steps)
        except Exception:  # noqa: BLE001  (an optimizer without a step counter)
            pass
    return obj


def decode(data: Any, resolve_handle: Callable[[dict], Any] | None = None,
           resolve_name: Callable[[str], Any] | None = None, depth: int = 0) -> Any:
    """The value that :func:`encode` encoded; handles and names go through the resolvers."""
    if depth > MAX_DEPTH:
        raise PlainDataError("data nested too deeply")
    t = type(data)
    if data is None or t in (bool, int, float, str):
        return data
    if t is list:
        return [decode(v, resolve_handle, resolve_name, depth + 1) for v in data]
    if t is not dict or len(data) == 0:
        raise PlainDataError(f"unexpected {t.__name__} in plain data")
    key = next(iter(data))
    body = data[key]
    if key == "__int__" and isinstance(body, str) and len(body) < 5000:
        return int(body)
    if key == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if key == "__nd__":
        return _decode_array(body)
    if key == "__np__":
        arr = _decode_array(body)
        if arr.shape != ():
            raise PlainDataError("a NumPy scalar must have shape ()")
        return arr[()]
    if key == "__t__" and type(body) is list:
        return tuple(decode(v, resolve_handle, resolve_name, depth + 1) for v in body)
    if key == "__d__" and type(body) is list:
        out = {}
        for pair in body:
            if not (type(pair) is list and len(pair) == 2):
                raise PlainDataError("malformed dict")
            k = decode(pair[0], None, None, depth + 1)
            if not _hashable_plain(k):
                raise PlainDataError("a dict key must be None, bool, a number, a str or a tuple of those")
            out[k] = decode(pair[1], resolve_handle, resolve_name, depth + 1)
        return out
    if key in ("__set__", "__fset__") and type(body) is list:
        items = [decode(v, None, None, depth + 1) for v in body]
        if not all(_hashable_plain(v) for v in items):
            raise PlainDataError("a set must hold None, bool, numbers, str or tuples of those")
        return set(items) if key == "__set__" else frozenset(items)
    if key == "__pd__" and type(body) is list:
        return _decode_frame(body, depth)
    if key == "__keras__":
        try:
            return rebuild_keras(body)
        except Exception as exc:  # noqa: BLE001
            # Never replaced by a handle to the kernel's object: a model the grader cannot rebuild
            # (a Lambda layer, a class of the notebook's own) is refused, and the submission flagged.
            raise PlainDataError(f"a Keras object could not be rebuilt safely: {exc}") from None
    if key == "__h__":
        if resolve_handle is None or type(body) is not int:
            raise PlainDataError("an object handle where plain data was required")
        return resolve_handle(data)
    if key == "__fn__" and type(body) is list and len(body) == 2 and all(type(s) is str for s in body):
        module, name = body
        if not _ref_module(module) or not pure_reference(module, name):
            raise PlainDataError(f"{module}.{name} cannot be passed by reference")
        import importlib

        return getattr(importlib.import_module(module), name)
    if key == "__name__" and type(body) is str and resolve_name is not None:
        return resolve_name(body)
    raise PlainDataError(f"unexpected {key!r} in plain data")


def _hashable_plain(k: Any) -> bool:
    if k is None or type(k) in (bool, int, float, str) or isinstance(k, np.generic):
        return True
    return type(k) is tuple and all(_hashable_plain(v) for v in k)


def _decode_frame(body: list, depth: int) -> Any:
    import pandas as pd

    def column(c):
        if isinstance(c, dict):
            return _decode_array(c.get("__nd__"))
        if type(c) is list:
            values = [decode(v, None, None, depth + 2) for v in c]
            if not all(_hashable_plain(v) for v in values):
                raise PlainDataError("a pandas column must hold plain scalars")
            return values
        raise PlainDataError("malformed pandas column")

    kind = body[0]
    if kind == "index" and len(body) == 3:
        return pd.Index(column(body[1]), name=decode(body[2], None, None, depth + 1))
    if kind == "series" and len(body) == 4:
        return pd.Series(column(body[1]), index=column(body[2]), name=decode(body[3], None, None, depth + 1))
    if kind == "df" and len(body) == 4 and type(body[1]) is list and type(body[3]) is list:
        names = [decode(c, None, None, depth + 1) for c in body[3]]
        cols = [column(c) for c in body[1]]
        if len(names) != len(cols) or not all(_hashable_plain(n) for n in names):
            raise PlainDataError("malformed DataFrame")
        index = column(body[2])
        frame = pd.DataFrame({i: c for i, c in enumerate(cols)}, index=index)
        frame.columns = names
        return frame
    raise PlainDataError("malformed pandas data")
