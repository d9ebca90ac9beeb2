// Chapter 02 exercises — your file. Steps and hints: Exercises/Ch02.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter02: Chapter02Exercises {
    public init() {}

    /// 02.1 — 0 where j ≤ i, −∞ where j > i.
    public func causalMask(length: Int) throws -> [[Float]] {
        throw ExerciseUnsolved("build the T×T additive mask (Exercises/Ch02.md, step 1)")
    }

    /// 02.2 — ∂L/∂x from y = softmax(x) and ∂L/∂y.
    public func softmaxBackward(y: [Float], dY: [Float]) throws -> [Float] {
        throw ExerciseUnsolved("y ⊙ (∂L/∂y − Σ ∂L/∂y·y) (Exercises/Ch02.md, step 2)")
    }

    /// 02.3 — Rotate each pair (x[2i], x[2i+1]) by position·base^(−2i/D).
    public func rotate(_ x: [Float], position: Int, base: Float) throws -> [Float] {
        throw ExerciseUnsolved("rotate the pairs (Exercises/Ch02.md, step 3)")
    }
}
