// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 07.
struct Chapter07Decoy: Chapter07Exercises {
    let right = Chapter07Solution()
    // Truncates instead of rounding (every level biased toward zero).
    func absmaxQuantize(_ row: [Float]) throws -> (levels: [Int], step: Float) {
        let step = (row.map(abs).max() ?? 0) / 127
        return (row.map { step == 0 ? 0 : Int($0 / step) }, step)
    }
    func dequantize(levels: [Int], step: Float) throws -> [Float] { try right.dequantize(levels: levels, step: step) }
    // Neighbours share a byte — a natural packing, but not GGUF's.
    func packNibbles(_ levels: [Int]) throws -> [UInt8] {
        stride(from: 0, to: levels.count, by: 2).map { UInt8(levels[$0] & 0x0F) | UInt8(levels[$0 + 1] & 0x0F) << 4 }
    }
    // Passes the gradient everywhere, clipped weights included.
    func fakeQuantize(_ block: [Float], grad: [Float]) throws -> (values: [Float], gradient: [Float]) {
        (try right.fakeQuantize(block, grad: grad).values, grad)
    }
}
