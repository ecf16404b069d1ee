"""Offline datasets of the course, read from the repository's ``datasets/`` folder.

Nothing here downloads anything: every loader reads a small file committed in
``datasets/`` (see ``datasets/README.md`` for sources, licences and how the files
were built with ``tools/build_datasets.py``) and verifies its sha256 first. The
only exception is the opt-in ``full=True`` of :func:`load_mnist` and
:func:`load_fashion_mnist`, which needs a network and is never used by the book,
the exercises or the tests.

==========================  ========================  =======================================
loader                      file                      introduced in
==========================  ========================  =======================================
:func:`load_red_wine`       ``winequality_red.csv``   Chapter 1 (``ch01_learning_from_data``)
:func:`split_red_wine`      (the one wine split)      Chapter 1 (``ch01_learning_from_data``)
:func:`load_ionosphere`     ``ionosphere.csv``        Chapter 7 (``ch07_binary_classification``)
:func:`load_mnist`          ``mnist_10k.npz``         Chapter 8 (``ch08_convnets``)
:func:`load_fashion_mnist`  ``fashion_mnist_25k.npz`` Chapter 8 (``ch08_convnets``)
:func:`load_photos`         ``photos.npz``            Chapter 8 (``ch08_convnets``)
:func:`load_pretrained_base` ``ch09_base.keras``      Chapter 9 (``ch09_transfer_learning``)
==========================  ========================  =======================================

The folder is the repository's ``datasets/``; the environment variable
``DLCOURSE_DATA_DIR`` or the ``data_dir=`` argument of every loader points
elsewhere. A missing, truncated or corrupt file raises :class:`DatasetError`.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "DatasetError",
    "DATA_DIR_ENV",
    "WINE_FEATURES",
    "IONOSPHERE_FEATURES",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "PHOTO_NAMES",
    "get_data_dir",
    "dataset_path",
    "load_red_wine",
    "WineSplit",
    "split_red_wine",
    "load_ionosphere",
    "load_mnist",
    "load_fashion_mnist",
    "load_photos",
    "load_pretrained_base",
]

#: Environment variable that overrides the datasets folder.
DATA_DIR_ENV = "DLCOURSE_DATA_DIR"

#: The 11 physicochemical features of the Wine Quality data (UCI names in snake_case).
WINE_FEATURES = (
    "fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides",
    "free_sulfur_dioxide", "total_sulfur_dioxide", "density", "ph", "sulphates", "alcohol",
)

#: The 33 Ionosphere features, named by their UCI attribute number (``a02`` is zero in
#: every row of the original and is not part of the data).
IONOSPHERE_FEATURES = ("a01",) + tuple(f"a{i:02d}" for i in range(3, 35))

#: Class names of MNIST, indexed by label.
MNIST_CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")

#: Class names of Fashion-MNIST, indexed by label (Xiao, Rasul and Vollgraf 2017).
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: Photographs in ``photos.npz`` (from scikit-image's ``skimage.data``).
PHOTO_NAMES = ("camera", "astronaut", "coffee")

# sha256 and size in bytes of every committed file, as printed by tools/build_datasets.py.
_FILES = {
    "winequality_red.csv": ("78da77462691343ab478952bc4ee2978fe8a0644cc0f685853ed65f3e834b4af", 91999),
    "ionosphere.csv": ("eabb886e73d1cf0982d86edf6604b856c09b27650cd1819ab237ad931209b69d", 65111),
    "mnist_10k.npz": ("f937c511bd2e5fddc3733ab6676ed76fc31311af97ec2c653af23d1c0da3524a", 1619665),
    "fashion_mnist_25k.npz": ("58afe8697da2db478d662cc6c4353d5ed7c82369c3312286994dab7d966fbe80", 10927570),
    "photos.npz": ("03cd59fd006bd888ba3634eeba95bfa737782ccfac0eaa498ef8f10fb0d14570", 1410575),
    # Not data but trained weights, rebuilt by tools/train_base.py (see datasets/README.md).
    "ch09_base.keras": ("9dd22c96410f66657d6b7d7ff1f23e72176aa33a00a2b680dd6d9a4b2bf4187e", 141138),
}

_DEFAULT_DIR = Path(__file__).resolve().parents[2] / "datasets"
_lock = threading.Lock()
# (resolved path, size, mtime_ns) of files whose checksum matched, and what was read.
_verified: set[tuple[str, int, int]] = set()
_cache: dict[tuple[str, int, int], object] = {}


class DatasetError(Exception):
    """A course data file is missing, truncated, corrupt or unreadable.

    The message names the file and says how to restore it. Introduced in Chapter 1.
    """


def get_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder the loaders read: ``data_dir``, else ``$DLCOURSE_DATA_DIR``, else the repo's ``datasets/``.

    Introduced in Chapter 1 (``ch01_learning_from_data``).
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else _DEFAULT_DIR


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _restore_hint(filename: str = "") -> str:
    script = "tools/train_base.py" if filename.endswith(".keras") else "tools/build_datasets.py"
    return ("Restore it with `git checkout -- datasets/` (or `git lfs pull` / a fresh clone), "
            f"or rebuild it with `python {script}`.")


def dataset_path(filename: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path of a committed data file after checking that it exists and its sha256 matches.

    The check runs once per file per process (it is repeated if the file changes).
    Raises :class:`DatasetError` naming the file otherwise. Introduced in Chapter 1.
    """
    if filename not in _FILES:
        raise DatasetError(f"{filename}: not a course data file (known: {', '.join(_FILES)})")
    expected_sha, expected_size = _FILES[filename]
    path = get_data_dir(data_dir) / filename
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"{path}: data file is missing. {_restore_hint(filename)}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: data file is unreadable ({exc}). {_restore_hint(filename)}") from exc
    if not path.is_file():
        raise DatasetError(f"{path}: is not a file. {_restore_hint(filename)}")
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _lock:
        if key in _verified:
            return path
    if st.st_size != expected_size:
        what = "truncated" if st.st_size < expected_size else "corrupt (too long)"
        raise DatasetError(
            f"{path}: data file is {what}: {st.st_size} bytes, expected {expected_size}. "
            f"{_restore_hint(filename)}"
        )
    try:
        actual = _sha256(path)
    except OSError as exc:
        raise DatasetError(f"{path}: data file is unreadable ({exc}). {_restore_hint(filename)}") from exc
    if actual != expected_sha:
        raise DatasetError(
            f"{path}: checksum mismatch, the data file is corrupt: sha256 {actual}, "
            f"expected {expected_sha}. {_restore_hint(filename)}"
        )
    with _lock:
        _verified.add(key)
    return path


def _read(filename: str, data_dir, reader):
    """Verify, read once per process with ``reader(path)``, and cache the result."""
    path = dataset_path(filename, data_dir)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        value = reader(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, pd.errors.ParserError) as exc:
        raise DatasetError(f"{path}: data file is unreadable ({exc}). {_restore_hint()}") from exc
    with _lock:
        _cache[key] = value
    return value


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    for name, arr in arrays.items():
        arr.flags.writeable = False
    return arrays


def load_red_wine(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The red Wine Quality data: 1,599 wines, 11 physicochemical features and ``quality``.

    Introduced in Chapter 1 (``ch01_learning_from_data``); used again in Chapters 2, 4,
    5 and 6. Columns are :data:`WINE_FEATURES` (floats) and ``quality``, the median
    of at least three sensory scores, an integer from 3 to 8 with counts
    10, 53, 681, 638, 199 and 18. Rows are in the original order (Cortez et al. 2009).

    >>> wine = load_red_wine()
    >>> X, y = wine.drop(columns="quality"), wine["quality"]
    """
    df = _read("winequality_red.csv", data_dir,
               lambda p: pd.read_csv(p, dtype={c: "float64" for c in WINE_FEATURES} | {"quality": "int64"}))
    return df.copy()


class WineSplit(NamedTuple):
    """The course's one split of the red wines: ``train``, ``val`` and ``test`` DataFrames.

    Made by :func:`split_red_wine`; introduced in Chapter 1 (``ch01_learning_from_data``).
    Each part keeps the row labels of :func:`load_red_wine`.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame

    def arrays(self, features=WINE_FEATURES, *, standardise: bool = True) -> dict[str, np.ndarray]:
        """``X_train, y_train, X_val, y_val, X_test, y_test`` as float32 arrays, in a dict.

        With ``standardise=True`` every feature is centred and scaled with the *training* part's mean
        and standard deviation (NumPy's, ``ddof=0``), so nothing of the validation or test wines
        enters the scaling. Introduced in Chapter 2 (``ch02_neurons``).
        """
        features = list(features)
        train = self.train[features].to_numpy("float64")
        mean, std = (train.mean(axis=0), train.std(axis=0)) if standardise else (0.0, 1.0)
        out = {}
        for name, part in zip(("train", "val", "test"), self):
            X = (part[features].to_numpy("float64") - mean) / std
            out[f"X_{name}"] = X.astype("float32")
            out[f"y_{name}"] = part["quality"].to_numpy("float32")
        return out


def split_red_wine(wine: pd.DataFrame | None = None, *, val: float = 0.15, test: float = 0.15,
                   seed: int = 0, data_dir: str | os.PathLike | None = None) -> WineSplit:
    """The course's split of the red wines into training, validation and test parts (70/15/15).

    The data hold 240 exact duplicate rows (1,359 distinct wines among 1,599). A random split of the
    rows would put copies of a validation wine in the training set: a leak that flatters every
    model (Chapter 1). This split first keeps one row of each distinct wine, then shuffles them with
    ``seed`` and cuts ``val`` and ``test`` fractions off the front: 951 training, 204 validation and
    204 test wines with the defaults. Every chapter that uses wine uses this split, so their
    numbers are comparable. Introduced in Chapter 1 (``ch01_learning_from_data``).

    >>> parts = split_red_wine()
    >>> len(parts.train), len(parts.val), len(parts.test)
    (951, 204, 204)
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val ({val}) and test ({test}) must be fractions that leave training rows")
    wine = load_red_wine(data_dir) if wine is None else wine
    distinct = wine[~wine.duplicated()]
    order = np.random.default_rng(seed).permutation(len(distinct))
    n_val, n_test = int(round(val * len(distinct))), int(round(test * len(distinct)))
    parts = order[:n_val], order[n_val:n_val + n_test], order[n_val + n_test:]
    val_part, test_part, train_part = (distinct.iloc[np.sort(rows)] for rows in parts)
    return WineSplit(train_part, val_part, test_part)


def load_ionosphere(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The Ionosphere radar data: 351 returns, 33 features and ``class`` (``'g'`` or ``'b'``).

    Introduced in Chapter 7 (``ch07_binary_classification``). ``class`` is ``'g'``
    ("good": the radar saw structure in the ionosphere, 225 rows) or ``'b'`` ("bad",
    126 rows). Features are named by their UCI attribute number (:data:`IONOSPHERE_FEATURES`):
    ``a01`` is 0 or 1 (int), ``a03`` to ``a34`` are real and imaginary parts of 16
    autocorrelation values in [-1, 1], rounded to 3 decimals in the KEEL copy.
    UCI attribute ``a02`` is 0 in every row and is dropped (Sigillito et al. 1989).

    >>> df = load_ionosphere()
    >>> X, y = df.drop(columns="class"), (df["class"] == "g").astype(int)
    """
    dtypes = {"a01": "int64", "class": "str"} | {c: "float64" for c in IONOSPHERE_FEATURES[1:]}
    df = _read("ionosphere.csv", data_dir, lambda p: pd.read_csv(p, dtype=dtypes))
    return df.copy()


def _images(filename: str, data_dir):
    arrays = _read(filename, data_dir, _read_npz)
    return ((arrays["x_train"].copy(), arrays["y_train"].copy()),
            (arrays["x_test"].copy(), arrays["y_test"].copy()))


def _load_full_from_keras(name: str):
    """Full dataset through ``keras.datasets`` (downloads on first use; needs a network).

    The only function of the package allowed to touch the network (allow-listed in
    ``tests/test_data.py``). Never used by the book, the exercises or the tests.
    """
    import keras  # deferred: importing Keras costs seconds

    return getattr(keras.datasets, name).load_data()


def load_mnist(data_dir: str | os.PathLike | None = None, *, full: bool = False):
    """MNIST handwritten digits, 8,000 training and 2,000 test images, like ``keras.datasets``.

    Introduced in Chapter 8 (``ch08_convnets``); used again in Chapter 9. Returns
    ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(n, 28, 28)``
    with values 0 to 255 and uint8 labels 0 to 9 (names in :data:`MNIST_CLASSES`).
    The 10,000 images are the first 10,000 of the original MNIST training set
    (LeCun et al. 1998), split at random, stratified by class, 80/20 with a fixed seed.

    ``full=True`` instead returns the 60,000/10,000 original through
    ``keras.datasets.mnist``, which downloads it: it needs a network and is never
    used by the book or the exercises.
    """
    if full:
        return _load_full_from_keras("mnist")
    return _images("mnist_10k.npz", data_dir)


def load_fashion_mnist(data_dir: str | os.PathLike | None = None, *, full: bool = False):
    """Fashion-MNIST clothing images, 20,000 training and 5,000 test images, like ``keras.datasets``.

    Introduced in Chapter 8 (``ch08_convnets``); used again in Chapter 9. Returns
    ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(n, 28, 28)``
    with values 0 to 255 and uint8 labels 0 to 9 (names in :data:`FASHION_MNIST_CLASSES`).
    A fixed stratified subset of the 70,000 images (Xiao, Rasul and Vollgraf 2017):
    2,000 training and 500 test images per class, drawn with a fixed seed; test
    images come from the package's block of 1,000 per class and training images from
    its block of 6,000 (the sizes of the original test and training sets), and no
    training image equals a test image.

    ``full=True`` instead returns the 60,000/10,000 original through
    ``keras.datasets.fashion_mnist``, which downloads it: it needs a network and is
    never used by the book or the exercises.
    """
    if full:
        return _load_full_from_keras("fashion_mnist")
    return _images("fashion_mnist_25k.npz", data_dir)


def load_photos(data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Three photographs as uint8 arrays, for convolution and pooling by hand.

    Introduced in Chapter 8 (``ch08_convnets``). Returns a dict name -> array:
    ``"camera"`` (512, 512) greyscale, ``"astronaut"`` (512, 512, 3) RGB and
    ``"coffee"`` (400, 600, 3) RGB, from scikit-image's ``skimage.data``
    (public domain or CC0).
    """
    arrays = _read("photos.npz", data_dir, _read_npz)
    return {name: arrays[name].copy() for name in PHOTO_NAMES}


def load_pretrained_base(data_dir: str | os.PathLike | None = None):
    """The course's pretrained convolutional base, a fresh ``keras.Model`` on every call.

    Introduced in Chapter 9 (``ch09_transfer_learning``). Three blocks of Conv2D (no
    bias), BatchNormalization and ReLU, with 16, 32 and 64 filters, max pooling after
    the first two: input ``(None, None, 1)`` images scaled to [0, 1], output feature maps
    with 64 channels at a quarter of the input's side (``(7, 7, 64)`` for 28x28 digits).
    It was trained by ``tools/train_base.py`` on the 8,000 training images of
    :func:`load_mnist`, all ten digits; it is **not** an ImageNet network (those cannot
    be had offline). ``datasets/README.md`` and ``datasets/ch09_base.json`` record how.
    """
    path = dataset_path("ch09_base.keras", data_dir)
    import keras  # deferred: importing Keras costs seconds

    try:
        loaded = keras.saving.load_model(path, compile=False)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: weights file is unreadable ({exc}). {_restore_hint(path.name)}") from exc
    # A reloaded functional model expects its inputs as a list and warns on every call with a
    # plain tensor; the same layers rewired to one input tensor do not.
    return keras.Model(loaded.inputs[0], loaded.outputs[0], name=loaded.name)
