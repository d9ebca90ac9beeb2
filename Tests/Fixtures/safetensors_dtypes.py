#!/usr/bin/env python3
"""The dtype round trip against Python's `safetensors` (numpy API).

usage: safetensors_dtypes.py read FILE    print {name: [dtype, shape, values as a flat list]} as JSON
       safetensors_dtypes.py write FILE   write one tensor per dtype the course supports (values below)
Exit code 3 when safetensors/numpy are not installed (the Swift test skips).
"""
import json
import sys

try:
    import numpy as np
    from safetensors.numpy import load_file, save_file
except ImportError:
    sys.exit(3)

# The same values the Swift test writes; exact in every dtype they are given in.
VALUES = {
    "F32": ([2, 3], [0.5, -1.25, 3.0, 100.0, -7.0, 1e-3]),
    "F16": ([2, 3], [0.5, -1.25, 3.0, 100.0, -7.0, 0.0]),
    "BF16": ([3], [1.0, -2.0, 3.140625]),
    "I8": ([5], [-128, -1, 0, 1, 127]),
    "U8": ([4], [0, 1, 128, 255]),
    "I32": ([3], [-2147483648, 7, 2147483647]),
    "I64": ([3], [-(2 ** 62), 0, 2 ** 40 + 1]),
}
NUMPY = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "U8": np.uint8, "I32": np.int32, "I64": np.int64}


def name_of(dtype):
    return {"float32": "F32", "float16": "F16", "int8": "I8", "uint8": "U8", "int32": "I32", "int64": "I64"}[str(dtype)]


if sys.argv[1] == "write":
    tensors = {}
    for dtype, (shape, values) in VALUES.items():
        if dtype == "BF16":
            continue  # numpy has no bfloat16; the BF16 direction is covered by our reader's own tests
        tensors[dtype.lower()] = np.array(values, dtype=NUMPY[dtype]).reshape(shape)
    save_file(tensors, sys.argv[2], metadata={"made_by": "safetensors_dtypes.py"})
else:
    with open(sys.argv[2], "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = {k: v for k, v in json.loads(raw[8:8 + n]).items() if k != "__metadata__"}
    if any(v["dtype"] == "BF16" for v in header.values()):
        # numpy has no bfloat16, so safetensors' numpy loader refuses BF16: decode those bytes here.
        out = {}
        for name, info in header.items():
            b, e = info["data_offsets"]
            halves = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<u2").astype(np.uint32) << 16
            out[name] = ["BF16", info["shape"], halves.view(np.float32).astype(float).tolist()]
    else:
        out = {name: [name_of(t.dtype), list(t.shape), t.reshape(-1).tolist()] for name, t in load_file(sys.argv[2]).items()}
    print(json.dumps(out))
