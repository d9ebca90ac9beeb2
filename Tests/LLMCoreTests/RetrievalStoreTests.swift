// Chapter 09: terms, chunking, metrics, the contrastive loss, and the SQLite store (idempotent builds, damaged
// and foreign files, Chinese queries, FTS5's BM25 against ours).

import Foundation
import Testing
@testable import LLMCore
import LLMRetrieval

@Suite struct RetrievalTermsTests {
    @Test func englishWordsAreLowerCasedRunsOfLettersAndDigits() {
        #expect(RetrievalTerms.terms("Who said: “Don't panic”, in 1979?")
                == ["who", "said", "don", "t", "panic", "in", "1979"])
    }

    @Test func chineseRunsGiveCharacterBigramsAndALoneCharacterStaysItself() {
        #expect(RetrievalTerms.terms("《静夜思》的作者是谁？")
                == ["静夜", "夜思", "的作", "作者", "者是", "是谁"])
        #expect(RetrievalTerms.terms("李 白") == ["李", "白"])
        #expect(RetrievalTerms.terms("作者：李白 Li Bai") == ["作者", "李白", "li", "bai"])
    }
}

@Suite struct ChunkingTests {
    let corpus = Corpus(entries: [CorpusEntry(text: "One two three.", topic: "a", attribution: nil),
                                  CorpusEntry(text: "床前明月光，疑是地上霜。", topic: "tang300",
                                              attribution: nil)],
                        source: "test")

    @Test func schemesParseAndBadOnesNameTheValue() throws {
        #expect(try ChunkingScheme(parsing: "entry") == .entry)
        #expect(try ChunkingScheme(parsing: "tokens:64:48") == .tokens(size: 64, stride: 48))
        for bad in ["tokens:4:5", "tokens:0:0", "tokens:8", "words", "tokens:a:1"] {
            let error = #expect(throws: CourseError.self) { try ChunkingScheme(parsing: bad) }
            #expect(error?.description.contains(bad) == true)
        }
    }

    @Test func entryChunksAreWholeEntriesWithTheirSources() throws {
        let chunks = try Chunker.chunks(corpus, scheme: .entry)
        #expect(chunks.map(\.text) == corpus.entries.map(\.text))
        #expect(chunks[1] == Chunk(text: corpus.entries[1].text, source: "tang300", entry: 1, start: 0,
                                   end: corpus.entries[1].text.utf8.count))
    }

    @Test func tokenWindowsOverlapCoverTheTextAndNeverSplitACharacter() throws {
        let tokenizer = try BPETrainer.train(documents: ["one two three four five six seven eight nine ten"],
                                             vocabularySize: 270).tokenizer
        let text = "one two three four five six seven eight nine ten 床前明月光"
        let ranges = try Chunker.windows(text, size: 4, stride: 3, tokenizer: tokenizer)
        #expect(ranges.count >= 2)
        #expect(ranges.first?.lowerBound == 0)
        #expect(ranges.last?.upperBound == text.utf8.count)
        let bytes = Array(text.utf8)
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            #expect(b.lowerBound < a.upperBound)            // consecutive windows overlap (stride < size)
            #expect(b.lowerBound > a.lowerBound)
        }
        for range in ranges {
            #expect(String(validating: bytes[range], as: UTF8.self) != nil)   // whole characters only
        }
        let chunks = try Chunker.chunks(Corpus(entries: [CorpusEntry(text: text, topic: "t", attribution: nil)],
                                               source: "x"), scheme: .tokens(size: 4, stride: 3), tokenizer: tokenizer)
        let slices: [[UInt8]] = chunks.map { Array(bytes[$0.start..<$0.end]) }
        #expect(slices == chunks.map { Array($0.text.utf8) })
        #expect(throws: CourseError.self) { try Chunker.chunks(corpus, scheme: .tokens(size: 4, stride: 2)) }
    }
}

@Suite struct RetrievalMetricTests {
    // Ranking [7, 3, 9], gold {3}: first gold at rank 2 → RR 1/2; DCG = 1/log₂3, ideal 1/log₂2 = 1.
    @Test func handExample() {
        #expect(RetrievalMetrics.reciprocalRank([7, 3, 9], gold: [3]) == 0.5)
        #expect(abs(RetrievalMetrics.ndcg([7, 3, 9], gold: [3]) - 1 / log2(3.0)) < 1e-12)
        // Two gold, found at ranks 1 and 3: DCG = 1 + 1/2, ideal = 1 + 1/log₂3.
        #expect(abs(RetrievalMetrics.ndcg([3, 7, 9], gold: [3, 9]) - 1.5 / (1 + 1 / log2(3.0))) < 1e-12)
        let scores = RetrievalMetrics.score([[7, 3, 9], [1, 2, 3], [4]], gold: [[3], [5], [4]], ks: [1, 2])
        #expect(scores.recall(at: 1) == 1.0 / 3 && scores.recall(at: 2) == 2.0 / 3)
        #expect(abs(scores.mrr - (0.5 + 0 + 1) / 3) < 1e-12)
        #expect(scores.questions == 3)
    }

    // scikit-learn's ndcg_score on the same rankings (optional: skips, saying so, without scikit-learn).
    @Test func ndcgAgreesWithScikitLearn() throws {
        var g = SeededGenerator(seed: 31)
        let n = 30
        var rankings: [[Int]] = [], gold: [Set<Int>] = []
        for _ in 0..<25 {
            rankings.append(Array(Array(0..<n).shuffled(using: &g).prefix(12)))
            gold.append(Set((0..<(1 + g.integer(below: 4))).map { _ in g.integer(below: n) }))
        }
        // Ranked items score n − rank (all above the unranked items' 0): sklearn's order is our ranking.
        let scores = rankings.map { ranked in
            (0..<n).map { item in ranked.firstIndex(of: item).map { Double(n - $0) } ?? 0 }
        }
        let relevance = gold.map { g in (0..<n).map { g.contains($0) ? 1 : 0 } }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("ndcg-oracle-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: ["relevance": relevance, "scores": scores]).write(to: input)
        guard let data = try runPythonFixture("ndcg_oracle.py", [input.path], needs: "scikit-learn") else { return }
        let theirs = try #require(try JSONSerialization.jsonObject(with: data) as? [Double])
        #expect(theirs.count == rankings.count)
        for (i, reference) in theirs.enumerated() {
            #expect(abs(RetrievalMetrics.ndcg(rankings[i], gold: gold[i]) - reference) < 1e-9, "row \(i)")
        }
    }

    @Test func tokenF1() {
        #expect(AnswerF1.f1("Mark Twain", "mark twain.") == 1)
        #expect(abs(AnswerF1.f1("Samuel Mark Twain", "Mark Twain") - 0.8) < 1e-12)   // p 2/3, r 1 → 0.8
        #expect(AnswerF1.f1("Oscar Wilde", "Mark Twain") == 0)
        #expect(abs(AnswerF1.f1("李白白", "李白") - 0.8) < 1e-12)                        // by character
    }
}

@Suite struct ContrastiveTests {
    func random(_ shape: [Int], seed: UInt64) -> Variable {
        var g = SeededGenerator(seed: seed)
        return Variable(Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in g.normal() }),
                        requiresGrad: true)
    }

    @Test func normalizeRowsGradientCheck() {
        let x = random([4, 6], seed: 3)
        let report = GradientCheck.run([x], step: 1e-3) { tape, v in tape.normalizeRows(v[0]) }
        #expect(report.passed, "\(report)")
        let y = Tape(recording: false).normalizeRows(x).value.scalars
        for row in 0..<4 {
            #expect(abs(y[(row * 6)..<(row * 6 + 6)].reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        }
    }

    @Test func infoNCEGradientCheckAndHandValue() {
        let q = random([3, 5], seed: 4), d = random([3, 5], seed: 5)
        let report = GradientCheck.run([q, d], step: 1e-3) { tape, v in
            Contrastive.infoNCE(tape, queries: v[0], documents: v[1], temperature: 0.5)
        }
        #expect(report.passed, "\(report)")
        // By hand: identical unit rows that are orthogonal to each other → S = I / τ, loss = −log(e^{1/τ} /
        // (e^{1/τ} + 2)).
        let eye = Variable(Tensor(shape: [3, 3], values: [1, 0, 0, 0, 1, 0, 0, 0, 1]))
        let loss = Contrastive.infoNCE(Tape(recording: false), queries: eye, documents: eye, temperature: 0.5)
        #expect(abs(Double(loss.value.item) - -log(exp(2.0) / (exp(2.0) + 2))) < 1e-5)
    }

    @Test func trainingTheProjectionLowersTheLoss() {
        // Queries are their documents seen through a fixed random rotation plus noise: W can learn to undo it.
        var g = SeededGenerator(seed: 9)
        let (n, c) = (64, 8)
        let docs = (0..<(n * c)).map { _ in g.normal() }
        let mix = (0..<(c * c)).map { _ in g.normal() }
        var queries = [Float](repeating: 0, count: n * c)
        for i in 0..<n { for j in 0..<c { for k in 0..<c { queries[i * c + j] += docs[i * c + k] * mix[k * c + j] } } }
        let result = Contrastive.trainProjection(queries: Tensor(shape: [n, c], values: queries),
                                                 documents: Tensor(shape: [n, c], values: docs), steps: 150,
                                                 batchSize: 32, temperature: 0.1, learningRate: 1e-2, seed: 1)
        let first = result.losses.prefix(10).reduce(0, +) / 10, last = result.losses.suffix(10).reduce(0, +) / 10
        #expect(last < 0.5 * first, "loss \(first) → \(last)")
    }
}

@Suite struct RetrievalStoreTests {
    static let entries = [
        ("A cat sat on the warm mat.", "pets"), ("The dog chased a cat up a tree.", "pets"),
        ("Rain falls on the plain in Spain.", "weather"), ("A computer is a fast idiot.", "computers"),
        ("Bugs hide in every computer program.", "computers"),
        ("《静夜思》\n作者：李白\n床前明月光，疑是地上霜。", "tang300"),
        ("《春晓》\n作者：孟浩然\n春眠不觉晓，处处闻啼鸟。", "tang300"),
    ]
    let corpus = Corpus(entries: entries.map { CorpusEntry(text: $0.0, topic: $0.1, attribution: nil) },
                        source: "test")

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rag-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func encoder(seed: UInt64 = 1) throws -> TextEncoder {
        let tokenizer = try BPETrainer.train(documents: corpus.entries.map(\.text), vocabularySize: 300).tokenizer
        let model = try GPT(.llamaStyle(vocabularySize: tokenizer.vocabularySize, contextLength: 32, layers: 1,
                                        heads: 2, kvHeads: 1, embeddingSize: 8), seed: seed)
        return TextEncoder(model: model, tokenizer: tokenizer)
    }

    @Test func buildIsIdempotentAndChangedInputsRebuild() throws {
        let dir = try folder(), url = dir.appendingPathComponent("index.sqlite")
        let chunks = try Chunker.chunks(corpus, scheme: .entry), encoder = try encoder()
        let first = try RetrievalStore.build(at: url, chunks: chunks, chunking: "entry", corpus: "test",
                                             encoder: encoder)
        #expect(first.rebuilt)
        let bytes = try Data(contentsOf: url)
        let second = try RetrievalStore.build(at: url, chunks: chunks, chunking: "entry", corpus: "test",
                                              encoder: encoder)
        #expect(!second.rebuilt)
        #expect(try Data(contentsOf: url) == bytes)
        // Same inputs elsewhere: the same bytes (no clocks, no random ids in the file).
        let other = dir.appendingPathComponent("again.sqlite")
        try RetrievalStore.build(at: other, chunks: chunks, chunking: "entry", corpus: "test", encoder: encoder)
        #expect(try Data(contentsOf: other) == bytes)
        let store = try RetrievalStore.open(url)
        #expect(store.chunks == chunks)
        #expect(store.manifest.dimension == 8 && store.manifest.chunks == chunks.count)
        let stored = try store.vectors(), fresh = encoder.encode(chunks.map(\.text)).scalars
        #expect(stored == fresh)
        // One chunk edited: rebuilt.
        var edited = chunks
        edited[0] = Chunk(text: "A cat sat on the cold mat.", source: "pets", entry: 0, start: 0, end: 26)
        #expect(try RetrievalStore.build(at: url, chunks: edited, chunking: "entry", corpus: "test",
                                         encoder: encoder).rebuilt)
        #expect(try RetrievalStore.open(url).chunks[0].text.contains("cold"))
        #expect(!FileManager.default.fileExists(atPath: AtomicFile.temporaryURL(for: url).path))
    }

    @Test func aFailedBuildLeavesThePreviousIndexAsItWas() throws {
        let url = try folder().appendingPathComponent("index.sqlite")
        let chunks = try Chunker.chunks(corpus, scheme: .entry), encoder = try encoder()
        try RetrievalStore.build(at: url, chunks: chunks, chunking: "entry", corpus: "test", encoder: encoder)
        let before = try Data(contentsOf: url)
        // New inputs, but features for the wrong number of chunks: the build throws.
        let wrong = Tensor(shape: [2, 8], values: [Float](repeating: 1, count: 16))
        #expect(throws: RetrievalError.self) {
            try RetrievalStore.build(at: url, chunks: Array(chunks.prefix(3)), chunking: "entry", corpus: "test",
                                     encoder: encoder, pooled: wrong)
        }
        #expect(try Data(contentsOf: url) == before)
        #expect(try RetrievalStore.open(url).chunks == chunks)
        #expect(!FileManager.default.fileExists(atPath: AtomicFile.temporaryURL(for: url).path))
    }

    @Test func damagedFilesAreOneLineErrorsNamingTheFile() throws {
        let dir = try folder(), url = dir.appendingPathComponent("index.sqlite")
        try RetrievalStore.build(at: url, chunks: try Chunker.chunks(corpus, scheme: .entry), chunking: "entry",
                                 corpus: "test", encoder: try encoder())
        let whole = try Data(contentsOf: url)
        let cases: [(String, Data)] = [("truncated", whole.prefix(whole.count / 2)),
                                       ("garbage", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) })),
                                       ("header only", whole.prefix(100)),
                                       ("empty", Data())]
        for (name, data) in cases {
            let damaged = dir.appendingPathComponent("\(name).sqlite")
            try data.write(to: damaged)
            let error = #expect(throws: RetrievalError.self, "\(name)") {
                let store = try RetrievalStore.open(damaged)
                _ = try store.vectors()
            }
            #expect(error?.description.contains(damaged.path) == true, "\(name)")
            #expect(error?.description.contains("\n") == false, "\(name)")
        }
        // A middle page overwritten with zeros: SQLite's check or the read names the file.
        var corrupt = whole
        let page = 4096, middle = (corrupt.count / page / 2) * page
        corrupt.replaceSubrange(middle..<min(middle + page, corrupt.count), with: Data(count: page))
        let damaged = dir.appendingPathComponent("zeroed.sqlite")
        try corrupt.write(to: damaged)
        let error = #expect(throws: RetrievalError.self) {
            let store = try RetrievalStore.open(damaged)
            _ = try store.vectors()
            _ = try store.fts5("cat", k: 3)
        }
        #expect(error?.description.contains(damaged.path) == true)
        // No file at all.
        let missing = #expect(throws: RetrievalError.self) {
            try RetrievalStore.open(dir.appendingPathComponent("missing.sqlite"))
        }
        #expect(missing?.description.contains("llm rag index") == true)
    }

    @Test func anotherModelIsRefusedNamingBoth() throws {
        let url = try folder().appendingPathComponent("index.sqlite")
        let mine = try encoder(seed: 1), theirs = try encoder(seed: 2)
        try RetrievalStore.build(at: url, chunks: try Chunker.chunks(corpus, scheme: .entry), chunking: "entry",
                                 corpus: "test", encoder: mine, modelPath: "runs/base")
        let store = try RetrievalStore.open(url)
        _ = try store.encoder(model: mine.model, tokenizer: mine.tokenizer)
        let error = #expect(throws: RetrievalError.self) {
            try store.encoder(model: theirs.model, tokenizer: theirs.tokenizer)
        }
        #expect(error?.description.contains(Fingerprint.model(mine.model)) == true)
        #expect(error?.description.contains(Fingerprint.model(theirs.model)) == true)
        #expect(error?.description.contains("runs/base") == true)
    }

    @Test func chineseQueriesRetrieveChineseChunksInFTS5AndOurBM25() throws {
        let url = try folder().appendingPathComponent("index.sqlite")
        try RetrievalStore.build(at: url, chunks: try Chunker.chunks(corpus, scheme: .entry), chunking: "entry",
                                 corpus: "test", encoder: nil)
        let store = try RetrievalStore.open(url)
        #expect(try store.fts5("《静夜思》的作者是谁？", k: 3).first?.index == 5)
        #expect(try store.fts5("春晓是谁写的", k: 3).first?.index == 6)
        let bm25 = BM25(documents: store.terms)
        #expect(bm25.top(RetrievalTerms.terms("《静夜思》的作者是谁？"), k: 1).first?.index == 5)
        #expect(throws: RetrievalError.self) { try store.vectors() }   // built without a model
    }

    // FTS5's bm25() is Okapi BM25 with k1 = 1.2, b = 0.75 and IDF ln((N − n + 0.5)/(n + 0.5)): on terms that occur in
    // fewer than half the documents (no IDF floor on either side) it must equal ours with those constants.
    @Test func fts5BM25EqualsOursWithItsConstants() throws {
        let url = try folder().appendingPathComponent("index.sqlite")
        try RetrievalStore.build(at: url, chunks: try Chunker.chunks(corpus, scheme: .entry), chunking: "entry",
                                 corpus: "test", encoder: nil)
        let store = try RetrievalStore.open(url)
        let ours = BM25(documents: store.terms, k1: 1.2, b: 0.75)
        for query in ["cat computer", "fast idiot rain", "dog tree bugs", "李白 床前"] {
            let fts = try store.fts5(query, k: 10)
            #expect(!fts.isEmpty)
            for hit in fts {
                let mine = ours.score(RetrievalTerms.terms(query), document: hit.index)
                #expect(abs(mine - hit.score) < 1e-4 * max(1, abs(mine)),
                        "\(query) #\(hit.index): \(mine) vs \(hit.score)")
            }
            #expect(fts.map(\.index) == ours.top(RetrievalTerms.terms(query), k: 10).map(\.index))
        }
    }
}

@Suite struct RetrievalFastPathTests {
    @Test func bm25ThroughPostingsEqualsTheTermByTermDefinition() {
        var g = SeededGenerator(seed: 21)
        let vocabulary = (0..<30).map { "w\($0)" }
        let documents = (0..<80).map { _ in
            (0..<(1 + g.integer(below: 12))).map { _ in vocabulary[g.integer(below: 30)] }
        }
        let bm25 = BM25(documents: documents)
        for _ in 0..<20 {
            let query = (0..<4).map { _ in vocabulary[g.integer(below: 30)] } + ["absent"]
            let fast = bm25.scores(query)
            #expect(fast == documents.indices.map { bm25.score(query, document: $0) })
            let top = bm25.top(query, k: 10)
            let naive = Ranking.best(documents.indices.filter { !Set(documents[$0]).isDisjoint(with: query) }
                .map { Ranking.Hit(index: $0, score: fast[$0]) }, k: 10)
            #expect(top == naive)
        }
    }

    @Test func denseBatchEqualsCosineTopRowByRow() throws {
        var g = SeededGenerator(seed: 22)
        let (n, e) = (50, 6)
        let chunks = (0..<n).map { Chunk(text: "c\($0)", source: "s", entry: $0, start: 0, end: 2) }
        let tape = Tape(recording: false)
        let table = tape.normalizeRows(Variable(Tensor(shape: [n, e], values: (0..<(n * e)).map { _ in g.normal() })))
        let retriever = Retriever(chunks: chunks, vectors: table.value.scalars, dimension: e)
        let queries = tape.normalizeRows(Variable(Tensor(shape: [7, e], values: (0..<(7 * e)).map { _ in g.normal() })))
        let batch = try retriever.denseBatch(queries.value, k: 5)
        for row in 0..<7 {
            let one = try retriever.denseVector(Array(queries.value.scalars[(row * e)..<((row + 1) * e)]), k: 5)
            #expect(batch[row].map(\.index) == one.map(\.index))
            for (a, b) in zip(batch[row], one) { #expect(abs(a.score - b.score) < 1e-5) }
        }
        // A 4-number query against 6-number vectors (300 numbers, divisible by 4): refused, not misread.
        #expect(throws: RetrievalError.self) {
            try retriever.denseBatch(Tensor(shape: [1, 4], values: [1, 0, 0, 0]), k: 1)
        }
        #expect(throws: RetrievalError.self) { try retriever.denseVector([1, 0, 0, 0], k: 1) }
    }

    @Test func extractiveReadingChoosesAmongTheChunksNames() throws {
        #expect(RAGTasks.candidate(of: "A quip.\n\t\t-- Mark Twain, in a letter") == "Mark Twain")
        #expect(RAGTasks.candidate(of: "《静夜思》\n作者：李白\n床前明月光，疑是地上霜。") == "李白")
        #expect(RAGTasks.candidate(of: "No author here.") == nil)
        let tokenizer = try BPETrainer.train(documents: ["Who said it? Mark Twain Oscar Wilde"], vocabularySize: 300)
            .tokenizer
        let model = try GPT(.llamaStyle(vocabularySize: tokenizer.vocabularySize, contextLength: 96, layers: 1,
                                        heads: 2, kvHeads: 1, embeddingSize: 16), seed: 3)
        let template = try ChatTemplate(tokenizer: tokenizer)
        let chunks = ["One.\n-- Mark Twain", "Two.\n-- Oscar Wilde", "Three.\n-- Mark Twain", "No name."]
        let scores = ["Mark Twain", "Oscar Wilde"].map {
            RAGTasks.replyLogProbability(model, template, prompt: "Who said it?", answer: $0) ?? .nan
        }
        #expect(scores.allSatisfy { $0 < 0 && $0.isFinite })
        let chosen = RAGTasks.chooseAnswer(model, template, prompt: "Who said it?", chunks: chunks)
        #expect(chosen == (scores[0] >= scores[1] ? "Mark Twain" : "Oscar Wilde"))
        #expect(RAGTasks.chooseAnswer(model, template, prompt: "Who said it?", chunks: ["No name."]) == nil)
    }
}
