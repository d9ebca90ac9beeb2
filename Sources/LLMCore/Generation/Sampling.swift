// Introduced in Chapter 08. From logits to the next token: penalties, temperature, and the filters that
// cut the unlikely tail before sampling.
//
// The pipeline, in order (each step sees what the previous one left):
//   1. penalties on the raw logits, from the counts of tokens already in the sequence (prompt included):
//      repetition (CTRL, Keskar et al. 2019: positive logits ÷ r, negative × r), frequency
//      (−f·count) and presence (−p if seen at all), the latter two as in OpenAI's API;
//   2. temperature T: logits ÷ T; T = 0 means greedy (the argmax, ties to the lowest id), no sampling;
//   3. top-k: keep the tokens whose logit is ≥ the k-th largest (ties at the cut are all kept, so a
//      flat distribution can keep more than k);
//   4. top-p (nucleus; Holtzman et al. 2019): of what is left, keep the most probable tokens until their
//      probability sums to ≥ p; ties at the cut are all kept;
//   5. min-p: keep tokens whose probability is ≥ min-p × the most probable one's;
//   6. renormalise and draw with the seeded generator.
// Cut-offs find their threshold by partial selection — quickselect for top-k, a weighted quickselect for
// top-p — in O(V) per token, never a full sort of the vocabulary.

import Foundation

/// How the next token is chosen. The defaults sample from the model's own distribution unchanged.
public struct SamplingSettings: Sendable, Equatable, Codable {
    /// 0: greedy. Otherwise logits are divided by it: < 1 sharpens, > 1 flattens.
    public var temperature: Float = 1
    /// Keep the k most likely tokens (nil: no cut).
    public var topK: Int?
    /// Keep the smallest most-likely set with probability ≥ p, p in (0, 1] (nil: no cut).
    public var topP: Float?
    /// Keep tokens with probability ≥ minP × the top token's, minP in [0, 1] (nil: no cut).
    public var minP: Float?
    /// > 1 discourages tokens already present (1: off).
    public var repetitionPenalty: Float = 1
    /// Subtracted from a logit once per earlier occurrence (0: off).
    public var frequencyPenalty: Float = 0
    /// Subtracted from a logit if the token occurred at all (0: off).
    public var presencePenalty: Float = 0

    public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, minP: Float? = nil,
                repetitionPenalty: Float = 1, frequencyPenalty: Float = 0, presencePenalty: Float = 0) {
        (self.temperature, self.topK, self.topP, self.minP) = (temperature, topK, topP, minP)
        (self.repetitionPenalty, self.frequencyPenalty, self.presencePenalty) = (repetitionPenalty,
                                                                                 frequencyPenalty, presencePenalty)
    }

    /// Greedy decoding: always the most likely token.
    public static let greedy = SamplingSettings(temperature: 0)

    public var isGreedy: Bool { temperature == 0 }

    /// Throws `CourseError.invalidValue` naming the first setting out of range.
    public func validate() throws {
        func bad(_ name: String, _ value: CustomStringConvertible, _ expected: String) -> CourseError {
            CourseError.invalidValue(name: name, value: "\(value)", expected: expected)
        }
        if !(temperature >= 0) || !temperature.isFinite { throw bad("temperature", temperature,
                                                                    "a number ≥ 0 (0 means greedy)") }
        if let topK, topK <= 0 { throw bad("top-k", topK, "a whole number ≥ 1") }
        if let topP, !(topP > 0 && topP <= 1) { throw bad("top-p", topP, "a probability in (0, 1]") }
        if let minP, !(minP >= 0 && minP <= 1) { throw bad("min-p", minP, "a fraction in [0, 1]") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { throw bad("repetition penalty", repetitionPenalty,
                                                                               "a number > 0 (1 means off)") }
        if !frequencyPenalty.isFinite { throw bad("frequency penalty", frequencyPenalty,
                                                  "a finite number (0 means off)") }
        if !presencePenalty.isFinite { throw bad("presence penalty", presencePenalty, "a finite number (0 means off)") }
    }
}

public enum Sampling {
    /// Applies the penalties in place: `counts[token]` is how often it occurred so far.
    public static func applyPenalties(_ logits: inout [Float], counts: [Int: Int], _ settings: SamplingSettings) {
        guard settings.repetitionPenalty != 1 || settings.frequencyPenalty != 0 || settings.presencePenalty != 0 else { return }
        for (token, count) in counts where count > 0 && logits.indices.contains(token) {
            var l = logits[token]
            if settings.repetitionPenalty != 1 { l = l > 0 ? l / settings.repetitionPenalty : l * settings.repetitionPenalty }
            logits[token] = l - settings.frequencyPenalty * Float(count) - settings.presencePenalty
        }
    }

    /// The index of the largest logit; ties go to the lowest index.
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// Steps 2–5 of the pipeline: the distribution sampling draws from, zero outside the kept set.
    /// For greedy settings, all mass on the argmax. `logits` should already carry the penalties.
    public static func distribution(_ logits: [Float], _ settings: SamplingSettings) -> [Float] {
        let v = logits.count
        var probabilities = [Float](repeating: 0, count: v)
        guard v > 0 else { return probabilities }
        if settings.isGreedy {
            probabilities[argmax(logits)] = 1
            return probabilities
        }
        let scaled = logits.map { $0 / settings.temperature }
        scaled.withUnsafeBufferPointer { x in
            probabilities.withUnsafeMutableBufferPointer { p in _ = Kernels.softmaxRow(x.baseAddress!,
                                                                                       p.baseAddress!, count: v) }
        }
        /// Zeroes every probability below `cut` and renormalises what is left.
        func keep(atLeast cut: Float, of values: [Float]) {
            var total: Float = 0
            for i in 0..<v {
                if values[i] < cut { probabilities[i] = 0 } else { total += probabilities[i] }
            }
            if total > 0 { for i in 0..<v { probabilities[i] /= total } }
        }
        if let k = settings.topK, k < v { keep(atLeast: kthLargest(scaled, k), of: scaled) }
        if let topP = settings.topP,
            topP < 1 { keep(atLeast: nucleusThreshold(probabilities, topP), of: probabilities) }
        if let minP = settings.minP, minP > 0 { keep(atLeast: minP * (probabilities.max() ?? 0), of: probabilities) }
        return probabilities
    }

    /// The next token for `logits` (penalties already applied): greedy, or a draw from `distribution`.
    public static func next(_ logits: [Float], _ settings: SamplingSettings, generator: inout SeededGenerator) -> Int {
        if settings.isGreedy { return argmax(logits) }
        return generator.categorical(distribution(logits, settings)) ?? argmax(logits)
    }

    /// The k-th largest value (k ≥ 1) by quickselect: O(V) expected, no sort.
    public static func kthLargest(_ values: [Float], _ k: Int) -> Float {
        var a = values
        var (low, high, target) = (0, a.count - 1, min(max(k, 1), a.count) - 1)   // index in descending order
        while low < high {
            // Median of three as the pivot keeps sorted and constant inputs linear.
            let mid = (low + high) / 2
            let pivot = [a[low], a[mid], a[high]].sorted()[1]
            var (i, j) = (low, high)
            while i <= j {                          // Hoare partition, descending
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { high = j } else if target >= i { low = i } else { return a[target] }
        }
        return a[target]
    }

    /// The smallest probability t such that the tokens with probability ≥ t sum to ≥ p: the nucleus is
    /// every token at or above t (ties included). A quickselect weighted by probability mass: O(V)
    /// expected. Sums in Double; if rounding leaves the total short of p, every token is kept.
    public static func nucleusThreshold(_ probabilities: [Float], _ p: Float) -> Float {
        var candidates = probabilities.filter { $0 > 0 }
        guard let smallest = candidates.min() else { return 0 }
        var above = 0.0                               // mass of tokens already known to be in the nucleus
        let target = Double(p)
        while !candidates.isEmpty {
            let pivot = candidates[candidates.count / 2]
            var greater: [Float] = [], less: [Float] = []
            var greaterMass = 0.0, equalMass = 0.0
            for q in candidates {
                if q > pivot { greater.append(q); greaterMass += Double(q) }
                else if q == pivot { equalMass += Double(q) }
                else { less.append(q) }
            }
            if above + greaterMass >= target {
                candidates = greater                  // the cut lies among the larger ones
            } else if above + greaterMass + equalMass >= target {
                return pivot                          // the cut is at the pivot: keep every tie
            } else {
                above += greaterMass + equalMass
                candidates = less
            }
        }
        return smallest
    }
}
