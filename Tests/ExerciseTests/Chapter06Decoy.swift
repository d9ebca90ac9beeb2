// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 06.
struct Chapter06Decoy: Chapter06Exercises {
    let right = Chapter06Solution()
    // Scales by α instead of α/r (right only when r = 1).
    func loraForward(x: [[Float]], w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]] {
        let rank = Float(a.count)
        return try right.loraForward(x: x, w: w, a: a, b: b, alpha: alpha * rank)
    }
    // Subtracts the update (the unmerge) instead of adding it.
    func merge(w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]] {
        try right.merge(w: w, a: a, b: b, alpha: -alpha)
    }
    // Forgets to cap the rank at min(out, in).
    func trainableCount(shapes: [(outputs: Int, inputs: Int)], rank: Int) throws -> Int {
        shapes.reduce(0) { $0 + rank * ($1.outputs + $1.inputs) }
    }
}
