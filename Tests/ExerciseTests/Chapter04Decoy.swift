// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 04.
struct Chapter04Decoy: Chapter04Exercises {
    // Adam without bias correction.
    func adamWStep(w: [Float], g: [Float], m: inout [Float], v: inout [Float], t: Int,
                   learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float) throws -> [Float] {
        var out = w
        for i in w.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            out[i] -= learningRate * (m[i] / (v[i].squareRoot() + epsilon) + weightDecay * w[i])
        }
        return out
    }
    // Cosine over the whole run, ignoring warmup in the progress.
    func cosineRate(step: Int, peak: Float, minimum: Float, warmup: Int, total: Int) throws -> Float {
        if step <= warmup { return peak * Float(step) / Float(max(warmup, 1)) }
        let progress = min(1, Double(step) / Double(total))
        return minimum + (peak - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
    // Clips each tensor by its own norm.
    func clip(_ gradients: [[Float]], maxNorm: Float) throws -> [[Float]] {
        gradients.map { g in
            let norm = g.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return norm > maxNorm ? g.map { $0 * maxNorm / norm } : g
        }
    }
}
