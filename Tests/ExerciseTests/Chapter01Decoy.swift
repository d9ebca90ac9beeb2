// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes, one per exercise.
struct Chapter01Decoy: Chapter01Exercises {
    // Counts each distinct pair once per sequence (a set, not a count).
    func countPairs(_ ids: [Int]) throws -> [Pair: Int] {
        Dictionary(zip(ids, ids.dropFirst()).map { (Pair($0, $1), 1) }, uniquingKeysWith: { first, _ in first })
    }
    // Merges overlapping occurrences: [7, 7, 7] → [9, 9].
    func merge(_ ids: [Int], pair: Pair, newId: Int) throws -> [Int] {
        var out: [Int] = []
        for (i, id) in ids.enumerated() {
            if i + 1 < ids.count && id == pair.left && ids[i + 1] == pair.right { out.append(newId) }
            else if !(i > 0 && ids[i - 1] == pair.left && id == pair.right) { out.append(id) }
        }
        return out
    }
    // Merges the first mergeable pair from the left instead of the lowest rank.
    func encodeByRank(_ piece: [UInt8], ranks: [[UInt8]: Int]) throws -> [Int] {
        var parts: [[UInt8]] = piece.map { [$0] }
        var merged = true
        while merged {
            merged = false
            for k in 0..<max(parts.count - 1, 0) where ranks[parts[k] + parts[k + 1]] != nil {
                parts[k] += parts[k + 1]
                parts.remove(at: k + 1)
                merged = true
                break
            }
        }
        return parts.map { ranks[$0] ?? -1 }
    }
}
