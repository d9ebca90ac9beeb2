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
    /// The inverted index: for each term, the documents holding it (ascending) and how often.
    private let postings: [String: [(document: Int, count: Int)]]

    public init(documents: [[String]], k1: Double = 1.5, b: Double = 0.75, epsilon: Double = 0.25) {
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        documentCount = documents.count
        lengths = documents.map(\.count)
        averageLength = documents.isEmpty ? 0 : Double(lengths.reduce(0, +)) / Double(documents.count)
        frequencies = documents.map { tokens in tokens.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
        var lists: [String: [(document: Int, count: Int)]] = [:]
        for (document, counts) in frequencies.enumerated() {
            for (term, count) in counts { lists[term, default: []].append((document, count)) }
        }
        postings = lists
        let containing = lists.mapValues(\.count)
        let n = Double(documents.count)
        var raw: [String: Double] = [:]
        for (term, count) in containing { raw[term] = log((n - Double(count) + 0.5) / (Double(count) + 0.5)) }
        let floor = epsilon * (raw.isEmpty ? 0 : raw.values.reduce(0, +) / Double(raw.count))
        idf = raw.mapValues { $0 < 0 ? floor : $0 }
    }

    /// The score of every document for `query`, in document order: only the documents in the query terms'
    /// postings are touched, each term added in query order (the same sum as `score(_:document:)`).
    public func scores(_ query: [String]) -> [Double] {
        var totals = [Double](repeating: 0, count: documentCount)
        for term in query {
            guard let list = postings[term], let weight = idf[term] else { continue }
            for (document, f) in list {
                totals[document] += weight * Double(f) * (k1 + 1) / (Double(f) + norm(document))
            }
        }
        return totals
    }

    private func norm(_ document: Int) -> Double {
        k1 * (1 - b + b * Double(lengths[document]) / max(averageLength, .leastNonzeroMagnitude))
    }

    /// The score of one document, term by term (the definition `scores` is checked against).
    public func score(_ query: [String], document index: Int) -> Double {
        let counts = frequencies[index], norm = norm(index)
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
        let all = scores(query)
        var touched = Set<Int>()
        for term in query { for (document, _) in postings[term] ?? [] { touched.insert(document) } }
        return Ranking.best(touched.map { Ranking.Hit(index: $0, score: all[$0]) }, k: k)
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

/// The three ways the course retrieves: BM25 over terms, cosine over vectors, and their reciprocal-rank fusion.
public enum RetrievalMethod: String, Sendable, CaseIterable, Codable {
    case bm25, dense, hybrid
}

/// Search over one collection of chunks: BM25 on their terms and, when vectors and an encoder are given,
/// exact cosine search and hybrid fusion.
public struct Retriever {
    public let chunks: [Chunk]
    public let bm25: BM25
    /// (chunks, E) unit vectors, row-major, or empty.
    public let vectors: [Float]
    /// E, the length of each vector (0 without vectors).
    public let dimension: Int
    public let encoder: TextEncoder?
    /// How deep each list goes before hybrid fuses them.
    public var fusionDepth = 100

    /// `dimension`: E (default: the encoder's, or the vectors' count divided by the chunks').
    public init(chunks: [Chunk], terms: [[String]]? = nil, vectors: [Float] = [], encoder: TextEncoder? = nil,
                dimension: Int? = nil, k1: Double = 1.5, b: Double = 0.75) {
        self.init(chunks: chunks, bm25: BM25(documents: terms ?? chunks.map { RetrievalTerms.terms($0.text) },
                                            k1: k1, b: b),
                  vectors: vectors, encoder: encoder, dimension: dimension)
    }

    /// A retriever sharing an existing BM25 index (built over the same chunks).
    public init(chunks: [Chunk], bm25: BM25, vectors: [Float] = [], encoder: TextEncoder? = nil,
                dimension: Int? = nil) {
        (self.chunks, self.bm25, self.vectors, self.encoder) = (chunks, bm25, vectors, encoder)
        self.dimension = vectors.isEmpty ? 0 : dimension ?? encoder?.dimension ?? vectors.count / max(chunks.count, 1)
    }

    /// The `k` best chunks for `query` by `method`, best first. Dense and hybrid need vectors and an encoder.
    public func search(_ query: String, method: RetrievalMethod, k: Int) throws -> [Ranking.Hit] {
        switch method {
        case .bm25:
            return bm25.top(RetrievalTerms.terms(query), k: k)
        case .dense:
            return try dense(query, k: k)
        case .hybrid:
            let sparse = bm25.top(RetrievalTerms.terms(query), k: fusionDepth).map(\.index)
            let dense = try dense(query, k: fusionDepth).map(\.index)
            return Ranking.reciprocalRankFusion([sparse, dense], k: k)
        }
    }

    /// Cosine top-k of the query's vector.
    public func dense(_ query: String, k: Int) throws -> [Ranking.Hit] {
        guard let encoder, !vectors.isEmpty else {
            throw RetrievalError(description: "dense and hybrid search need the chunks' vectors and the model that "
                + "made them: build the index with a model (llm rag index --checkpoint DIR) or use --method bm25")
        }
        return try denseVector(encoder.encode([query]).scalars, k: k)
    }

    /// Cosine top-k for many query vectors at once, (m, E) unit rows against the unit chunk vectors: one matrix
    /// product Q Vᵀ (the cosines, since every row has length 1), then the best `k` of each row. Equals
    /// `denseVector` row by row (tested).
    public func denseBatch(_ queries: Tensor, k: Int) throws -> [[Ranking.Hit]] {
        let e = queries.columns
        guard e > 0, e == dimension, vectors.count == dimension * chunks.count else {
            throw RetrievalError(description: "the queries have \(e) numbers each and the stored vectors "
                + "\(dimension) (\(vectors.count) in all for \(chunks.count) chunks): embed the queries with the model "
                + "that built the index")
        }
        let n = vectors.count / e
        let table = Variable(Tensor(shape: [n, e], values: vectors))
        let cosines = Tape(recording: false).matmul(Variable(queries), table, transposeB: true).value.scalars
        return (0..<queries.rows).map { row in
            Ranking.best((0..<n).map { Ranking.Hit(index: $0, score: Double(cosines[row * n + $0])) }, k: k)
        }
    }

    /// Cosine top-k of a query vector already computed.
    public func denseVector(_ query: [Float], k: Int) throws -> [Ranking.Hit] {
        try Ranking.cosineTop(query: query, vectors: vectors, dimension: dimension, k: k)
    }
}
