// The course's evaluation harness (Chapter 10; `llm eval` and `llm eval report`): each measurement of a
// model on the course's held-out data as report-card figures with intervals, and the report card over
// every model the earlier chapters wrote into a run folder — missing ones listed with the command that
// makes them.

import Foundation
import LLMCore
import LLMPlot

public struct CourseEvaluation {
    public let corpus: Corpus
    public let tokenizer: BPETokenizer
    /// Where the lines of each measurement go (the terminal, by default).
    public var log: (String) -> Void = { print($0) }
    public var resamples = 1000

    public init(corpus: Corpus, tokenizer: BPETokenizer) {
        (self.corpus, self.tokenizer) = (corpus, tokenizer)
    }

    /// The report card's columns and how to read each.
    public static func addColumns(to card: inout ReportCard) {
        for group in ["all", "english", "chinese"] {
            card.addColumn("bits/byte (\(group))", note: "held-out corpus entries (every 10th), each scored on its " +
                           "own; lower is better; a model that knows nothing: 8")
        }
        for name in ["topic (classifier judge)", "topic (naive Bayes judge)", "attribution EM", "poem author EM"] {
            card.addColumn(name, note: "Chapter 05's held-out requests, the model as a chat model; higher is better")
        }
        card.addColumn("topic accuracy", note: "Chapter 05's topic classifier on its test split; higher is better; " +
                       "the majority class scores 1 / topics")
        card.addColumn("topic macro-F1", note: "the same items, each topic weighing the same")
        card.addColumn("topic ECE", note: "the same items, 15 equal-width confidence bins; lower is better")
    }

    /// Bits per byte on the held-out entries (at most `maxEntries`, evenly spaced; 0: all), overall and by
    /// language, with intervals over entries.
    public func heldOut(_ model: GPT, maxEntries: Int = 0) throws -> [String: ReportCard.Figure] {
        var entries = corpus.entries.indices.filter(Corpus.isHeldOut).map { corpus.entries[$0] }
        if maxEntries > 0 && entries.count > maxEntries {
            entries = (0..<maxEntries).map { entries[$0 * entries.count / maxEntries] }
        }
        guard !entries.isEmpty else {
            throw CourseError.invalidValue(name: "corpus", value: "(\(corpus.entries.count) entries)",
                                           expected: "at least 10 entries, so that one is held out")
        }
        let scores = try HeldOut.perEntry(model, tokenizer: tokenizer, entries: entries.map(\.text))
        let chinese = entries.map { Corpus.chineseTopics.contains($0.topic) }
        let groups: [(String, (Int) -> Bool)] = [("all", { _ in true }), ("english", { !chinese[$0] }),
                                                 ("chinese", { chinese[$0] })]
        var figures: [String: ReportCard.Figure] = [:]
        log("  held-out bits per byte (each entry on its own; 95 % intervals over entries):")
        for (name, keep) in groups {
            let chosen = scores.indices.filter(keep).map { scores[$0] }
            guard !chosen.isEmpty else { continue }
            let figure = ReportCard.Figure(HeldOut.bitsPerByteInterval(chosen, resamples: resamples),
                                           items: chosen.count)
            figures["bits/byte (\(name))"] = figure
            log("    \(name): \(figure.interval.formatted), \(figure.items) entries")
        }
        return figures
    }

    /// Chapter 05's validation conversations for `topics`, as batches of 16 whose targets are the replies'
    /// tokens only (what `Losses.meanNextToken` averages): the loss a chat model was trained to lower.
    public func replyBatches(topics: [String], context: Int, maxBatches: Int) throws -> [TokenBatch] {
        let template = try ChatTemplate(tokenizer: tokenizer)
        let splits = CourseTasks.splits(corpus, topics: topics, quick: false).used
        let encode = { (items: [InstructionExample]) in
            SFTData.examples(items.map(\.messages), template: template, length: context).examples
        }
        let validation = encode(splits.validation)
        let source = try MaskedExamples(train: validation, validation: validation, batchSize: 16,   // train unused
                                        length: context, padding: tokenizer.specialId("<|pad|>") ?? template.end)
        return source.validationBatches(maxBatches: maxBatches)
    }

    /// Chapter 05's classifier on its test split, every measurement of `ClassifierEvaluation`, the items
    /// grouped by whether the entry is an attributed quote (a property of the text, not of its topic, so the
    /// groups are not the labels in disguise).
    public func classifierEvaluation(_ topics: TopicClassifier) throws -> ClassifierEvaluation {
        let split = try TopicClassification(corpus, topics: topics.topics)
        let items = split.test.map {
            ClassifierEvaluation.Item(text: $0.text, label: $0.label,
                                      group: corpus.entries[$0.entry].attribution == nil ? "unattributed"
                                                                                         : "attributed")
        }
        return try ClassifierEvaluation.run({ topics.probabilities($0) }, items: items, classes: topics.topics.count,
                                            resamples: resamples)
    }

    /// The report card's figures of the classifier at `folder`, each measurement logged.
    public func classifier(at folder: URL) throws -> [String: ReportCard.Figure] {
        let topics = try TopicClassifier.load(from: folder, tokenizer: tokenizer)
        let e = try classifierEvaluation(topics)
        log("  topic classifier, \(e.items) test items of \(topics.topics.count) topics:")
        log("    accuracy \(e.accuracy.formatted) (majority class: \(Format.fixed(e.majorityAccuracy, 3))); " +
            "macro-F1 \(e.macroF1.formatted)")
        log("    ECE (15 bins) \(e.expectedCalibrationError.formatted)")
        for g in e.fairness.groups {
            log("    \(g.group): accuracy \(Format.fixed(g.accuracy, 3)) on \(g.count) items")
        }
        log("    demographic-parity difference \(Format.fixed(e.fairness.demographicParityDifference, 3)), " +
            "equalized-odds difference \(Format.fixed(e.fairness.equalizedOddsDifference, 3))")
        for r in e.robustness {
            log("    \(r.perturbation.rawValue): accuracy \(Format.fixed(r.accuracy, 3)), drop rate " +
                "\(Format.fixed(r.dropRate, 3))")
        }
        return ["topic accuracy": ReportCard.Figure(e.accuracy, items: e.items),
                "topic macro-F1": ReportCard.Figure(e.macroF1, items: e.items),
                "topic ECE": ReportCard.Figure(e.expectedCalibrationError, items: e.items)]
    }

    /// Chapter 05's held-out topic requests answered by `chat` — each request with `suffix` appended (an
    /// attack, say), sampled as `tasks` samples them — and the topic `judge` reads in each answer.
    /// Only requests that still fit the context with `room` appended are asked (pass the attack's suffix
    /// as `room` to ask the same requests with and without it).
    public func topicAnswers(_ chat: GPT, judge: TopicClassifier, suffix: String = "", room: String = "",
                             seed: UInt64, quick: Bool = false) throws -> TopicAnswers {
        let template = try ChatTemplate(tokenizer: tokenizer)
        let splits = CourseTasks.splits(corpus, topics: judge.topics, quick: false).used
        let context = chat.config.contextLength, longer = suffix.utf8.count >= room.utf8.count ? suffix : room
        let items = HeldOutTasks(splits, topics: judge.topics, template: template, context: context, quick: quick)
            .topic.filter { item in
                (item.topic.map(judge.topics.contains) ?? false)
                    && template.encode([ChatMessage(.user, item.request + longer)],
                                       generationPrompt: true).ids.count
                    + CourseTasks.maxTokens(for: item, quick: quick) <= context
            }
        var answers: [String] = []
        for (i, item) in items.enumerated() {
            var random = SeededGenerator(seed: seed &+ UInt64(i))
            answers.append(try TaskEvaluation.reply(chat, template, request: item.request + suffix,
                                                    maxTokens: CourseTasks.maxTokens(for: item, quick: quick),
                                                    settings: CourseTasks.sampling(for: item), random: &random))
        }
        let probabilities = judge.probabilities(answers)
        return TopicAnswers(requests: items.map { $0.request + suffix }, answers: answers,
                            wanted: items.map { item in judge.topics.firstIndex { $0 == item.topic } ?? 0 },
                            judged: probabilities.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 },
                            probabilities: probabilities)
    }

    /// Writes `card` as `<run-dir>/eval/report.md` and `report.json` (atomically), with a bar chart and its
    /// intervals beside them for the main columns (`bits-per-byte.png`, `topic-following.png`, …; `plots`
    /// false: none); returns the two files.
    @discardableResult
    public static func write(_ card: ReportCard, to artifacts: RunArtifacts,
                             plots: Bool = true) throws -> (markdown: URL, json: URL) {
        let markdown = artifacts.url(.evaluationReport)
        let folder = markdown.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var images: [(caption: String, file: String)] = []
        let plotter = Plotter(directory: folder, enabled: plots)
        let charts = [("bits/byte (all)", "bits-per-byte", "held-out bits per byte (lower is better)"),
                      ("topic (classifier judge)", "topic-following", "topic following, classifier judge"),
                      ("attribution EM", "attribution", "attribution exact match")]
        for (column, file, caption) in charts where plots {
            let rows = card.rows.filter { $0.figures[column] != nil }
            guard rows.count >= 2 else { continue }
            let figures = rows.compactMap { $0.figures[column]?.interval }
            let plot = Plot.bars(labels: rows.map(\.model), values: figures.map(\.value),
                                 title: "Report card: \(caption), 95 % intervals", yLabel: column,
                                 intervals: figures.map { ($0.lower, $0.upper) })
            if try plotter.save(plot, as: file) != nil { images.append((caption, file + ".png")) }
        }
        try AtomicFile.write(Data(card.markdown(title: "Report card: the course models", images: images).utf8),
                             to: markdown)
        let json = markdown.deletingPathExtension().appendingPathExtension("json")
        try AtomicFile.write(try card.json(), to: json)
        return (markdown, json)
    }

    /// Chapter 05's held-out requests answered by `chat` (as Chapters 05 and 07 ask them): topic following
    /// judged by the classifier at `judgeFolder` (when it has the same topics) and by naive Bayes, and exact
    /// match on attributions and poem authors, each with its interval.
    public func tasks(_ chat: GPT, judgeFolder: URL?, seed: UInt64,
                      quick: Bool = false) throws -> [String: ReportCard.Figure] {
        let judge = judgeFolder.flatMap { try? TopicClassifier.load(from: $0, tokenizer: tokenizer) }
        return try tasks(chat, judge: judge, seed: seed, quick: quick)
    }

    /// `tasks` with a classifier in memory as the judge (used when it has the corpus's topics).
    public func tasks(_ chat: GPT, judge: TopicClassifier?, seed: UInt64,
                      quick: Bool = false) throws -> [String: ReportCard.Figure] {
        let template = try ChatTemplate(tokenizer: tokenizer)
        let topics = try CourseTasks.topics(in: corpus)
        let splits = CourseTasks.splits(corpus, topics: topics, quick: false).used
        let items = HeldOutTasks(splits, topics: topics, template: template, context: chat.config.contextLength,
                                 quick: quick)
        let labelled = try TopicClassification(corpus, topics: topics)
        let bayes = NaiveBayes(documents: labelled.train.map(\.text), labels: labelled.train.map(\.label),
                               classes: topics.count)
        let judge = judge.flatMap { $0.topics == topics ? $0 : nil }
        let scores = try items.score(chat: chat, template: template, judge: judge, bayes: bayes, topics: topics,
                                     seed: seed)
        log("  Chapter 05's held-out requests, the model as a chat model:")
        var rows: [(String, Int, Int)] = [("topic (naive Bayes judge)", scores.bayesHits, scores.topicItems),
                                          ("attribution EM", scores.attributionHits, scores.attributionItems),
                                          ("poem author EM", scores.poemHits, scores.poemItems)]
        if judge != nil {
            rows.insert(("topic (classifier judge)", scores.topicHits, scores.topicItems), at: 0)
        } else {
            log("    (no classifier with these topics: naive Bayes judges topic following)")
        }
        if scores.topicItems == 0 {
            log("    topic: no held-out topic requests (none in the test split that fit the context)")
        }
        var figures: [String: ReportCard.Figure] = [:]
        for (name, hits, n) in rows where n > 0 {
            let interval = Bootstrap.proportion(hits: hits, items: n, resamples: resamples)
            log("    \(name): \(interval.formatted), \(hits) of \(n)")
            figures[name] = ReportCard.Figure(interval, items: n)
        }
        return figures
    }

    /// Every model in `artifacts`: the base model (held-out text), the chat model and each quantized copy
    /// (held-out text and Chapter 05's requests), each LoRA adapter on the model it fits, and the classifier;
    /// a model that is not there becomes a row naming the command that makes it.
    public func reportCard(_ artifacts: RunArtifacts, maxEntries: Int = 0, seed: UInt64 = 0) throws -> ReportCard {
        var card = ReportCard()
        Self.addColumns(to: &card)
        let judge = artifacts.exists(.classifier) ? artifacts.url(.classifier) : nil
        func measure(_ name: String, _ folder: URL, chat: Bool, adapter: URL? = nil) throws {
            log("▸ \(name)")
            let model = try Checkpoint.load(from: folder)
            if let adapter { _ = try LoRAAdapter.load(from: adapter, onto: model) }
            var figures = try heldOut(model, maxEntries: maxEntries)
            if chat { figures.merge(try tasks(model, judgeFolder: judge, seed: seed)) { $1 } }
            try card.add(model: name, figures: figures)
        }
        if artifacts.exists(.baseModel) {   // asked in the chat template it has never seen: the tasks' baseline
            try measure("base (Chapter 04)", artifacts.url(.baseModel), chat: true)
        } else {
            card.addMissing(model: "base (Chapter 04)", command: Artifact.baseModel.command)
        }
        guard artifacts.exists(.chatModel) else {
            let later: [(String, Artifact)] = [("chat (Chapter 05)", .chatModel),
                                               ("LoRA adapters (Chapter 06)", .adapters),
                                               ("quantized models (Chapter 07)", .quantizedModels)]
            for (name, artifact) in later {
                card.addMissing(model: name, command: artifact.command)
            }
            retrievalRows(artifacts, into: &card)   // Chapter 09's own measurement, read from its report
            return card
        }
        try measure("chat (Chapter 05)", artifacts.url(.chatModel), chat: true)
        if let judge {
            log("▸ classifier (Chapter 05)")
            try card.add(model: "classifier (Chapter 05)", figures: try classifier(at: judge))
        } else {
            card.addMissing(model: "classifier (Chapter 05)", command: Artifact.classifier.command)
        }
        let adapters = Self.subfolders(artifacts.url(.adapters)).filter { LoRAAdapter.exists(in: $0) }
        if adapters.isEmpty { card.addMissing(model: "LoRA adapters (Chapter 06)", command: Artifact.adapters.command) }
        for adapter in adapters {
            // An adapter fits the chat model or the base model; the first it loads onto.
            let onto = [artifacts.url(.chatModel), artifacts.url(.baseModel)].first { base in
                (try? LoRAAdapter.load(from: adapter, onto: try Checkpoint.load(from: base))) != nil
            }
            guard let onto else {
                log("▸ lora/\(adapter.lastPathComponent): fits neither the chat nor the base model; left out")
                continue
            }
            try measure("lora/\(adapter.lastPathComponent)", onto, chat: true, adapter: adapter)
        }
        let quantized = Self.subfolders(artifacts.url(.quantizedModels)).filter {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path)
        }
        if quantized.isEmpty {
            card.addMissing(model: "quantized models (Chapter 07)", command: Artifact.quantizedModels.command)
        }
        // Chapter 07's chat formats, and its int4 base models of 7.5 ("base-…": PTQ, the control's PTQ, QAT),
        // which are measured as base models.
        for folder in quantized where folder.lastPathComponent != "fp32" {
            try measure("quantized/\(folder.lastPathComponent)", folder,
                        chat: !folder.lastPathComponent.hasPrefix("base-"))
        }
        retrievalRows(artifacts, into: &card)
        return card
    }

    /// Chapter 09's answers with retrieval, read from `rag/report.json` (the chapter's own measurement on the
    /// same held-out questions): one row per reading condition that uses retrieved chunks.
    func retrievalRows(_ artifacts: RunArtifacts, into card: inout ReportCard) {
        let file = artifacts.url(.retrievalIndex).deletingLastPathComponent().appendingPathComponent("report.json")
        let name = "chat + retrieval (Chapter 09)"
        guard let data = FileManager.default.contents(atPath: file.path) else {
            card.addMissing(model: name, command: Artifact.retrievalIndex.command)
            return
        }
        guard let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let answers = report["answers"] as? [[String: Any]] else {
            log("▸ \(file.path) is not Chapter 09's report; its rows are left out")
            card.addMissing(model: name + " (rag/report.json unreadable)", command: Artifact.retrievalIndex.command)
            return
        }
        log("▸ retrieval-augmented answers, from \(file.path)")
        for answer in answers {
            guard let condition = answer["condition"] as? String, condition.contains("top-"),
                  let tasks = answer["by_task"] as? [String: [String: Any]] else { continue }
            var figures: [String: ReportCard.Figure] = [:]
            for (task, column) in [("attribution", "attribution EM"), ("poemAuthor", "poem author EM")] {
                guard let em = tasks[task]?["exact_match"] as? Double, let n = tasks[task]?["questions"] as? Int,
                      n > 0, (0...1).contains(em) else { continue }
                let hits = Int((em * Double(n)).rounded())
                figures[column] = ReportCard.Figure(Bootstrap.proportion(hits: hits, items: n, resamples: resamples),
                                                    items: n)
            }
            if !figures.isEmpty { try? card.add(model: "rag: \(condition)", figures: figures) }
        }
    }

    static func subfolders(_ folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }.filter {
            var directory: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0.path, isDirectory: &directory) && directory.boolValue
        }
    }
}

/// A chat model's answers to topic requests and what a classifier judged them to be about.
public struct TopicAnswers: Sendable {
    public let requests: [String], answers: [String]
    /// Per answer: the requested topic and the judged one (indices into the judge's topics), and the judge's
    /// probabilities.
    public let wanted: [Int], judged: [Int]
    public let probabilities: [[Float]]

    /// Per answer: whether the judge read the requested topic.
    public var followed: [Bool] { zip(wanted, judged).map { $0 == $1 } }
}
