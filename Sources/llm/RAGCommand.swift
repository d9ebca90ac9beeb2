// `llm rag`: Chapter 09's retrieval store from the command line — build an index of a corpus, query it, and ask
// a chat model a question with what it finds.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMRetrieval

struct RAGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rag",
        abstract: "Retrieval: index a corpus into SQLite (BM25 + vectors), query it, answer with it.",
        subcommands: [Index.self, Query.self, Ask.self])

    static let courseRuns = RunArtifacts(runDirectory: "runs/course")

    struct Index: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Chunk a corpus and write the store: chunks, FTS5 terms, and (with a model) vectors. "
                + "Does nothing when the store already holds these inputs.")

        @Option(help: "A UTF-8 text file or folder (default: the course corpus, English fortunes and poems).")
        var corpus: String?

        @Option(help: "entry (one chunk per fortune or poem), or tokens:N:STRIDE (N-token windows every STRIDE).")
        var chunk = "entry"

        @Option(help: "The index file to write.")
        var out = RAGCommand.courseRuns.url(.retrievalIndex).path

        @Option(help: ArgumentHelp("The base model whose mean-pooled hidden states become the vectors (default: "
                                   + "runs/course/pretrain/checkpoint)."))
        var checkpoint = RAGCommand.courseRuns.url(.baseModel).path

        @Option(help: "The tokenizer folder (default: next to the checkpoint, or runs/course/tokenizer).")
        var tokenizer: String?

        @Option(help: ArgumentHelp("Contrastive tuning steps of the projection, on question/chunk pairs from the "
                                   + "corpus (0: mean-pooled and centred only)."))
        var tuneSteps = 400

        @Flag(help: "BM25 only: no model, no vectors.")
        var noVectors = false

        @Option(help: "Seed of the contrastive tuning.")
        var seed: UInt64 = 1337

        func run() throws {
            let scheme = try ChunkingScheme(parsing: chunk)
            if tuneSteps < 0 { throw flagError("--tune-steps", "\(tuneSteps)", "0 or more") }
            let text = try corpus.map { try Corpus.load(path: $0) } ?? Corpus.fortunes(.pretraining)
            let folder = URL(fileURLWithPath: checkpoint)
            var model: GPT?, bpe: BPETokenizer?
            if !noVectors {
                model = try Checkpoint.load(from: folder)
                bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: folder))
            } else if case .tokens = scheme {
                bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: folder))
            }
            let chunks = try Chunker.chunks(text, scheme: scheme, tokenizer: bpe)
            var encoder: TextEncoder?, pooled: Tensor?
            let recipe = noVectors ? "" : "mean-pooled, centred, InfoNCE \(tuneSteps) steps, seed \(seed)"
            if let model, let bpe {
                // Embedding is the slow part: skip it when the store already has these chunks, model and recipe.
                let out = URL(fileURLWithPath: self.out)
                if let existing = try? RetrievalStore.open(out), existing.manifest.chunking == scheme.description,
                   existing.manifest.model == Fingerprint.model(model), existing.manifest.recipe == recipe,
                   existing.manifest.tokenizer == Fingerprint.tokenizer(bpe), existing.chunks == chunks {
                    print("\(out.path): unchanged (same chunks, model and recipe)")
                    return
                }
                print("embedding \(chunks.count) chunks with \(folder.path) …")
                let features = TextEncoder(model: model, tokenizer: bpe).pooled(chunks.map(\.text))
                let questions = RAGTasks.questions(text, chunks: chunks, split: .train, topics: [])
                    .filter { $0.task != .topic }
                if tuneSteps > 0 && questions.count >= 2 {
                    let tuned = Contrastive.tunedEncoder(model: model, tokenizer: bpe, chunkFeatures: features,
                                                         questions: questions.map(\.request),
                                                         gold: questions.map { $0.gold.min() ?? 0 },
                                                         steps: tuneSteps, seed: seed)
                    let (first, last) = (tuned.losses.first ?? 0, tuned.losses.last ?? 0)
                    print("contrastive tuning on \(questions.count) pairs: InfoNCE "
                          + "\(Format.fixed(first, 3)) → \(Format.fixed(last, 3))")
                    encoder = tuned.encoder
                } else {
                    encoder = TextEncoder(model: model, tokenizer: bpe, mean: TextEncoder.columnMeans(features))
                }
                pooled = features
            }
            let report = try RetrievalStore.build(at: URL(fileURLWithPath: out), chunks: chunks,
                                                  chunking: scheme.description, corpus: text.source, encoder: encoder,
                                                  pooled: pooled, modelPath: noVectors ? "" : folder.path,
                                                  recipe: recipe)
            print("\(out): \(report.rebuilt ? "written" : "unchanged"), \(report.chunks) chunks" +
                  (encoder.map { ", vectors of \($0.dimension)" } ?? ", BM25 only") +
                  ", \(Format.megabytes(report.bytes))")
        }
    }

    /// Opens `index` and, for dense or hybrid search, its encoder (the model from `checkpoint`, else the one the
    /// manifest names).
    static func retriever(index: String, method: RetrievalMethod, checkpoint: String?, tokenizer: String?) throws
        -> Retriever {
        let store = try RetrievalStore.open(URL(fileURLWithPath: index))
        guard method != .bm25 else { return try store.retriever() }
        if store.manifest.dimension == 0 { _ = try store.vectors() }   // no vectors: the store's error says so
        let folder = URL(fileURLWithPath: checkpoint ?? store.manifest.modelPath)
        let model = try Checkpoint.load(from: folder)
        let bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: folder))
        return try store.retriever(encoder: try store.encoder(model: model, tokenizer: bpe))
    }

    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The best chunks for a query, with scores and sources.")

        @Option(help: "The index file (llm rag index --out).")
        var index = RAGCommand.courseRuns.url(.retrievalIndex).path

        @Option(help: "What to look for.")
        var query: String

        @Option(help: "How many chunks.")
        var k = 5

        @Option(help: "bm25, dense or hybrid (reciprocal-rank fusion of the two).")
        var method = RetrievalMethod.hybrid

        @Option(help: "The model that embedded the chunks (default: the one the index names).")
        var checkpoint: String?

        @Option(help: "Its tokenizer folder (default: next to it, or runs/course/tokenizer).")
        var tokenizer: String?

        func run() throws {
            try requireFlag("--k", k, in: 1...1000)
            let retriever = try RAGCommand.retriever(index: index, method: method, checkpoint: checkpoint,
                                                     tokenizer: tokenizer)
            for (rank, hit) in try retriever.search(query, method: method, k: k).enumerated() {
                let chunk = retriever.chunks[hit.index]
                print("\(rank + 1). \(Format.fixed(hit.score, 4))  \(chunk.location)")
                print("   " + chunk.text.replacingOccurrences(of: "\n", with: "\n   "))
            }
        }
    }

    struct Ask: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retrieve chunks for a question, let a chat model answer from them, and print the answer and "
                + "its sources.")

        @Option(help: "The index file (llm rag index --out).")
        var index = RAGCommand.courseRuns.url(.retrievalIndex).path

        @Option(help: "The chat model that reads (default: Chapter 09's reader, runs/course/rag/reader).")
        var checkpoint = RAGCommand.courseRuns.root.appendingPathComponent("rag/reader").path

        @Option(help: "The question.")
        var question: String

        @Option(help: "How many chunks go into the prompt.")
        var k = 3

        @Option(help: "bm25, dense or hybrid.")
        var method = RetrievalMethod.hybrid

        @Option(help: "The model that embedded the chunks (default: the one the index names).")
        var encoder: String?

        @Option(help: "The tokenizer folder (default: next to the chat model, or runs/course/tokenizer).")
        var tokenizer: String?

        @Option(help: "The most tokens the answer may take.")
        var maxTokens = 16

        @Flag(help: ArgumentHelp("Answer with one of the names the retrieved chunks carry (a fortune's -- Author, a "
                                 + "poem's author), the one the model finds most likely (Chapter 09.6: extractive)."))
        var choose = false

        func run() throws {
            try requireFlag("--k", k, in: 1...20)
            try requireFlag("--max-tokens", maxTokens, in: 1...1000)
            let retriever = try RAGCommand.retriever(index: index, method: method, checkpoint: encoder,
                                                     tokenizer: tokenizer)
            let folder = URL(fileURLWithPath: checkpoint)
            let model = try Checkpoint.load(from: folder)
            let bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: folder))
            let template = try ChatTemplate(tokenizer: bpe)
            let hits = try retriever.search(question, method: method, k: k)
            let prompt = RAGTasks.fittedPrompt(question: question, chunks: hits.map { retriever.chunks[$0.index].text },
                                               tokenizer: bpe, template: template,
                                               context: model.config.contextLength, answerTokens: maxTokens)
            var random = SeededGenerator(seed: 1)
            let texts = hits.map { retriever.chunks[$0.index].text }
            if choose, let answer = RAGTasks.chooseAnswer(model, template, prompt: prompt, chunks: texts) {
                print(answer)
            } else {
                if choose { print("(no retrieved chunk carries a name: the model writes its answer)") }
                print(try TaskEvaluation.reply(model, template, request: prompt, maxTokens: maxTokens,
                                               random: &random))
            }
            print("sources:")
            for (rank, hit) in hits.enumerated() {
                let chunk = retriever.chunks[hit.index]
                let line = chunk.text.replacingOccurrences(of: "\n", with: " ")
                print("  [\(rank + 1)] \(chunk.location)  \(line.count > 80 ? String(line.prefix(79)) + "…" : line)")
            }
        }
    }
}

extension RetrievalMethod: ExpressibleByArgument {}
