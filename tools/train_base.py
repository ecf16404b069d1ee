"""Train the course's pretrained convolutional base for Chapter 9 (``ch09_transfer_learning``).

ImageNet weights cannot be had offline, so the course trains its own small base on the
8,000 MNIST training images of ``datasets/mnist_10k.npz`` (all ten digits) and ships it
as ``datasets/ch09_base.keras``, with its provenance in ``datasets/ch09_base.json``. It
is not an ImageNet network: it has seen only handwritten digits.

    python tools/train_base.py                      # writes datasets/ch09_base.{keras,json}
    python tools/train_base.py --out /tmp/base      # writes /tmp/base.keras and /tmp/base.json

The run is deterministic on a CPU (fixed seeds, ``enable_op_determinism``,
``TF_ENABLE_ONEDNN_OPTS=0``): the same software versions give bit-identical weights,
whose sha256 (``weights_sha256``) the JSON records. The ``.keras`` file itself differs
between runs because Keras stores the date it was saved; after a rebuild copy its new
sha256 and size into ``datasets/README.md`` and ``_FILES`` in ``src/dlcourse/data.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

#: Hyper-parameters of the shipped base (the test rebuilds it with exactly these).
SEED = 0
EPOCHS = 6
BATCH_SIZE = 64
LR = 1e-3
FILTERS = (16, 32, 64)


def make_base(name: str = "base"):
    """Three Conv2D-BatchNormalization-ReLU blocks, max pooling after the first two.

    Input ``(None, None, 1)``: any image size, so Chapter 9 can run it on larger canvases.
    """
    import keras
    from keras import layers

    inputs = keras.Input((None, None, 1), name="image")
    x = inputs
    for i, filters in enumerate(FILTERS, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        if i < len(FILTERS):
            x = layers.MaxPooling2D(name=f"pool{i}")(x)
    return keras.Model(inputs, x, name=name)


def weights_sha256(model) -> str:
    """sha256 of all weights (names, shapes and float32 bytes, in order): bit-equality."""
    h = hashlib.sha256()
    for w in model.weights:
        h.update(w.path.encode())
        arr = w.numpy()
        h.update(str(arr.shape).encode())
        h.update(arr.astype("<f4").tobytes())
    return h.hexdigest()


def _script_name() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        return script.relative_to(REPO).as_posix()
    except ValueError:
        return script.name


def train(epochs: int = EPOCHS):
    """Train base + GAP/softmax head on MNIST-8k; return (base, record)."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import layers

    from dlcourse.data import dataset_path, load_mnist
    from dlcourse.training import to_dataset

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    X = x_train[..., None].astype("float32") / 255
    X_test = x_test[..., None].astype("float32") / 255
    base = make_base()
    head = keras.Sequential(
        [keras.Input((None, None, 64)), layers.GlobalAveragePooling2D(),
         layers.Dense(10, activation="softmax")], name="source_head")
    model = keras.Sequential([base, head])
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(to_dataset(X, y_train, batch_size=BATCH_SIZE, shuffle=True, seed=SEED),
                        epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    test_loss, test_acc = model.evaluate(to_dataset(X_test, y_test, batch_size=500), verbose=0)
    data_file = dataset_path("mnist_10k.npz")
    record = {
        "what": "pretrained convolutional base of Chapter 9 (ch09_transfer_learning); NOT ImageNet",
        "command": " ".join(["python", _script_name(), *sys.argv[1:]]),
        "data": {
            "file": "datasets/mnist_10k.npz",
            "sha256": hashlib.sha256(data_file.read_bytes()).hexdigest(),
            "rows": "x_train, y_train: 8,000 images, all ten digits (x_test is never seen)",
            "scaling": "pixels / 255 as float32, shape (28, 28, 1)",
        },
        "training": {
            "seed": SEED, "epochs": epochs, "batch_size": BATCH_SIZE,
            "optimizer": f"Adam(learning_rate={LR})",
            "loss": "sparse_categorical_crossentropy",
            "source_head": "GlobalAveragePooling2D + Dense(10, softmax), discarded",
            "shuffle": f"dlcourse.training.to_dataset(shuffle=True, seed={SEED})",
            "final_train_accuracy": round(float(history.history["accuracy"][-1]), 4),
            "seconds": round(seconds, 1),
        },
        "evaluation": {"mnist_10k x_test accuracy": round(float(test_acc), 4),
                       "loss": round(float(test_loss), 4)},
        "architecture": {"filters": list(FILTERS), "params": int(base.count_params()),
                         "input": "(None, None, 1)", "output_channels": FILTERS[-1]},
        "weights_sha256": weights_sha256(base),
        "software": {
            "python": platform.python_version(), "platform": platform.platform(),
            "numpy": np.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        },
    }
    return base, record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "datasets" / "ch09_base"),
                        help="path without suffix; writes OUT.keras and OUT.json")
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help=f"epochs of pretraining (the shipped base: {EPOCHS})")
    args = parser.parse_args(argv)
    base, record = train(args.epochs)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    keras_path = out.with_suffix(".keras")
    base.save(keras_path)
    raw = keras_path.read_bytes()
    record["file"] = {"name": keras_path.name, "bytes": len(raw),
                      "sha256": hashlib.sha256(raw).hexdigest()}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
