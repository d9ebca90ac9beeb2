#!/usr/bin/env python3
"""Writes Tests/Fixtures/python-written.safetensors with Python's `safetensors` package (numpy API).

The Swift test `CheckpointTests.pythonFixture` loads it and checks every value, so a file made by the
reference implementation is known to load here. Regenerate with:
    python3 -m pip install safetensors numpy && python3 Tests/Fixtures/make_safetensors_fixture.py
"""
import pathlib
import numpy as np
from safetensors.numpy import save_file

tensors = {
    "weights.f32": (np.arange(12, dtype=np.float32).reshape(3, 4) / 4 - 1),  # -1, -0.75, ..., 1.75
    "weights.f16": (np.arange(6, dtype=np.float16).reshape(2, 3) * np.float16(0.5)),
    "counts.i8": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
    "scalar.f32": np.array(3.5, dtype=np.float32),
    "empty.f32": np.zeros((0, 4), dtype=np.float32),
}
out = pathlib.Path(__file__).with_name("python-written.safetensors")
save_file(tensors, str(out), metadata={"made_by": "make_safetensors_fixture.py"})
print(out, out.stat().st_size, "bytes")
