// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 09.
struct Chapter09Decoy: Chapter09Exercises {
    // Forgets the length normalisation (b = 0: every chunk treated as average length).
    func bm25Term(count f: Int, length: Int, averageLength: Double, chunks: Int, containing n: Int,
                  k1: Double, b: Double) throws -> Double {
        let idf = log((Double(chunks) - Double(n) + 0.5) / (Double(n) + 0.5))
        return idf * Double(f) * (k1 + 1) / (Double(f) + k1)
    }
    // Ranks by the raw dot product: long vectors win by their length.
    func cosineTop(query: [Float], vectors: [[Float]], k: Int) throws -> [Int] {
        let dots = vectors.map { zip(query, $0).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        return Array(dots.indices.sorted { dots[$0] != dots[$1] ? dots[$0] > dots[$1] : $0 < $1 }.prefix(k))
    }
    // Counts ranks from 0.
    func fuse(_ rankings: [[Int]], c: Double, k: Int) throws -> [(item: Int, score: Double)] {
        var scores: [Int: Double] = [:]
        for ranking in rankings {
            for (position, item) in ranking.enumerated() { scores[item, default: 0] += 1 / (c + Double(position)) }
        }
        return scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(k)
            .map { ($0.key, $0.value) }
    }
}
