// Chapter 02 reference solutions. Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter02Solution: Chapter02Exercises {
    public init() {}

    public func causalMask(length: Int) throws -> [[Float]] {
        (0..<length).map { i in (0..<length).map { j in j <= i ? 0 : -Float.infinity } }
    }

    public func softmaxBackward(y: [Float], dY: [Float]) throws -> [Float] {
        let dot = zip(y, dY).reduce(Float(0)) { $0 + $1.0 * $1.1 }      // Σⱼ ∂L/∂yⱼ·yⱼ
        return zip(y, dY).map { $0 * ($1 - dot) }
    }

    public func rotate(_ x: [Float], position: Int, base: Float) throws -> [Float] {
        var out = x
        let d = x.count
        for i in 0..<(d / 2) {
            let angle = Double(position) * pow(Double(base), -2 * Double(i) / Double(d))
            let (c, s) = (Float(cos(angle)), Float(sin(angle)))
            out[2 * i] = x[2 * i] * c - x[2 * i + 1] * s
            out[2 * i + 1] = x[2 * i] * s + x[2 * i + 1] * c
        }
        return out
    }
}
