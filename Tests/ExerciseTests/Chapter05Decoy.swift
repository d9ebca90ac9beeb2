// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 05.
struct Chapter05Decoy: Chapter05Exercises {
    // Forgets the newline after <|im_end|>.
    func renderChatML(_ messages: [(role: String, content: String)], generationPrompt: Bool) throws -> String {
        messages.map { "<|im_start|>\($0.role)\n\($0.content)<|im_end|>" }.joined()
            + (generationPrompt ? "<|im_start|>assistant\n" : "")
    }
    // Off by one: the target at position i is masked by scored[i], the token it reads, not the one it predicts.
    func maskedRow(tokens: [Int], scored: [Bool], length: Int, padding: Int) throws -> (inputs: [Int], targets: [Int]) {
        let n = min(tokens.count, length + 1)
        var inputs: [Int] = [], targets: [Int] = []
        for i in 0..<max(n - 1, 0) {
            inputs.append(tokens[i])
            targets.append(scored[i] ? tokens[i + 1] : -100)
        }
        while inputs.count < length { inputs.append(padding); targets.append(-100) }
        return (inputs, targets)
    }
    // The classic bug: the last position of the padded row.
    func lastRealToken(_ hidden: [[[Float]]], lengths: [Int]) throws -> [[Float]] {
        hidden.map { $0[$0.count - 1] }
    }
    // Weighted by class frequency (scikit-learn's average="weighted"), not macro.
    func macroF1(predictions: [Int], labels: [Int], classes: Int) throws -> Double {
        var total = 0.0
        for c in 0..<classes {
            let tp = zip(predictions, labels).filter { $0 == c && $1 == c }.count
            let fp = zip(predictions, labels).filter { $0 == c && $1 != c }.count
            let fn = zip(predictions, labels).filter { $0 != c && $1 == c }.count
            let support = labels.filter { $0 == c }.count
            if tp + fp + fn > 0 { total += Double(support) * 2 * Double(tp) / Double(2 * tp + fp + fn) }
        }
        return total / Double(labels.count)
    }
}
