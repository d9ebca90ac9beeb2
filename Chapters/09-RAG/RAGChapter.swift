//: # Chapter 09 — Retrieval-augmented generation
//:
//: What we build: a library the model can look things up in. The corpus is cut into chunks; a sparse retriever
//: (BM25, counting shared words) and a dense one (vectors from our own model, then tuned with a contrastive loss)
//: find the chunks that answer a question; reciprocal-rank fusion combines them; everything lives in one SQLite
//: file. Then the Chapter 05 chat model reads what was found and answers. The lesson in one line: a tiny model
//: cannot remember who said what, but it can copy an answer it is shown.
//:
//: What we leave out: approximate nearest-neighbour indexes (HNSW, IVF — exact search over 18 k vectors takes
//: milliseconds), re-rankers (a cross-encoder over the top 20), query rewriting, and chunking by document
//: structure (headings, sentences) — a fortune is already one unit of meaning.
//:
//: Run it: `swift run -c release ch09` (about three minutes on 2 cores; `--quick` under 30 seconds). Needs the
//: Chapter 01 tokenizer, the Chapter 04 base model and the Chapter 05 chat model; with `--quick` it trains tiny
//: stand-ins when they are missing. Writes `runs/course/rag/index.sqlite` (the store `llm rag` reads),
//: `rag/reader/` (the chat model tuned to answer from context) and `rag/report.json`; plots go to
//: `runs/course/09-rag/`: `contrastive-loss.png`, `recall-at-k.png`, `answers.png`.
//:
//: Legend: N chunks, k results returned, C model width, τ temperature, q̂ d̂ unit vectors of a question and a chunk.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot
import LLMRetrieval

@main
struct RAGChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch09",
        abstract: "Chapter 09 — Retrieval-augmented generation: BM25, dense and hybrid retrieval on SQLite.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the pretraining corpus (English fortunes + poems)
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The base model, the encoder's trunk (default: <run-dir>/pretrain/checkpoint, from Chapter 04).")
    var base: String?

    @Option(help: "The chat model that reads (default: <run-dir>/sft/checkpoint, written by Chapter 05).")
    var checkpoint: String?

    @Option(help: "Fine-tuning steps of the reader (9.6; default 200, 8 with --quick).")
    var readerSteps: Int?

    @Option(help: "Peak learning rate of the reader's fine-tuning (9.6).")
    var readerLearningRate: Float = 2e-3

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        if let readerSteps, readerSteps < 1 { throw flagError("--reader-steps", "\(readerSteps)", "1 or more") }
        if !(readerLearningRate > 0 && readerLearningRate.isFinite) {
            throw flagError("--reader-learning-rate", "\(readerLearningRate)", "a positive number")
        }
    }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "09-rag")
        var text = try corpus.load(default: .pretraining)
        if options.quick {   // a slice of the corpus: every English entry of the first 1,500, and 150 poems
            let english = text.entries.filter { !Corpus.chineseTopics.contains($0.topic) }.prefix(1500)
            let poems = text.entries.filter { Corpus.poemTopics.contains($0.topic) }.prefix(150)
            text = Corpus(entries: Array(english) + Array(poems), source: text.source)
        }
        let bpe = try tokenizer.load(options, corpus: text)
        let baseFolder = base.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.baseModel)
        let baseModel = try ChapterInputs.baseModel(baseFolder, corpus: text, tokenizer: bpe, quick: options.quick,
                                                    seed: options.seed)
        let chatFolder = checkpoint.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.chatModel)
        let chat = try ChapterInputs.chatModel(chatFolder, base: baseModel, corpus: text, tokenizer: bpe,
                                               quick: options.quick)
        chapter.banner("Chapter 09 — Retrieval-augmented generation")
        var lesson = try RAGLesson(chapter: chapter, bpe: bpe, corpus: text, base: baseModel,
                                   baseFolder: baseFolder, chat: chat)
        lesson.readerSteps = readerSteps ?? (options.quick ? 8 : 200)
        lesson.readerLearningRate = readerLearningRate
        try lesson.chunking()                                  // 9.1
        try lesson.sparse()                                    // 9.2
        let encoders = try lesson.dense()                      // 9.3
        let retrieval = try lesson.evaluate(encoders)          // 9.4
        try lesson.store(encoders)                       // 9.5
        let answers = try lesson.answering()     // 9.6
        try lesson.report(retrieval: retrieval, answers: answers)   // 9.7
    }
}

/// The three encoders of 9.3, and the chunks' pooled features they share.
struct Encoders {
    let raw: TextEncoder, centred: TextEncoder, tuned: TextEncoder
    let chunkFeatures: Tensor
    /// How `tuned` was made, as the store records it (`llm rag index` writes the same words).
    let recipe: String
}

/// What the sections share: the corpus and its chunks, the models, the questions, and what earlier sections found.
struct RAGLesson {
    let chapter: ChapterContext
    let bpe: BPETokenizer
    let corpus: Corpus
    let base: GPT
    let baseFolder: URL
    let chat: GPT
    let template: ChatTemplate
    let topics: [String]
    var chunks: [Chunk] = []
    /// Held-out questions (retrieval is scored on them) and training questions (the contrastive pairs and the
    /// reader's fine-tuning come from them).
    var test: [RAGQuestion] = []
    var train: [RAGQuestion] = []
    var retriever: Retriever!
    var readerSteps = 200
    var readerLearningRate: Float = 2e-3
    var quick: Bool { chapter.quick }
    var seed: UInt64 { chapter.options.seed }
    var index: URL { chapter.options.artifacts.url(.retrievalIndex) }

    init(chapter: ChapterContext, bpe: BPETokenizer, corpus: Corpus, base: GPT, baseFolder: URL, chat: GPT) throws {
        (self.chapter, self.bpe, self.corpus, self.base, self.baseFolder, self.chat) =
            (chapter, bpe, corpus, base, baseFolder, chat)
        template = try ChatTemplate(tokenizer: bpe)
        topics = (try? CourseTasks.topics(in: corpus)) ?? []   // no topic requests for a corpus without topics
    }

    func shown(_ text: String, _ width: Int = 72) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: " ")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }

    // MARK: - 9.1 Chunks

    //: A retriever returns pieces of text, and the pieces decide what it can find. Too large, and the answer is
    //: diluted among unrelated words (and costs the reader context); too small, and the question's words are
    //: split from the answer's. Fortunes and poems are already units of meaning, so the course indexes one chunk
    //: per entry. Long documents are cut into windows of N tokens every STRIDE tokens, overlapping by N − STRIDE so
    //: that a sentence cut at one window's edge is whole in the next. Each chunk remembers its source — file, entry
    //: and byte offsets — so an answer can cite where it came from. Questions are made from the corpus as in
    //: Chapter 05: the held-out entries (every 10th, never trained on) give the test questions, the training
    //: entries the training pairs. The index holds every entry: it is a library, not a training set.
    mutating func chunking() throws {
        Console.section("9.1 Chunks")
        chunks = try Chunker.chunks(corpus, scheme: .entry)
        let lengths = chunks.map { $0.text.count }.sorted()
        test = RAGTasks.questions(corpus, chunks: chunks, split: .test, topics: topics)
        train = RAGTasks.questions(corpus, chunks: chunks, split: .train, topics: [])
        func count(_ questions: [RAGQuestion], _ task: InstructionTask) -> Int {
            questions.filter { $0.task == task }.count
        }
        Console.keyValues([
            ("corpus", "\(corpus.entries.count) entries (\(Set(corpus.entries.map(\.topic)).count) files)"),
            ("chunks (entry)", "\(chunks.count); characters per chunk: median \(lengths[lengths.count / 2]), " +
                               "max \(lengths.last ?? 0)"),
            ("test questions", "\(count(test, .attribution)) attribution, \(count(test, .poemAuthor)) poem author, " +
                               "\(count(test, .topic)) topic requests (held-out entries)"),
            ("training questions", "\(count(train, .attribution)) attribution, \(count(train, .poemAuthor)) poem"),
        ])
        guard let long = corpus.entries.indices.max(by: { corpus.entries[$0].text.utf8.count
                                                          < corpus.entries[$1].text.utf8.count }) else { return }
        let windows = try Chunker.chunks(Corpus(entries: [corpus.entries[long]], source: corpus.source),
                                         scheme: .tokens(size: 64, stride: 48), tokenizer: bpe)
        print("  the longest entry (\(corpus.entries[long].topic) #\(long), " +
              "\(corpus.entries[long].text.utf8.count) bytes) as tokens:64:48 windows:")
        for window in windows.prefix(3) {
            print("    [\(window.start), \(window.end))  \(shown(window.text, 60))")
        }
        if windows.count > 3 { print("    … \(windows.count) windows in all") }
        let example = test.first { $0.task == .attribution }
        if let example, let gold = example.gold.first {
            print("  a test question and its gold chunk:")
            print("    \(shown(example.request))  → \(example.answer)")
            print("    gold: \(chunks[gold].location)  \(shown(chunks[gold].text, 60))")
        }
    }

    // MARK: - 9.2 Sparse retrieval: BM25

    //: BM25 scores a chunk d for a query q by the query terms it contains, each weighted by how rare it is:
    //:
    //:     score(q, d) = Σ_{t ∈ q} IDF(t) · f(t, d) · (k1 + 1) / (f(t, d) + k1 · (1 − b + b · |d| / avgdl))
    //:     IDF(t) = ln((N − n(t) + 0.5) / (n(t) + 0.5))
    //:
    //: f(t, d) counts t in d, |d| is d's length in terms, n(t) the number of chunks holding t. k1 (1.5) makes a
    //: term's tenth occurrence worth little more than its second; b (0.75) discounts long chunks. A term in more
    //: than half the chunks would get a negative IDF; like the `rank_bm25` package (our tests compare with it),
    //: we floor it at ε = 0.25 times the mean IDF. Terms are lower-cased words, and for Chinese, which has no
    //: spaces, character bigrams: 《静夜思》 gives 静夜 and 夜思. SQLite's FTS5 ships BM25 too (k1 = 1.2, b =
    //: 0.75, negative IDFs floored at 10⁻⁶); the store indexes the same terms, so the two rankings can be
    //: compared — equal with FTS5's constants, close with ours.
    mutating func sparse() throws {
        Console.section("9.2 Sparse retrieval: BM25")
        retriever = Retriever(chunks: chunks)
        for question in [test.first { $0.task == .attribution }, test.first { $0.task == .poemAuthor }]
            .compactMap({ $0 }) {
            print("  \(shown(question.request, 70))")
            print("    terms: \(RetrievalTerms.terms(question.request).prefix(12).joined(separator: " "))")
            for (rank, hit) in try retriever.search(question.request, method: .bm25, k: 3).enumerated() {
                let mark = question.gold.contains(hit.index) ? "✓" : " "
                print("    \(rank + 1). \(mark) \(Format.fixed(hit.score, 2))  \(chunks[hit.index].location)  " +
                      shown(chunks[hit.index].text, 44))
            }
        }
        let start = Date(), sparseIndex = chapter.folder.file("bm25-only.sqlite")
        let built = try RetrievalStore.build(at: sparseIndex, chunks: chunks, chunking: "entry",
                                             corpus: corpus.source, encoder: nil)
        print("  a BM25-only store: \(Chapter.relativePath(sparseIndex.path)), \(Format.megabytes(built.bytes)) " +
              "(\(built.rebuilt ? "built" : "unchanged") in \(Format.duration(Date().timeIntervalSince(start))))")
        let store = try RetrievalStore.open(sparseIndex)
        let sample = RAGTasks.spread(test, quick ? 20 : 200)
        var rows: [[String]] = []
        for (name, k1) in [("ours, k1 = 1.2 (FTS5's)", 1.2), ("ours, k1 = 1.5 (the chapter's)", 1.5)] {
            let ours = Retriever(chunks: chunks, terms: store.terms, k1: k1)
            var sameTop = 0, overlap = 0.0
            for question in sample {
                let a = try store.fts5(question.request, k: 10).map(\.index)
                let b = try ours.search(question.request, method: .bm25, k: 10).map(\.index)
                if a.first == b.first { sameTop += 1 }
                overlap += Double(Set(a).intersection(b).count) / Double(max(1, min(10, a.count)))
            }
            rows.append([name, Format.fixed(Double(sameTop) / Double(sample.count), 3),
                         Format.fixed(overlap / Double(sample.count), 3)])
        }
        Console.printTable(["FTS5 bm25() against", "same top-1 (\(sample.count) questions)", "top-10 overlap"], rows)
    }
}
