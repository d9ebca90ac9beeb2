// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes, one per exercise: each must be caught by its check.
struct Chapter00Decoy: Chapter00Exercises {
    // Forgets the chain rule's σ(x) factor.
    func mishDerivative(_ x: Float) throws -> Float {
        let t = tanh(log1p(exp(Double(x))))
        return Float(t + Double(x) * (1 - t * t))
    }
    // The forward difference: right to O(h), which the check must tell apart from O(h²).
    func centralDifference(_ f: (Double) -> Double, at x: Double, step h: Double) throws -> Double {
        (f(x + h) - f(x)) / h
    }
    // ∂L/∂A right, ∂L/∂B with A not transposed: shapes line up only by accident, values are wrong.
    func matmulBackward(a: [Float], b: [Float], dC: [Float], m: Int, k: Int, n: Int) throws -> (dA: [Float], dB: [Float]) {
        let right = try Chapter00Solution().matmulBackward(a: a, b: b, dC: dC, m: m, k: k, n: n)
        return (right.dA, right.dB.map { $0 * 0.5 })
    }
    // No max subtraction: exact on small logits, overflows to inf/nan on large ones.
    func bigramLoss(logits: [Float], vocabularySize v: Int, pairs: [(current: Int, next: Int)]) throws -> Float {
        var total: Float = 0
        for (c, nx) in pairs {
            let row = logits[c * v..<(c + 1) * v]
            total += log(row.reduce(0) { $0 + exp($1) }) - row[row.startIndex + nx]
        }
        return total / Float(pairs.count)
    }
}
