"""Datasets for the labs: nothing here downloads anything.

* scikit-learn's 8×8 digits ship inside the scikit-learn wheel, so every lab
  can run offline on its first start.
* CIFAR-10 is read from the python-version tarball (cifar-10-python.tar.gz)
  when the learner already has it on disk.

torch and scikit-learn are imported inside the functions that need them, so
importing this module stays cheap.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_TARBALL = "cifar-10-python.tar.gz"
_CIFAR_TRAIN_MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST_MEMBER = "cifar-10-batches-py/test_batch"


class DataError(ValueError):
    """A dataset file that is missing or not what it should be; the message names the path."""


@dataclass
class Split:
    """A train/test split as float32 features in [0, 1] and int64 labels."""

    name: str
    x_train: torch.Tensor  # (N_train, features)
    y_train: torch.Tensor  # (N_train,)
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])

    def to(self, device: torch.device | str) -> Split:
        return Split(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.classes,
        )


def load_digits_split(seed: int, test_fraction: float = 0.3) -> Split:
    """scikit-learn's digits (1797 images of 8×8 pixels), pixels scaled from 0..16 to 0..1.

    The split is stratified by class and depends only on `seed`. The default
    fraction gives 1257 training and 540 test images; the batch-size lab's
    "whole training set" batch of 1257 relies on that.
    """
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=seed % (2**32), stratify=y
    )
    return Split(
        "digits",
        torch.from_numpy(x_tr),
        torch.from_numpy(y_tr),
        torch.from_numpy(x_te),
        torch.from_numpy(y_te),
        tuple(str(d) for d in range(10)),
    )


def default_data_dir() -> Path:
    """The app's data dir (COMPANION_HOME or the platform's user data dir).

    The same rule as companion.paths.home(), repeated because labs never import companion.
    """
    override = os.environ.get("COMPANION_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("companion", appauthor=False)


def default_cifar10_path() -> Path:
    return default_data_dir() / CIFAR10_TARBALL


def load_cifar10(path: str | os.PathLike[str]) -> Split:
    """CIFAR-10 from the python-version tarball, as flat (N, 3072) float32 rows in [0, 1].

    Each row keeps the file's layout: 1024 red, then 1024 green, then 1024 blue
    pixels, so `x.view(-1, 3, 32, 32)` gives images. 50000 training and 10000
    test images take about 740 MB as float32.
    """
    import numpy as np
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(
            f"{path}: no such file (CIFAR-10 needs the python version, {CIFAR10_TARBALL}, "
            "from https://www.cs.toronto.edu/~kriz/cifar.html)"
        )
    try:
        with tarfile.open(path, "r:*") as tar:
            parts = [_read_cifar_batch(tar, name, path) for name in _CIFAR_TRAIN_MEMBERS]
            x_test, y_test = _read_cifar_batch(tar, _CIFAR_TEST_MEMBER, path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable CIFAR-10 tarball ({exc})") from None
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])

    def scale(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.float32) / np.float32(255.0))

    return Split(
        "cifar10",
        scale(x_train),
        torch.from_numpy(y_train),
        scale(x_test),
        torch.from_numpy(y_test),
        CIFAR10_CLASSES,
    )


def _read_cifar_batch(tar: tarfile.TarFile, member: str, path: Path):
    import numpy as np

    try:
        handle = tar.extractfile(member)
    except KeyError:
        raise DataError(f"{path}: {member} is missing; is this cifar-10-python.tar.gz?") from None
    if handle is None:
        raise DataError(f"{path}: {member} is not a regular file")
    raw = handle.read()
    # pickle can run code while loading. We only unpickle a file that the
    # learner downloaded and pointed us at themselves (the format CIFAR-10 is
    # published in), never anything fetched by the app. encoding="bytes"
    # because the batches were pickled by Python 2: keys come back as b"data".
    try:
        batch = pickle.load(io.BytesIO(raw), encoding="bytes")
    except Exception as exc:  # whatever unpickling raises, the file is not a CIFAR batch
        raise DataError(f"{path}: {member} is not a CIFAR-10 batch ({exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path}: {member} lacks b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(
            f"{path}: {member} data should be uint8 N×3072, found {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(f"{path}: {member} labels should be N integers in 0..9")
    return data, labels
