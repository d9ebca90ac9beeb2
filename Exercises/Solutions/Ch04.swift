// Chapter 04 reference solutions. Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter04Solution: Chapter04Exercises {
    public init() {}

    public func adamWStep(w: [Float], g: [Float], m: inout [Float], v: inout [Float], t: Int,
                          learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float) throws -> [Float] {
        var out = w
        for i in w.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            let mHat = m[i] / (1 - pow(beta1, Float(t))), vHat = v[i] / (1 - pow(beta2, Float(t)))
            out[i] -= learningRate * (mHat / (vHat.squareRoot() + epsilon) + weightDecay * w[i])
        }
        return out
    }

    public func cosineRate(step: Int, peak: Float, minimum: Float, warmup: Int, total: Int) throws -> Float {
        if step <= warmup { return peak * Float(step) / Float(max(warmup, 1)) }
        if step >= total { return minimum }
        let progress = Double(step - warmup) / Double(total - warmup)
        return minimum + (peak - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }

    public func clip(_ gradients: [[Float]], maxNorm: Float) throws -> [[Float]] {
        let norm = gradients.flatMap { $0 }.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > maxNorm else { return gradients }
        return gradients.map { $0.map { $0 * maxNorm / norm } }
    }
}
