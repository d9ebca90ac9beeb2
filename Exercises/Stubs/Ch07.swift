// Chapter 07 exercises — your file. Steps and hints: Exercises/Ch07.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter07: Chapter07Exercises {
    public init() {}

    /// 07.1 — d = max|w| / 127, q = round(w / d).
    public func absmaxQuantize(_ row: [Float]) throws -> (levels: [Int], step: Float) {
        throw ExerciseUnsolved("the step from the largest magnitude, then round (Exercises/Ch07.md, step 1)")
    }

    /// 07.1 — w ≈ q·d.
    public func dequantize(levels: [Int], step: Float) throws -> [Float] {
        throw ExerciseUnsolved("multiply back (Exercises/Ch07.md, step 1)")
    }

    /// 07.2 — Q4_0's nibble order: byte j = level j (low) and level j + 16 (high).
    public func packNibbles(_ levels: [Int]) throws -> [UInt8] {
        throw ExerciseUnsolved("two levels per byte (Exercises/Ch07.md, step 2)")
    }

    /// 07.3 — ŵ and the straight-through gradient for one Q4_0 block.
    public func fakeQuantize(_ block: [Float], grad: [Float]) throws -> (values: [Float], gradient: [Float]) {
        throw ExerciseUnsolved("round onto the grid forward, pass the gradient straight through (Exercises/Ch07.md, " +
                               "step 3)")
    }
}
