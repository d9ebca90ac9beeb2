//: ## Chapter 09, part three — the store, reading, and the report

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot
import LLMRetrieval

extension RAGLesson {
    // MARK: - 9.5 The store: one SQLite file

    //: Everything a query needs goes into one SQLite file, through GRDB: the chunks with their sources, an FTS5
    //: index of their terms, each chunk's vector as a BLOB of float32 numbers, the encoder's mean and projection
    //: (so a query is embedded exactly as the chunks were), and a manifest with fingerprints of the model, the
    //: tokenizer and all inputs. Building twice with the same inputs changes nothing (the fingerprint matches);
    //: a build writes a new file inside one transaction and renames it over the old one, so an interrupted
    //: build leaves the previous index usable; a store built by another model is refused by name, and a damaged
    //: file is one line of error — the tests try all three.
    func store(_ encoders: Encoders) throws {
        Console.section("9.5 The store: one SQLite file")
        var rows: [[String]] = []
        for attempt in ["build (with vectors)", "build again, same inputs"] {
            let report = try RetrievalStore.build(at: index, chunks: chunks, chunking: "entry", corpus: corpus.source,
                                                  encoder: encoders.tuned, pooled: encoders.chunkFeatures,
                                                  modelPath: baseFolder.path, recipe: encoders.recipe)
            let kept = attempt.hasPrefix("build (") ? "already there: an earlier run, same inputs"
                                                      : "left as it was (fingerprint matches)"
            rows.append([attempt, report.rebuilt ? "written" : kept,
                         Format.megabytes(report.bytes), Format.duration(report.seconds)])
        }
        Console.printTable(["build", "result", "size", "time"], rows)
        let store = try RetrievalStore.open(index)
        let reopened = try store.retriever(encoder: try store.encoder(model: base, tokenizer: bpe))
        let probe = test.first { $0.task == .attribution } ?? test[0]
        let fromFile = try reopened.search(probe.request, method: .hybrid, k: 5).map(\.index)
        let inMemory = try retriever.search(probe.request, method: .hybrid, k: 5).map(\.index)
        Console.keyValues([
            ("manifest", "\(store.manifest.chunks) chunks, vectors of \(store.manifest.dimension), model " +
                         "\(store.manifest.model), tokenizer \(store.manifest.tokenizer)"),
            ("reopened and queried", fromFile == inMemory ? "same top 5 as in memory" : "DIFFERENT top 5: \(fromFile)"),
        ])
        print("  try it: swift run -c release llm rag query --index \(Chapter.relativePath(index.path)) " +
              "--query \"Who said: …?\" --method hybrid")
    }

    // MARK: - 9.6 Reading: answers with and without retrieval

    //: Now the model answers. Without retrieval, the chat model gets the question alone and must remember who
    //: said it — for held-out entries it never read, it can only guess. With retrieval, the top 3 hybrid chunks
    //: go into the prompt in a fixed template (`RAGTasks.prompt`): "Context:", the chunks numbered [1] [2] [3]
    //: (each cut to its last 48 tokens, where a fortune's attribution is), then "Question: …". Two ways to
    //: answer from it. *Writing*: the model generates the answer freely, which needs it to find the name in
    //: the context and copy it token by token. *Choosing* (extractive reading): the names the retrieved chunks
    //: carry (a fortune's `-- Author`, a poem's 作者) are the candidates, and the model picks the one it
    //: finds most likely as its reply, log p(name, <|im_end|> | prompt) — the model still decides, but it can
    //: only answer with something it was shown. Next to them, a baseline with no model at all: the name in
    //: the top-ranked chunk. Chapter 05 never showed the model a context to copy from, so we also fine-tune
    //: it for that (the reader): the same template on training questions with their own top 3 chunks (the
    //: gold chunk put last when retrieval missed it), the loss on the answer only; and we give the reader the
    //: gold chunk alone, the ceiling of writing. Exact match and token F1 on held-out questions, the same
    //: items in every row.
    func answering() throws -> [AnswerScores] {
        Console.section("9.6 Reading: answers with and without retrieval")
        let context = chat.config.contextLength
        // Only questions that fit the context with room for a short chunk and the answer (all of them at T = 256).
        let fits = { (item: RAGQuestion) in
            template.encode([ChatMessage(.user, item.request)], generationPrompt: true).ids.count + 16 + 12 <= context
        }
        let items = RAGTasks.spread(test.filter { $0.task == .attribution && fits($0) }, quick ? 6 : 60)
            + RAGTasks.spread(test.filter { $0.task == .poemAuthor && fits($0) }, quick ? 4 : 40)
        let retrieved = try hybridTop(items.map(\.request), k: 3)
        func prompt(_ item: RAGQuestion, _ ids: [Int]?) -> String {
            guard let ids else { return item.request }
            return RAGTasks.fittedPrompt(question: item.request, chunks: ids.map { chunks[$0].text }, tokenizer: bpe,
                                         template: template, context: context, answerTokens: 16)
        }
        func ask(_ model: GPT, _ name: String, _ contexts: [[Int]?]) throws -> (AnswerScores, [String]) {
            var scores = AnswerScores(name: name), replies: [String] = []
            for (i, item) in items.enumerated() {
                var random = SeededGenerator(seed: seed &+ UInt64(i))
                let reply = try TaskEvaluation.reply(model, template, request: prompt(item, contexts[i]), maxTokens: 16,
                                                     random: &random)
                replies.append(reply)
                scores.record(reply, for: item)
            }
            return (scores, replies)
        }
        // Extractive reading: the model only chooses among the names the retrieved chunks carry.
        func choose(_ model: GPT?, _ name: String) -> (AnswerScores, [String]) {
            var scores = AnswerScores(name: name), replies: [String] = []
            for (i, item) in items.enumerated() {
                let texts = retrieved[i].map { chunks[$0].text }
                let reply = model.map { RAGTasks.chooseAnswer($0, template, prompt: prompt(item, retrieved[i]),
                                                              chunks: texts) }
                    ?? texts.lazy.compactMap(RAGTasks.candidate).first
                replies.append(reply ?? "")
                scores.record(reply ?? "", for: item)
            }
            return (scores, replies)
        }
        let none = [[Int]?](repeating: nil, count: items.count)
        var results: [AnswerScores] = [], examples: [(String, [String])] = []
        for (name, contexts) in [("chat model, no retrieval", none), ("chat model + top-3, writing", retrieved)] {
            let (scores, replies) = try ask(chat, name, contexts.map { $0 })
            results.append(scores)
            examples.append((name, replies))
        }
        for (scores, replies) in [choose(nil, "top-1 chunk's name (no model)"),
                                  choose(chat, "chat model + top-3, choosing")] {
            results.append(scores)
            examples.append((scores.name, replies))
        }
        let reader = try tuneReader()
        let gold = items.map { [$0.gold.min() ?? 0] as [Int]? }
        for (name, contexts) in [("reader + top-3, writing", retrieved.map { $0 }),
                                 ("reader + gold chunk, writing", gold)] {
            let (scores, replies) = try ask(reader, name, contexts)
            results.append(scores)
            examples.append((name, replies))
        }
        let (chosen, chosenReplies) = choose(reader, "reader + top-3, choosing")
        results.append(chosen)
        examples.append((chosen.name, chosenReplies))
        let hits = zip(items, retrieved).filter { item, ids in ids.contains(where: item.gold.contains) }.count
        func n(_ task: InstructionTask) -> Int { items.filter { $0.task == task }.count }
        Console.printTable(["condition", "attribution EM (\(n(.attribution)))", "attribution F1",
                            "poem author EM (\(n(.poemAuthor)))", "poem author F1"],
                           results.map { r in
                               [r.name, Format.fixed(r.em(.attribution), 3), Format.fixed(r.meanF1(.attribution), 3),
                                Format.fixed(r.em(.poemAuthor), 3), Format.fixed(r.meanF1(.poemAuthor), 3)]
                           })
        print("  the gold chunk was among the 3 retrieved for \(hits) of \(items.count) questions")
        for i in [0, items.count - 1] where items.indices.contains(i) {
            print("  \(shown(items[i].request, 70))  → \(items[i].answer)")
            print("    retrieved [1]: \(shown(chunks[retrieved[i][0]].text, 60))")
            for (name, replies) in examples { print("    \(name.padding(toLength: 30, withPad: " ", startingAt: 0)) " +
                                                   shown(replies[i], 40)) }
        }
        try chapter.plot(.bars(labels: results.map(\.name), values: results.map { $0.em(.attribution) },
                               title: "Attribution exact match on \(n(.attribution)) held-out questions",
                               yLabel: "exact match"),
                         as: "answers")
        return results
    }

    /// The top `k` hybrid chunks for each request: BM25's and the tuned dense top 100, fused (queries embedded in
    /// one batch).
    func hybridTop(_ requests: [String], k: Int) throws -> [[Int]] {
        guard let encoder = retriever.encoder else { return try requests.map { try bm25Top($0, k: k) } }
        let dense = try retriever.denseBatch(encoder.encode(requests), k: retriever.fusionDepth)
        return try zip(requests, dense).map { request, hits in
            Ranking.reciprocalRankFusion([try bm25Top(request, k: retriever.fusionDepth), hits.map(\.index)], k: k)
                .map(\.index)
        }
    }

    func bm25Top(_ request: String, k: Int) throws -> [Int] {
        try retriever.search(request, method: .bm25, k: k).map(\.index)
    }

    /// Fine-tunes the chat model (in place) to answer from a context: training questions with their top 3
    /// hybrid chunks in rank order (the gold chunk put in last place when retrieval missed it). Saved to
    /// `<run-dir>/rag/reader/`.
    func tuneReader() throws -> GPT {
        let context = chat.config.contextLength
        func conversations(_ questions: [RAGQuestion]) throws -> [[ChatMessage]] {
            let retrieved = try hybridTop(questions.map(\.request), k: 3)
            return zip(questions, retrieved).map { question, found in
                var ids = found
                if !ids.contains(where: question.gold.contains) {   // the answer must be there to be copied
                    ids[ids.count - 1] = question.gold.min() ?? 0
                }
                let text = RAGTasks.fittedPrompt(question: question.request, chunks: ids.map { chunks[$0].text },
                                                 tokenizer: bpe, template: template, context: context,
                                                 answerTokens: 16)
                return [ChatMessage(.user, text), ChatMessage(.assistant, question.answer)]
            }
        }
        let pool = train.filter { question in
            question.task != .topic && template.encode([ChatMessage(.user, question.request)],
                                                       generationPrompt: true).ids.count + 16 + 12 <= context
        }
        let trainSet = try conversations(RAGTasks.spread(pool, quick ? 64 : 2000))
        let validation = try conversations(RAGTasks.spread(
            RAGTasks.questions(corpus, chunks: chunks, split: .validation, topics: []), quick ? 16 : 64))
        let padding = bpe.specialId("<|pad|>") ?? template.end
        var source = try MaskedExamples(
            train: SFTData.examples(trainSet, template: template, length: context).examples,
            validation: SFTData.examples(validation, template: template, length: context).examples,
            batchSize: 8, length: context, padding: padding)
        source.grouping = 8
        let steps = readerSteps
        var config = TrainingConfig(steps: steps, batchSize: 8)
        (config.learningRate, config.minimumLearningRate, config.warmupSteps) =
            (readerLearningRate, readerLearningRate / 10, max(1, steps / 10))
        (config.evaluateEvery, config.seed) = (max(1, steps / 4), seed)
        let folder = index.deletingLastPathComponent().appendingPathComponent("reader")
        let trainer = try Trainer(model: chat, source: source, loss: Losses.nextToken, config: config,
                                  checkpointFolder: folder)
        let before = trainer.validationLoss(), start = Date()
        try trainer.run(label: "  reader", quiet: true)
        try template.writeDescription(to: folder)
        print("  reader: \(steps) steps of 8 conversations (\(trainSet.count) training questions with context), " +
              "answer loss \(Format.fixed(before)) → \(Format.fixed(trainer.state.validation.last?.loss ?? .nan)) " +
              "on \(validation.count) validation questions (\(Format.duration(Date().timeIntervalSince(start)))); " +
              "saved to \(Chapter.relativePath(folder.path))")
        return chat
    }

    // MARK: - 9.7 The report

    //: Everything measured above, in one JSON file later chapters and scripts can read: the retrieval scores of
    //: every method and the answer scores of every condition, each with its number of questions.
    func report(retrieval: [MethodScores], answers: [AnswerScores]) throws {
        Console.section("9.7 The report")
        func scores(_ s: RetrievalScores) -> [String: Any] {
            ["recall@1": s.recall(at: 1), "recall@5": s.recall(at: 5), "recall@10": s.recall(at: 10), "mrr": s.mrr,
             "ndcg@10": s.ndcg10, "questions": s.questions]
        }
        let json: [String: Any] = [
            "corpus": corpus.source, "chunks": chunks.count, "chunking": "entry", "quick": quick,
            "index": Chapter.relativePath(index.path),
            "retrieval": retrieval.map { m -> [String: Any] in
                var row = scores(m.overall)
                row["method"] = m.name
                row["by_task"] = Dictionary(uniqueKeysWithValues: m.byTask.map { ($0.key.rawValue, scores($0.value)) })
                return row
            },
            "answers": answers.map { a -> [String: Any] in
                ["condition": a.name,
                 "by_task": Dictionary(uniqueKeysWithValues: a.items.keys.map { task -> (String, [String: Any]) in
                     (task.rawValue, ["exact_match": a.em(task), "f1": a.meanF1(task),
                                      "questions": a.items[task, default: 0]])
                 })]
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        let url = index.deletingLastPathComponent().appendingPathComponent("report.json")
        try AtomicFile.write(data, to: url)
        print("  wrote \(Chapter.relativePath(url.path)) (\(retrieval.count) retrieval methods, " +
              "\(answers.count) reading conditions)")
    }
}
