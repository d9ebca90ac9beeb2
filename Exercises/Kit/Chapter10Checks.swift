// Chapter 10's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter10Exercises: Sendable {
    /// 10.1 — SQuAD's token F1 of an English answer: both texts lower-cased, ASCII punctuation removed, the
    /// articles a / an / the dropped, split on white space; shared tokens counted as multisets;
    /// F1 = 2·P·R / (P + R), 0 when nothing is shared, 1 when both are empty.
    func tokenF1(prediction: String, reference: String) throws -> Double

    /// 10.2 — BLEU's modified n-gram precision for one hypothesis (tokens) and its references: every
    /// hypothesis n-gram counts at most as often as it appears in the reference that has it most often;
    /// returns (clipped matches, hypothesis n-grams).
    func modifiedPrecision(hypothesis: [String], references: [[String]], n: Int) throws -> (matched: Int, total: Int)

    /// 10.3 — Expected calibration error over `bins` equal-width bins of the confidence: bin k holds
    /// (k/bins, (k+1)/bins], a confidence of 0 goes to the first; ECE = Σ (n_bin / N)·|accuracy − mean confidence|.
    func expectedCalibrationError(confidences: [Double], correct: [Bool], bins: Int) throws -> Double
}

public enum Chapter10Checks {
    public static let chapter = "10 — Evaluation"

    public static let all: [Exercise<any Chapter10Exercises>] = [
        Exercise(id: "10.1", title: "token F1",
                 hint: "normalise both, count shared tokens as a multiset, then 2·P·R/(P + R)") { solution in
            // "The cat sat on the mat!" → cat sat on mat; "a cat on a mat" → cat on mat: 3 shared, P 3/4, R 1.
            let hand = try solution.tokenF1(prediction: "The cat sat on the mat!", reference: "a cat on a mat")
            try require(abs(hand - 6.0 / 7) < 1e-12, "'The cat sat on the mat!' against 'a cat on a mat': " +
                        "expected 6/7 = \(6.0 / 7), got \(hand)")
            // Multisets: "cat cat" against "cat cat dog" shares 2 tokens (P 1, R 2/3), not 1.
            let twice = try solution.tokenF1(prediction: "cat cat", reference: "Cat, cat; dog.")
            try require(abs(twice - 0.8) < 1e-12, "'cat cat' against 'Cat, cat; dog.': 2 shared tokens, F1 0.8; " +
                        "got \(twice) (count repeated tokens as often as both have them)")
            let empty = try solution.tokenF1(prediction: "The.", reference: "an")
            try require(empty == 1, "two answers that normalise to nothing: F1 1 (SQuAD 2.0); got \(empty)")
            let none = try solution.tokenF1(prediction: "dog", reference: "cat")
            try require(none == 0, "nothing shared: F1 0; got \(none)")
            var generator = SeededGenerator(seed: 101)
            let words = ["the", "a", "cat", "Dog", "mat", "on", "sat", "an", "big", "cat's", "(red)", "mat."]
            for _ in 0..<50 {
                let answer = {
                    (0..<(1 + generator.integer(below: 7))).map { _ in words[generator.integer(below: 12)] }
                }
                let p = answer(), r = answer()
                let (a, b) = (p.joined(separator: " "), r.joined(separator: "  "))
                let got = try solution.tokenF1(prediction: a, reference: b)
                let expected = AnswerMetrics.tokenF1(a, b)
                try require(abs(got - expected) < 1e-12, "'\(a)' against '\(b)': expected \(expected), got \(got)")
            }
        },
        Exercise(id: "10.2", title: "BLEU's modified n-gram precision",
                 hint: "clip each n-gram's count by its largest count in any one reference") { solution in
            // Papineni et al.'s example: seven "the" against two references with at most two "the".
            let sevens = [String](repeating: "the", count: 7)
            let references = [["the", "cat", "is", "on", "the", "mat"], ["there", "is", "a", "cat", "on", "the", "mat"]]
            let p = try solution.modifiedPrecision(hypothesis: sevens, references: references, n: 1)
            try require(p.matched == 2 && p.total == 7, "'the' × 7: expected 2 of 7 (clipped), got " +
                        "\(p.matched) of \(p.total)")
            let bigrams = try solution.modifiedPrecision(hypothesis: ["the", "cat", "the", "cat", "on", "the", "mat"],
                                                         references: references, n: 2)
            try require(bigrams.matched == 4 && bigrams.total == 6, "bigrams of 'the cat the cat on the mat': " +
                        "expected 4 of 6, got \(bigrams.matched) of \(bigrams.total)")
            let short = try solution.modifiedPrecision(hypothesis: ["cat"], references: references, n: 2)
            try require(short.matched == 0 && short.total == 0, "a one-word hypothesis has no bigrams: expected " +
                        "0 of 0, got \(short.matched) of \(short.total)")
            var generator = SeededGenerator(seed: 103)
            let words = ["the", "cat", "a", "mat", "on", "is", "sat"]
            for _ in 0..<40 {
                let sentence = {
                    (0..<(1 + generator.integer(below: 9))).map { _ in words[generator.integer(below: 7)] }
                }
                let h = sentence(), refs = (0..<(1 + generator.integer(below: 3))).map { _ in sentence() }
                let stats = try BLEU.statistics([h.joined(separator: " ")],
                                                references: [refs.map { $0.joined(separator: " ") }])[0]
                for n in 1...4 {
                    let got = try solution.modifiedPrecision(hypothesis: h, references: refs, n: n)
                    try require(got.matched == stats[1 + n] && got.total == stats[5 + n],
                                "\(h) against \(refs), n = \(n): expected \(stats[1 + n]) of \(stats[5 + n]), got " +
                                "\(got.matched) of \(got.total)")
                }
            }
        },
        Exercise(id: "10.3", title: "expected calibration error",
                 hint: "weight each bin's |accuracy − confidence| by its share of the items") { solution in
            // Two bins: (0, 0.5] holds 0.2, 0.5 (one right): |0.5 − 0.35| = 0.15; (0.5, 1] holds 0.9, 0.9, 0.9,
            // 0.7 (all right): |1 − 0.85| = 0.15 → ECE = 2/6·0.15 + 4/6·0.15 = 0.15. Unweighted also 0.15, so:
            let confidences = [0.2, 0.5, 0.9, 0.9, 0.9, 0.7], correct = [false, true, true, true, true, true]
            let hand = try solution.expectedCalibrationError(confidences: confidences, correct: correct, bins: 2)
            try require(abs(hand - 0.15) < 1e-12, "the two-bin example: expected 0.15, got \(hand) (0.5 belongs " +
                        "to the first bin, (0, 0.5])")
            // Weights matter: (0, 0.5] holds one item at 0.4 (wrong): gap 0.4; (0.5, 1] four at 0.8 (three right):
            // gap 0.05 → 1/5·0.4 + 4/5·0.05 = 0.12 (the unweighted mean of the gaps would be 0.225).
            let weighted = try solution.expectedCalibrationError(confidences: [0.4, 0.8, 0.8, 0.8, 0.8],
                                                                correct: [false, true, true, true, false], bins: 2)
            try require(abs(weighted - 0.12) < 1e-12, "expected 0.12, got \(weighted) (each bin weighs n_bin / N)")
            let zero = try solution.expectedCalibrationError(confidences: [0, 1], correct: [false, true], bins: 15)
            try require(abs(zero) < 1e-12, "confidence 0 wrong and 1 right is perfect: expected 0, got \(zero)")
            var generator = SeededGenerator(seed: 107)
            for _ in 0..<30 {
                let count = 1 + generator.integer(below: 60)
                let c = (0..<count).map { _ in Double(generator.integer(below: 21)) / 20 }
                let ok = c.map { Double(generator.integer(below: 1000)) / 1000 < $0 }
                let bins = [2, 5, 10, 15][generator.integer(below: 4)]
                let expected = try Calibration.expectedCalibrationError(confidences: c, correct: ok, bins: bins)
                let got = try solution.expectedCalibrationError(confidences: c, correct: ok, bins: bins)
                try require(abs(got - expected) < 1e-9, "\(count) predictions in \(bins) bins: expected \(expected), " +
                            "got \(got)")
            }
        },
    ]
}
