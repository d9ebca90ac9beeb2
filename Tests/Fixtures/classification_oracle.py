# Outside oracle for Chapter 10's precision / recall / F1 (optional; the Swift test skips, exit 3, without
# scikit-learn).  IN.json → {"labels": […], "predictions": […], "classes": K}
# prints JSON: per-class precision, recall, F1 (zero_division=0), their macro means, micro F1, accuracy.
import json, sys

try:
    from sklearn.metrics import precision_recall_fscore_support, f1_score, accuracy_score
except ImportError:
    sys.exit(3)
d = json.load(open(sys.argv[1], encoding="utf-8"))
y, p, k = d["labels"], d["predictions"], list(range(d["classes"]))
present = sorted(set(y) | set(p))
P, R, F, _ = precision_recall_fscore_support(y, p, labels=k, zero_division=0)
mp, mr, mf, _ = precision_recall_fscore_support(y, p, labels=present, average="macro", zero_division=0)
print(json.dumps({"precision": list(map(float, P)), "recall": list(map(float, R)), "f1": list(map(float, F)),
                  "macro": [float(mp), float(mr), float(mf)], "present": present,
                  "micro_f1": float(f1_score(y, p, average="micro")), "accuracy": float(accuracy_score(y, p))}))
