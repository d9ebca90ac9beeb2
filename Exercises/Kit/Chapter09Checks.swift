// Chapter 09's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter09Exercises: Sendable {
    /// 09.1 — One query term's BM25 contribution to one chunk:
    /// idf · f·(k1 + 1) / (f + k1·(1 − b + b·|d|/avgdl)), idf = ln((N − n + 0.5) / (n + 0.5));
    /// f the term's count in the chunk, |d| the chunk's length, n the number of chunks holding the term
    /// (fewer than half, so no floor is needed).
    func bm25Term(count f: Int, length: Int, averageLength: Double, chunks: Int, containing n: Int,
                  k1: Double, b: Double) throws -> Double

    /// 09.2 — The indices of the `k` vectors most similar to `query` by cosine, best first; ties to the lower
    /// index; a zero vector has similarity 0.
    func cosineTop(query: [Float], vectors: [[Float]], k: Int) throws -> [Int]

    /// 09.3 — Reciprocal-rank fusion: every item scores Σ 1 / (c + rank) over the rankings it appears in (rank
    /// from 1); the `k` best (item, score), best first, ties to the lower item.
    func fuse(_ rankings: [[Int]], c: Double, k: Int) throws -> [(item: Int, score: Double)]
}

public enum Chapter09Checks {
    public static let chapter = "09 — Retrieval-augmented generation"

    public static let all: [Exercise<any Chapter09Exercises>] = [
        Exercise(id: "09.1", title: "BM25 for one term",
                 hint: "idf = ln((N − n + 0.5)/(n + 0.5)); the length enters through b·|d|/avgdl") { solution in
            // Hand value: N = 10, n = 2 → idf = ln(8.5/2.5); f = 3, |d| = 12, avgdl = 8, k1 = 1.5, b = 0.75:
            // norm = 1.5·(0.25 + 0.75·1.5) = 2.0625; term = idf · 3·2.5 / (3 + 2.0625).
            let expected = log(8.5 / 2.5) * 7.5 / 5.0625
            let got = try solution.bm25Term(count: 3, length: 12, averageLength: 8, chunks: 10, containing: 2,
                                            k1: 1.5, b: 0.75)
            try require(abs(got - expected) < 1e-9, "bm25Term(f 3, |d| 12, avgdl 8, N 10, n 2): expected " +
                        "\(expected), got \(got)")
            // Against the core's BM25 on a small corpus, every (term, document) pair.
            let documents = [["a", "b", "b"], ["c", "d"], ["a", "e", "e", "e", "f"], ["g"], ["h", "i"], ["j"]]
            let core = BM25(documents: documents, k1: 1.2, b: 0.5)
            for (index, document) in documents.enumerated() {
                for term in Set(document) {
                    let n = documents.filter { $0.contains(term) }.count
                    let mine = try solution.bm25Term(count: document.filter { $0 == term }.count,
                                                     length: document.count, averageLength: core.averageLength,
                                                     chunks: documents.count, containing: n, k1: 1.2, b: 0.5)
                    let theirs = core.score([term], document: index)
                    try require(abs(mine - theirs) < 1e-9, "term \(term) in document \(index): expected \(theirs), " +
                                "got \(mine)")
                }
            }
        },
        Exercise(id: "09.2", title: "cosine top-k",
                 hint: "divide the dot product by both lengths; sort by similarity, ties by index") { solution in
            let vectors: [[Float]] = [[10, 0], [0, 1], [1, 1], [0, 0], [-1, 0]]
            let top = try solution.cosineTop(query: [1, 0.9], vectors: vectors, k: 3)
            try require(top == [2, 0, 1], "query (1, 0.9): cosines 0.997, 0.743, 0.669 → [2, 0, 1]; got \(top) " +
                        "(a long vector must not win by its length)")
            let tied = try solution.cosineTop(query: [0, 1], vectors: [[1, 0], [0, 2], [0, 1], [0, 0]], k: 3)
            try require(tied == [1, 2, 0], "ties go to the lower index, a zero vector scores 0; got \(tied)")
            var generator = SeededGenerator(seed: 91)
            for _ in 0..<20 {
                let rows = (0..<30).map { _ in
                    (0..<6).map { _ in generator.normal() * Float(1 + generator.integer(below: 5)) }
                }
                let query = (0..<6).map { _ in generator.normal() }
                let expected = try Ranking.cosineTop(query: query, vectors: rows.flatMap { $0 }, dimension: 6, k: 5)
                    .map(\.index)
                let got = try solution.cosineTop(query: query, vectors: rows, k: 5)
                try require(got == expected, "random vectors: expected \(expected), got \(got)")
            }
        },
        Exercise(id: "09.3", title: "reciprocal-rank fusion",
                 hint: "score = Σ 1/(c + rank), rank counted from 1, over every list the item is in") { solution in
            // Lists [7, 3, 9] and [3, 5]: 3 scores 1/62 + 1/61, 7 scores 1/61, 5 scores 1/62, 9 scores 1/63.
            let fused = try solution.fuse([[7, 3, 9], [3, 5]], c: 60, k: 4)
            try require(fused.map(\.item) == [3, 7, 5, 9], "expected items [3, 7, 5, 9], got \(fused.map(\.item))")
            let expected = [1.0 / 62 + 1.0 / 61, 1.0 / 61, 1.0 / 62, 1.0 / 63]
            for (hit, score) in zip(fused, expected) {
                try require(abs(hit.score - score) < 1e-12, "item \(hit.item): expected score \(score), got " +
                            "\(hit.score) (ranks count from 1)")
            }
            let tie = try solution.fuse([[1, 2], [2, 1]], c: 60, k: 2)
            try require(tie.map(\.item) == [1, 2], "equal scores: the lower item first; got \(tie.map(\.item))")
            var generator = SeededGenerator(seed: 93)
            for _ in 0..<20 {
                let lists = (0..<3).map { _ in (0..<8).map { _ in generator.integer(below: 15) } }
                    .map { list in   // each item once per list
                        list.enumerated().filter { !list[..<$0.offset].contains($0.element) }.map(\.element)
                    }
                let core = Ranking.reciprocalRankFusion(lists, c: 10, k: 6)
                let got = try solution.fuse(lists, c: 10, k: 6)
                try require(got.map(\.item) == core.map(\.index), "lists \(lists): expected \(core.map(\.index)), " +
                            "got \(got.map(\.item))")
            }
        },
    ]
}
