#!/usr/bin/env python3
"""Loads a safetensors file with Python's `safetensors` and prints {name: [shape, dtype, sum]} as JSON.

usage: safetensors_check.py FILE. Exit code 3 when safetensors/numpy are not installed (the test skips).
"""
import json
import sys

try:
    import numpy as np
    from safetensors.numpy import load_file
except ImportError:
    sys.exit(3)

tensors = load_file(sys.argv[1])
print(json.dumps({name: [list(t.shape), str(t.dtype), float(np.asarray(t, dtype=np.float64).sum())] for name, t in tensors.items()}))
