"""Helpers around Keras models (introduced in Chapter 2, ``ch02_neurons``)."""

from __future__ import annotations

from typing import Any


def print_summary(model: Any) -> None:
    """Print ``model.summary()`` as plain text.

    In a notebook Keras renders the summary as coloured HTML whose colours fail the book's
    contrast check; plain text reads the same in JupyterLab, in stored outputs and in the book.
    Introduced in Chapter 2 (``ch02_neurons``).
    """
    model.summary(print_fn=lambda line, line_break=False: print(line))
