// Introduced in Chapter 09. The retrieval store: one SQLite file (through GRDB) holding everything a query needs.
//
//   meta      key → value: format, corpus, chunking, fingerprints of the inputs, model, tokenizer; dimension
//   chunks    id, source, entry, start, end, text, terms (RetrievalTerms joined by spaces)
//   chunks_fts  an FTS5 index over `terms` (external content: the text lives once, in `chunks`)
//   vectors   chunk id → its unit vector, E float32 numbers little-endian in a BLOB
//   encoder   the centring mean and the learned projection, so a query is embedded the way the chunks were
//
// Building is idempotent: the inputs (chunks, chunking, model, tokenizer, encoder) are fingerprinted, and a store
// whose fingerprint matches is left as it is. A build writes a new file beside the old one inside one transaction
// and renames it over the old one at the end, so an interrupted build leaves the previous index usable.
// Opening checks the SQLite header, runs `PRAGMA quick_check` and reads the manifest: a truncated, corrupt or
// foreign file is one line naming it, never a trap.

import Foundation
import GRDB
import LLMCore

/// What the `meta` table says about a store.
public struct StoreManifest: Sendable, Equatable {
    public static let format = "llm-course retrieval index 1"
    public var corpus: String
    public var chunking: String
    public var chunks: Int
    /// Fingerprint of everything the build read: same inputs, same value.
    public var inputs: String
    /// The embedding model's and tokenizer's fingerprints (`Fingerprint`), empty for a sparse-only store.
    public var model: String
    public var tokenizer: String
    /// Where the model was read from when the store was built (a hint for `llm rag query`).
    public var modelPath: String
    /// The vectors' length E (0: no vectors).
    public var dimension: Int
    /// How the encoder was made (free text, part of the inputs: "InfoNCE 400 steps, seed 1337").
    public var recipe: String
}

public final class RetrievalStore {
    public let url: URL
    public let manifest: StoreManifest
    public let chunks: [Chunk]
    /// Each chunk's retrieval terms, as indexed.
    public let terms: [[String]]
    private let queue: DatabaseQueue

    /// What `build` did.
    public struct BuildReport: Sendable {
        /// False when the store on disk already had these inputs and was left untouched.
        public let rebuilt: Bool
        public let chunks: Int
        public let bytes: Int
        public let seconds: Double
    }

    // MARK: Opening

    /// Opens the store at `url` read-only, checking that it is a whole SQLite database holding an index.
    public static func open(_ url: URL) throws -> RetrievalStore {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw RetrievalError(description: "no index at \(path): build one with `llm rag index --out \(path)`")
        }
        let header = (try? FileHandle(forReadingFrom: url).read(upToCount: 16)) ?? Data()
        guard header == Data("SQLite format 3\u{0}".utf8) else {
            throw RetrievalError(description: "\(path) is not an SQLite database (its first 16 bytes are not "
                + "SQLite's header): rebuild it with `llm rag index`")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let (manifest, chunks, terms) = try queue.read { db -> (StoreManifest, [Chunk], [[String]]) in
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else {
                    throw RetrievalError(description: "\(path) is damaged (SQLite's quick_check: "
                        + "\(check.prefix(2).joined(separator: "; "))): rebuild it with `llm rag index`")
                }
                let manifest = try readManifest(db, path: path)
                var chunks: [Chunk] = [], terms: [[String]] = []
                for row in try Row.fetchAll(db, sql: "SELECT * FROM chunks ORDER BY id") {
                    chunks.append(Chunk(text: row["text"], source: row["source"], entry: row["entry"],
                                        start: row["start"], end: row["end"]))
                    let line: String = row["terms"]
                    terms.append(line.split(separator: " ").map(String.init))
                }
                guard chunks.count == manifest.chunks else {
                    throw RetrievalError(description: "\(path) lists \(manifest.chunks) chunks but holds "
                        + "\(chunks.count): rebuild it with `llm rag index`")
                }
                return (manifest, chunks, terms)
            }
            return RetrievalStore(url: url, manifest: manifest, chunks: chunks, terms: terms, queue: queue)
        } catch let error as RetrievalError {
            throw error
        } catch let error as DatabaseError {
            throw RetrievalError(description: "\(path) is not a usable index (SQLite: "
                + "\(error.message ?? error.resultCode.description)): rebuild it with `llm rag index`")
        }
    }

    private init(url: URL, manifest: StoreManifest, chunks: [Chunk], terms: [[String]], queue: DatabaseQueue) {
        (self.url, self.manifest, self.chunks, self.terms, self.queue) = (url, manifest, chunks, terms, queue)
    }

    private static func readManifest(_ db: Database, path: String) throws -> StoreManifest {
        let notOurs = RetrievalError(description: "\(path) is an SQLite database but not an index made by "
            + "`llm rag index` (no manifest of format “\(StoreManifest.format)”): rebuild it")
        guard try db.tableExists("meta") else { throw notOurs }
        var meta: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { meta[row["key"]] = row["value"] }
        guard meta["format"] == StoreManifest.format, let chunks = meta["chunks"].flatMap(Int.init),
              let dimension = meta["dimension"].flatMap(Int.init) else { throw notOurs }
        return StoreManifest(corpus: meta["corpus"] ?? "", chunking: meta["chunking"] ?? "", chunks: chunks,
                             inputs: meta["inputs"] ?? "", model: meta["model"] ?? "",
                             tokenizer: meta["tokenizer"] ?? "", modelPath: meta["model_path"] ?? "",
                             dimension: dimension, recipe: meta["recipe"] ?? "")
    }

    // MARK: Building

    /// The fingerprint of a build's inputs.
    public static func inputsFingerprint(chunks: [Chunk], chunking: String, encoder: TextEncoder?,
                                         recipe: String = "") -> String {
        var h = FNV1a()
        h.mix(StoreManifest.format)
        h.mix(chunking)
        h.mix(recipe)
        for chunk in chunks {
            h.mix(chunk.source)
            h.mix("\(chunk.entry) \(chunk.start) \(chunk.end)")
            h.mix(chunk.text)
        }
        if let encoder {
            h.mix(Fingerprint.model(encoder.model))
            h.mix(Fingerprint.tokenizer(encoder.tokenizer))
            encoder.mean?.withUnsafeBufferPointer { h.mix($0) }
            encoder.projection?.withUnsafeBufferPointer { h.mix($0) }
        }
        return h.hex
    }

    /// Builds (or keeps) the store at `url` for `chunks`; with `encoder`, also their vectors (from `pooled`, the
    /// chunks' mean-pooled features, when the caller has them already). `corpus` and `modelPath` are recorded for
    /// people to read; `recipe` says how the encoder was made. Returns whether anything was written.
    @discardableResult
    public static func build(at url: URL, chunks: [Chunk], chunking: String, corpus: String,
                             encoder: TextEncoder?, pooled: Tensor? = nil, modelPath: String = "",
                             recipe: String = "") throws -> BuildReport {
        let start = Date()
        let inputs = inputsFingerprint(chunks: chunks, chunking: chunking, encoder: encoder, recipe: recipe)
        if let existing = try? open(url), existing.manifest.inputs == inputs {
            return BuildReport(rebuilt: false, chunks: chunks.count, bytes: fileSize(url),
                               seconds: Date().timeIntervalSince(start))
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = AtomicFile.temporaryURL(for: url)
        try? FileManager.default.removeItem(at: temporary)
        if let pooled, pooled.rows != chunks.count {
            throw RetrievalError(description: "\(pooled.rows) pooled feature rows for \(chunks.count) chunks")
        }
        let vectors = encoder.map { encoder in
            pooled.map { encoder.vectors(fromPooled: $0) } ?? encoder.encode(chunks.map(\.text))
        }
        let manifest: [(String, String)] = [
            ("format", StoreManifest.format), ("corpus", corpus), ("chunking", chunking), ("chunks", "\(chunks.count)"),
            ("inputs", inputs), ("model", encoder.map { Fingerprint.model($0.model) } ?? ""),
            ("tokenizer", encoder.map { Fingerprint.tokenizer($0.tokenizer) } ?? ""), ("model_path", modelPath),
            ("dimension", "\(vectors?.columns ?? 0)"), ("recipe", recipe),
        ]
        do {
            let queue = try DatabaseQueue(path: temporary.path)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE chunks(id INTEGER PRIMARY KEY, source TEXT NOT NULL, entry INTEGER NOT NULL,
                                        start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
                                        terms TEXT NOT NULL);
                    CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, content='chunks', content_rowid='id',
                                                               tokenize='unicode61 remove_diacritics 0');
                    CREATE TABLE vectors(chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id), vector BLOB NOT NULL);
                    CREATE TABLE encoder(name TEXT PRIMARY KEY, rows INTEGER NOT NULL, columns INTEGER NOT NULL,
                                         data BLOB NOT NULL);
                    """)
                for (key, value) in manifest {
                    try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
                }
                for (id, chunk) in chunks.enumerated() {
                    let terms = RetrievalTerms.terms(chunk.text).joined(separator: " ")
                    try db.execute(sql: """
                        INSERT INTO chunks(id, source, entry, start, "end", text, terms) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [id, chunk.source, chunk.entry, chunk.start, chunk.end, chunk.text, terms])
                    try db.execute(sql: "INSERT INTO chunks_fts(rowid, terms) VALUES (?, ?)", arguments: [id, terms])
                }
                if let vectors {
                    let e = vectors.columns
                    try vectors.withUnsafeBufferPointer { v in
                        for id in 0..<chunks.count {
                            let blob = littleEndianData(UnsafeBufferPointer(rebasing: v[(id * e)..<((id + 1) * e)]))
                            try db.execute(sql: "INSERT INTO vectors(chunk_id, vector) VALUES (?, ?)",
                                           arguments: [id, blob])
                        }
                    }
                }
                if let encoder {
                    if let mean = encoder.mean {
                        try insertTensor(db, "mean", rows: 1, columns: mean.count, mean)
                    }
                    if let projection = encoder.projection {
                        try insertTensor(db, "projection", rows: projection.rows, columns: projection.columns,
                                         projection.scalars)
                    }
                }
            }
            try queue.close()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw RetrievalError(description: "could not write the index \(url.path): \(error)")
        }
        try AtomicFile.move(temporary, over: url)
        return BuildReport(rebuilt: true, chunks: chunks.count, bytes: fileSize(url),
                           seconds: Date().timeIntervalSince(start))
    }

    private static func insertTensor(_ db: Database, _ name: String, rows: Int, columns: Int, _ values: [Float])
        throws {
        let blob = values.withUnsafeBufferPointer { littleEndianData($0) }
        try db.execute(sql: "INSERT INTO encoder(name, rows, columns, data) VALUES (?, ?, ?, ?)",
                       arguments: [name, rows, columns, blob])
    }

    private static func littleEndianData(_ values: UnsafeBufferPointer<Float>) -> Data {
        var data = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    private static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0,
                                                                                             as: UInt32.self))) }
        }
    }

    private static func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0
    }

    // MARK: Reading

    /// Runs `body` on the database, turning SQLite's errors into one-line `RetrievalError`s naming the file.
    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw RetrievalError(description: "\(url.path) could not be read (SQLite: "
                + "\(error.message ?? error.resultCode.description)): rebuild it with `llm rag index`")
        }
    }

    private var noVectors: RetrievalError {
        RetrievalError(description: "\(url.path) holds no vectors (built without a model): rebuild it with "
            + "`llm rag index --checkpoint DIR` for dense or hybrid search")
    }

    /// Every chunk's vector, (chunks, E) row-major; throws when the store has none or they are the wrong size.
    public func vectors() throws -> [Float] {
        let e = manifest.dimension
        guard e > 0 else { throw noVectors }
        let blobs = try read { db in try Data.fetchAll(db, sql: "SELECT vector FROM vectors ORDER BY chunk_id") }
        guard blobs.count == chunks.count, blobs.allSatisfy({ $0.count == 4 * e }) else {
            throw RetrievalError(description: "\(url.path) has \(blobs.count) vectors for \(chunks.count) chunks or "
                + "vectors of the wrong size (want \(e) float32 each): rebuild it with `llm rag index`")
        }
        return blobs.flatMap(Self.floats)
    }

    /// The encoder the vectors were made with: `model` (which must be the one the store was built with, else an
    /// error naming both fingerprints) with the stored mean and projection.
    public func encoder(model: GPT, tokenizer: BPETokenizer) throws -> TextEncoder {
        let (m, t) = (Fingerprint.model(model), Fingerprint.tokenizer(tokenizer))
        guard manifest.dimension > 0 else { throw noVectors }
        guard m == manifest.model, t == manifest.tokenizer else {
            let built = manifest.modelPath.isEmpty ? "" : " (\(manifest.modelPath))"
            throw RetrievalError(description: "\(url.path) was built by model \(manifest.model), tokenizer "
                + "\(manifest.tokenizer)\(built); the model given is \(m), tokenizer \(t): query with the model that "
                + "built it, or rebuild the index with this one")
        }
        let rows = try read { db in try Row.fetchAll(db, sql: "SELECT name, rows, columns, data FROM encoder") }
        var mean: [Float]?, projection: Tensor?
        for row in rows {
            let name: String = row["name"], r: Int = row["rows"], c: Int = row["columns"]
            let values = Self.floats(row["data"])
            guard values.count == r * c else {
                throw RetrievalError(description: "\(url.path): the encoder's \(name) holds \(values.count) numbers, "
                    + "not \(r) × \(c): rebuild it with `llm rag index`")
            }
            if name == "mean" { mean = values }
            if name == "projection" { projection = Tensor(shape: [r, c], values: values) }
        }
        return TextEncoder(model: model, tokenizer: tokenizer, mean: mean, projection: projection)
    }

    /// A retriever over the stored chunks; with `encoder` (from `encoder(model:tokenizer:)`), dense and hybrid too.
    public func retriever(encoder: TextEncoder? = nil) throws -> Retriever {
        Retriever(chunks: chunks, terms: terms, vectors: encoder == nil ? [] : try vectors(), encoder: encoder,
                  dimension: manifest.dimension)
    }

    /// SQLite FTS5's own BM25 ranking of `query`'s terms (any of them: OR), best first, as positive scores.
    /// FTS5 fixes k1 = 1.2, b = 0.75 and floors a negative IDF at 1e-6 (our `BM25` takes k1 and b as
    /// parameters and floors at ε × the mean IDF, as rank_bm25 does).
    public func fts5(_ query: String, k: Int) throws -> [Ranking.Hit] {
        let terms = Array(Set(RetrievalTerms.terms(query))).sorted()
        guard !terms.isEmpty else { return [] }
        let match = terms.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            .joined(separator: " OR ")
        let rows = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ?
                ORDER BY score, rowid LIMIT ?
                """, arguments: [match, k])
        }
        return rows.map { Ranking.Hit(index: $0["rowid"], score: -($0["score"] as Double)) }
    }
}
