// Chapter 09 reference solutions. Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter09Solution: Chapter09Exercises {
    public init() {}

    public func bm25Term(count f: Int, length: Int, averageLength: Double, chunks: Int, containing n: Int,
                         k1: Double, b: Double) throws -> Double {
        let idf = log((Double(chunks) - Double(n) + 0.5) / (Double(n) + 0.5))
        let norm = k1 * (1 - b + b * Double(length) / averageLength)
        return idf * Double(f) * (k1 + 1) / (Double(f) + norm)
    }

    public func cosineTop(query: [Float], vectors: [[Float]], k: Int) throws -> [Int] {
        func length(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let q = length(query)
        let cosines = vectors.map { v -> Double in
            let dot = zip(query, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let scale = q * length(v)
            return scale == 0 ? 0 : dot / scale
        }
        let order = cosines.indices.sorted { cosines[$0] != cosines[$1] ? cosines[$0] > cosines[$1] : $0 < $1 }
        return Array(order.prefix(k))
    }

    public func fuse(_ rankings: [[Int]], c: Double, k: Int) throws -> [(item: Int, score: Double)] {
        var scores: [Int: Double] = [:]
        for ranking in rankings {
            for (position, item) in ranking.enumerated() { scores[item, default: 0] += 1 / (c + Double(position + 1)) }
        }
        let order = scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return order.prefix(k).map { ($0.key, $0.value) }
    }
}
