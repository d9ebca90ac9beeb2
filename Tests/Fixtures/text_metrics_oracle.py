# Outside oracle for Chapter 10's BLEU, chrF and ROUGE (optional; the Swift test skips, exit 3, without
# sacrebleu or rouge-score).  IN.json → {"english": [[hyp, ref]…], "chinese": [[hyp, ref]…]}
# prints JSON: sacrebleu's 13a and zh tokenizations of every string, corpus BLEU (13a for English, zh for
# Chinese) with its statistics and signature, corpus chrF, and rouge-score's ROUGE-1/2/L of every pair —
# English with its own tokenizer, Chinese with a tokenizer that makes each CJK character a token.
import json, re, sys

try:
    import sacrebleu
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
    from rouge_score import rouge_scorer
except ImportError:
    sys.exit(3)


class ChineseCharacters:
    """Each CJK character a token, ASCII [a-z0-9]+ runs as words (the course's Chinese ROUGE)."""
    def tokenize(self, text):
        return re.findall(r"[a-z0-9]+|[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0002fa1f]", text.lower())


data = json.load(open(sys.argv[1], encoding="utf-8"))
out = {}
t13a, tzh = Tokenizer13a(), TokenizerZh()
for lang, tok in (("english", "13a"), ("chinese", "zh")):
    pairs = data[lang]
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    bleu = sacrebleu.BLEU(tokenize=tok)
    score = bleu.corpus_score(hyps, [refs])
    chrf = sacrebleu.CHRF()
    chrf_score = chrf.corpus_score(hyps, [refs])
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"],
                                      tokenizer=None if lang == "english" else ChineseCharacters())
    rouge = []
    for h, r in pairs:
        s = scorer.score(r, h)     # rouge-score takes (target, prediction)
        rouge.append({k: [v.precision, v.recall, v.fmeasure] for k, v in s.items()})
    default_rouge = [rouge_scorer.RougeScorer(["rouge1"]).score(r, h)["rouge1"].fmeasure for h, r in pairs]
    out[lang] = {
        "tok13a": [t13a(s.rstrip()) for p in pairs for s in p],
        "tokzh": [tzh(s.rstrip()) for p in pairs for s in p],
        "bleu": score.score, "bleu_counts": score.counts, "bleu_totals": score.totals,
        "bleu_bp": score.bp, "sys_len": score.sys_len, "ref_len": score.ref_len,
        "bleu_signature": str(bleu.get_signature()),
        "chrf": chrf_score.score, "chrf_signature": str(chrf.get_signature()),
        "rouge": rouge, "rouge1_default_tokenizer": default_rouge,
    }
print(json.dumps(out, ensure_ascii=False))
