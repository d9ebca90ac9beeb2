// Chapter 00 exercises — your file. Replace each `throw ExerciseUnsolved(...)` with a solution,
// then run `make exercises` to see your score. Steps and hints: Exercises/Ch00.md.

import ExerciseKit
import Foundation

public struct Chapter00: Chapter00Exercises {
    public init() {}

    /// 00.1 — d/dx [x · tanh(softplus(x))], where softplus(x) = ln(1 + eˣ) and softplus′(x) = σ(x).
    public func mishDerivative(_ x: Float) throws -> Float {
        throw ExerciseUnsolved("write mish′(x) with the chain rule (Exercises/Ch00.md, step 1)")
    }

    /// 00.2 — (f(x + h) − f(x − h)) / 2h.
    public func centralDifference(_ f: (Double) -> Double, at x: Double, step h: Double) throws -> Double {
        throw ExerciseUnsolved("return the central difference of f at x (Exercises/Ch00.md, step 2)")
    }

    /// 00.3 — C = A·B with A (M, K), B (K, N), row-major. Return ∂L/∂A (M, K) and ∂L/∂B (K, N).
    public func matmulBackward(a: [Float], b: [Float], dC: [Float], m: Int, k: Int, n: Int) throws -> (dA: [Float], dB: [Float]) {
        throw ExerciseUnsolved("∂L/∂A = ∂L/∂C·Bᵀ, ∂L/∂B = Aᵀ·∂L/∂C (Exercises/Ch00.md, step 3)")
    }

    /// 00.4 — mean over pairs of −ln softmax(logits[current])[next]; logits is (V, V) row-major.
    public func bigramLoss(logits: [Float], vocabularySize: Int, pairs: [(current: Int, next: Int)]) throws -> Float {
        throw ExerciseUnsolved("log-sum-exp with the row max subtracted (Exercises/Ch00.md, step 4)")
    }
}
