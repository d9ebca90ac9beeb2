// Chapter 09 exercises — your file. Steps and hints: Exercises/Ch09.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter09: Chapter09Exercises {
    public init() {}

    /// 09.1 — One query term's BM25 contribution to one chunk.
    public func bm25Term(count f: Int, length: Int, averageLength: Double, chunks: Int, containing n: Int,
                         k1: Double, b: Double) throws -> Double {
        throw ExerciseUnsolved("idf times the saturated, length-normalised count (Exercises/Ch09.md, step 1)")
    }

    /// 09.2 — The k most cosine-similar vectors.
    public func cosineTop(query: [Float], vectors: [[Float]], k: Int) throws -> [Int] {
        throw ExerciseUnsolved("dot product over both lengths, sort, ties by index (Exercises/Ch09.md, step 2)")
    }

    /// 09.3 — Reciprocal-rank fusion of several rankings.
    public func fuse(_ rankings: [[Int]], c: Double, k: Int) throws -> [(item: Int, score: Double)] {
        throw ExerciseUnsolved("Σ 1/(c + rank) per item, best k (Exercises/Ch09.md, step 3)")
    }
}
