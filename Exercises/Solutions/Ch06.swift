// Chapter 06 reference solutions. Try the exercises before reading on.

import ExerciseKit

public struct Chapter06Solution: Chapter06Exercises {
    public init() {}

    static func product(_ p: [[Float]], _ qTransposed: [[Float]]) -> [[Float]] {     // p·qᵀ
        p.map { row in qTransposed.map { column in zip(row, column).reduce(0) { $0 + $1.0 * $1.1 } } }
    }

    static func transpose(_ m: [[Float]]) -> [[Float]] {
        (0..<(m.first?.count ?? 0)).map { j in m.map { $0[j] } }
    }

    public func loraForward(x: [[Float]], w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]] {
        let scale = alpha / Float(a.count)
        let low = Self.product(Self.product(x, a), b)                  // (n, r), then (n, out)
        return zip(Self.product(x, w), low).map { zip($0, $1).map { $0 + scale * $1 } }
    }

    public func merge(w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]] {
        let scale = alpha / Float(a.count)
        let delta = Self.product(b, Self.transpose(a))                 // B·A: (out, in)
        return zip(w, delta).map { zip($0, $1).map { $0 + scale * $1 } }
    }

    public func trainableCount(shapes: [(outputs: Int, inputs: Int)], rank: Int) throws -> Int {
        shapes.reduce(0) { $0 + min(rank, min($1.outputs, $1.inputs)) * ($1.outputs + $1.inputs) }
    }
}
