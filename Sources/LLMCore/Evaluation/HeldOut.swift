// Introduced in Chapter 04. How well a model predicts text it never trained on, in the unit that compares
// with any compressor: bits per byte.
//
// Compression is prediction: a model that gives the next token probability p can encode it in −log₂ p
// bits (arithmetic coding gets within a hair of that). So a language model's cross-entropy, summed over
// the held-out tokens and divided by the held-out text's UTF-8 bytes, is the size of the text it could
// write — bits per byte, comparable with gzip and xz on the same bytes (Compressors.swift) and across
// tokenizers (tokens per byte differ, bytes do not).
//
//   bits per byte = Σ −ln p(token) / (ln 2 · bytes)
//
// Protocol of `HeldOut.score`: the whole held-out stream, every token predicted exactly once — an
// `<|endoftext|>` is put in front so the first entry's first token is predicted too; consecutive
// windows of the model's context with no overlap (each token sees the context since its window began,
// between 0 and T − 1 tokens), the last window shorter. Bytes: each entry's UTF-8 text plus one for the
// separator its closing `<|endoftext|>` stands for. `perEntry` scores each entry on its own, for intervals.

import Foundation

/// Bits per byte from a summed cross-entropy in nats and a byte count: nats / (ln 2 · bytes).
/// 2.0 nats/token over 100 tokens of 250 bytes → 200 / (0.6931 · 250) = 1.154 bits per byte.
public func bitsPerByte(nats: Double, bytes: Int) -> Double {
    bytes > 0 ? nats / (log(2) * Double(bytes)) : .nan
}

/// A model's score on a held-out stream.
public struct HeldOutScore: Sendable, Equatable {
    /// Tokens predicted (every held-out token once).
    public let tokens: Int
    /// UTF-8 bytes of the text they encode.
    public let bytes: Int
    /// Σ −ln p over those tokens.
    public let nats: Double

    public var natsPerToken: Double { nats / Double(max(tokens, 1)) }
    public var bitsPerByte: Double { LLMCore.bitsPerByte(nats: nats, bytes: bytes) }
}

public enum HeldOut {
    /// Scores `stream` (entries joined by `endOfText`, as `TokenDataset` builds them) by the protocol
    /// above; `bytes` is the text's size (`TokenDataset.validationBytes`). Batches of `batchSize` windows.
    public static func score(_ model: GPT, stream: [Int32], endOfText: Int32, bytes: Int,
                             batchSize: Int = 8) -> HeldOutScore {
        let tokens = [Int(endOfText)] + stream.map(Int.init)
        let t = model.config.contextLength
        var windows: [(inputs: [Int], targets: [Int])] = []
        var start = 0
        while start + 1 < tokens.count {
            let end = min(start + t, tokens.count - 1)
            windows.append((Array(tokens[start..<end]), Array(tokens[(start + 1)...end])))
            start = end
        }
        var nats = 0.0, counted = 0
        var index = 0
        while index < windows.count {
            // Windows of one length go together (all but the last are full).
            let length = windows[index].inputs.count
            var batch = [(inputs: [Int], targets: [Int])]()
            while index < windows.count, batch.count < batchSize, windows[index].inputs.count == length {
                batch.append(windows[index])
                index += 1
            }
            let tape = Tape.inference
            let targets = batch.flatMap(\.targets)
            let mean = tape.crossEntropy(model(batch.map(\.inputs), tape), targets: targets).value.item
            nats += Double(mean) * Double(targets.count)
            counted += targets.count
        }
        return HeldOutScore(tokens: counted, bytes: bytes, nats: nats)
    }

    /// The model's score on some held-out entries (one language's, say), tokenized here.
    public static func score(_ model: GPT, tokenizer: BPETokenizer, entries: [String],
                             batchSize: Int = 8) throws -> HeldOutScore {
        let end = Int32(tokenizer.specialId("<|endoftext|>") ?? 0)
        let stream = try tokenizer.encode(documents: entries, special: .asText).flatMap { $0.map(Int32.init) + [end] }
        return score(model, stream: stream, endOfText: end, bytes: entries.reduce(0) { $0 + $1.utf8.count + 1 },
                     batchSize: batchSize)
    }

    /// Each entry scored on its own — an `<|endoftext|>` in front, its tokens and the closing
    /// `<|endoftext|>` predicted, in non-overlapping windows of the context — so that the entries are
    /// independent items a bootstrap can resample (Chapter 10). Bytes: the entry's UTF-8 plus one, as above.
    /// Differs from `score` only in that no entry sees the one before it: slightly higher figures.
    public static func perEntry(_ model: GPT, tokenizer: BPETokenizer, entries: [String],
                                batchSize: Int = 8) throws -> [HeldOutScore] {
        let end = tokenizer.specialId("<|endoftext|>") ?? 0
        let encoded = try tokenizer.encode(documents: entries, special: .asText)
        let t = model.config.contextLength
        // Every window of every entry, padded to the context with ignored targets.
        var windows: [(entry: Int, inputs: [Int], targets: [Int])] = []
        for (e, ids) in encoded.enumerated() {
            let tokens = [end] + ids + [end]
            var start = 0
            while start + 1 < tokens.count {
                let stop = min(start + t, tokens.count - 1)
                var inputs = Array(tokens[start..<stop]), targets = Array(tokens[(start + 1)...stop])
                let pad = t - inputs.count
                inputs += [Int](repeating: end, count: pad)
                targets += [Int](repeating: TokenBatch.ignoreIndex, count: pad)
                windows.append((e, inputs, targets))
                start = stop
            }
        }
        var nats = [Double](repeating: 0, count: entries.count)
        for first in stride(from: 0, to: windows.count, by: batchSize) {
            let batch = windows[first..<min(first + batchSize, windows.count)]
            let logProbabilities = Tape.inference.sequenceLogProbabilities(
                model(batch.map(\.inputs), .inference), targets: batch.flatMap(\.targets)).value
            for (row, window) in batch.enumerated() { nats[window.entry] -= Double(logProbabilities.base[row]) }
        }
        return entries.indices.map { e in
            HeldOutScore(tokens: encoded[e].count + 1, bytes: entries[e].utf8.count + 1, nats: nats[e])
        }
    }

    /// The model's next-token guesses on the held-out entries, for calibration (Chapter 10): per predicted
    /// token, the probability of its top-1 token (its confidence) and whether that token is the right one.
    /// The windows are `perEntry`'s; at most `maxTokens` predictions (0: all), taken in entry order.
    public static func topTokenPredictions(_ model: GPT, tokenizer: BPETokenizer, entries: [String],
                                           maxTokens: Int = 0, batchSize: Int = 8) throws
        -> (confidences: [Double], correct: [Bool]) {
        let end = tokenizer.specialId("<|endoftext|>") ?? 0
        let encoded = try tokenizer.encode(documents: entries, special: .asText)
        let t = model.config.contextLength
        var windows: [(inputs: [Int], targets: [Int])] = []
        var wanted = 0
        for ids in encoded where maxTokens == 0 || wanted < maxTokens {
            let tokens = [end] + ids + [end]
            var start = 0
            while start + 1 < tokens.count {
                let stop = min(start + t, tokens.count - 1), pad = t - (stop - start)
                windows.append((Array(tokens[start..<stop]) + [Int](repeating: end, count: pad),
                                Array(tokens[(start + 1)...stop]) + [Int](repeating: TokenBatch.ignoreIndex,
                                                                           count: pad)))
                wanted += stop - start
                start = stop
            }
        }
        var confidences: [Double] = [], correct: [Bool] = []
        var probabilities: [Float] = []
        for first in stride(from: 0, to: windows.count, by: batchSize) {
            let batch = windows[first..<min(first + batchSize, windows.count)]
            let logits = model(batch.map(\.inputs), .inference).value
            let v = logits.shape[2]
            if probabilities.count != v { probabilities = [Float](repeating: 0, count: v) }
            probabilities.withUnsafeMutableBufferPointer { p in
                for (row, window) in batch.enumerated() {
                    for (position, target) in window.targets.enumerated() where target != TokenBatch.ignoreIndex {
                        Kernels.softmaxRow(logits.base + (row * t + position) * v, p.baseAddress!, count: v)
                        var top = 0
                        for i in 1..<v where p[i] > p[top] { top = i }
                        confidences.append(Double(p[top]))
                        correct.append(top == target)
                    }
                }
            }
        }
        if maxTokens > 0 && confidences.count > maxTokens {
            confidences.removeLast(confidences.count - maxTokens)
            correct.removeLast(correct.count - maxTokens)
        }
        return (confidences, correct)
    }

    /// Bits per byte of per-entry scores (Σ nats / (ln 2 · Σ bytes)) with a 95 % bootstrap interval over
    /// entries.
    public static func bitsPerByteInterval(_ scores: [HeldOutScore], resamples: Int = 1000,
                                           seed: UInt64 = 0) -> Bootstrap.Interval {
        Bootstrap.interval(count: scores.count, resamples: resamples, seed: seed) { items in
            LLMCore.bitsPerByte(nats: items.reduce(0) { $0 + scores[$1].nats },
                                bytes: items.reduce(0) { $0 + scores[$1].bytes })
        }
    }

    /// The model's score on a dataset's whole held-out split.
    public static func score(_ model: GPT, _ data: TokenDataset, batchSize: Int = 8) -> HeldOutScore {
        score(model, stream: data.validation, endOfText: data.endOfText,
              bytes: data.validationBytes, batchSize: batchSize)
    }
}
