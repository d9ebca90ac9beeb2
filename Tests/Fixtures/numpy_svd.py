# The singular values of a matrix by numpy, for SingularValueTests (exit 3 without numpy).
# Usage: numpy_svd.py "v1,v2,..." ROWS COLUMNS  → a JSON list, largest first.
import json
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(3)

values = [float(v) for v in sys.argv[1].split(",")]
matrix = np.array(values, dtype=np.float64).reshape(int(sys.argv[2]), int(sys.argv[3]))
print(json.dumps([float(s) for s in np.linalg.svd(matrix, compute_uv=False)]))
