// Chapter 00 reference solutions. `make test` grades these with the same checks as your stubs.
// Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter00Solution: Chapter00Exercises {
    public init() {}

    public func mishDerivative(_ x: Float) throws -> Float {
        let x = Double(x)
        let softplus = x > 20 ? x : log1p(exp(x))           // ln(1 + eˣ), without overflow for large x
        let t = tanh(softplus)
        let sigmoid = 1 / (1 + exp(-x))                      // softplus′(x)
        return Float(t + x * (1 - t * t) * sigmoid)          // product rule, then chain rule
    }

    public func centralDifference(_ f: (Double) -> Double, at x: Double, step h: Double) throws -> Double {
        (f(x + h) - f(x - h)) / (2 * h)
    }

    public func matmulBackward(a: [Float], b: [Float], dC: [Float], m: Int, k: Int, n: Int) throws -> (dA: [Float], dB: [Float]) {
        var dA = [Float](repeating: 0, count: m * k), dB = [Float](repeating: 0, count: k * n)
        for i in 0..<m {
            for j in 0..<n {
                let g = dC[i * n + j]                        // ∂L/∂Cᵢⱼ, and Cᵢⱼ = Σₚ Aᵢₚ·Bₚⱼ
                for p in 0..<k {
                    dA[i * k + p] += g * b[p * n + j]        // ∂Cᵢⱼ/∂Aᵢₚ = Bₚⱼ
                    dB[p * n + j] += g * a[i * k + p]        // ∂Cᵢⱼ/∂Bₚⱼ = Aᵢₚ
                }
            }
        }
        return (dA, dB)
    }

    public func bigramLoss(logits: [Float], vocabularySize v: Int, pairs: [(current: Int, next: Int)]) throws -> Float {
        var total: Double = 0
        for (current, next) in pairs {
            let row = logits[current * v..<(current + 1) * v].map(Double.init)
            let maximum = row.max() ?? 0
            let logSumExp = maximum + log(row.reduce(0) { $0 + exp($1 - maximum) })
            total += logSumExp - row[next]
        }
        return Float(total / Double(max(pairs.count, 1)))
    }
}
