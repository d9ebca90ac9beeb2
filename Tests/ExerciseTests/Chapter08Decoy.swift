// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 08.
struct Chapter08Decoy: Chapter08Exercises {
    // Stops at exactly the token that crosses p and drops its ties.
    func topP(_ probabilities: [Float], p: Float) throws -> [Int] {
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        var mass: Float = 0, kept: [Int] = []
        for i in order where mass < p {
            mass += probabilities[i]
            kept.append(i)
        }
        return kept.sorted()
    }
    // Redraws from p itself instead of the residual: biased towards what the drafter already proposed.
    func acceptance(p: [Float], q: [Float], draft: Int) throws -> (accept: Float, residual: [Float]) {
        (q[draft] > 0 ? min(1, p[draft] / q[draft]) : 1, p)
    }
    // Ranks by the new token's log-probability alone, forgetting the beam's score.
    func beamStep(beamScores: [Double], logProbabilities: [[Double]], width: Int) throws -> [(beam: Int, token: Int)] {
        var candidates: [(beam: Int, token: Int, total: Double)] = []
        for (beam, row) in logProbabilities.enumerated() {
            for (token, logP) in row.enumerated() { candidates.append((beam, token, logP)) }
        }
        candidates.sort { $0.total != $1.total ? $0.total > $1.total : ($0.beam, $0.token) < ($1.beam, $1.token) }
        return candidates.prefix(width).map { ($0.beam, $0.token) }
    }
}
