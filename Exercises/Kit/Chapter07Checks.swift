// Chapter 07's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter07Exercises: Sendable {
    /// 07.1 — Symmetric absmax int8 of one row: d = max|w| / 127, the levels q = round(w / d) with d in Float32,
    /// clamped to ±127 (all zeros when the row is), and the step returned as the file stores it, fp16(d) — what
    /// llama.cpp's Q8_0 does. `dequantize` gives q·step.
    func absmaxQuantize(_ row: [Float]) throws -> (levels: [Int], step: Float)
    func dequantize(levels: [Int], step: Float) throws -> [Float]

    /// 07.2 — Packs a block of 32 int4 levels (0…15) into 16 bytes as GGUF's Q4_0 does: byte j holds level j
    /// in its low nibble and level j + 16 in its high nibble.
    func packNibbles(_ levels: [Int]) throws -> [UInt8]

    /// 07.3 — Fake quantization of one Q4_0 block of 32 weights, forward and backward: d = m / −8 with m the
    /// weight of largest magnitude (sign kept), q = min(15, ⌊w/d + 8.5⌋), ŵ = (q − 8)·fp16(d); the
    /// straight-through gradient ∂L/∂w = ∂L/∂ŵ where w was not clipped (within half a step of the grid
    /// [−8·d, 7·d], d as stored) and 0 where it was. Returns ŵ and ∂L/∂w for the upstream gradient `grad`.
    func fakeQuantize(_ block: [Float], grad: [Float]) throws -> (values: [Float], gradient: [Float])
}

public enum Chapter07Checks {
    public static let chapter = "07 — Quantization"

    static func row(_ count: Int, _ g: inout SeededGenerator, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in scale * Float(g.normal()) }
    }

    public static let all: [Exercise<any Chapter07Exercises>] = [
        Exercise(id: "07.1", title: "absmax quantize and dequantize",
                 hint: "d = max|w| / 127 so the largest weight lands on ±127; round, do not truncate") { solution in
            var g = SeededGenerator(seed: 71)
            var rows = [row(32, &g), row(64, &g, scale: 0.02), [0, 0, 0, 0], [1, -2, 0.5, -0.25]]
            rows[1][7] = 0.5                                                    // an outlier
            for values in rows {
                let matrix = try QuantizedMatrix(quantizing: Tensor(shape: [1, values.count], values: values),
                                                 scheme: QuantizationScheme(bits: 8, granularity: .channel))
                let expected = matrix.levels(row: 0), step = HalfFloat.float(fromHalf: matrix.scales[0])
                let answer = try solution.absmaxQuantize(values)
                try require(answer.levels == expected, "levels of \(values.prefix(6))…: expected " +
                            "\(expected.prefix(8))…, got \(answer.levels.prefix(8))…")
                try require(answer.step == step, "step: expected \(step), got \(answer.step) (the step as stored: " +
                            "Float(Float16(max|w| / 127)))")
                let back = try solution.dequantize(levels: expected, step: step)
                try requireClose(back, matrix.dequantized().scalars, tolerance: 1e-6, "dequantized row")
            }
        },
        Exercise(id: "07.2", title: "packing two nibbles per byte (Q4_0's order)",
                 hint: "byte j = level[j] | level[j + 16] << 4 — not level[2j] | level[2j + 1] << 4") { solution in
            var g = SeededGenerator(seed: 72)
            for _ in 0..<3 {
                let values = row(32, &g)
                let matrix = try QuantizedMatrix(quantizing: Tensor(shape: [1, 32], values: values), scheme: .q4_0)
                let answer = try solution.packNibbles(matrix.levels(row: 0))
                try require(answer == matrix.quants, "expected \(matrix.quants), got \(answer)")
            }
            let ramp = (0..<32).map { $0 % 16 }
            let packed = try solution.packNibbles(ramp)
            try require(packed.count == 16 && packed[1] == 0x11 && packed[15] == 0xFF,
                        "levels 0…15, 0…15 pack to bytes 0x00, 0x11, …, 0xFF; got \(packed)")
        },
        Exercise(id: "07.3", title: "fake quantization and its straight-through gradient",
                 hint: "ŵ from Q4_0's rule; pass ∂L/∂ŵ through unchanged except where the weight was clipped") {
            solution in
            var g = SeededGenerator(seed: 73)
            var blocks = [row(32, &g), row(32, &g, scale: 0.1)]
            blocks[0][3] = -4                                   // the extreme is negative: big positives clip
            blocks[0][9] = 3.9
            blocks[1][0] = 0.6                                  // positive extreme: nothing clips
            for block in blocks {
                let upstream = row(32, &g)
                let w = Variable.parameter(Tensor(shape: [1, 32], values: block), name: "w")
                let tape = Tape()
                let out = tape.fakeQuantize(w, scheme: .q4_0)
                tape.backward(out, seed: Tensor(shape: [1, 32], values: upstream))
                let answer = try solution.fakeQuantize(block, grad: upstream)
                try requireClose(answer.values, out.value.scalars, tolerance: 1e-5, "ŵ")
                try requireClose(answer.gradient, w.grad?.scalars ?? [], tolerance: 1e-6, "∂L/∂w")
            }
        },
    ]
}
