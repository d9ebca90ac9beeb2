// Chapter 08 exercises — your file. Steps and hints: Exercises/Ch08.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter08: Chapter08Exercises {
    public init() {}

    /// 08.1 — The nucleus: the smallest most-likely set reaching p, ties at the cut included.
    public func topP(_ probabilities: [Float], p: Float) throws -> [Int] {
        throw ExerciseUnsolved("sort, accumulate to p, keep the ties (Exercises/Ch08.md, step 1)")
    }

    /// 08.2 — Accept probability and residual distribution for one draft token.
    public func acceptance(p: [Float], q: [Float], draft: Int) throws -> (accept: Float, residual: [Float]) {
        throw ExerciseUnsolved("min(1, p/q), then max(0, p − q) renormalised (Exercises/Ch08.md, step 2)")
    }

    /// 08.3 — The best `width` extensions of the beams.
    public func beamStep(beamScores: [Double], logProbabilities: [[Double]], width: Int) throws -> [(beam: Int, token: Int)] {
        throw ExerciseUnsolved("score every extension, keep the best (Exercises/Ch08.md, step 3)")
    }
}
