// Introduced for Chapter 09 (retrieval-augmented generation). The three ranking functions a retriever is
// made of, free of any store: BM25 over tokens (sparse), exact cosine top-k over vectors (dense), and
// reciprocal-rank fusion of several rankings (hybrid). The SQLite store and the chapter build on these.

import Foundation

/// Okapi BM25 over pre-tokenized documents, with the IDF of `rank_bm25`'s `BM25Okapi`, so scores can be
/// checked against that package on the same tokens:
///
///     idf(t)      = ln((N − n(t) + 0.5) / (n(t) + 0.5))          (Robertson–Spärck Jones, no +1 inside)
///     score(q, d) = Σ_{t ∈ q} idf(t) · f(t,d)·(k1 + 1) / (f(t,d) + k1·(1 − b + b·|d|/avgdl))
///
/// A term in more than half the documents has a negative idf; like `BM25Okapi`, such an idf is replaced
/// by `epsilon × mean idf` (over all terms), so a very common word adds a little instead of subtracting.
/// Query terms repeat their contribution (a query "a a" counts `a` twice), as in `rank_bm25`.
public struct BM25: Sendable {
    public let k1: Double
    public let b: Double
    public let epsilon: Double
    public let documentCount: Int
    public let averageLength: Double
    /// idf per term, after the epsilon floor.
    public let idf: [String: Double]
    private let frequencies: [[String: Int]]
    private let lengths: [Int]

    public init(documents: [[String]], k1: Double = 1.5, b: Double = 0.75, epsilon: Double = 0.25) {
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        documentCount = documents.count
        lengths = documents.map(\.count)
        averageLength = documents.isEmpty ? 0 : Double(lengths.reduce(0, +)) / Double(documents.count)
        frequencies = documents.map { tokens in tokens.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
        var containing: [String: Int] = [:]
        for counts in frequencies { for term in counts.keys { containing[term, default: 0] += 1 } }
        let n = Double(documents.count)
        var raw: [String: Double] = [:]
        for (term, count) in containing { raw[term] = log((n - Double(count) + 0.5) / (Double(count) + 0.5)) }
        let floor = epsilon * (raw.isEmpty ? 0 : raw.values.reduce(0, +) / Double(raw.count))
        idf = raw.mapValues { $0 < 0 ? floor : $0 }
    }

    /// The score of every document for `query`, in document order.
    public func scores(_ query: [String]) -> [Double] {
        (0..<documentCount).map { score(query, document: $0) }
    }

    public func score(_ query: [String], document index: Int) -> Double {
        let counts = frequencies[index]
        let norm = k1 * (1 - b + b * Double(lengths[index]) / max(averageLength, .leastNonzeroMagnitude))
        var total = 0.0
        for term in query {
            guard let f = counts[term], let weight = idf[term] else { continue }
            total += weight * Double(f) * (k1 + 1) / (Double(f) + norm)
        }
        return total
    }

    /// The `k` best documents for `query`, best first; ties keep document order. Documents sharing no
    /// term with the query are left out.
    public func top(_ query: [String], k: Int) -> [Ranking.Hit] {
        let all = scores(query).enumerated().map { Ranking.Hit(index: $0.offset, score: $0.element) }
        let matching = Set(query)
        return Ranking.best(all.filter { hit in !matching.isDisjoint(with: frequencies[hit.index].keys) }, k: k)
    }
}

/// A retrieval input that does not fit, with what to do about it.
public struct RetrievalError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(description: String) { self.description = description }
}

public enum Ranking {
    /// A ranked item: its index in the collection and its score (higher is better).
    public struct Hit: Sendable, Equatable {
        public let index: Int
        public let score: Double
        public init(index: Int, score: Double) {
            self.index = index
            self.score = score
        }
    }

    /// The `k` highest-scoring hits, best first, ties in index order (a stable, deterministic order).
    public static func best(_ hits: [Hit], k: Int) -> [Hit] {
        Array(hits.sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }.prefix(max(0, k)))
    }

    /// Exact dense search: the `k` rows of `vectors` (each `dimension` floats, row-major) with the highest
    /// cosine similarity to `query`. A zero vector has similarity 0 to everything. Throws when the sizes
    /// disagree (a query embedded by one model against vectors stored by another).
    public static func cosineTop(query: [Float], vectors: [Float], dimension: Int, k: Int) throws -> [Hit] {
        guard dimension > 0, query.count == dimension, vectors.count % dimension == 0 else {
            throw RetrievalError(description: "the query has \(query.count) numbers and the stored vectors "
                + "\(dimension) each (\(vectors.count) in all): embed the query with the model that built the index")
        }
        let queryNorm = norm(query[...])
        let hits = (0..<vectors.count / dimension).map { row -> Hit in
            let vector = vectors[row * dimension..<(row + 1) * dimension]
            var dot = 0.0
            for (a, b) in zip(query, vector) { dot += Double(a) * Double(b) }
            let scale = queryNorm * norm(vector)
            return Hit(index: row, score: scale == 0 ? 0 : dot / scale)
        }
        return best(hits, k: k)
    }

    private static func norm(_ values: ArraySlice<Float>) -> Double {
        values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    /// Reciprocal-rank fusion (Cormack, Clarke & Büttcher 2009): each item scores Σ 1 / (c + rank) over
    /// the rankings it appears in, rank counted from 1; `c` = 60 as in the paper. Only ranks matter, so
    /// BM25 scores and cosines need no common scale.
    public static func reciprocalRankFusion(_ rankings: [[Int]], c: Double = 60, k: Int) -> [Hit] {
        var fused: [Int: Double] = [:]
        for ranking in rankings {
            for (position, index) in ranking.enumerated() { fused[index, default: 0] += 1 / (c + Double(position + 1)) }
        }
        return best(fused.map { Hit(index: $0.key, score: $0.value) }, k: k)
    }
}
