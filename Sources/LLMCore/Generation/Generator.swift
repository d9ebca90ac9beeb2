// Introduced in Chapter 08. The generation loop: prefill the prompt into the KV cache, then one token
// at a time — sample, stream it to the caller, stop at <|endoftext|>, a stop sequence, or the limit.
//
// Policies, stated once:
// - A prompt longer than the context keeps its last `contextLength − 1` tokens (room for one new token)
//   and reports how many it dropped; with `strict`, it is an error instead.
// - The window: the model sees the tokens from `windowStart` on. When one more token would not fit the
//   context, the window jumps forward to keep only the last half of the context (the new token
//   included), so generation can run past the context length; positions restart, which is what a model
//   trained on windows of that length expects anyway. With the cache, that jump is one re-prefill of
//   the kept half; without it (`usesCache = false`), every step reruns the same window — so the slow
//   baseline writes exactly the tokens the fast path writes, also past the context.

import Foundation

/// Why generation stopped.
public enum FinishReason: String, Sendable, Codable {
    case maxTokens = "max tokens", endOfText = "end of text", stopSequence = "stop sequence",
        callback = "stopped by caller"
}

/// What `Generator.generate` returns.
public struct Generation: Sendable {
    /// The new tokens (without the prompt, and without the stop token or stop sequence).
    public var tokens: [Int]
    public var finishReason: FinishReason
    /// Prompt tokens dropped from the left to fit the context.
    public var truncatedPrompt: Int
    /// Wall time of the prompt pass and of the token-by-token loop.
    public var prefillSeconds: Double, decodeSeconds: Double
    /// New tokens per second in the token-by-token loop.
    public var tokensPerSecond: Double { decodeSeconds > 0 ? Double(tokens.count) / decodeSeconds : 0 }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt
    case promptTooLong(tokens: Int, context: Int)
    case tokenOutOfRange(Int, vocabulary: Int)
    case invalidMaxTokens(Int)

    public var description: String {
        switch self {
        case .emptyPrompt:
            return "the prompt is empty: give some text (or start from <|endoftext|> explicitly)"
        case .promptTooLong(let tokens, let context):
            return "the prompt is \(tokens) tokens but the model's context is \(context): shorten it, or drop strict " +
                   "mode to keep its last \(context - 1) tokens"
        case .tokenOutOfRange(let id, let vocabulary):
            return "token id \(id) is outside the model's vocabulary 0..<\(vocabulary): was the prompt encoded with " +
                   "this model's tokenizer?"
        case .invalidMaxTokens(let n):
            return "max tokens \(n) is not valid: expected a whole number ≥ 1"
        }
    }
}

/// Generates from one model with a KV cache that is reused between calls.
public final class Generator {
    public let model: GPT
    public let cache: KVCache
    /// Whether to use the cache. Without it every step reruns the whole window: the slow baseline that
    /// Chapter 08 measures the cache against.
    public var usesCache = true

    public init(model: GPT) {
        self.model = model
        cache = KVCache(for: model.config)
    }

    /// Continues `prompt` by up to `maxTokens` tokens.
    /// - Parameters:
    ///   - stopTokens: ids that end generation when produced (e.g. `<|endoftext|>`); not included.
    ///   - stopSequences: token sequences that end generation once the output ends with one; removed.
    ///   - strict: a prompt longer than the context is an error instead of being cut from the left.
    ///   - onToken: called with each new token as it is chosen; return `false` to stop.
    public func generate(prompt: [Int], maxTokens: Int, settings: SamplingSettings = SamplingSettings(),
                         stopTokens: Set<Int> = [], stopSequences: [[Int]] = [], strict: Bool = false,
                         generator: inout SeededGenerator,
                         onToken: (Int) -> Bool = { _ in true }) throws -> Generation {
        try settings.validate()
        let (context, vocabulary) = (model.config.contextLength, model.config.vocabularySize)
        if prompt.isEmpty { throw GenerationError.emptyPrompt }
        if maxTokens < 1 { throw GenerationError.invalidMaxTokens(maxTokens) }
        if let bad = prompt.first(where: { !(0..<vocabulary).contains($0) }) { throw GenerationError.tokenOutOfRange(bad, vocabulary: vocabulary) }
        if strict && prompt.count > context { throw GenerationError.promptTooLong(tokens: prompt.count, context: context) }
        let kept = Array(prompt.suffix(context - 1))
        var sequence = kept                                    // everything the model has seen, for penalties and re-prefill
        var counts: [Int: Int] = [:]
        for token in kept { counts[token, default: 0] += 1 }

        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) / 1e9
        }
        var windowStart = 0
        var logits = nextLogits(after: sequence, windowStart: &windowStart, fresh: true)
        let prefill = lap()
        var produced: [Int] = []
        var reason = FinishReason.maxTokens
        while produced.count < maxTokens {
            var adjusted = logits
            Sampling.applyPenalties(&adjusted, counts: counts, settings)
            let token = Sampling.next(adjusted, settings, generator: &generator)
            if stopTokens.contains(token) { reason = .endOfText; break }
            produced.append(token)
            sequence.append(token)
            counts[token, default: 0] += 1
            if let stop = stopSequences.first(where: { !$0.isEmpty && produced.count >= $0.count && Array(produced.suffix($0.count)) == $0 }) {
                produced.removeLast(stop.count)
                reason = .stopSequence
                break
            }
            if !onToken(token) { reason = .callback; break }
            if produced.count == maxTokens { break }
            logits = nextLogits(after: sequence, windowStart: &windowStart, fresh: false)
        }
        return Generation(tokens: produced, finishReason: reason, truncatedPrompt: prompt.count - kept.count,
                          prefillSeconds: prefill, decodeSeconds: lap())
    }

    /// Logits for the position after `sequence[windowStart...]` (the window policy above). With the
    /// cache, a fresh call runs the whole (already fitted) prompt, later calls only the token just
    /// appended, and a window jump re-prefills the kept half.
    private func nextLogits(after sequence: [Int], windowStart: inout Int, fresh: Bool) -> [Float] {
        let context = model.config.contextLength
        let jumped = sequence.count - windowStart > context
        if jumped { windowStart = sequence.count - context / 2 }
        let window = Array(sequence[windowStart...])
        guard usesCache else {
            return model.logits([window], .inference, lastOnly: true).value.scalars
        }
        if fresh || jumped { cache.reset() }
        let pending = fresh || jumped ? window : [sequence[sequence.count - 1]]
        return model.forward(pending, cache: cache).scalars
    }
}

extension Tensor {
    /// The last row of the last dimension's rows, as an array (the next-token logits of a (1, T, V) output).
    public var lastRow: [Float] {
        let columns = shape.last ?? 0
        return Array(scalars.suffix(columns))
    }
}
