// Chapter 04 exercises — your file. Steps and hints: Exercises/Ch04.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter04: Chapter04Exercises {
    public init() {}

    /// 04.1 — One AdamW step; update m and v in place, return the new weights.
    public func adamWStep(w: [Float], g: [Float], m: inout [Float], v: inout [Float], t: Int,
                          learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float) throws -> [Float] {
        throw ExerciseUnsolved("moments, bias correction, update with decay (Exercises/Ch04.md, step 1)")
    }

    /// 04.2 — Warmup, then cosine decay to the minimum.
    public func cosineRate(step: Int, peak: Float, minimum: Float, warmup: Int, total: Int) throws -> Float {
        throw ExerciseUnsolved("two pieces: linear, then half a cosine (Exercises/Ch04.md, step 2)")
    }

    /// 04.3 — Scale all gradients together when their global norm exceeds maxNorm.
    public func clip(_ gradients: [[Float]], maxNorm: Float) throws -> [[Float]] {
        throw ExerciseUnsolved("one norm over everything (Exercises/Ch04.md, step 3)")
    }
}
