// Chapter 02's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter02Exercises: Sendable {
    /// 02.1 — The additive causal mask for T positions: row i, column j is 0 when j ≤ i, −∞ when j > i.
    func causalMask(length: Int) throws -> [[Float]]

    /// 02.2 — Softmax backward for one row: given y = softmax(x) and ∂L/∂y, return ∂L/∂x.
    func softmaxBackward(y: [Float], dY: [Float]) throws -> [Float]

    /// 02.3 — RoPE: rotate each adjacent pair (x[2i], x[2i+1]) of one head vector by position·θᵢ,
    /// θᵢ = base^(−2i/D), D = x.count.
    func rotate(_ x: [Float], position: Int, base: Float) throws -> [Float]
}

public enum Chapter02Checks {
    public static let chapter = "02 — Attention"

    public static let all: [Exercise<any Chapter02Exercises>] = [
        Exercise(id: "02.1", title: "the causal mask",
                 hint: "a T×T grid: 0 on and below the diagonal (j ≤ i), -Float.infinity above it") { solution in
            for t in [1, 4, 9] {
                let mask = try solution.causalMask(length: t)
                try require(mask.count == t && mask.allSatisfy { $0.count == t }, "the mask for T = \(t) must be \(t)×\(t)")
                for i in 0..<t {
                    for j in 0..<t {
                        let expected: Float = j <= i ? 0 : -.infinity
                        try require(mask[i][j] == expected, "mask[\(i)][\(j)] should be \(expected), got \(mask[i][j])")
                    }
                }
            }
        },
        Exercise(id: "02.2", title: "softmax backward",
                 hint: "∂L/∂xᵢ = yᵢ·(∂L/∂yᵢ − Σⱼ ∂L/∂yⱼ·yⱼ): the Jacobian diag(y) − y·yᵀ times ∂L/∂y") { solution in
            var generator = SeededGenerator(seed: 21)
            for count in [1, 3, 10] {
                let x = Variable.parameter(Tensor.randomNormal([1, count], standardDeviation: 2, using: &generator))
                let dY = Tensor.randomNormal([1, count], using: &generator)
                let tape = Tape()
                let y = tape.softmax(x)
                tape.backward(y, seed: dY)
                let answer = try solution.softmaxBackward(y: y.value.scalars, dY: dY.scalars)
                try requireClose(answer, x.grad!.scalars, tolerance: 1e-5, "∂L/∂x for \(count) logits")
            }
        },
        Exercise(id: "02.3", title: "the RoPE rotation",
                 hint: "angle = position · pow(base, -2i/D); (a, b) → (a·cos − b·sin, a·sin + b·cos) for each pair (2i, 2i+1)") { solution in
            var generator = SeededGenerator(seed: 22)
            for (d, position) in [(2, 1), (8, 0), (8, 5), (16, 300)] {
                let x = Tensor.randomNormal([1, 1, d], using: &generator)
                let expected = Tape.inference.rotary(Variable(x), headSize: d, rotatedHeads: 1, positionOffset: position).value.scalars
                let answer = try solution.rotate(x.scalars, position: position, base: 10_000)
                try requireClose(answer, expected, tolerance: 1e-4, "rotate(D = \(d), position \(position))")
            }
        },
    ]
}
