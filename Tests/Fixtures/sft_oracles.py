# Outside oracles for Chapter 05 (optional; the Swift tests skip when a package is missing, exit code 3):
#   jinja   IN.json  → renders {"template": T, "conversations": [[{role, content}…]…]} with jinja2, as Hugging Face
#                      `apply_chat_template` does, with and without add_generation_prompt; prints a JSON list.
#   sklearn IN.json  → {"train": [...], "labels": [...], "test": [...], "classes": k, "predictions": [...],
#                      "truth": [...]}: MultinomialNB(alpha=1) on word counts (the same word splitter as ours),
#                      its joint log-likelihoods on "test", and f1_score(average="macro"); prints JSON.
import json, re, sys

mode, path = sys.argv[1], sys.argv[2]
data = json.load(open(path, encoding="utf-8"))
if mode == "jinja":
    try:
        import jinja2
    except ImportError:
        sys.exit(3)
    template = jinja2.Environment().from_string(data["template"])
    out = []
    for messages in data["conversations"]:
        for prompt in (False, True):
            out.append(template.render(messages=messages, add_generation_prompt=prompt))
    print(json.dumps(out, ensure_ascii=False))
elif mode == "sklearn":
    try:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.metrics import f1_score
    except ImportError:
        sys.exit(3)
    words = lambda text: re.findall(r"[^\W_]+", text.lower())
    vectorizer = CountVectorizer(analyzer=words)
    x = vectorizer.fit_transform(data["train"])
    nb = MultinomialNB(alpha=1.0).fit(x, data["labels"])
    joint = nb.predict_joint_log_proba(vectorizer.transform(data["test"]))
    f1 = f1_score(data["truth"], data["predictions"], average="macro", zero_division=0)
    print(json.dumps({"joint": joint.tolist(), "classes": nb.classes_.tolist(), "macro_f1": f1}))
