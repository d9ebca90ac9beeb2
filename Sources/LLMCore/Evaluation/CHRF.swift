// Introduced in Chapter 10. chrF (Popović 2015) as sacrebleu computes it by default: character n-grams
// n = 1…6 of each segment with its white space removed, no tokenizer (so it needs none for Chinese),
// β = 2 (recall weighs twice as much as precision).
//
// For each order n the statistics — hypothesis n-grams, reference n-grams, matched (clipped) n-grams —
// are summed over the corpus. Then precision and recall are averaged over the orders that have both
// hypothesis and reference n-grams (sacrebleu's "effective order"), and
//
//     chrF = 100 · (1 + β²)·P·R / (β²·P + R)
//
// With several references, each segment keeps the statistics of the reference whose own chrF is best.
// Characters are Unicode scalars, as Python's strings count them.

import Foundation

public struct CHRFScore: Sendable, Equatable {
    public let score: Double
    public let signature: String
    /// "chrF2 = 64.58", as sacrebleu.
    public var description: String { String(format: "chrF2 = %.2f", score) }
}

public enum CHRF {
    public static let charOrder = 6, beta = 2.0

    public static func corpus(_ hypotheses: [String], references: [[String]],
                              lowercase: Bool = false) throws -> CHRFScore {
        let segments = try statistics(hypotheses, references: references, lowercase: lowercase)
        return CHRFScore(score: score(summing: segments), signature: signature(references: references,
                                                                               lowercase: lowercase))
    }

    /// sacrebleu's chrF signature ("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:…").
    public static func signature(references: [[String]], lowercase: Bool) -> String {
        "nrefs:\(references.map(\.count).max() ?? 0)|case:\(lowercase ? "lc" : "mixed")|eff:yes|" +
            "nc:\(charOrder)|nw:0|space:no|version:llm-course"
    }

    /// Per segment, [hypothesis, reference, matched] n-gram counts for n = 1…6 against its best reference.
    public static func statistics(_ hypotheses: [String], references: [[String]],
                                  lowercase: Bool = false) throws -> [[Int]] {
        try ReferenceCheck.validate(hypotheses: hypotheses, references: references)
        return zip(hypotheses, references).map { hypothesis, refs in
            let h = ngrams(lowercase ? hypothesis.lowercased() : hypothesis)
            var best: [Int] = [], bestScore = -1.0
            for ref in refs {
                let r = ngrams(lowercase ? ref.lowercased() : ref)
                var stats: [Int] = []
                for n in 0..<charOrder {
                    var matched = 0, hypothesisCount = 0
                    for (gram, count) in h[n] {
                        hypothesisCount += count
                        matched += min(count, r[n][gram] ?? 0)
                    }
                    // sacrebleu counts no hypothesis n-grams when the reference has none of that order.
                    stats += [r[n].isEmpty ? 0 : hypothesisCount, r[n].values.reduce(0, +), matched]
                }
                let f = fScore(stats)
                if f > bestScore { (best, bestScore) = (stats, f) }
            }
            return best
        }
    }

    /// chrF of the sum of some segments' statistics.
    public static func score(summing segments: [[Int]]) -> Double {
        var totals = [Int](repeating: 0, count: 3 * charOrder)
        for segment in segments { for i in totals.indices { totals[i] += segment[i] } }
        return fScore(totals)
    }

    /// chrF from [hypothesis, reference, matched] counts per order (see the top of the file).
    static func fScore(_ stats: [Int]) -> Double {
        let factor = beta * beta
        var precision = 0.0, recall = 0.0, orders = 0
        for n in 0..<charOrder {
            let (h, r, m) = (Double(stats[3 * n]), Double(stats[3 * n + 1]), Double(stats[3 * n + 2]))
            if h > 0 && r > 0 {
                precision += m / h
                recall += m / r
                orders += 1
            }
        }
        guard orders > 0 else { return 0 }
        precision /= Double(orders)
        recall /= Double(orders)
        guard precision + recall > 0 else { return 0 }
        return 100 * (1 + factor) * precision * recall / (factor * precision + recall)
    }

    /// Counts of the character n-grams, n = 1…6, of `line` without its white space.
    /// Keys are code points, not Swift strings: Swift calls "é" and "e + ◌́" equal, Python does not.
    static func ngrams(_ line: String) -> [[[UInt32]: Int]] {
        let scalars = line.unicodeScalars.filter { !TextSegments.isPythonWhitespace($0) }.map(\.value)
        return (1...charOrder).map { n in
            var counts: [[UInt32]: Int] = [:]
            if scalars.count >= n {
                for i in 0...(scalars.count - n) { counts[Array(scalars[i..<i + n]), default: 0] += 1 }
            }
            return counts
        }
    }
}
