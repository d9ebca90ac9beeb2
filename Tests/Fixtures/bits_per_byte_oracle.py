# Outside oracle for bits per byte (optional; the Swift test skips, exit 3, without numpy).
#   IN.json → {"windows": [{"logits": [[V floats] per position], "targets": [ids]}…], "entries": [texts]}
#   prints JSON: {"nats": Σ −log softmax(logits)[target] in float64, "bytes": Σ len(utf-8) + 1 per entry,
#                 "bits_per_byte": nats / (ln 2 · bytes)}
import json, math, sys

try:
    import numpy as np
except ImportError:
    sys.exit(3)
d = json.load(open(sys.argv[1], encoding="utf-8"))
nats = 0.0
for w in d["windows"]:
    z = np.asarray(w["logits"], dtype=np.float64)
    top = z.max(axis=1, keepdims=True)
    log_softmax = z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))
    nats -= float(log_softmax[np.arange(len(w["targets"])), w["targets"]].sum())
size = sum(len(e.encode("utf-8")) + 1 for e in d["entries"])
print(json.dumps({"nats": nats, "bytes": size, "bits_per_byte": nats / (math.log(2) * size)}))
