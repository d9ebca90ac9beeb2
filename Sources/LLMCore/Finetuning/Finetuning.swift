// Introduced in Chapter 05. What supervised fine-tuning adds to the core trainer: conversations turned
// into masked examples, a topic-classification data set, and a classifier (a base model with a linear
// head on the hidden state of the last real token) that can be saved and loaded.
//
// Padding, not packing: each example is one row, right-padded to the longest in its batch with `<|pad|>`
// and with the ignore index as its targets there. Packing (several examples end to end in one row) wastes
// no positions but lets an example attend to the one before it unless the attention mask is made
// block-diagonal; with examples of 20–120 tokens and batches drawn at random, padding costs about a third
// of the positions here and keeps every row a clean, independent conversation.

import Foundation

public enum SFTData {
    /// What `examples` kept and dropped.
    public struct Encoded: Sendable {
        public var examples: [MaskedExample]
        /// Indices (into the input) of the conversations kept.
        public var kept: [Int]
        /// How many did not fit `length` + 1 tokens and were left out (a cut answer teaches a cut ending).
        public var dropped: Int
    }

    /// Conversations as masked examples. `masked`: only assistant tokens are targets (the default); without
    /// it, every token after the first is — the model learns to write the user's turns too.
    public static func examples(_ conversations: [[ChatMessage]], template: ChatTemplate, length: Int,
                                masked: Bool = true) -> Encoded {
        var out = Encoded(examples: [], kept: [], dropped: 0)
        for (i, conversation) in conversations.enumerated() {
            let encoded = template.encode(conversation)
            if encoded.ids.count > length + 1 {
                out.dropped += 1
                continue
            }
            let scored = masked ? encoded.scored : [false] + [Bool](repeating: true, count: encoded.ids.count - 1)
            out.examples.append(MaskedExample(tokens: encoded.ids, scored: scored))
            out.kept.append(i)
        }
        return out
    }
}

/// Fortunes labelled with their topic file, balanced, split by entry like the instruction data.
public struct TopicClassification: Sendable {
    public struct Item: Sendable, Equatable {
        public let text: String
        public let label: Int
        /// The entry's index in the corpus.
        public let entry: Int
    }

    public let topics: [String]
    public let train: [Item], validation: [Item], test: [Item]

    /// Entries of `topics` up to `InstructionData.maxCharacters` characters; each split keeps the same
    /// number per topic (the smallest topic's count in that split), the first ones in corpus order.
    /// Throws when a topic has no entry in some split.
    public init(_ corpus: Corpus, topics: [String]) throws {
        var bySplit: [InstructionSplit: [[Item]]] = [:]
        for split in InstructionSplit.allCases { bySplit[split] = [[Item]](repeating: [], count: topics.count) }
        let label = Dictionary(uniqueKeysWithValues: topics.enumerated().map { ($1, $0) })
        for (index, entry) in corpus.entries.enumerated() {
            guard let c = label[entry.topic], entry.text.count <= InstructionData.maxCharacters else { continue }
            bySplit[InstructionSplit.of(entry: index)]![c].append(Item(text: entry.text, label: c, entry: index))
        }
        func balanced(_ split: InstructionSplit) throws -> [Item] {
            let groups = bySplit[split]!
            if let empty = groups.firstIndex(where: \.isEmpty) {
                throw CourseError.invalidValue(name: "topic \(topics[empty])", value: "(no \(split.rawValue) entries)",
                                               expected: "entries in every split; choose topics with more entries")
            }
            let n = groups.map(\.count).min() ?? 0
            // Interleaved by topic, so any prefix is balanced too.
            return (0..<n).flatMap { i in groups.map { $0[i] } }
        }
        self.topics = topics
        (train, validation, test) = (try balanced(.train), try balanced(.validation), try balanced(.test))
    }
}

/// A topic classifier: a base model read at the last real token, and a linear head (topics ← C).
public final class TopicClassifier {
    public let model: GPT
    public let head: Linear
    public let topics: [String]
    public let tokenizer: BPETokenizer

    public static let headFileName = "head.safetensors", topicsFileName = "topics.json"

    public init(model: GPT, topics: [String], tokenizer: BPETokenizer, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        self.model = model
        self.topics = topics
        self.tokenizer = tokenizer
        head = Linear("classifier", inputs: model.config.embeddingSize, outputs: topics.count, bias: true,
                      standardDeviation: 0.02, generator: &generator)
    }

    init(model: GPT, head: Linear, topics: [String], tokenizer: BPETokenizer) {
        (self.model, self.head, self.topics, self.tokenizer) = (model, head, topics, tokenizer)
    }

    /// The token sequence the classifier reads for a text: the text, then `<|endoftext|>`, so the last
    /// real token is the same marker whatever the text (its last `context` tokens).
    public func tokens(_ text: String) -> [Int] {
        let ids = tokenizer.encode(bytes: Array(text.utf8)) + (tokenizer.specialId("<|endoftext|>").map { [$0] } ?? [])
        return Array(ids.suffix(model.config.contextLength))
    }

    /// Labelled examples for the trainer.
    public func examples(_ items: [TopicClassification.Item]) -> [(tokens: [Int], label: Int)] {
        items.map { (tokens($0.text), $0.label) }
    }

    /// The padding id (`<|pad|>`, else `<|endoftext|>`, else 0).
    public var padding: Int { tokenizer.specialId("<|pad|>") ?? tokenizer.specialId("<|endoftext|>") ?? 0 }

    /// Class probabilities for each text (batches of `batchSize`).
    public func probabilities(_ texts: [String], batchSize: Int = 16) -> [[Float]] {
        var out: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let rows = texts[start..<min(start + batchSize, texts.count)].map(tokens)
            let t = rows.map(\.count).max() ?? 1
            let batch = LabelledBatch(inputs: rows.map { $0 + [Int](repeating: padding, count: t - $0.count) },
                                      lastPositions: rows.map { $0.count - 1 }, labels: rows.map { _ in 0 })
            let scores = Losses.classScores(model, head: head, batch)
            let k = topics.count
            for r in 0..<rows.count {
                let row = Array(scores.scalars[(r * k)..<((r + 1) * k)])
                let top = row.max() ?? 0
                let e = row.map { Foundation.exp($0 - top) }
                let sum = e.reduce(0, +)
                out.append(e.map { $0 / sum })
            }
        }
        return out
    }

    /// The most likely topic index of each text.
    public func predict(_ texts: [String]) -> [Int] {
        probabilities(texts).map { p in p.indices.max { p[$0] < p[$1] } ?? 0 }
    }

    /// Writes the model (config.json, model.safetensors), the head and the topic names into `folder`.
    public func save(to folder: URL) throws {
        try Checkpoint.save(model, to: folder)
        try SafetensorsFile.write(head.namedParameters.map { ($0.0, $0.1.value) },
                                  to: folder.appendingPathComponent(Self.headFileName))
        let data = try JSONSerialization.data(withJSONObject: ["topics": topics], options: [.sortedKeys])
        try AtomicFile.write(data, to: folder.appendingPathComponent(Self.topicsFileName))
    }

    /// Loads a classifier saved by `save`; every file is checked and named in errors.
    public static func load(from folder: URL, tokenizer: BPETokenizer) throws -> TopicClassifier {
        let model = try Checkpoint.load(from: folder)
        let topicsURL = folder.appendingPathComponent(topicsFileName)
        guard let data = FileManager.default.contents(atPath: topicsURL.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let topics = object["topics"] as? [String], topics.count >= 2 else {
            throw CheckpointError(path: topicsURL.path, reason: "expected {\"topics\": [at least two names]}")
        }
        let file = try SafetensorsFile.read(folder.appendingPathComponent(headFileName))
        var generator = SeededGenerator(seed: 0)
        let head = Linear("classifier", inputs: model.config.embeddingSize, outputs: topics.count, bias: true,
                          standardDeviation: 0, generator: &generator)
        for (name, parameter) in head.namedParameters {
            let tensor = try file.tensor(name)
            guard tensor.shape == parameter.value.shape else {
                throw CheckpointError(path: file.path, tensor: name,
                                      reason: "has shape \(tensor.shape), but \(topics.count) topics over width " +
                                              "\(model.config.embeddingSize) need \(parameter.value.shape)")
            }
            parameter.value = tensor
        }
        return TopicClassifier(model: model, head: head, topics: topics, tokenizer: tokenizer)
    }
}
