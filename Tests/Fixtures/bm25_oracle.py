# Outside oracle for Chapter 09's BM25 (optional; the Swift test skips when rank_bm25 is missing, exit 3).
#   IN.json → {"documents": [[token…]…], "queries": [[token…]…], "k1": k1, "b": b, "epsilon": eps}
#   prints a JSON list: for each query, BM25Okapi(documents).get_scores(query) as floats.
import json, sys

try:
    from rank_bm25 import BM25Okapi
except ImportError:
    sys.exit(3)
data = json.load(open(sys.argv[1], encoding="utf-8"))
bm25 = BM25Okapi(data["documents"], k1=data["k1"], b=data["b"], epsilon=data["epsilon"])
print(json.dumps([[float(s) for s in bm25.get_scores(q)] for q in data["queries"]]))
