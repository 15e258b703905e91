"""The bench's fast synthetic writer frames records exactly as TensorBoard's reader checks them."""

from __future__ import annotations

import numpy as np
from core.training.logs.tb_writing import tensorboard_scalars
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from visionlab.bench.tblogs_bench import masked_crc32c_rows, write_synthetic_run
from visionlab.core.training.logs import load_logdir


def test_vectorised_crc_equals_tensorboards():
    rows = np.random.default_rng(0).integers(0, 256, size=(50, 37), dtype=np.uint8)
    assert masked_crc32c_rows(rows).tolist() == [masked_crc32c(row.tobytes()) for row in rows]


def test_a_synthetic_run_reads_the_same_in_tensorboard_and_here(tmp_path):
    assert write_synthetic_run(str(tmp_path / "run"), tags=3, steps=300, seed=4) == 900
    reference = tensorboard_scalars(tmp_path / "run")
    run = load_logdir(tmp_path, workers=1)["run"]
    assert run.error is None and sorted(run.scalars) == sorted(reference) and len(reference) == 3
    for tag, points in reference.items():
        assert run.scalars[tag].values.tolist() == [value for _, value, _ in points]
