// Introduced in Chapter 10. ROUGE-1, ROUGE-2 and ROUGE-L as Google's `rouge-score` package computes them
// (its defaults: no stemming), per pair, and averaged over a corpus.
//
// Tokens: the text lower-cased, every run of characters other than a–z and 0–9 a separator. ROUGE-N
// counts the n-grams the two share (clipped, as multisets):
//
//     P = shared / prediction n-grams    R = shared / reference n-grams    F = 2·P·R / (P + R)
//
// ROUGE-L does the same with the length of the longest common subsequence (LCS) — words in the same
// order, not necessarily adjacent — in place of the shared n-grams.
//
// That tokenizer keeps ASCII letters and digits only: `rouge-score` scores a Chinese pair 0 whatever it
// says, silently. `ROUGE.Tokenization.chinese` makes each CJK character a token (and keeps ASCII words),
// the usual choice for Chinese summaries; its figures are ROUGE over characters, not comparable with
// English ROUGE over words.

import Foundation

public struct ROUGEScore: Sendable, Equatable {
    public let precision: Double, recall: Double, f: Double
    public static let zero = ROUGEScore(precision: 0, recall: 0, f: 0)
}

public enum ROUGE {
    public enum Tokenization: String, Sendable, CaseIterable {
        /// `rouge-score`'s: lower case, [a-z0-9]+ runs only.
        case english
        /// Each CJK character a token, ASCII [a-z0-9]+ runs as words, everything else a separator.
        case chinese
    }

    public static func tokens(_ text: String, _ tokenization: Tokenization = .english) -> [[UInt32]] {
        var out: [[UInt32]] = [], word: [UInt32] = []
        for scalar in text.lowercased().unicodeScalars {
            let v = scalar.value
            if (0x61...0x7A).contains(v) || (0x30...0x39).contains(v) {
                word.append(v)
                continue
            }
            if !word.isEmpty { out.append(word); word = [] }
            if tokenization == .chinese && TextSegments.isCJK(scalar) { out.append([v]) }
        }
        if !word.isEmpty { out.append(word) }
        return out
    }

    /// ROUGE-N of one prediction against one reference.
    public static func n(_ n: Int, prediction: String, reference: String,
                         tokenization: Tokenization = .english) -> ROUGEScore {
        func grams(_ tokens: [[UInt32]]) -> [ArraySlice<[UInt32]>: Int] {
            var counts: [ArraySlice<[UInt32]>: Int] = [:]
            if tokens.count >= n { for i in 0...(tokens.count - n) { counts[tokens[i..<i + n], default: 0] += 1 } }
            return counts
        }
        let p = grams(tokens(prediction, tokenization)), r = grams(tokens(reference, tokenization))
        let shared = r.reduce(0) { $0 + min($1.value, p[$1.key] ?? 0) }
        return score(shared: shared, predicted: p.values.reduce(0, +), expected: r.values.reduce(0, +))
    }

    /// ROUGE-L of one prediction against one reference.
    public static func l(prediction: String, reference: String, tokenization: Tokenization = .english) -> ROUGEScore {
        let p = tokens(prediction, tokenization), r = tokens(reference, tokenization)
        if p.isEmpty || r.isEmpty { return .zero }
        return score(shared: lcsLength(p, r), predicted: p.count, expected: r.count)
    }

    /// The mean of each pair's ROUGE-1, ROUGE-2 and ROUGE-L (what `rouge-score`'s users report; its
    /// BootstrapAggregator adds intervals, which `Bootstrap` gives here).
    public static func corpus(_ predictions: [String], references: [String],
                              tokenization: Tokenization = .english) throws -> [String: ROUGEScore] {
        try ReferenceCheck.validate(hypotheses: predictions, references: references.map { [$0] })
        var sums: [String: (Double, Double, Double)] = [:]
        for (p, r) in zip(predictions, references) {
            let scores = ["rouge1": n(1, prediction: p, reference: r, tokenization: tokenization),
                          "rouge2": n(2, prediction: p, reference: r, tokenization: tokenization),
                          "rougeL": l(prediction: p, reference: r, tokenization: tokenization)]
            for (name, s) in scores {
                let old = sums[name] ?? (0, 0, 0)
                sums[name] = (old.0 + s.precision, old.1 + s.recall, old.2 + s.f)
            }
        }
        let count = Double(max(predictions.count, 1))
        return sums.mapValues { ROUGEScore(precision: $0.0 / count, recall: $0.1 / count, f: $0.2 / count) }
    }

    static func score(shared: Int, predicted: Int, expected: Int) -> ROUGEScore {
        let precision = Double(shared) / Double(max(predicted, 1)), recall = Double(shared) / Double(max(expected, 1))
        let f = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        return ROUGEScore(precision: precision, recall: recall, f: f)
    }

    /// Length of the longest common subsequence, by the textbook table (one row kept).
    static func lcsLength(_ a: [[UInt32]], _ b: [[UInt32]]) -> Int {
        var previous = [Int](repeating: 0, count: b.count + 1), current = previous
        for i in 1...a.count {
            for j in 1...b.count {
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
