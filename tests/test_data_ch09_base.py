"""Chapter 9's pretrained base: the loader verifies the shipped weights, and the script rebuilds them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlcourse import data
from dlcourse.data import DatasetError

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "datasets"
NAME = "ch09_base.keras"
PROVENANCE = json.loads((DATASETS / "ch09_base.json").read_text())


@pytest.fixture
def copy_dir(tmp_path):
    shutil.copy2(DATASETS / NAME, tmp_path / NAME)
    return tmp_path


def test_checksum_and_provenance_agree():
    """data.py, the provenance JSON and the README give the same sha256 and size."""
    sha, size = data._FILES[NAME]
    assert PROVENANCE["file"] == {"name": NAME, "bytes": size, "sha256": sha}
    readme = (DATASETS / "README.md").read_text()
    assert sha in readme and f"{size:,}" in readme
    assert "not ImageNet" in readme and "python tools/train_base.py" in readme
    assert (DATASETS / NAME).stat().st_size < 3 * 2**20, "the base stays a few MB at most"


def test_loads_the_documented_architecture():
    """Three conv/BN/ReLU blocks, any input size, 64 channels at a quarter of the side."""
    keras = pytest.importorskip("keras")
    base = data.load_pretrained_base()
    assert isinstance(base, keras.Model)
    kinds = [type(layer).__name__ for layer in base.layers]
    assert kinds.count("Conv2D") == 3 and kinds.count("BatchNormalization") == 3
    assert base.compute_output_shape((2, 28, 28, 1)) == (2, 7, 7, 64)
    assert base.compute_output_shape((2, 56, 56, 1)) == (2, 14, 14, 64)
    assert base.count_params() == PROVENANCE["architecture"]["params"]
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import train_base
    finally:
        sys.path.remove(str(REPO / "tools"))
    assert train_base.weights_sha256(base) == PROVENANCE["weights_sha256"]


def test_each_call_returns_a_fresh_model():
    """Changing the weights of one loaded base does not change the next one."""
    pytest.importorskip("keras")
    base = data.load_pretrained_base()
    kernel = base.get_layer("conv1").kernel
    kernel.assign(kernel.numpy() * 0)
    assert data.load_pretrained_base().get_layer("conv1").kernel.numpy().any()


def test_copy_in_data_dir_loads(copy_dir):
    pytest.importorskip("keras")
    assert data.load_pretrained_base(data_dir=copy_dir).name == "base"


def test_missing_file_names_the_file_and_the_script(tmp_path):
    with pytest.raises(DatasetError, match="missing") as err:
        data.load_pretrained_base(data_dir=tmp_path)
    assert str(tmp_path / NAME) in str(err.value)
    assert "tools/train_base.py" in str(err.value)


def test_corrupt_file(copy_dir):
    """One flipped byte (same size) is a checksum mismatch, naming the file."""
    path = copy_dir / NAME
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="checksum mismatch") as err:
        data.load_pretrained_base(data_dir=copy_dir)
    assert str(path) in str(err.value)


def test_truncated_file(copy_dir):
    path = copy_dir / NAME
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="truncated") as err:
        data.load_pretrained_base(data_dir=copy_dir)
    assert str(path) in str(err.value)


def test_right_checksum_but_unreadable_is_a_dataset_error(copy_dir, monkeypatch):
    """A file that passes the checksum but is not a Keras archive still raises DatasetError."""
    pytest.importorskip("keras")
    path = copy_dir / NAME
    path.write_bytes(b"\0" * path.stat().st_size)
    monkeypatch.setitem(data._FILES, NAME, (data._sha256(path), path.stat().st_size))
    with pytest.raises(DatasetError, match="unreadable") as err:
        data.load_pretrained_base(data_dir=copy_dir)
    assert str(path) in str(err.value)


@pytest.mark.slow
def test_script_rebuilds_the_shipped_base(tmp_path):
    """tools/train_base.py, run again, gives bit-identical weights (same software), or at
    least the same architecture and a test accuracy within one point."""
    out = tmp_path / "base"
    subprocess.run([sys.executable, str(REPO / "tools" / "train_base.py"), "--out", str(out)],
                   check=True, cwd=REPO, capture_output=True, timeout=1200)
    rebuilt = json.loads(out.with_suffix(".json").read_text())
    assert rebuilt["architecture"] == PROVENANCE["architecture"]
    assert rebuilt["training"]["epochs"] == PROVENANCE["training"]["epochs"]
    acc = "mnist_10k x_test accuracy"
    assert abs(rebuilt["evaluation"][acc] - PROVENANCE["evaluation"][acc]) < 0.01
    same_software = rebuilt["software"] == PROVENANCE["software"]
    if same_software:
        assert rebuilt["weights_sha256"] == PROVENANCE["weights_sha256"], "not deterministic"
