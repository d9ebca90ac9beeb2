// Chapter 01 reference solutions. Try the exercises before reading on.

import ExerciseKit

public struct Chapter01Solution: Chapter01Exercises {
    public init() {}

    public func countPairs(_ ids: [Int]) throws -> [Pair: Int] {
        var counts: [Pair: Int] = [:]
        for (a, b) in zip(ids, ids.dropFirst()) { counts[Pair(a, b), default: 0] += 1 }
        return counts
    }

    public func merge(_ ids: [Int], pair: Pair, newId: Int) throws -> [Int] {
        var out: [Int] = []
        var i = 0
        while i < ids.count {
            if i + 1 < ids.count && ids[i] == pair.left && ids[i + 1] == pair.right {
                out.append(newId)
                i += 2
            } else {
                out.append(ids[i])
                i += 1
            }
        }
        return out
    }

    public func encodeByRank(_ piece: [UInt8], ranks: [[UInt8]: Int]) throws -> [Int] {
        var parts: [[UInt8]] = piece.map { [$0] }                     // start from single bytes
        while parts.count > 1 {
            var best: (rank: Int, index: Int)?
            for k in 0..<(parts.count - 1) {
                if let rank = ranks[parts[k] + parts[k + 1]], rank < (best?.rank ?? .max) { best = (rank, k) }
            }
            guard let (_, k) = best else { break }                     // no adjacent pair is a token
            parts[k] += parts[k + 1]
            parts.remove(at: k + 1)
        }
        return parts.map { ranks[$0] ?? -1 }  // every single byte has a rank in a byte-level vocabulary
    }
}
