// Chapter 00's exercises: the interface a solution implements, and the checks that grade it.
// The student's file is Exercises/Stubs/Ch00.swift; the steps are in Exercises/Ch00.md.

import Foundation
import LLMCore

/// What Chapter 00's exercises ask for. Each function may throw `ExerciseUnsolved` until solved.
public protocol Chapter00Exercises: Sendable {
    /// 00.1 — The derivative of Mish, mish(x) = x · tanh(softplus(x)), softplus(x) = ln(1 + eˣ).
    func mishDerivative(_ x: Float) throws -> Float

    /// 00.2 — The central difference (f(x + h) − f(x − h)) / 2h.
    func centralDifference(_ f: (Double) -> Double, at x: Double, step h: Double) throws -> Double

    /// 00.3 — The backward of C = A·B for row-major A (M, K), B (K, N) and ∂L/∂C (M, N):
    /// returns (∂L/∂A (M, K), ∂L/∂B (K, N)).
    func matmulBackward(a: [Float], b: [Float], dC: [Float], m: Int, k: Int, n: Int) throws -> (dA: [Float], dB: [Float])

    /// 00.4 — The bigram loss: the mean over `pairs` (current, next) of −ln softmax(logits[current])[next],
    /// where `logits` is a row-major (V, V) table. Must stay finite for logits in the thousands.
    func bigramLoss(logits: [Float], vocabularySize: Int, pairs: [(current: Int, next: Int)]) throws -> Float
}

/// mish(x) in Double, the reference the derivative is checked against.
public func mish(_ x: Double) -> Double { x * tanh(log1p(exp(x))) }

public enum Chapter00Checks {
    public static let chapter = "00 — Tensors and autograd"

    public static let all: [Exercise<any Chapter00Exercises>] = [
        Exercise(id: "00.1", title: "the derivative of Mish",
                 hint: "product rule on x · tanh(s(x)), then the chain rule twice: tanh′ = 1 − tanh², s′(x) = σ(x)") { solution in
            // Against a Double-precision central difference of mish on a grid, then the gradient checker.
            for i in -40...40 {
                let x = Double(i) * 0.2
                let numeric = (mish(x + 1e-5) - mish(x - 1e-5)) / 2e-5
                let answer = try solution.mishDerivative(Float(x))
                try require(abs(Double(answer) - numeric) <= 1e-4 * max(1, abs(numeric)),
                            "mish′(\(Float(x))) should be \(Float(numeric)), got \(answer)")
            }
            // The same derivative as the backward of a tape op, through the course's gradient checker.
            var generator = SeededGenerator(seed: 1)
            let input = Variable.parameter(Tensor.randomNormal([4, 8], standardDeviation: 2, using: &generator), name: "x")
            let report = GradientCheck.run([input]) { tape, inputs in
                tape.elementwise("mish", inputs[0], forward: { v in v.lanes { Float(mish(Double($0))) } },
                                 derivative: { v in v.lanes { (try? solution.mishDerivative($0)) ?? .nan } })
            }
            try require(report.passed, "as a tape op's backward: \(report)")
        },
        Exercise(id: "00.2", title: "the central difference",
                 hint: "(f(x + h) − f(x − h)) / (2h) — both sides, not (f(x + h) − f(x)) / h") { solution in
            // For f = x³ the central difference is exactly 3x² + h²: at x = 1.5, h = 0.1 that is 6.76.
            // (The forward difference gives 7.21, the backward one 6.31.)
            let cube = try solution.centralDifference({ $0 * $0 * $0 }, at: 1.5, step: 0.1)
            try require(abs(cube - 6.76) < 1e-9, "d/dx x³ at 1.5 with h = 0.1 should be 6.76 (= 3·1.5² + h²), got \(cube)")
            for x in [-1.0, 0.3, 2.0] {
                let slope = try solution.centralDifference(sin, at: x, step: 1e-4)
                try require(abs(slope - cos(x)) < 1e-7, "d/dx sin at \(x) should be ≈ \(cos(x)), got \(slope)")
            }
        },
        Exercise(id: "00.3", title: "the backward of a matrix product",
                 hint: "∂L/∂A = ∂L/∂C · Bᵀ and ∂L/∂B = Aᵀ · ∂L/∂C; check the shapes first") { solution in
            // Against the core's matmul backward on non-square shapes, including a size-1 edge.
            for (m, k, n) in [(2, 3, 4), (5, 1, 3), (1, 4, 2)] {
                var generator = SeededGenerator(seed: UInt64(m * 100 + k * 10 + n))
                let a = Variable.parameter(Tensor.randomNormal([m, k], using: &generator))
                let b = Variable.parameter(Tensor.randomNormal([k, n], using: &generator))
                let dC = Tensor.randomNormal([m, n], using: &generator)
                let tape = Tape()
                tape.backward(tape.matmul(a, b), seed: dC)
                let (dA, dB) = try solution.matmulBackward(a: a.value.scalars, b: b.value.scalars, dC: dC.scalars, m: m, k: k, n: n)
                try requireClose(dA, a.grad!.scalars, tolerance: 1e-5, "∂L/∂A for (\(m), \(k))·(\(k), \(n))")
                try requireClose(dB, b.grad!.scalars, tolerance: 1e-5, "∂L/∂B for (\(m), \(k))·(\(k), \(n))")
            }
        },
        Exercise(id: "00.4", title: "the bigram loss",
                 hint: "−ln softmax = logΣexp(row) − row[next]; subtract the row's max before exp") { solution in
            // Against the core's fused cross-entropy, then with logits large enough to overflow exp.
            let v = 5
            var generator = SeededGenerator(seed: 4)
            let table = Tensor.randomNormal([v, v], using: &generator)
            let pairs = [(0, 1), (1, 1), (4, 0), (2, 3), (3, 4), (0, 0)].map { (current: $0.0, next: $0.1) }
            let tape = Tape.inference
            let rows = tape.embedding(Variable(table), ids: pairs.map(\.current), shape: [pairs.count])
            let expected = tape.crossEntropy(rows, targets: pairs.map(\.next)).value.item
            let loss = try solution.bigramLoss(logits: table.scalars, vocabularySize: v, pairs: pairs)
            try require(abs(loss - expected) <= 1e-5, "loss on a random table should be \(expected), got \(loss)")
            // Row 0 = (1000, 0, 0, 0, 0): −ln p(0) = ln(1 + 4e⁻¹⁰⁰⁰) ≈ 0 and −ln p(1) = 1000.
            var big = [Float](repeating: 0, count: v * v)
            big[0] = 1000
            let sure = try solution.bigramLoss(logits: big, vocabularySize: v, pairs: [(0, 0)])
            let wrong = try solution.bigramLoss(logits: big, vocabularySize: v, pairs: [(0, 1)])
            try require(sure.isFinite && abs(sure) < 1e-4, "with logit 1000 on the target the loss should be ≈ 0, got \(sure) (overflow? subtract the max)")
            try require(wrong.isFinite && abs(wrong - 1000) < 1e-2, "with logit 1000 elsewhere the loss should be ≈ 1000, got \(wrong)")
        },
    ]
}

extension SIMD16 where Scalar == Float {
    /// Applies a scalar function to each lane (for checks, not hot loops).
    func lanes(_ f: (Float) -> Float) -> Self {
        var out = self
        for i in 0..<16 { out[i] = f(self[i]) }
        return out
    }
}
