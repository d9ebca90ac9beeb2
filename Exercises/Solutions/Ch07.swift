// Chapter 07 reference solutions. Try the exercises before reading on.

import ExerciseKit

public struct Chapter07Solution: Chapter07Exercises {
    public init() {}

    public func absmaxQuantize(_ row: [Float]) throws -> (levels: [Int], step: Float) {
        let largest = row.map(abs).max() ?? 0
        let step = Float(Float16(largest / 127))                    // stored as fp16, like the file's scales
        let inverse: Float = step == 0 ? 0 : 1 / step
        let levels = row.map { max(-127, min(127, Int(($0 * inverse).rounded()))) }
        return (levels, step)
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
        let d = Float(Float16(extreme / -8))                          // fp16, as Q4_0 stores it
        let inverse: Float = d == 0 ? 0 : 1 / d
        var values: [Float] = [], gradient: [Float] = []
        for (w, g) in zip(block, grad) {
            let raw = w * inverse + 8.5                              // the level before clamping, + ½
            let q = min(15, max(0, Int(raw.rounded(.down))))
            values.append(Float(q - 8) * d)
            gradient.append(raw >= 0 && raw <= 16 ? g : 0)           // inside [−8, 7]·d, half a step of slack
        }
        return (values, gradient)
    }
}
