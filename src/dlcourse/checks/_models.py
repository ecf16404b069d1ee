"""Checks of Keras models shared by every chapter that asks for a model to a specification.

:func:`check_dense_stack` is introduced in Chapter 2 (``ch02_neurons``); Chapters 5 onwards reuse
it, with ``ignore=("Dropout", "BatchNormalization")`` where such layers may sit between Dense layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import fail

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def ordinal(i: int) -> str:
    """'first', 'second', ... for ``i`` = 0, 1, ...; 'number 12' beyond the tenth."""
    return _ORDINALS[i] if i < len(_ORDINALS) else f"number {i + 1}"


def activation_name(layer: Any) -> str:
    """The name of a Keras layer's activation function: 'relu', 'softmax', 'linear', ..."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        return "linear"
    return getattr(activation, "__name__", str(activation))


def _normalise_activation(name: str | None) -> str | None:
    return "linear" if name in (None, "linear", "identity") else name


def check_dense_stack(
    model: Any,
    input_dim: int | None,
    units: Sequence[int],
    activations: Sequence[str | None] | None = None,
    *,
    what: str = "`model`",
    ignore: Sequence[str] = (),
) -> list:
    """Fail unless ``model`` is a Keras model made of Dense layers to a specification.

    Checks, in this order, with a message that names the first difference: the model exists
    (not ``None``, not an unbuilt function), it knows its input shape ``(None, input_dim)``
    (skipped when ``input_dim`` is None), its layers are Dense layers (layer types named in
    ``ignore``, e.g. ``("Dropout",)``, may sit between them and are skipped), there are
    ``len(units)`` Dense layers, each has the given number of units and, when ``activations``
    is given, the given activation (``None`` or ``"linear"`` for no activation; an entry of
    ``activations`` that is ``...`` is not checked). Returns the Dense layers.

    Introduced in Chapter 2 (``ch02_neurons``); later chapters reuse it.
    """
    __tracebackhide__ = True
    import keras

    if model is None:
        fail(f"{what} is still None: build the model and assign it to {what}.", tag="model_none")
    if callable(model) and not isinstance(model, keras.Model):
        fail(f"{what} is a function, not a Keras model: call it to build the model.", tag="model_is_function")
    if not isinstance(model, keras.Model):
        fail(f"{what} should be a Keras model (for example keras.Sequential), but it is a {type(model).__name__}.", tag="not_a_model")
    if input_dim is not None:
        try:
            shape = tuple(model.input_shape)
        except (AttributeError, ValueError):
            fail(
                f"{what} does not know its input shape yet: start the Sequential with "
                f"keras.Input(shape=({input_dim},))."
            , tag="no_input_shape")
        if shape != (None, input_dim):
            fail(
                f"{what} takes inputs of shape {shape}; the exercise asks for {input_dim} features, "
                f"that is keras.Input(shape=({input_dim},)) and an input shape of (None, {input_dim})."
            , tag="input_shape")
    dense = []
    for layer in model.layers:
        kind = type(layer).__name__
        if isinstance(layer, keras.layers.Dense):
            dense.append(layer)
        elif kind not in ignore:
            fail(
                f"{what} contains a {kind} layer; the exercise asks for Dense layers only "
                "(give each Dense layer its activation with activation=...)."
            , tag="not_dense_only")
    if len(dense) != len(units):
        fail(
            f"{what} has {len(dense)} Dense layer{'s' if len(dense) != 1 else ''}; the exercise asks for "
            f"{len(units)} ({', '.join(str(u) for u in units)} units)."
        , tag="dense_count")
    for i, (layer, want) in enumerate(zip(dense, units)):
        if layer.units != want:
            fail(f"Your {ordinal(i)} Dense layer has {layer.units} units; the exercise asks for {want}.", tag="dense_units")
    if activations is not None:
        if len(activations) != len(units):
            raise ValueError("check_dense_stack: give one activation per layer")
        for i, (layer, want) in enumerate(zip(dense, activations)):
            if want is ...:
                continue
            got = _normalise_activation(activation_name(layer))
            want = _normalise_activation(want)
            if got != want:
                shown = "no activation (linear)" if got == "linear" else f"activation {got!r}"
                asked = "no activation (linear)" if want == "linear" else f"activation={want!r}"
                fail(f"Your {ordinal(i)} Dense layer uses {shown}; the exercise asks for {asked}.", tag="dense_activation")
    return dense
