"""Datasets: the digits split the labs rely on, and reading CIFAR-10's python tarball."""

from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from labs.data import DataError, load_cifar10, load_digits_split


def test_digits_split_is_1257_by_540_in_unit_range_and_stratified():
    split = load_digits_split(0)
    assert split.x_train.shape == (1257, 64) and split.x_test.shape == (540, 64)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    both = torch.cat([split.x_train, split.x_test])
    assert float(both.min()) == 0.0 and float(both.max()) == 1.0
    # Every class keeps its share of the test set (each has 174 to 183 images).
    counts = torch.bincount(split.y_test, minlength=10)
    assert int(counts.min()) >= 52 and int(counts.max()) <= 55


def test_digits_split_depends_only_on_the_seed():
    a, b, c = load_digits_split(3), load_digits_split(3), load_digits_split(4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def _batch(rng: np.random.Generator, n: int, first_label: int) -> dict:
    # As in the real files: a dict pickled by Python 2, bytes keys, uint8 N×3072, list labels.
    return {
        b"batch_label": b"fake",
        b"labels": [(first_label + i) % 10 for i in range(n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"x.png"] * n,
    }


def _write_tarball(path, batches: dict[str, dict]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, batch in batches.items():
            raw = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


@pytest.fixture
def fake_cifar(tmp_path):
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": _batch(rng, 3, i) for i in range(1, 6)}
    batches["test_batch"] = _batch(rng, 2, 7)
    path = tmp_path / "cifar-10-python.tar.gz"
    _write_tarball(path, batches)
    return path, batches


def test_cifar_tarball_is_read_in_file_order_and_scaled(fake_cifar):
    path, batches = fake_cifar
    split = load_cifar10(path)
    assert split.x_train.shape == (15, 3072) and split.x_test.shape == (2, 3072)
    assert split.x_train.dtype == torch.float32
    raw_train = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    np.testing.assert_allclose(split.x_train.numpy(), raw_train / 255.0, rtol=1e-6)
    np.testing.assert_allclose(split.x_test.numpy(), batches["test_batch"][b"data"] / 255.0,
                               rtol=1e-6)
    expected = [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][b"labels"]]
    assert split.y_train.tolist() == expected
    assert split.y_test.tolist() == [7, 8]
    # Rows are channel-major: the first 1024 values are the red plane.
    image = split.x_train.view(-1, 3, 32, 32)[4]
    assert float(image[1, 0, 0]) == pytest.approx(raw_train[4, 1024] / 255.0)
    assert split.classes[0] == "airplane" and len(split.classes) == 10


def test_missing_cifar_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.tar.gz"
    with pytest.raises(DataError, match="nope.tar.gz: no such file"):
        load_cifar10(missing)


def test_cifar_tarball_without_test_batch_says_which_member(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "partial.tar.gz"
    _write_tarball(path, {f"data_batch_{i}": _batch(rng, 2, 0) for i in range(1, 6)})
    with pytest.raises(DataError, match=r"partial\.tar\.gz: cifar-10-batches-py/test_batch"):
        load_cifar10(path)


def test_a_file_that_is_not_a_tarball_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(b"this is not a tarball at all")
    with pytest.raises(DataError, match="junk.tar.gz: not a readable CIFAR-10 tarball"):
        load_cifar10(path)


def test_a_batch_of_the_wrong_shape_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(2)
    batches = {f"data_batch_{i}": _batch(rng, 2, 0) for i in range(1, 6)}
    batches["test_batch"] = {b"data": np.zeros((2, 100), dtype=np.uint8), b"labels": [0, 1]}
    path = tmp_path / "bad.tar.gz"
    _write_tarball(path, batches)
    with pytest.raises(DataError, match="test_batch data should be uint8 N×3072"):
        load_cifar10(path)
