// Chapter 08's machinery: the KV cache against full recomputation, the cut-offs against naive sorted
// references (ties included), the generation loop's policies and errors.

import Foundation
import Testing
@testable import LLMCore
import LLMBench

private let presets: [(String, GPTConfig)] = [
    ("gpt2 (learned positions)", GPTConfig.gpt2Style(vocabularySize: 37, contextLength: 16, layers: 2, heads: 2, embeddingSize: 16)),
    ("llama (RoPE, GQA 4→2)", GPTConfig.llamaStyle(vocabularySize: 37, contextLength: 16, layers: 2, heads: 4, kvHeads: 2, embeddingSize: 16)),
    ("llama (multi-query 4→1)", GPTConfig.llamaStyle(vocabularySize: 37, contextLength: 16, layers: 2, heads: 4, kvHeads: 1, embeddingSize: 16)),
]

@Suite("Generation")
struct GenerationTests {
    @Test("training-mode, inference-mode and cached logits agree at every position", arguments: 0..<3)
    func cacheEqualsRecomputation(index: Int) throws {
        let (name, config) = presets[index]
        let model = try GPT(config, seed: 3)
        var g = SeededGenerator(seed: 9)
        let ids = (0..<14).map { _ in g.integer(below: config.vocabularySize) }
        let full = model([ids], .inference).value.scalars                     // (1, 14, V)
        let v = config.vocabularySize
        // The recording tape (training) runs the same forward pass: the same numbers, to the bit.
        #expect(model([ids], Tape()).value.scalars == full, "\(name): training-mode logits differ")
        #expect(model.logits([ids], .inference, lastOnly: true).value.scalars == Array(full.suffix(v)))
        func expected(_ position: Int) -> [Float] { Array(full[position * v..<(position + 1) * v]) }
        let cache = KVCache(for: config)
        // A prefill of 5 positions (all returned), then one at a time, then a chunk of 4 (how speculative
        // decoding verifies drafts), then the rest one at a time.
        let prefill = model.forward(Array(ids[0..<5]), cache: cache, allPositions: true).scalars
        for p in 0..<5 { expectClose(Array(prefill[p * v..<(p + 1) * v]), expected(p), 1e-5, "\(name) prefill \(p)") }
        for p in 5..<8 { expectClose(model.forward([ids[p]], cache: cache).scalars, expected(p), 1e-5, "\(name) step \(p)") }
        let chunk = model.forward(Array(ids[8..<12]), cache: cache, allPositions: true).scalars
        for p in 8..<12 { expectClose(Array(chunk[(p - 8) * v..<(p - 7) * v]), expected(p), 1e-5, "\(name) chunk \(p)") }
        let last = model.forward(Array(ids[12..<14]), cache: cache).scalars     // last position only
        expectClose(last, expected(13), 1e-5, "\(name) last of 2")
        #expect(cache.length == 14)
        // Rolling back (speculative decoding's rejection) and recomputing gives the same logits again.
        cache.truncate(to: 9)
        expectClose(model.forward([ids[9]], cache: cache).scalars, expected(9), 1e-5, "\(name) after truncate")
    }

    @Test("a batched decode step over several caches gives each sequence the logits it gets alone", arguments: 0..<3)
    func batchedStepEqualsAlone(index: Int) throws {
        let (name, config) = presets[index]
        let model = try GPT(config, seed: 5)
        var g = SeededGenerator(seed: 21)
        // Three sequences of different lengths (so different positions), decoded together for four steps;
        // one joins late and one leaves early, as continuous batching does.
        let prompts = [3, 9, 1, 6].map { n in (0..<n).map { _ in g.integer(below: config.vocabularySize) } }
        let alone = prompts.map { _ in KVCache(for: config) }, batched = prompts.map { _ in KVCache(for: config) }
        for (i, prompt) in prompts.enumerated() {
            _ = model.forward(prompt, cache: alone[i])
            _ = model.forward(prompt, cache: batched[i])
        }
        for step in 0..<4 {
            let members = [0, 1, 2, 3].filter { !(step == 0 && $0 == 3) && !(step == 3 && $0 == 1) }
            let next = members.map { _ in g.integer(below: config.vocabularySize) }
            let rows = model.forward(batch: next, caches: members.map { batched[$0] }).scalars
            let v = config.vocabularySize
            for (row, member) in members.enumerated() {
                let expected = model.forward([next[row]], cache: alone[member]).scalars
                expectClose(Array(rows[row * v..<(row + 1) * v]), expected, 1e-5, "\(name) step \(step) seq \(member)")
            }
            if step == 0 {   // sequence 3 joins: one more token in both its caches
                _ = model.forward([next[0]], cache: alone[3])
                _ = model.forward([next[0]], cache: batched[3])
            }
        }
        #expect(zip(alone, batched).allSatisfy { $0.length == $1.length })
    }

    @Test("the cache's size: 2 × L × G × Tmax × D floats; grouped-query attention shrinks it")
    func cacheBytes() {
        let (_, gpt2) = presets[0], (_, gqa) = presets[1], (_, mqa) = presets[2]
        #expect(KVCache(for: gpt2).bytes == 2 * 2 * 2 * 16 * 8 * 4)
        #expect(KVCache(for: gqa).bytes == 2 * 2 * 2 * 16 * 4 * 4)
        #expect(KVCache(for: mqa).bytes * 2 == KVCache(for: gqa).bytes)
    }

    @Test("greedy generation with the cache equals greedy without it, token for token, past the context",
          arguments: 0..<3)
    func greedyWithAndWithoutCache(index: Int) throws {
        let model = try GPT(presets[index].1, seed: 4)
        var g = SeededGenerator(seed: 1)
        let generator = Generator(model: model)
        // 30 new tokens after a 5-token prompt: more than the context of 16, so the window slides.
        let cached = try generator.generate(prompt: [1, 2, 3, 4, 5], maxTokens: 30, settings: .greedy, generator: &g).tokens
        generator.usesCache = false
        let plain = try generator.generate(prompt: [1, 2, 3, 4, 5], maxTokens: 30, settings: .greedy, generator: &g).tokens
        #expect(cached.count == 30)
        // One window policy for both (Generator.swift): the window jumps to the last half of the context
        // when full, so the slow baseline writes the same tokens as the cache, also past the context.
        #expect(cached == plain)
    }

    @Test("top-k keeps the k largest logits, every tie at the cut included")
    func topK() {
        func kept(_ logits: [Float], _ k: Int) -> [Int] {
            let d = Sampling.distribution(logits, SamplingSettings(topK: k))
            return d.indices.filter { d[$0] > 0 }
        }
        #expect(kept([1, 3, 3, 2, 0], 2) == [1, 2])
        #expect(kept([1, 3, 3, 2, 0], 3) == [1, 2, 3])
        #expect(kept([1, 3, 3, 3, 0], 2) == [1, 2, 3])          // a three-way tie at the cut: all kept
        #expect(kept([1, 3, 3, 2, 0], 9) == [0, 1, 2, 3, 4])    // k ≥ V: nothing cut
        var g = SeededGenerator(seed: 12)
        for trial in 0..<200 {                                   // quickselect against a sort, with many ties
            let values = (0..<(1 + g.integer(below: 60))).map { _ in Float(g.integer(below: 8)) }
            let k = 1 + g.integer(below: values.count)
            #expect(Sampling.kthLargest(values, k) == values.sorted(by: >)[k - 1], "trial \(trial)")
        }
    }

    @Test("top-p keeps the smallest most-likely set reaching p, ties at the cut included; min-p is relative to the top")
    func topPAndMinP() {
        let p: [Float] = [0.1, 0.5, 0.2, 0.2]
        let logits = p.map { log($0) }
        func kept(_ settings: SamplingSettings) -> [Int] {
            let d = Sampling.distribution(logits, settings)
            return d.indices.filter { d[$0] > 0 }
        }
        #expect(kept(SamplingSettings(topP: 0.5)) == [1])
        #expect(kept(SamplingSettings(topP: 0.6)) == [1, 2, 3])   // 0.5 + one 0.2 reaches 0.6; its tie comes too
        #expect(kept(SamplingSettings(topP: 0.95)) == [0, 1, 2, 3])
        #expect(kept(SamplingSettings(topP: 1)) == [0, 1, 2, 3])
        #expect(kept(SamplingSettings(minP: 0.39)) == [1, 2, 3])   // ≥ 0.39 × 0.5 = 0.195
        #expect(kept(SamplingSettings(minP: 0.41)) == [1])
        let d = Sampling.distribution(logits, SamplingSettings(topP: 0.6))
        expectClose([d[1], d[2], d[3]], [0.5 / 0.9, 0.2 / 0.9, 0.2 / 0.9], 1e-6, "renormalised")

        var g = SeededGenerator(seed: 5)
        for trial in 0..<300 {                                   // the weighted quickselect against a sorted scan
            let weights = (0..<(1 + g.integer(below: 40))).map { _ in Float(1 + g.integer(below: 6)) }
            let total = weights.reduce(0, +)
            let probabilities = weights.map { $0 / total }
            let target = Float(g.integer(below: 100) + 1) / 100
            let sorted = probabilities.sorted(by: >)
            var mass = 0.0, naive = sorted.last!
            for q in sorted {
                mass += Double(q)
                if mass >= Double(target) { naive = q; break }
            }
            #expect(Sampling.nucleusThreshold(probabilities, target) == naive, "trial \(trial): p = \(target)")
        }
    }

    @Test("temperature 0 is greedy; penalties follow their documented formulas")
    func greedyAndPenalties() {
        var g = SeededGenerator(seed: 1)
        #expect(Sampling.next([0.1, 2, 2, -1], .greedy, generator: &g) == 1)   // ties go to the lowest id
        var logits: [Float] = [2, -2, 1, 1]
        Sampling.applyPenalties(&logits, counts: [0: 1, 1: 2, 2: 0], SamplingSettings(repetitionPenalty: 2))
        #expect(logits == [1, -4, 1, 1])
        logits = [2, -2, 1, 1]
        Sampling.applyPenalties(&logits, counts: [0: 3, 1: 1], SamplingSettings(frequencyPenalty: 0.5, presencePenalty: 0.25))
        #expect(logits == [2 - 1.5 - 0.25, -2 - 0.5 - 0.25, 1, 1])
        // A sampled draw follows the distribution: 20,000 draws, total-variation distance below 2%.
        let settings = SamplingSettings(temperature: 0.7, topK: 3)
        let target = Sampling.distribution([1, 0.5, 0, -1, 2], settings)
        var counts = [Double](repeating: 0, count: 5)
        for _ in 0..<20_000 { counts[Sampling.next([1, 0.5, 0, -1, 2], settings, generator: &g)] += 1 }
        let distance = zip(counts, target).map { abs($0 / 20_000 - Double($1)) }.reduce(0, +) / 2
        #expect(distance < 0.02)
        #expect(counts[3] == 0, "top-k 3 never draws the 4th token")
    }

    @Test("bad settings and prompts are clear errors; long prompts are cut from the left unless strict")
    func errorsAndPolicies() throws {
        let model = try GPT(presets[0].1, seed: 4)
        let generator = Generator(model: model)
        var g = SeededGenerator(seed: 1)
        func failure(_ settings: SamplingSettings = SamplingSettings(), prompt: [Int] = [1], maxTokens: Int = 3, strict: Bool = false) -> String {
            do {
                _ = try generator.generate(prompt: prompt, maxTokens: maxTokens, settings: settings, strict: strict, generator: &g)
                return ""
            } catch { return "\(error)" }
        }
        #expect(failure(SamplingSettings(temperature: -0.5)).contains("temperature -0.5"))
        #expect(failure(SamplingSettings(topK: 0)).contains("top-k 0"))
        #expect(failure(SamplingSettings(topP: 0)).contains("top-p 0"))
        #expect(failure(SamplingSettings(topP: 1.5)).contains("top-p 1.5"))
        #expect(failure(SamplingSettings(minP: -1)).contains("min-p"))
        #expect(failure(prompt: []).contains("prompt is empty"))
        #expect(failure(prompt: [99]).contains("token id 99"))
        #expect(failure(maxTokens: 0).contains("max tokens 0"))
        #expect(failure(prompt: Array(repeating: 1, count: 20), strict: true).contains("20 tokens but the model's context is 16"))
        let cut = try generator.generate(prompt: Array(0..<20), maxTokens: 2, settings: .greedy, generator: &g)
        #expect(cut.truncatedPrompt == 5 && cut.tokens.count == 2)
    }

    @Test("stop tokens, stop sequences and the streaming callback end generation as documented")
    func stopping() throws {
        let model = try GPT(presets[1].1, seed: 4)
        let generator = Generator(model: model)
        var g = SeededGenerator(seed: 1)
        let free = try generator.generate(prompt: [3, 1, 4], maxTokens: 12, settings: .greedy, generator: &g)
        #expect(free.finishReason == .maxTokens && free.tokens.count == 12)
        let first = free.tokens[0], third = free.tokens[2]
        let stopped = try generator.generate(prompt: [3, 1, 4], maxTokens: 12, settings: .greedy, stopTokens: [third], generator: &g)
        #expect(stopped.finishReason == .endOfText && !stopped.tokens.contains(third) && stopped.tokens.first == first)
        let sequence = Array(free.tokens[3..<5])
        let bySequence = try generator.generate(prompt: [3, 1, 4], maxTokens: 12, settings: .greedy, stopSequences: [sequence], generator: &g)
        #expect(bySequence.finishReason == .stopSequence)
        #expect(bySequence.tokens == Array(free.tokens.prefix(bySequence.tokens.count)) && !bySequence.tokens.suffix(2).elementsEqual(sequence))
        var streamed: [Int] = []
        let byCaller = try generator.generate(prompt: [3, 1, 4], maxTokens: 12, settings: .greedy, generator: &g) { token in
            streamed.append(token)
            return streamed.count < 4
        }
        #expect(byCaller.finishReason == .callback && streamed == Array(free.tokens.prefix(4)) && byCaller.tokens == streamed)
    }

    @Test("greedy speculative decoding equals plain greedy, token for token (model drafter and prompt lookup)", arguments: 0..<3)
    func speculativeGreedy(index: Int) throws {
        let config = presets[index].1
        let target = try GPT(config, seed: 4), draft = try GPT(config, seed: 8)
        var g = SeededGenerator(seed: 1)
        let prompt = [3, 1, 4, 1, 5, 9, 2, 6, 3, 1, 4]
        let plain = try Generator(model: target).generate(prompt: prompt, maxTokens: 40, settings: .greedy, generator: &g).tokens
        for k in [1, 2, 4] {
            let byModel = try SpeculativeDecoder(target: target, drafter: .model(draft), k: k)
                .generate(prompt: prompt, maxTokens: 40, settings: .greedy, generator: &g)
            #expect(byModel.tokens == plain, "k \(k), model drafter")
            let byLookup = try SpeculativeDecoder(target: target, drafter: .promptLookup(ngram: 2), k: k)
                .generate(prompt: prompt, maxTokens: 40, settings: .greedy, generator: &g)
            #expect(byLookup.tokens == plain, "k \(k), prompt lookup")
            #expect(byModel.targetPasses <= 40 && byModel.proposed >= byModel.accepted)
        }
        // The target as its own drafter: every draft accepted, k + 1 tokens per target pass.
        let perfect = try SpeculativeDecoder(target: target, drafter: .model(target), k: 3)
            .generate(prompt: prompt, maxTokens: 40, settings: .greedy, generator: &g)
        #expect(perfect.tokens == plain && perfect.acceptanceRate == 1 && perfect.tokensPerTargetPass > 3)
    }

    @Test("sampled speculative decoding draws from the target's distribution")
    func speculativeDistribution() throws {
        // The rule alone, on exact distributions: draft from q, accept or redraw; the result follows p.
        var g = SeededGenerator(seed: 21)
        let p: [Float] = [0.05, 0.45, 0.3, 0.2], q: [Float] = [0.4, 0.1, 0.1, 0.4]
        var counts = [Double](repeating: 0, count: 4)
        for _ in 0..<40_000 {
            let d = g.categorical(q)!
            let (accepted, next) = Speculative.accept(p: [p, p], q: [q], drafts: [d], generator: &g)
            counts[accepted == 1 ? d : next] += 1
        }
        let ruleDistance: Double = zip(counts, p).map { (c: Double, q: Float) -> Double in abs(c / 40_000 - Double(q)) }.reduce(0, +) / 2
        #expect(ruleDistance < 0.01)
        // End to end with two different 5-token models: the first new token's frequencies over many
        // seeded runs match the target's distribution after the prompt.
        var config = presets[1].1
        config.vocabularySize = 5
        let target = try GPT(config, seed: 4), draft = try GPT(config, seed: 5)
        let settings = SamplingSettings(temperature: 1.5)
        let prompt = [1, 2, 3]
        let expected = Sampling.distribution(target([prompt], .inference).value.lastRow, settings)
        let decoder = try SpeculativeDecoder(target: target, drafter: .model(draft), k: 3)
        var first = [Double](repeating: 0, count: 5)
        let runs = 3000
        for _ in 0..<runs { first[try decoder.generate(prompt: prompt, maxTokens: 3, settings: settings, generator: &g).tokens[0]] += 1 }
        let distance: Double = zip(first, expected).map { (c: Double, q: Float) -> Double in abs(c / Double(runs) - Double(q)) }.reduce(0, +) / 2
        #expect(distance < 0.04, "observed \(first.map { $0 / Double(runs) }), target \(expected)")
    }

    @Test("prompt lookup proposes what followed the latest earlier match, longest n-gram first")
    func lookup() throws {
        #expect(Speculative.lookup([1, 2, 3, 9, 1, 2], ngram: 2, k: 3) == [3, 9, 1])
        #expect(Speculative.lookup([5, 1, 7, 1, 2, 8, 1], ngram: 3, k: 2) == [2, 8])      // latest match of [1]
        #expect(Speculative.lookup([4, 5, 6], ngram: 2, k: 3) == [])
        #expect(Speculative.lookup([7], ngram: 2, k: 3) == [])
        let model = try GPT(presets[0].1, seed: 1)
        #expect(throws: CourseError.self) { try SpeculativeDecoder(target: model, drafter: .promptLookup(ngram: 2), k: 0) }
        #expect(throws: CourseError.self) { try SpeculativeDecoder(target: model, drafter: .promptLookup(ngram: 0), k: 2) }
        var other = presets[0].1
        other.vocabularySize = 40
        #expect(throws: CourseError.self) { try SpeculativeDecoder(target: model, drafter: .model(try GPT(other, seed: 1)), k: 2) }
    }

    @Test("beam search of width 1 is greedy; a beam's score is its tokens' log-probability under the model", arguments: 0..<2)
    func beams(index: Int) throws {
        let model = try GPT(presets[index].1, seed: 4)
        var g = SeededGenerator(seed: 1)
        let prompt = [3, 1, 4]
        let greedy = try Generator(model: model).generate(prompt: prompt, maxTokens: 12, settings: .greedy, generator: &g).tokens
        #expect(try BeamSearch.generate(model, prompt: prompt, width: 1, maxTokens: 12).tokens == greedy)
        let wide = try BeamSearch.generate(model, prompt: prompt, width: 4, maxTokens: 12, lengthPenalty: 0)
        var total = 0.0
        for (i, token) in wide.tokens.enumerated() {
            let logits = model([prompt + wide.tokens.prefix(i)], .inference).value.lastRow
            let m = logits.max()!
            total += Double(logits[token] - m) - log(logits.reduce(0.0) { $0 + exp(Double($1 - m)) })
        }
        #expect(abs(total - wide.logProbability) < 1e-3)
        #expect(wide.tokens.count == 12)
        #expect(throws: CourseError.self) { try BeamSearch.generate(model, prompt: prompt, width: 0, maxTokens: 3) }
    }

    @Test("the generation benchmark reports the cache row against streaming bandwidth, then the no-cache row with the cache's speed-up")
    func generationBenchmarkRows() throws {
        var report = BenchmarkReport(threads: 1)
        let config = GPTConfig.llamaStyle(vocabularySize: 64, contextLength: 64, layers: 2, heads: 4, kvHeads: 2, embeddingSize: 32)
        try Benchmarks.generation(config, name: "toy", threads: 1, cache: true, newTokens: 24, repeats: 1, into: &report)
        try Benchmarks.generation(config, name: "toy", threads: 1, cache: false, newTokens: 24, repeats: 1, into: &report)
        #expect(report.rows.map(\.name) == ["generate toy, 24 tokens, KV cache, 1 thread", "generate toy, 24 tokens, no cache, 1 thread"])
        #expect(report.rows.allSatisfy { $0.value > 0 && $0.value.isFinite && $0.unit == "tokens/s" })
        #expect(report.rows[0].note.contains("% of streaming (") && report.rows[0].note.contains("GB/s); cache "))
        #expect(report.rows[1].note.contains("the cache is ") && report.rows[1].note.hasSuffix("× faster"))
        let bandwidth = StreamProbe(bytes: 1 << 20).gigabytesPerSecond()
        #expect(bandwidth > 0 && bandwidth.isFinite)
    }
}
