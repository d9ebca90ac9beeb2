// Introduced in Chapter 10. One reference-based metric over a set of segments, with its 95 % bootstrap
// interval, as `llm eval metric` prints it and the report card records it. Corpus metrics (BLEU, chrF)
// are resampled by segment — each resample sums the chosen segments' n-gram statistics and recomputes
// the corpus figure — and per-segment metrics (ROUGE, F1, EM) by averaging the chosen segments' scores.

import Foundation

public struct EvalMetricReport: Sendable {
    /// What to print: the figure in the Python tool's own format, its interval, its signature.
    public let lines: [String]
    public let figures: [String: Bootstrap.Interval]

    public static func compute(_ metric: String, hypotheses: [String], references: [[String]],
                               tokenizer: BLEUTokenizer = .thirteenA, tokenization: ROUGE.Tokenization = .english,
                               lowercase: Bool = false, resamples: Int = 1000,
                               seed: UInt64 = 0) throws -> EvalMetricReport {
        try ReferenceCheck.validate(hypotheses: hypotheses, references: references)
        let count = hypotheses.count
        func interval(_ statistic: ([Int]) -> Double) -> Bootstrap.Interval {
            Bootstrap.interval(count: count, resamples: resamples, seed: seed, statistic)
        }
        func span(_ i: Bootstrap.Interval, _ digits: Int = 2) -> String {
            resamples == 0 ? "" : String(format: "  95 %% interval [%.\(digits)f, %.\(digits)f], " +
                                         "%d resamples of %d segments", i.lower, i.upper, resamples, count)
        }
        switch metric {
        case "bleu":
            let segments = try BLEU.statistics(hypotheses, references: references, tokenizer: tokenizer,
                                               lowercase: lowercase)
            let signature = BLEU.signature(references: references, tokenizer: tokenizer, smoothing: .exp,
                                           smoothingValue: nil, lowercase: lowercase)
            let full = BLEU.score(summing: segments, signature: signature)
            let bleu = interval { BLEU.score(summing: $0.map { segments[$0] }).score }
            return EvalMetricReport(lines: [full.description + span(bleu), signature], figures: ["bleu": bleu])
        case "chrf":
            let segments = try CHRF.statistics(hypotheses, references: references, lowercase: lowercase)
            let chrf = interval { CHRF.score(summing: $0.map { segments[$0] }) }
            let signature = CHRF.signature(references: references, lowercase: lowercase)
            return EvalMetricReport(lines: [String(format: "chrF2 = %.2f", chrf.value) + span(chrf), signature],
                                    figures: ["chrf": chrf])
        case "rouge":
            var lines: [String] = [], figures: [String: Bootstrap.Interval] = [:]
            let kinds: [(String, (String, String) -> ROUGEScore)] = [
                ("rouge1", { ROUGE.n(1, prediction: $0, reference: $1, tokenization: tokenization) }),
                ("rouge2", { ROUGE.n(2, prediction: $0, reference: $1, tokenization: tokenization) }),
                ("rougeL", { ROUGE.l(prediction: $0, reference: $1, tokenization: tokenization) }),
            ]
            for (name, score) in kinds {
                // With several references, the best F of each segment (rouge-score's score_multi).
                let scores = zip(hypotheses, references).map { h, refs in
                    refs.map { score(h, $0) }.max { $0.f < $1.f } ?? .zero
                }
                let f = Bootstrap.mean(scores.map(\.f), resamples: resamples, seed: seed)
                let p = scores.map(\.precision).reduce(0, +) / Double(max(count, 1))
                let r = scores.map(\.recall).reduce(0, +) / Double(max(count, 1))
                lines.append(String(format: "%@  P %.4f  R %.4f  F %.4f", name, p, r, f.value) + span(f, 4))
                figures[name] = f
            }
            lines.append("tokens: \(tokenization.rawValue)" + (tokenization == .english
                ? " (rouge-score's: [a-z0-9]+ only — Chinese text scores 0; use --rouge-tokens chinese)" : ""))
            return EvalMetricReport(lines: lines, figures: figures)
        case "f1", "em":
            let scores = zip(hypotheses, references).map { h, refs in
                metric == "f1" ? AnswerMetrics.tokenF1(h, refs)
                    : refs.map { AnswerMetrics.exactMatch(h, $0) }.max() ?? 0
            }
            let mean = Bootstrap.mean(scores, resamples: resamples, seed: seed)
            let name = metric == "f1" ? "token F1" : "exact match"
            return EvalMetricReport(lines: [String(format: "%@ = %.4f", name, mean.value) + span(mean, 4),
                                            "SQuAD normalisation; CJK characters count as tokens"],
                                    figures: [metric: mean])
        default:
            throw CourseError.invalidValue(name: "metric", value: metric, expected: "bleu, chrf, rouge, f1 or em")
        }
    }
}
