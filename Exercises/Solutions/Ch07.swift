// Chapter 07 reference solutions. Try the exercises before reading on.

import ExerciseKit

public struct Chapter07Solution: Chapter07Exercises {
    public init() {}

    public func absmaxQuantize(_ row: [Float]) throws -> (levels: [Int], step: Float) {
        let d = (row.map(abs).max() ?? 0) / 127
        let inverse: Float = d == 0 ? 0 : 1 / d                      // the levels from d in Float32 …
        let levels = row.map { max(-127, min(127, Int(($0 * inverse).rounded()))) }
        return (levels, Float(Float16(d)))                           // … and d stored in fp16, as llama.cpp does
    }

    public func dequantize(levels: [Int], step: Float) throws -> [Float] {
        levels.map { Float($0) * step }
    }

    public func packNibbles(_ levels: [Int]) throws -> [UInt8] {
        let half = levels.count / 2
        return (0..<half).map { j in UInt8(levels[j] & 0x0F) | UInt8(levels[j + half] & 0x0F) << 4 }
    }

    public func fakeQuantize(_ block: [Float], grad: [Float]) throws -> (values: [Float], gradient: [Float]) {
        let extreme = block.reduce(Float(0)) { abs($1) > abs($0) ? $1 : $0 }
        let d = extreme / -8, stored = Float(Float16(d))             // levels from d, values from fp16(d)
        let inverse: Float = d == 0 ? 0 : 1 / d
        var values: [Float] = [], gradient: [Float] = []
        for (w, g) in zip(block, grad) {
            let q = min(15, max(0, Int((w * inverse + 8.5).rounded(.down))))
            values.append(Float(q - 8) * stored)
            // Inside the grid [−8, 7]·d (as stored) with half a step of slack; clipped weights get no gradient.
            let (low, high) = (min(-8.5 * stored, 7.5 * stored), max(-8.5 * stored, 7.5 * stored))
            gradient.append(w >= low && w <= high ? g : 0)
        }
        return (values, gradient)
    }
}
