// Chapter 05 reference solutions. Try the exercises before reading on.

import ExerciseKit

public struct Chapter05Solution: Chapter05Exercises {
    public init() {}

    public func renderChatML(_ messages: [(role: String, content: String)], generationPrompt: Bool) throws -> String {
        messages.map { "<|im_start|>\($0.role)\n\($0.content)<|im_end|>\n" }.joined()
            + (generationPrompt ? "<|im_start|>assistant\n" : "")
    }

    public func maskedRow(tokens: [Int], scored: [Bool], length: Int,
                          padding: Int) throws -> (inputs: [Int], targets: [Int]) {
        let n = min(tokens.count, length + 1)
        var inputs: [Int] = [], targets: [Int] = []
        for i in 0..<max(n - 1, 0) {
            inputs.append(tokens[i])
            targets.append(scored[i + 1] ? tokens[i + 1] : -100)
        }
        while inputs.count < length {
            inputs.append(padding)
            targets.append(-100)
        }
        return (inputs, targets)
    }

    public func lastRealToken(_ hidden: [[[Float]]], lengths: [Int]) throws -> [[Float]] {
        zip(hidden, lengths).map { row, length in row[length - 1] }
    }

    public func macroF1(predictions: [Int], labels: [Int], classes: Int) throws -> Double {
        var scores: [Double] = []
        for c in 0..<classes {
            let tp = zip(predictions, labels).filter { $0 == c && $1 == c }.count
            let fp = zip(predictions, labels).filter { $0 == c && $1 != c }.count
            let fn = zip(predictions, labels).filter { $0 != c && $1 == c }.count
            if tp + fp + fn == 0 { continue }                 // neither present nor predicted
            scores.append(2 * Double(tp) / Double(2 * tp + fp + fn))
        }
        return scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
    }
}
