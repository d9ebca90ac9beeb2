// Chapter 04's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter04Exercises: Sendable {
    /// 04.1 — One AdamW step (t is 1-based) on weights w with gradient g and moments m, v (updated in place);
    /// returns the new weights. Decay is applied to every weight here.
    func adamWStep(w: [Float], g: [Float], m: inout [Float], v: inout [Float], t: Int,
                   learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float) throws -> [Float]

    /// 04.2 — The learning rate at step (1-based): linear warmup to `peak` over `warmup` steps, then cosine
    /// decay to `minimum` at `total`, and `minimum` after.
    func cosineRate(step: Int, peak: Float, minimum: Float, warmup: Int, total: Int) throws -> Float

    /// 04.3 — Global-norm clipping: when √(Σ over all gradients of g²) exceeds `maxNorm`, scale every
    /// gradient by maxNorm/norm. Returns the clipped gradients.
    func clip(_ gradients: [[Float]], maxNorm: Float) throws -> [[Float]]
}

public enum Chapter04Checks {
    public static let chapter = "04 — Pretraining"

    public static let all: [Exercise<any Chapter04Exercises>] = [
        Exercise(id: "04.1", title: "one AdamW step",
                 hint: "m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ); w −= η(m̂/(√v̂+ε) + λw)") { solution in
            // Three steps against the core's AdamW (2-D weights are decayed there).
            var generator = SeededGenerator(seed: 41)
            let weight = Variable.parameter(Tensor.randomNormal([2, 3], using: &generator), name: "w")
            let adam = AdamW([weight], learningRate: 0.01, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
            var w = weight.value.scalars, m = [Float](repeating: 0, count: 6), v = m
            for t in 1...3 {
                let g = Tensor.randomNormal([2, 3], using: &generator)
                weight.grad = g
                adam.update()
                w = try solution.adamWStep(w: w, g: g.scalars, m: &m, v: &v, t: t, learningRate: 0.01, beta1: 0.9, beta2: 0.95,
                                           epsilon: 1e-8, weightDecay: 0.1)
                try requireClose(w, weight.value.scalars, tolerance: 1e-5, "weights after step \(t)")
            }
        },
        Exercise(id: "04.2", title: "warmup and cosine decay",
                 hint: "step ≤ warmup: peak·step/warmup; then minimum + (peak − minimum)·½(1 + cos(π·progress))") { solution in
            for (peak, minimum, warmup, total) in [(Float(1), Float(0.1), 10, 110), (3e-3, 3e-4, 0, 50), (0.5, 0, 5, 5)] {
                let reference = CosineSchedule(peak: peak, minimum: minimum, warmup: warmup, total: total)
                for step in [1, 2, warmup, warmup + 1, (warmup + total) / 2, total - 1, total, total + 10] where step >= 1 {
                    let answer = try solution.cosineRate(step: step, peak: peak, minimum: minimum, warmup: warmup, total: total)
                    try require(abs(answer - reference.rate(at: step)) <= 1e-6 * max(1, peak),
                                "step \(step) (peak \(peak), minimum \(minimum), warmup \(warmup), total \(total)): expected \(reference.rate(at: step)), got \(answer)")
                }
            }
        },
        Exercise(id: "04.3", title: "global-norm gradient clipping",
                 hint: "one norm over all tensors together, not one per tensor; leave gradients alone when the norm is small") { solution in
            let clipped = try solution.clip([[3, 0], [4]], maxNorm: 1)          // norm 5 → scale 1/5
            try requireClose(clipped.flatMap { $0 }, [0.6, 0, 0.8], tolerance: 1e-6, "clip([[3, 0], [4]], 1)")
            let untouched = try solution.clip([[0.3], [0.4]], maxNorm: 1)       // norm 0.5 ≤ 1
            try requireClose(untouched.flatMap { $0 }, [0.3, 0.4], tolerance: 0, "clip([[0.3], [0.4]], 1)")
            try require(clipped.map(\.count) == [2, 1], "keep each tensor's size")
        },
    ]
}
