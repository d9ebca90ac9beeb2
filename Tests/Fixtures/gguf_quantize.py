#!/usr/bin/env python3
"""Quantizes a float32 matrix with llama.cpp's Python package `gguf` (gguf.quants) and prints its Q8_0 and Q4_0
blocks as hex, one line each: what a GGUF file stores for the tensor.

usage: gguf_quantize.py FILE ROWS COLUMNS (FILE: little-endian float32). Exit code 3 when gguf/numpy are missing.
"""
import sys

try:
    import numpy as np
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize
except ImportError:
    sys.exit(3)

rows, columns = int(sys.argv[2]), int(sys.argv[3])
data = np.fromfile(sys.argv[1], dtype="<f4").reshape(rows, columns)
for kind in (GGMLQuantizationType.Q8_0, GGMLQuantizationType.Q4_0):
    print(np.asarray(quantize(data, kind), dtype=np.uint8).tobytes().hex())
