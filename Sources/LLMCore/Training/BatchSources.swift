// Introduced in Chapter 04 (token windows); the other sources serve Chapters 05 (masked examples,
// labelled examples) and 11 (preference pairs). Where a `Trainer`'s batches come from.
//
// A batch source makes seeded training batches and a fixed list of validation batches. Every random
// choice is drawn from the generator the trainer hands it — the trainer keeps that generator in its
// state and saves it with each checkpoint, so a resumed run draws the same batches as an uninterrupted
// one, whatever the source.
//
//   TokenWindows       pretraining: random windows of a token stream, every position a target
//   MaskedExamples     SFT: (prompt, response) examples padded into a batch; only response tokens are
//                      targets, the rest carry the ignore index −100 (`Tape.crossEntropy` skips them)
//   LabelledExamples   classification: token sequences with one class label each
//   PreferencePairs    DPO: the same prompt with a chosen and a rejected response
//
// Legend: B batch, T length (≤ the model's context).

/// What a `Trainer` draws its batches from.
public protocol BatchSource {
    associatedtype Batch
    /// One training batch; every random choice comes from `random`.
    func trainingBatch(_ random: inout SeededGenerator) -> Batch
    /// The fixed validation batches, in order (the same every call), at most `maxBatches`.
    func validationBatches(maxBatches: Int) -> [Batch]
    /// How many token positions a batch runs through the model (for tokens/s).
    func tokenCount(_ batch: Batch) -> Int
}

/// Inputs (B, T) and one target per position (B·T, row-major); `ignoreIndex` marks positions that are
/// not scored. Pretraining and SFT batches.
public struct TokenBatch: Sendable, Equatable {
    public var inputs: [[Int]]
    public var targets: [Int]

    public init(inputs: [[Int]], targets: [Int]) {
        self.inputs = inputs
        self.targets = targets
    }

    /// The ignore index of `Tape.crossEntropy` (PyTorch's default): a target that is not scored.
    public static let ignoreIndex = -100
}

/// Random windows of `length` + 1 tokens from a token stream: inputs (B, T) and next-token targets.
public struct TokenWindows: BatchSource {
    public let data: TokenDataset
    public let batchSize: Int, length: Int

    public init(_ data: TokenDataset, batchSize: Int, length: Int) {
        self.data = data
        self.batchSize = batchSize
        self.length = length
    }

    public func trainingBatch(_ random: inout SeededGenerator) -> TokenBatch {
        let batch = randomWindows(data.train, batch: batchSize, length: length, using: &random)
        return TokenBatch(inputs: batch.inputs, targets: batch.targets)
    }

    /// Consecutive windows of the validation stream (`validationBatches(_:batch:length:maxBatches:)`).
    public func validationBatches(maxBatches: Int) -> [TokenBatch] {
        LLMCore.validationBatches(data.validation, batch: batchSize, length: length, maxBatches: maxBatches)
            .map { TokenBatch(inputs: $0.inputs, targets: $0.targets) }
    }

    public func tokenCount(_ batch: TokenBatch) -> Int { batch.targets.count }
}

/// One supervised example: the tokens the model reads, and which of them it must learn to predict
/// (`scored[i]`: token i is a target, i.e. predicted from tokens 0..<i). For SFT, the response tokens.
public struct MaskedExample: Sendable, Equatable {
    public var tokens: [Int]
    public var scored: [Bool]

    public init(tokens: [Int], scored: [Bool]) {
        self.tokens = tokens
        self.scored = scored
    }

    /// A prompt whose continuation `response` is scored: [p₀ … pₙ r₀ … rₘ], targets r₀ … rₘ only.
    public init(prompt: [Int], response: [Int]) {
        tokens = prompt + response
        scored = [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: response.count)
    }
}

/// Masked examples in batches: each example cut to `length` + 1 tokens, right-padded with `padding`;
/// targets are the next tokens where they are scored, −100 elsewhere (prompt, padding).
///
/// [5, 6 | 7, 8] (prompt 5 6, response 7 8) as a row of 4, padding 0 → inputs [5, 6, 7, 0],
/// targets [−100, 7, 8, −100]: position 1 (reading 6) must predict 7, position 2 (reading 7) must predict 8,
/// position 3 is padding. A batch's rows are padded to its longest row (at most `length`).
public struct MaskedExamples: BatchSource {
    public let train: [MaskedExample], validation: [MaskedExample]
    public let batchSize: Int, length: Int, padding: Int
    /// Length grouping: each training batch is the `batchSize` examples of one length-sorted chunk of
    /// `grouping` × `batchSize` random draws, so a batch pads less (Hugging Face's `group_by_length`).
    /// 1 (the default): plain random batches.
    public var grouping = 1

    /// Throws when a split is empty or an example has no scored token within `length` + 1 tokens.
    public init(train: [MaskedExample], validation: [MaskedExample], batchSize: Int, length: Int, padding: Int) throws {
        for (name, split) in [("training", train), ("validation", validation)] {
            if split.isEmpty { throw CourseError.invalidValue(name: "\(name) examples", value: "(none)",
                expected: "at least one example") }
            if let bad = split.firstIndex(where: { $0.tokens.count != $0.scored.count || !$0.scored.prefix(length + 1).dropFirst().contains(true) }) {
                throw CourseError.invalidValue(name: "\(name) example \(bad)",
                    value: "(no scored token after the first in \(length + 1))",
                                               expected: "a response that starts within the context (shorten the " +
                                                         "prompt)")
            }
        }
        (self.train, self.validation) = (train, validation)
        (self.batchSize, self.length, self.padding) = (batchSize, length, padding)
    }

    /// The batch of `examples`, padded to the longest (at most `length`).
    public func batch(_ examples: [MaskedExample]) -> TokenBatch {
        let t = min(length, examples.map { $0.tokens.count - 1 }.max() ?? 1)
        var inputs: [[Int]] = [], targets: [Int] = []
        for example in examples {
            let row = Self.row(example, length: t, padding: padding)
            inputs.append(row.inputs)
            targets += row.targets
        }
        return TokenBatch(inputs: inputs, targets: targets)
    }

    /// One row of `length` positions: the example cut to `length` + 1 tokens; inputs all but the last,
    /// targets the next token where it is scored, −100 elsewhere; right-padded (inputs with `padding`).
    public static func row(_ example: MaskedExample, length: Int, padding: Int) -> (inputs: [Int], targets: [Int]) {
        let tokens = Array(example.tokens.prefix(length + 1)), scored = Array(example.scored.prefix(length + 1))
        var inputs = Array(tokens.dropLast()), targets: [Int] = []
        for i in 1..<max(tokens.count, 1) { targets.append(scored[i] ? tokens[i] : TokenBatch.ignoreIndex) }
        inputs += [Int](repeating: padding, count: length - inputs.count)
        targets += [Int](repeating: TokenBatch.ignoreIndex, count: length - targets.count)
        return (inputs, targets)
    }

    public func trainingBatch(_ random: inout SeededGenerator) -> TokenBatch {
        let draws = (0..<(batchSize * max(grouping, 1))).map { _ in train[random.integer(below: train.count)] }
        guard grouping > 1 else { return batch(draws) }
        let sorted = draws.sorted { $0.tokens.count < $1.tokens.count }
        let chunk = random.integer(below: grouping)
        return batch(Array(sorted[(chunk * batchSize)..<((chunk + 1) * batchSize)]))
    }

    public func validationBatches(maxBatches: Int) -> [TokenBatch] {
        stride(from: 0, to: validation.count, by: batchSize).prefix(maxBatches).map {
            batch(Array(validation[$0..<min($0 + batchSize, validation.count)]))
        }
    }

    public func tokenCount(_ batch: TokenBatch) -> Int { batch.targets.count }
}

/// Sequences with one class label each, right-padded: the classifier reads the hidden state at each
/// row's last real token (`lastPositions`).
public struct LabelledBatch: Sendable, Equatable {
    public var inputs: [[Int]]
    public var lastPositions: [Int]
    public var labels: [Int]
}

public struct LabelledExamples: BatchSource {
    public let train: [(tokens: [Int], label: Int)], validation: [(tokens: [Int], label: Int)]
    public let batchSize: Int, length: Int, padding: Int

    /// Throws when a split is empty or holds an empty sequence.
    public init(train: [(tokens: [Int], label: Int)], validation: [(tokens: [Int], label: Int)],
                batchSize: Int, length: Int, padding: Int) throws {
        for (name, split) in [("training", train), ("validation", validation)] {
            if split.isEmpty { throw CourseError.invalidValue(name: "\(name) examples", value: "(none)",
                expected: "at least one example") }
            if let bad = split.firstIndex(where: { $0.tokens.isEmpty }) {
                throw CourseError.invalidValue(name: "\(name) example \(bad)", value: "(no tokens)",
                    expected: "at least one token")
            }
        }
        (self.train, self.validation) = (train, validation)
        (self.batchSize, self.length, self.padding) = (batchSize, length, padding)
    }

    /// Each sequence keeps its last `length` tokens (a classifier needs the end), padded to the longest.
    public func batch(_ examples: [(tokens: [Int], label: Int)]) -> LabelledBatch {
        let rows = examples.map { Array($0.tokens.suffix(length)) }
        let t = rows.map(\.count).max() ?? 1
        return LabelledBatch(inputs: rows.map { $0 + [Int](repeating: padding, count: t - $0.count) },
                             lastPositions: rows.map { $0.count - 1 }, labels: examples.map(\.label))
    }

    public func trainingBatch(_ random: inout SeededGenerator) -> LabelledBatch {
        batch((0..<batchSize).map { _ in train[random.integer(below: train.count)] })
    }

    public func validationBatches(maxBatches: Int) -> [LabelledBatch] {
        stride(from: 0, to: validation.count, by: batchSize).prefix(maxBatches).map {
            batch(Array(validation[$0..<min($0 + batchSize, validation.count)]))
        }
    }

    public func tokenCount(_ batch: LabelledBatch) -> Int { batch.inputs.count * (batch.inputs.first?.count ?? 0) }
}

/// The same prompts with a preferred (chosen) and a dispreferred (rejected) response: two masked
/// batches whose rows correspond.
public struct PreferenceBatch: Sendable, Equatable {
    public var chosen: TokenBatch
    public var rejected: TokenBatch
}

public struct PreferencePairs: BatchSource {
    public struct Pair: Sendable, Equatable {
        public var prompt: [Int], chosen: [Int], rejected: [Int]
        public init(prompt: [Int], chosen: [Int], rejected: [Int]) {
            (self.prompt, self.chosen, self.rejected) = (prompt, chosen, rejected)
        }
    }

    public let train: [Pair], validation: [Pair]
    let masked: MaskedExamples

    public init(train: [Pair], validation: [Pair], batchSize: Int, length: Int, padding: Int) throws {
        (self.train, self.validation) = (train, validation)
        func examples(_ pairs: [Pair]) -> [MaskedExample] {
            pairs.flatMap { [MaskedExample(prompt: $0.prompt, response: $0.chosen),
                             MaskedExample(prompt: $0.prompt, response: $0.rejected)] }
        }
        masked = try MaskedExamples(train: examples(train), validation: examples(validation),
                                    batchSize: batchSize, length: length, padding: padding)
    }

    public func batch(_ pairs: [Pair]) -> PreferenceBatch {
        PreferenceBatch(chosen: masked.batch(pairs.map { MaskedExample(prompt: $0.prompt, response: $0.chosen) }),
                        rejected: masked.batch(pairs.map { MaskedExample(prompt: $0.prompt, response: $0.rejected) }))
    }

    public func trainingBatch(_ random: inout SeededGenerator) -> PreferenceBatch {
        batch((0..<masked.batchSize).map { _ in train[random.integer(below: train.count)] })
    }

    public func validationBatches(maxBatches: Int) -> [PreferenceBatch] {
        stride(from: 0, to: validation.count, by: masked.batchSize).prefix(maxBatches).map {
            batch(Array(validation[$0..<min($0 + masked.batchSize, validation.count)]))
        }
    }

    public func tokenCount(_ batch: PreferenceBatch) -> Int { batch.chosen.targets.count + batch.rejected.targets.count }
}
