"""dlcourse.training: the cached, batched tf.data pipeline used by chapters 5, 8 and 9."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.training import to_dataset


def _rows(ds):
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds))
    return np.concatenate(xs), np.concatenate(ys)


def test_to_dataset_keeps_every_row_in_order_without_shuffle():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10)
    ds = to_dataset(X, y, batch_size=4)
    assert [len(x) for x, _ in ds] == [4, 4, 2]
    got_X, got_y = _rows(ds)
    np.testing.assert_array_equal(got_X, X.astype("float32"))
    np.testing.assert_array_equal(got_y, y)
    assert got_X.dtype == np.float32


def test_to_dataset_shuffles_each_epoch_reproducibly_and_keeps_pairs():
    X = np.arange(64, dtype=float).reshape(64, 1)
    y = np.arange(64) * 10
    first = _rows(to_dataset(X, y, batch_size=8, shuffle=True, seed=1))
    again = _rows(to_dataset(X, y, batch_size=8, shuffle=True, seed=1))
    np.testing.assert_array_equal(first[1], again[1])  # same seed, same order
    assert not np.array_equal(first[1], y)  # shuffled
    np.testing.assert_array_equal(first[0][:, 0] * 10, first[1])  # rows stay paired
    ds = to_dataset(X, y, batch_size=8, shuffle=True, seed=1)
    epoch1, epoch2 = _rows(ds)[1], _rows(ds)[1]
    assert sorted(epoch1) == sorted(epoch2) and not np.array_equal(epoch1, epoch2)


def test_to_dataset_without_labels_yields_inputs_only():
    batches = list(to_dataset(np.ones((5, 3)), batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 2, 1]


def test_to_dataset_rejects_mismatched_lengths_and_bad_batch_size():
    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        to_dataset(np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        to_dataset(np.ones((4, 2)), np.ones(4), batch_size=0)
