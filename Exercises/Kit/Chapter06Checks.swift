// Chapter 06's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter06Exercises: Sendable {
    /// 06.1 — The LoRA forward pass of one layer: y = x·Wᵀ + (α/r)·(x·Aᵀ)·Bᵀ for x (n, in), W (out, in),
    /// A (r, in), B (out, r), all row-major; returns y (n, out). r is A's row count.
    func loraForward(x: [[Float]], w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]]

    /// 06.2 — The merge: W + (α/r)·B·A, an (out, in) matrix.
    func merge(w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]]

    /// 06.3 — How many numbers LoRA of rank r trains on layers of these (out, in) shapes (the rank capped at
    /// min(out, in) per layer, as PEFT and the core do).
    func trainableCount(shapes: [(outputs: Int, inputs: Int)], rank: Int) throws -> Int
}

public enum Chapter06Checks {
    public static let chapter = "06 — LoRA"

    static func random(_ rows: Int, _ columns: Int, _ g: inout SeededGenerator) -> [[Float]] {
        (0..<rows).map { _ in (0..<columns).map { _ in Float(g.integer(below: 21) - 10) / 10 } }
    }

    static func close(_ a: [[Float]], _ b: [[Float]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
        }
    }

    public static let all: [Exercise<any Chapter06Exercises>] = [
        Exercise(id: "06.1", title: "the LoRA forward pass",
                 hint: "two small products, x·Aᵀ (n, r) then ·Bᵀ (n, out), scaled by α/r — not by α") { solution in
            var g = SeededGenerator(seed: 61)
            for (n, inputs, outputs, rank, alpha) in [(2, 3, 4, 1, Float(1)), (3, 5, 2, 2, 8), (4, 6, 6, 4, 16)] {
                let x = random(n, inputs, &g), w = random(outputs, inputs, &g)
                let a = random(rank, inputs, &g), b = random(outputs, rank, &g)
                let lora = LoRAWeight(wrapping: DenseWeight(Variable(Tensor(shape: [outputs, inputs],
                                                                             values: w.flatMap { $0 }))),
                                      layer: "layer", config: LoRAConfig(rank: rank, alpha: alpha), generator: &g)
                lora.a.value = Tensor(shape: [rank, inputs], values: a.flatMap { $0 })
                lora.b.value = Tensor(shape: [outputs, rank], values: b.flatMap { $0 })
                let y = lora.product(Variable(Tensor(shape: [n, inputs], values: x.flatMap { $0 })), bias: nil,
                                     .inference).value.scalars
                let expected = (0..<n).map { Array(y[($0 * outputs)..<(($0 + 1) * outputs)]) }
                let answer = try solution.loraForward(x: x, w: w, a: a, b: b, alpha: alpha)
                try require(close(answer, expected), "n \(n), in \(inputs), out \(outputs), r \(rank), α \(alpha): " +
                            "expected \(expected), got \(answer)")
            }
        },
        Exercise(id: "06.2", title: "merging the update into W",
                 hint: "ΔW = (α/r)·B·A is (out, r)·(r, in) = (out, in); add it to W") { solution in
            var g = SeededGenerator(seed: 62)
            for (inputs, outputs, rank, alpha) in [(3, 2, 1, Float(2)), (4, 5, 2, 16), (6, 3, 3, 3)] {
                let w = random(outputs, inputs, &g), a = random(rank, inputs, &g), b = random(outputs, rank, &g)
                let matrix = Variable(Tensor(shape: [outputs, inputs], values: w.flatMap { $0 }))
                let lora = LoRAWeight(wrapping: DenseWeight(matrix), layer: "layer",
                                      config: LoRAConfig(rank: rank, alpha: alpha), generator: &g)
                lora.a.value = Tensor(shape: [rank, inputs], values: a.flatMap { $0 })
                lora.b.value = Tensor(shape: [outputs, rank], values: b.flatMap { $0 })
                try lora.merge()
                let merged = matrix.value.scalars
                let expected = (0..<outputs).map { Array(merged[($0 * inputs)..<(($0 + 1) * inputs)]) }
                let answer = try solution.merge(w: w, a: a, b: b, alpha: alpha)
                try require(close(answer, expected), "in \(inputs), out \(outputs), r \(rank), α \(alpha): expected " +
                            "\(expected), got \(answer)")
            }
        },
        Exercise(id: "06.3", title: "counting LoRA's trainable numbers",
                 hint: "per layer r·(in + out): A is (r, in), B is (out, r); r is at most min(out, in)") { solution in
            let course = [(320, 192), (192, 192), (512, 192), (512, 192), (192, 512)]
            let cases: [([(Int, Int)], Int, Int)] = [
                (course, 8, 24_064),                                    // one course block at r = 8
                (Array(repeating: course, count: 4).flatMap { $0 }, 8, 96_256),
                ([(4, 3), (2, 6)], 3, 3 * (4 + 3) + 2 * (2 + 6)),
                ([(10, 10)], 1, 20),
            ]
            for (shapes, rank, expected) in cases {
                let answer = try solution.trainableCount(shapes: shapes.map { (outputs: $0.0, inputs: $0.1) },
                                                         rank: rank)
                try require(answer == expected, "shapes \(shapes), r = \(rank): expected \(expected), got \(answer)")
            }
        },
    ]
}
