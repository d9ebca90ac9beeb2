// Introduced in Chapter 08. Beam search: keep the `width` most probable continuations, not just one.
//
// Greedy decoding commits to the best next token; a sequence whose first token is second-best can still
// be the more probable whole. Beam search keeps `width` partial sequences ("beams"); each step extends
// every beam by every token, scores each candidate by its total log-probability, and keeps the best
// `width`. A beam that produces a stop token is finished. Longer sequences collect more negative
// log-probabilities, so finished beams are compared by score / length^α (α = `lengthPenalty`; 1 is
// the mean log-probability per token, 0 the raw sum which favours short outputs).
//
// All beams have the same length, so one batched forward pass (W, T) scores them; the window is the last
// `contextLength` tokens. Candidates are chosen by partial selection (the best `2·width` of W·V),
// ties to the lower beam, then the lower token id — so width 1 is exactly greedy.

import Foundation

public struct BeamResult: Sendable {
    /// The best sequence's new tokens (without the prompt or a stop token).
    public var tokens: [Int]
    /// Its total log-probability and its length-normalised score.
    public var logProbability: Double, score: Double
    public var finishReason: FinishReason
}

public enum BeamSearch {
    public static func generate(_ model: GPT, prompt: [Int], width: Int, maxTokens: Int, lengthPenalty: Double = 1,
                                stopTokens: Set<Int> = []) throws -> BeamResult {
        let vocabulary = model.config.vocabularySize
        if width < 1 { throw CourseError.invalidValue(name: "beam width", value: "\(width)",
                      expected: "a whole number ≥ 1") }
        if prompt.isEmpty { throw GenerationError.emptyPrompt }
        if maxTokens < 1 { throw GenerationError.invalidMaxTokens(maxTokens) }
        if let bad = prompt.first(where: { !(0..<vocabulary).contains($0) }) { throw GenerationError.tokenOutOfRange(bad, vocabulary: vocabulary) }
        struct Beam { var tokens: [Int]; var logProbability: Double }
        func score(_ beam: Beam) -> Double {
            beam.logProbability / pow(Double(max(beam.tokens.count, 1)), lengthPenalty)
        }
        var beams = [Beam(tokens: [], logProbability: 0)]
        var finished: [(Beam, FinishReason)] = []
        for _ in 0..<maxTokens {
            let windows = beams.map { Array((prompt + $0.tokens).suffix(model.config.contextLength)) }
            let t = windows[0].count
            let logits = model(windows, .inference).value.scalars              // (W, T, V)
            // Candidates (beam, token, total log-probability), best first.
            var candidates: [(beam: Int, token: Int, total: Double)] = []
            candidates.reserveCapacity(beams.count * vocabulary)
            for (b, beam) in beams.enumerated() {
                let row = Array(logits[((b * t) + t - 1) * vocabulary..<((b * t) + t) * vocabulary])
                let maximum = row.max() ?? 0
                let logSum = Double(maximum) + log(row.reduce(0.0) { $0 + exp(Double($1 - maximum)) })
                for token in 0..<vocabulary { candidates.append((b, token,
                                                                 beam.logProbability + Double(row[token]) - logSum)) }
            }
            let best = topCandidates(candidates, count: 2 * width)
            var next: [Beam] = []
            for candidate in best {
                let extended = Beam(tokens: beams[candidate.beam].tokens + [candidate.token],
                                    logProbability: candidate.total)
                if stopTokens.contains(candidate.token) {
                    finished.append((Beam(tokens: beams[candidate.beam].tokens,
                                          logProbability: candidate.total), .endOfText))
                } else {
                    next.append(extended)
                }
                if next.count == width { break }
            }
            beams = next
            // Stop when no live beam can still beat the best finished one (scores only fall as beams grow
            // with α ≤ 1… approximately; we stop when finished beams fill the width, the common rule).
            if beams.isEmpty || finished.count >= width { break }
        }
        let live = beams.map { ($0, FinishReason.maxTokens) }
        guard let (winner, reason) = (finished + live).max(by: { lhs, rhs in
            let (a, b) = (score(lhs.0), score(rhs.0))
            return a < b
        }) else { return BeamResult(tokens: [], logProbability: 0, score: 0, finishReason: .maxTokens) }
        return BeamResult(tokens: winner.tokens, logProbability: winner.logProbability,
                          score: score(winner), finishReason: reason)
    }

    /// The `count` best candidates by total log-probability (ties: lower beam, then lower token), by
    /// selecting a threshold first (O(n)) and sorting only what passes it.
    static func topCandidates(_ all: [(beam: Int, token: Int, total: Double)],
                              count: Int) -> [(beam: Int, token: Int, total: Double)] {
        guard all.count > count else { return sorted(all) }
        let cut = Double(Sampling.kthLargest(all.map { Float($0.total) }, count))
        return Array(sorted(all.filter { Float($0.total) >= Float(cut) }).prefix(count))
    }

    private static func sorted(_ c: [(beam: Int, token: Int, total: Double)]) -> [(beam: Int,
                                                                                   token: Int, total: Double)] {
        c.sorted { a, b in a.total != b.total ? a.total > b.total : (a.beam, a.token) < (b.beam, b.token) }
    }
}
