# Outside oracle for Chapter 09's nDCG@10 (optional; the Swift test skips when scikit-learn is missing, exit 3).
#   IN.json → {"relevance": [[0/1 per item]…], "scores": [[score per item]…]}
#   prints a JSON list: sklearn.metrics.ndcg_score of each row, k = 10.
import json, sys

try:
    from sklearn.metrics import ndcg_score
except ImportError:
    sys.exit(3)
data = json.load(open(sys.argv[1], encoding="utf-8"))
print(json.dumps([float(ndcg_score([t], [s], k=10)) for t, s in zip(data["relevance"], data["scores"])]))
