// Chapter 10 reference solutions. Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter10Solution: Chapter10Exercises {
    public init() {}

    /// SQuAD's normalisation: lower case, no ASCII punctuation, no articles, split on white space.
    public static func tokens(_ text: String) -> [String] {
        let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        let kept = String(text.lowercased().filter { !punctuation.contains($0) })
        return kept.split(whereSeparator: \.isWhitespace).map(String.init).filter { !["a", "an", "the"].contains($0) }
    }

    public func tokenF1(prediction: String, reference: String) throws -> Double {
        let p = Self.tokens(prediction), r = Self.tokens(reference)
        if p.isEmpty || r.isEmpty { return p.isEmpty && r.isEmpty ? 1 : 0 }
        var left = Dictionary(r.map { ($0, 1) }, uniquingKeysWith: +)
        var shared = 0
        for token in p where left[token, default: 0] > 0 {
            left[token]! -= 1
            shared += 1
        }
        guard shared > 0 else { return 0 }
        let precision = Double(shared) / Double(p.count), recall = Double(shared) / Double(r.count)
        return 2 * precision * recall / (precision + recall)
    }

    public static func ngrams(_ tokens: [String], _ n: Int) -> [[String]: Int] {
        guard tokens.count >= n else { return [:] }
        return Dictionary((0...(tokens.count - n)).map { (Array(tokens[$0..<$0 + n]), 1) }, uniquingKeysWith: +)
    }

    public func modifiedPrecision(hypothesis: [String], references: [[String]],
                                  n: Int) throws -> (matched: Int, total: Int) {
        var most: [[String]: Int] = [:]
        for reference in references {
            for (gram, count) in Self.ngrams(reference, n) { most[gram] = max(most[gram] ?? 0, count) }
        }
        let counts = Self.ngrams(hypothesis, n)
        return (counts.reduce(0) { $0 + min($1.value, most[$1.key] ?? 0) }, counts.values.reduce(0, +))
    }

    public func expectedCalibrationError(confidences: [Double], correct: [Bool], bins: Int) throws -> Double {
        var count = [Int](repeating: 0, count: bins), right = count
        var sum = [Double](repeating: 0, count: bins)
        for (c, ok) in zip(confidences, correct) {
            let k = min(bins - 1, max(0, Int((c * Double(bins)).rounded(.up)) - 1))   // (k/B, (k+1)/B]
            count[k] += 1
            sum[k] += c
            if ok { right[k] += 1 }
        }
        let n = Double(confidences.count)
        return (0..<bins).filter { count[$0] > 0 }.reduce(0) { total, k in
            let accuracy = Double(right[k]) / Double(count[k]), confidence = sum[k] / Double(count[k])
            return total + Double(count[k]) / n * abs(accuracy - confidence)
        }
    }
}
