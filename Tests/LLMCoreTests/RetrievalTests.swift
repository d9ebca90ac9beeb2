// Chapter 09's ranking functions: BM25 against a derivation by hand and against rank_bm25 (optional),
// exact cosine top-k against a brute-force sort, reciprocal-rank fusion on a hand example.

import Foundation
import Testing
@testable import LLMCore

@Suite("Retrieval ranking")
struct RetrievalRankingTests {
    /// Three documents: d0 = "a b", d1 = "a c c", d2 = "d". N = 3, lengths 2, 3, 1, avgdl = 2.
    static let documents = [["a", "b"], ["a", "c", "c"], ["d"]]

    @Test("BM25 equals the scores derived by hand on three documents")
    func bm25ByHand() {
        let bm25 = BM25(documents: Self.documents, k1: 1.5, b: 0.75, epsilon: 0.25)
        // idf: b, c and d are each in 1 document: ln((3 − 1 + 0.5) / (1 + 0.5)) = ln(5/3) = L.
        // a is in 2: ln((3 − 2 + 0.5) / (2 + 0.5)) = ln(3/5) = −L < 0, so it takes the floor:
        // epsilon × mean idf = 0.25 × (−L + 3L) / 4 = L/8.
        let l = log(5.0 / 3.0)
        #expect(abs(bm25.idf["b"]! - l) < 1e-12)
        #expect(abs(bm25.idf["a"]! - l / 8) < 1e-12)
        // Query "a c". Length norm K = k1·(1 − b + b·|d|/avgdl):
        //   d0: K = 1.5·(0.25 + 0.75·2/2) = 1.5;   a (f=1): (L/8)·1·2.5/(1 + 1.5) = L/8; no c.
        //   d1: K = 1.5·(0.25 + 0.75·3/2) = 2.0625; a (f=1): (L/8)·2.5/3.0625; c (f=2): L·2·2.5/4.0625.
        //   d2: shares no term: 0.
        let expected = [l / 8, l / 8 * 2.5 / 3.0625 + l * 5 / 4.0625, 0]
        let scores = bm25.scores(["a", "c"])
        for (ours, hand) in zip(scores, expected) { #expect(abs(ours - hand) < 1e-12, "\(scores) vs \(expected)") }
        // top() ranks d1 over d0 and leaves d2 (no shared term) out.
        #expect(bm25.top(["a", "c"], k: 10).map(\.index) == [1, 0])
        // A repeated query term counts twice, as in rank_bm25.
        #expect(abs(bm25.score(["c", "c"], document: 1) - 2 * l * 5 / 4.0625) < 1e-12)
        // An unknown term contributes nothing.
        #expect(bm25.scores(["zzz"]) == [0, 0, 0])
    }

    @Test("BM25 agrees with rank_bm25's BM25Okapi on seeded random documents")
    func bm25Oracle() throws {
        var g = SeededGenerator(seed: 9)
        let words = (0..<12).map { "w\($0)" } + ["的", "作者"]
        func text(upTo length: Int) -> [String] {
            (0..<(1 + g.integer(below: length))).map { _ in words[g.integer(below: words.count)] }
        }
        let documents = (0..<20).map { _ in text(upTo: 15) }
        let queries = (0..<8).map { _ in text(upTo: 4) }
        let (k1, b, epsilon) = (1.2, 0.6, 0.25)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("bm25-oracle-\(getpid()).json")
        let payload: [String: Any] = ["documents": documents, "queries": queries, "k1": k1, "b": b, "epsilon": epsilon]
        try JSONSerialization.data(withJSONObject: payload).write(to: input)
        guard let data = try runPythonFixture("bm25_oracle.py", [input.path], needs: "rank_bm25") else { return }
        let theirs = try #require(try JSONSerialization.jsonObject(with: data) as? [[Double]])
        let bm25 = BM25(documents: documents, k1: k1, b: b, epsilon: epsilon)
        #expect(theirs.count == queries.count)
        for (query, expected) in zip(queries, theirs) {
            for (ours, reference) in zip(bm25.scores(query), expected) {
                #expect(abs(ours - reference) <= 1e-9 * max(1, abs(reference)),
                        "query \(query): \(ours) vs \(reference)")
            }
        }
    }

    @Test("cosine top-k equals a brute-force sort of the cosines")
    func cosineTopK() throws {
        var g = SeededGenerator(seed: 4)
        let (rows, dimension) = (50, 7)
        var vectors = (0..<rows * dimension).map { _ in Float(g.normal()) }
        for c in 0..<dimension { vectors[13 * dimension + c] = 0 }                  // a zero vector scores 0
        let query = (0..<dimension).map { _ in Float(g.normal()) }
        func cosine(_ row: Int) -> Double {
            let v = (0..<dimension).map { Double(vectors[row * dimension + $0]) }, q = query.map(Double.init)
            let dot = zip(q, v).map(*).reduce(0, +)
            let norms = q.map { $0 * $0 }.reduce(0, +).squareRoot() * v.map { $0 * $0 }.reduce(0, +).squareRoot()
            return norms == 0 ? 0 : dot / norms
        }
        let brute = (0..<rows).sorted { cosine($0) > cosine($1) }
        for k in [1, 5, 50, 80] {
            let hits = try Ranking.cosineTop(query: query, vectors: vectors, dimension: dimension, k: k)
            #expect(hits.map(\.index) == Array(brute.prefix(k)))
            for hit in hits { #expect(abs(hit.score - cosine(hit.index)) < 1e-12) }
        }
        #expect(try Ranking.cosineTop(query: query, vectors: vectors, dimension: dimension, k: 50)
            .first { $0.index == 13 }?.score == 0)
        // A query of the wrong size is an error that names both sizes.
        #expect(throws: RetrievalError.self) {
            try Ranking.cosineTop(query: [1, 2], vectors: vectors, dimension: dimension, k: 1)
        }
    }

    @Test("reciprocal-rank fusion on a hand example")
    func fusion() {
        // Sparse ranks 7, 3, 5; dense ranks 3, 9. With c = 60:
        //   3: 1/62 + 1/61 = 0.032522…   7: 1/61 = 0.016393…   9: 1/62 = 0.016129…   5: 1/63 = 0.015873…
        let fused = Ranking.reciprocalRankFusion([[7, 3, 5], [3, 9]], k: 10)
        #expect(fused.map(\.index) == [3, 7, 9, 5])
        #expect(abs(fused[0].score - (1.0 / 62 + 1.0 / 61)) < 1e-15)
        #expect(abs(fused[3].score - 1.0 / 63) < 1e-15)
        #expect(Ranking.reciprocalRankFusion([[7, 3, 5], [3, 9]], k: 2).map(\.index) == [3, 7])
        // Ties break by index, so the order is deterministic: 4 and 2 are both first once.
        #expect(Ranking.reciprocalRankFusion([[4], [2]], k: 2).map(\.index) == [2, 4])
    }
}
