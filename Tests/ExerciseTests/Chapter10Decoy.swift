// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 10.
struct Chapter10Decoy: Chapter10Exercises {
    // Counts shared tokens as a set: a repeated token is shared once.
    func tokenF1(prediction: String, reference: String) throws -> Double {
        let p = Chapter10Solution.tokens(prediction), r = Chapter10Solution.tokens(reference)
        if p.isEmpty || r.isEmpty { return p.isEmpty && r.isEmpty ? 1 : 0 }
        let shared = Set(p).intersection(r).count
        guard shared > 0 else { return 0 }
        let precision = Double(shared) / Double(p.count), recall = Double(shared) / Double(r.count)
        return 2 * precision * recall / (precision + recall)
    }
    // Does not clip: every hypothesis n-gram found in some reference counts.
    func modifiedPrecision(hypothesis: [String], references: [[String]], n: Int) throws -> (matched: Int, total: Int) {
        let seen = Set(references.flatMap { Chapter10Solution.ngrams($0, n).keys })
        let counts = Chapter10Solution.ngrams(hypothesis, n)
        return (counts.filter { seen.contains($0.key) }.values.reduce(0, +), counts.values.reduce(0, +))
    }
    // Averages the non-empty bins' gaps without weighing them by their size.
    func expectedCalibrationError(confidences: [Double], correct: [Bool], bins: Int) throws -> Double {
        var gaps: [Double] = []
        for k in 0..<bins {
            let members = confidences.indices.filter {
                min(bins - 1, max(0, Int((confidences[$0] * Double(bins)).rounded(.up)) - 1)) == k
            }
            guard !members.isEmpty else { continue }
            let accuracy = Double(members.filter { correct[$0] }.count) / Double(members.count)
            let confidence = members.reduce(0) { $0 + confidences[$1] } / Double(members.count)
            gaps.append(abs(accuracy - confidence))
        }
        return gaps.isEmpty ? 0 : gaps.reduce(0, +) / Double(gaps.count)
    }
}
