// Introduced in Chapter 08. Speculative decoding (Leviathan et al. 2023; Chen et al. 2023): a cheap
// drafter proposes k tokens, the target checks all of them in one forward pass.
//
// Batch-1 decoding is bound by reading the weights once per token, so a forward pass over k + 1
// positions costs about as much as over one. If the drafter guesses right, one target pass yields
// several tokens. The accept/reject rule keeps the output distributed exactly as the target's:
//   for each draft token d with drafter probability q(d) and target probability p(d):
//     accept with probability min(1, p(d)/q(d));
//     on the first rejection, draw instead from norm(max(0, p − q)) and stop;
//   if all k are accepted, draw one bonus token from the target's next distribution.
// Greedy decoding is the special case where p and q are one-hot: accept while the draft equals the
// target's argmax, then emit the target's own token — the output is plain greedy's, token for token.
//
// Drafters: a small model with its own KV cache, or prompt lookup (Saxena 2023): find the last n
// tokens earlier in the text and propose what followed them there — free, and good whenever the output
// copies the input (summaries, code edits, quoting). A deterministic drafter is a one-hot q.
//
// Both caches hold a prefix of the window; before each round every model catches up on the tokens it
// has not seen, and after it each cache is cut back to the accepted tokens (`KVCache.truncate`).
// Penalties are not applied here (they would make the target's distribution depend on the drafts).

import Foundation

/// Where draft tokens come from.
public enum Drafter {
    /// A small model sharing the target's tokenizer.
    case model(GPT)
    /// Copy the continuation of the most recent earlier match of the last `ngram` tokens (then shorter
    /// n-grams down to 1); propose nothing when there is none.
    case promptLookup(ngram: Int)
}

/// What speculative generation returns: the tokens and how well the drafter did.
public struct SpeculativeGeneration: Sendable {
    public var tokens: [Int]
    public var finishReason: FinishReason
    /// Draft tokens proposed and accepted, and target forward passes (one per round).
    public var proposed: Int, accepted: Int, targetPasses: Int
    public var seconds: Double
    public var acceptanceRate: Double { proposed > 0 ? Double(accepted) / Double(proposed) : 0 }
    public var tokensPerTargetPass: Double { targetPasses > 0 ? Double(tokens.count) / Double(targetPasses) : 0 }
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens.count) / seconds : 0 }
}

public enum Speculative {
    /// The accept/reject rule for one round. `p[i]` is the target's distribution at draft position i
    /// (k + 1 of them: the last follows every draft), `q[i]` the drafter's (nil: one-hot on the draft),
    /// `drafts` the k proposed tokens. Returns how many drafts were accepted and the token emitted after
    /// them (the correction on a rejection, else the bonus).
    public static func accept(p: [[Float]], q: [[Float]?], drafts: [Int],
                              generator: inout SeededGenerator) -> (accepted: Int, next: Int) {
        for (i, d) in drafts.enumerated() {
            let target = p[i][d], draft = q[i]?[d] ?? 1
            if draft > 0 && generator.uniform() < min(1, target / draft) { continue }
            // Rejected: the residual max(0, p − q), renormalised. (If p ≤ q everywhere — only by rounding —
            // fall back to p.)
            var residual = p[i]
            if let qi = q[i] { for j in residual.indices { residual[j] = max(0,
                                                                             residual[j] - qi[j]) } } else { residual[d] = 0 }
            let next = generator.categorical(residual) ?? generator.categorical(p[i]) ?? d
            return (i, next)
        }
        return (drafts.count, generator.categorical(p[drafts.count]) ?? 0)
    }

    /// Greedy acceptance: drafts are kept while they equal the target's argmax; then the target's own.
    public static func acceptGreedy(targetLogits: [[Float]], drafts: [Int]) -> (accepted: Int, next: Int) {
        for (i, d) in drafts.enumerated() {
            let best = Sampling.argmax(targetLogits[i])
            if best != d { return (i, best) }
        }
        return (drafts.count, Sampling.argmax(targetLogits[drafts.count]))
    }

    /// Prompt lookup: the up-to-k tokens that followed the most recent earlier occurrence of the
    /// sequence's last n tokens, trying n = `ngram` down to 1.
    public static func lookup(_ sequence: [Int], ngram: Int, k: Int) -> [Int] {
        guard sequence.count >= 2 else { return [] }
        for n in stride(from: min(ngram, sequence.count - 1), through: 1, by: -1) {
            let tail = Array(sequence.suffix(n))
            var start = sequence.count - n - 1
            while start >= 0 {
                if Array(sequence[start..<start + n]) == tail {
                    let follow = start + n
                    return Array(sequence[follow..<min(follow + k, sequence.count)])
                }
                start -= 1
            }
        }
        return []
    }
}

/// Speculative generation with one target and one drafter, each with its own KV cache.
public final class SpeculativeDecoder {
    public let target: GPT
    public let drafter: Drafter
    /// Draft tokens per round.
    public let k: Int
    let targetCache: KVCache
    let draftCache: KVCache?

    public init(target: GPT, drafter: Drafter, k: Int) throws {
        if k < 1 { throw CourseError.invalidValue(name: "draft length k", value: "\(k)",
                  expected: "a whole number ≥ 1") }
        if case .model(let draft) = drafter, draft.config.vocabularySize != target.config.vocabularySize {
            throw CourseError.invalidValue(name: "draft model vocabulary", value: "\(draft.config.vocabularySize)",
                                           expected: "the target's \(target.config.vocabularySize): both must share " +
                                                     "one tokenizer")
        }
        if case .promptLookup(let n) = drafter, n < 1 {
            throw CourseError.invalidValue(name: "prompt lookup n-gram", value: "\(n)", expected: "a whole number ≥ 1")
        }
        self.target = target
        self.drafter = drafter
        self.k = k
        targetCache = KVCache(for: target.config)
        if case .model(let draft) = drafter { draftCache = KVCache(for: draft.config) } else { draftCache = nil }
    }

    /// Like `Generator.generate` (same errors and prompt policy; no penalties), in rounds of k drafts.
    public func generate(prompt: [Int], maxTokens: Int, settings: SamplingSettings = .greedy, stopTokens: Set<Int> = [],
                         generator: inout SeededGenerator,
                         onToken: (Int) -> Bool = { _ in true }) throws -> SpeculativeGeneration {
        try settings.validate()
        let context = min(target.config.contextLength, draftModel?.config.contextLength ?? .max)
        let vocabulary = target.config.vocabularySize
        if prompt.isEmpty { throw GenerationError.emptyPrompt }
        if maxTokens < 1 { throw GenerationError.invalidMaxTokens(maxTokens) }
        if let bad = prompt.first(where: { !(0..<vocabulary).contains($0) }) { throw GenerationError.tokenOutOfRange(bad, vocabulary: vocabulary) }
        let start = DispatchTime.now().uptimeNanoseconds
        var sequence = Array(prompt.suffix(context - 1))
        var window = 0                                   // both caches cover sequence[window...]
        targetCache.reset()
        draftCache?.reset()
        var produced: [Int] = []
        var result = SpeculativeGeneration(tokens: [], finishReason: .maxTokens, proposed: 0, accepted: 0,
                                           targetPasses: 0, seconds: 0)
        rounds: while produced.count < maxTokens {
            // The same sliding window as `Generator`: when the committed tokens no longer fit, keep the
            // last half and restart both caches. Near the end of the window, fewer drafts fit.
            if sequence.count - window > context {
                window = sequence.count - context / 2
                targetCache.reset()
                draftCache?.reset()
            }
            let budget = min(k, maxTokens - produced.count - 1, context - (sequence.count - window))
            let (drafts, q) = propose(sequence, window: window, count: budget,
                                      settings: settings, generator: &generator)
            // One target pass over the tokens it has not seen (the last committed one at least) and the drafts.
            let pending = Array(sequence[(window + targetCache.length)...]) + drafts
            let logits = rows(target.forward(pending, cache: targetCache,
                                             allPositions: true)).suffix(drafts.count + 1).map { $0 }
            result.targetPasses += 1
            result.proposed += drafts.count
            let (accepted, next): (Int, Int)
            if settings.isGreedy {
                (accepted, next) = Speculative.acceptGreedy(targetLogits: logits, drafts: drafts)
            } else {
                (accepted, next) = Speculative.accept(p: logits.map { Sampling.distribution($0, settings) }, q: q,
                                                      drafts: drafts, generator: &generator)
            }
            result.accepted += accepted
            // The caches keep the committed tokens only: the target saw the last committed token and the
            // accepted drafts; the drafter may be behind (it catches up next round) but never ahead.
            let committed = sequence.count - window
            targetCache.truncate(to: committed + accepted)
            if let draftCache, draftCache.length > committed + accepted { draftCache.truncate(to: committed + accepted) }
            for token in Array(drafts.prefix(accepted)) + [next] {
                if stopTokens.contains(token) { result.finishReason = .endOfText; break rounds }
                produced.append(token)
                sequence.append(token)
                if !onToken(token) { result.finishReason = .callback; break rounds }
                if produced.count == maxTokens { break rounds }
            }
        }
        result.tokens = produced
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    private var draftModel: GPT? {
        if case .model(let m) = drafter { return m }
        return nil
    }

    /// Up to `count` draft tokens after `sequence`, with the drafter's distributions (nil: one-hot).
    private func propose(_ sequence: [Int], window: Int, count: Int, settings: SamplingSettings,
                         generator: inout SeededGenerator) -> ([Int], [[Float]?]) {
        guard count > 0 else { return ([], []) }
        switch drafter {
        case .promptLookup(let n):
            let drafts = Speculative.lookup(Array(sequence[window...]), ngram: n, k: count)
            return (drafts, drafts.map { _ in nil })
        case .model(let draft):
            guard let cache = draftCache else { return ([], []) }
            var drafts: [Int] = [], distributions: [[Float]?] = []
            var logits = draft.forward(Array(sequence[(window + cache.length)...]), cache: cache).scalars
            for i in 0..<count {
                let token: Int
                if settings.isGreedy {
                    token = Sampling.argmax(logits)
                    distributions.append(nil)
                } else {
                    let q = Sampling.distribution(logits, settings)
                    token = generator.categorical(q) ?? Sampling.argmax(logits)
                    distributions.append(q)
                }
                drafts.append(token)
                if i + 1 < count { logits = draft.forward([token], cache: cache).scalars }
            }
            return (drafts, distributions)
        }
    }

    /// The rows of a (rows, V) logits tensor.
    private func rows(_ logits: Tensor) -> [[Float]] {
        let v = logits.shape[1], all = logits.scalars
        return (0..<logits.shape[0]).map { Array(all[$0 * v..<($0 + 1) * v]) }
    }
}
