//: # Chapter 08 — Sampling and fast inference
//:
//: What we build: everything between a model's logits and the text it writes. Temperature and the
//: cut-offs (top-k, top-p, min-p) that decide how adventurous the text is; greedy decoding, beam search
//: and sampling side by side; penalties against repetition; then speed — the KV cache that makes each new
//: token cost one position instead of the whole sequence, and speculative decoding, where a cheap drafter
//: guesses several tokens and the model checks them all in one pass without changing what it would
//: have written.
//:
//: What we leave out: batching many requests together (continuous batching, paged caches), and
//: quantized drafters (Chapter 07 plugs one in).
//:
//: Run it: `swift run -c release ch08` (about a minute on 2 cores; `--quick` under 20 seconds). Needs the
//: Chapter 01 tokenizer and the Chapter 04 base model (`runs/course/pretrain/checkpoint/`); with `--quick`
//: it trains tiny stand-ins when they are missing. Plots go to `runs/course/08-sampling/`:
//: `temperature.png`, `cutoffs.png`, `kv-cache.png`, `speculative-acceptance.png`.
//:
//: Legend: V vocabulary, T context length, k draft length, p(·) target probability, q(·) drafter's.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMBench
import LLMCore
import LLMPlot

@main
struct SamplingChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch08",
        abstract: "Chapter 08 — Sampling and fast inference: decoding strategies, the KV cache, speculative decoding.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the English fortunes (for the drafter and stand-ins)
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The base model (default: <run-dir>/pretrain/checkpoint, written by Chapter 04).")
    var checkpoint: String?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "08-sampling")
        let text = try corpus.load(default: .english)
        let bpe = try tokenizer.load(options, corpus: text)
        let baseModel = checkpoint.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.baseModel)
        let model = try ChapterInputs.baseModel(baseModel, corpus: text, tokenizer: bpe, quick: options.quick,
                                                seed: options.seed)
        chapter.banner("Chapter 08 — Sampling and fast inference")
        let lesson = Lesson(model: model, bpe: bpe, chapter: chapter)
        let logits = try lesson.distributions()                   // 8.1
        try lesson.cutoffs(logits)                                // 8.2
        try lesson.strategies()                                   // 8.3
        try lesson.repetition()                                   // 8.4
        try lesson.kvCache()                                      // 8.5
        let drafter = try lesson.trainDrafter(text)               // 8.6
        try lesson.speculative(drafter)
        try lesson.promptLookup(text)                             // 8.7
    }
}

/// The chapter's state: the base model, its tokenizer, where plots go.
struct Lesson {
    let model: GPT
    let bpe: BPETokenizer
    let chapter: ChapterContext
    var quick: Bool { chapter.quick }
    var endOfText: Int { bpe.specialId("<|endoftext|>") ?? 0 }

    func encode(_ text: String) throws -> [Int] { try bpe.encode(text, special: .allow) }
    func decode(_ ids: [Int]) -> String { (try? bpe.decode(ids)) ?? "(undecodable)" }
    func shown(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "⏎") }

    // MARK: - 8.1 From logits to probabilities

    //: The model's last layer scores every token: V logits. Softmax turns them into probabilities,
    //: p_i = e^{z_i/T} / Σ_j e^{z_j/T}, where the temperature T rescales the logits first: T < 1
    //: sharpens the distribution towards the top token (T → 0 is greedy), T > 1 flattens it towards
    //: uniform. Below, the real next-token distribution after a prompt, at three temperatures.
    func distributions() throws -> [Float] {
        Console.section("8.1 From logits to probabilities")
        let prompt = try [endOfText] + encode("The best way to")
        let logits = model([prompt], .inference).value.lastRow
        let top = Sampling.distribution(logits, SamplingSettings())
        let order = top.indices.sorted { top[$0] > top[$1] }.prefix(8)
        print("  after \"The best way to\", the 8 most likely next tokens (T = 1):")
        Console.printTable(["token", "p (T = 0.5)", "p (T = 1)", "p (T = 1.5)"], order.map { id in
            [shown(bpe.display(id)),
             Format.fixed(Sampling.distribution(logits, SamplingSettings(temperature: 0.5))[id], 3),
             Format.fixed(top[id], 3),
                 Format.fixed(Sampling.distribution(logits, SamplingSettings(temperature: 1.5))[id], 3)]
        })
        let ranks = Array(1...40)
        let sorted = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(40)
        let series = [Float(0.5), 1, 1.5].map { t -> Series in
            let p = Sampling.distribution(logits, SamplingSettings(temperature: t))
            return Series("T = \(t)", x: ranks.map(Double.init), y: sorted.map { Double(p[$0]) })
        }
        try chapter.plot(.line(series,
                               title: "One next-token distribution at three temperatures (40 most likely tokens)",
                               xLabel: "rank of the token (at T = 1)", yLabel: "probability", logY: true, points: true),
                         as: "temperature")
        return logits
    }

    // MARK: - 8.2 Cutting the tail: top-k, top-p, min-p

    //: Sampling from the whole distribution sometimes picks a token from the long, unlikely tail, and one
    //: bad token derails the rest. Three ways to cut it: top-k keeps a fixed number of tokens whatever
    //: the shape; top-p keeps the smallest set holding probability p, so it keeps few tokens when the
    //: model is sure and many when it is not; min-p keeps tokens at least a fraction of the top one's
    //: probability. Each finds its cut by partial selection in O(V) — a full sort of the vocabulary per
    //: token is what caps simple samplers (`Sampling.kthLargest`, `Sampling.nucleusThreshold`).
    func cutoffs(_ logits: [Float]) throws {
        Console.section("8.2 Cutting the tail: top-k, top-p, min-p")
        let rows: [(String, SamplingSettings)] = [("no cut", SamplingSettings()),
                                                  ("top-k 40", SamplingSettings(topK: 40)),
                                                   ("top-p 0.9", SamplingSettings(topP: 0.9)),
                                                       ("top-p 0.5", SamplingSettings(topP: 0.5)),
                                                   ("min-p 0.1", SamplingSettings(minP: 0.1))]
        let p = Sampling.distribution(logits, SamplingSettings())
        Console.printTable(["rule", "tokens kept", "probability they held"], rows.map { name, settings in
            let filtered = Sampling.distribution(logits, settings)
            let kept = filtered.indices.filter { filtered[$0] > 0 }
            return [name, Format.integer(kept.count), Format.fixed(kept.reduce(Float(0)) { $0 + p[$1] }, 3)]
        })
        let sorted = p.sorted(by: >)
        var cumulative: [Double] = [], total = 0.0
        for q in sorted.prefix(200) { total += Double(q); cumulative.append(total) }
        let rank = Array(1...cumulative.count).map(Double.init)
        let nucleus = (cumulative.firstIndex { $0 >= 0.9 } ?? cumulative.count - 1) + 1
        try chapter.plot(.line([Series("cumulative probability", x: rank, y: cumulative),
                                Series("top-k 40", x: [40, 40], y: [0, 1]),
                                Series("top-p 0.9 (rank \(nucleus))",
                                    x: [Double(nucleus), Double(nucleus)], y: [0, 1])],
                               title: "Where the cut-offs fall on one distribution",
                               xLabel: "tokens, most likely first",
                               yLabel: "probability kept", logX: true),
                         as: "cutoffs")
    }

    // MARK: - 8.3 Greedy, beam search, sampling

    //: Greedy decoding takes the most likely token every time: deterministic, and prone to loops. Beam
    //: search keeps the 4 most probable partial sequences and returns the best whole one (scored by mean
    //: log-probability per token, so length does not decide); it finds likelier text, which is not the
    //: same as better text. Sampling at T = 0.8 with top-p 0.9 trades likelihood for variety: different
    //: seeds, different fortunes.
    func strategies() throws {
        Console.section("8.3 Greedy, beam search, sampling")
        let generator = Generator(model: model)
        let count = quick ? 16 : 40
        for prompt in ["A friend is", "Q: Why did the", "Never"] {
            let ids = try [endOfText] + encode(prompt)
            var random = SeededGenerator(seed: chapter.options.seed)
            let greedy = try generator.generate(prompt: ids, maxTokens: count, settings: .greedy,
                                                stopTokens: [endOfText], generator: &random)
            let beam = try BeamSearch.generate(model, prompt: ids, width: 4, maxTokens: count, stopTokens: [endOfText])
            let sampled = try generator.generate(prompt: ids, maxTokens: count,
                                                 settings: SamplingSettings(temperature: 0.8, topP: 0.9),
                                                 stopTokens: [endOfText], generator: &random)
            print("  prompt \"\(prompt)\"")
            print("    greedy    │ \(shown(prompt + decode(greedy.tokens)))")
            print("    beam 4    │ \(shown(prompt + decode(beam.tokens)))  (mean log p \(Format.fixed(beam.score, 2)))")
            print("    T 0.8 p.9 │ \(shown(prompt + decode(sampled.tokens)))")
        }
    }

    // MARK: - 8.4 Repetition, and penalties against it

    //: Left alone, greedy decoding of a small model falls into loops: once a phrase repeats, repeating it
    //: again becomes the likeliest continuation. A repetition penalty (CTRL: divide a seen token's positive
    //: logit by r, multiply a negative one by r) makes seen tokens less attractive; frequency and presence
    //: penalties subtract from the logits instead. We measure the share of repeated 3-grams in 60 tokens.
    func repetition() throws {
        Console.section("8.4 Repetition, and penalties against it")
        let generator = Generator(model: model)
        let ids = try [endOfText] + encode("I think")
        func repeatedShare(_ tokens: [Int]) -> Double {
            guard tokens.count >= 3 else { return 0 }
            let grams = (0...(tokens.count - 3)).map { Array(tokens[$0..<$0 + 3]) }
            return 1 - Double(Set(grams).count) / Double(grams.count)
        }
        var rows: [[String]] = []
        for (name, settings) in [("greedy", SamplingSettings.greedy),
                                 ("greedy, repetition penalty 1.3",
                                  SamplingSettings(temperature: 0, repetitionPenalty: 1.3)),
                                 ("greedy, frequency penalty 0.5",
                                  SamplingSettings(temperature: 0, frequencyPenalty: 0.5))] {
            var random = SeededGenerator(seed: chapter.options.seed &+ 1)
            let out = try generator.generate(prompt: ids, maxTokens: quick ? 30 : 60,
                                             settings: settings, generator: &random)
            rows.append([name, String(format: "%.0f%%", 100 * repeatedShare(out.tokens)),
                         String(shown("I think" + decode(out.tokens)).prefix(70))])
        }
        Console.printTable(["decoding", "repeated 3-grams", "text"], rows)
    }

    // MARK: - 8.5 The KV cache

    //: Without a cache, token n reruns the model over all n positions before it, so each new token costs
    //: more than the last and tokens/s falls as the text grows. A position's keys and values never change
    //: (causal attention), so the cache keeps them: per layer and key/value head a preallocated (T, D)
    //: block. A new token then runs one position through the model and attends over the cached rows: the
    //: cost per token is reading the weights once, and stays flat. (`KVCache`, `GPT.forward(_:cache:)`;
    //: the tests check the cached logits equal full recomputation at every position.)
    //:
    //: Reading the weights once per token is also the ceiling: each weight is used in one multiply-add,
    //: far too little arithmetic to hide the time it takes to fetch it. So we time a plain pass over as
    //: many bytes as the model has (`StreamProbe`) and compare. The matrix-vector products run on a
    //: hand-written SIMD loop (`BLAS.matrixVector`) because OpenBLAS's sgemm, built for big products,
    //: repacks the whole matrix first and reached only ~18 GFLOP/s here on a single row.
    func kvCache() throws {
        Console.section("8.5 The KV cache")
        let generator = Generator(model: model)
        let lengths = quick ? [8, 16, 32] : [25, 50, 100, 200]
        var withCache: [Double] = [], without: [Double] = []
        let prompt = try [endOfText] + encode("The")
        for length in lengths {
            for cached in [true, false] {
                generator.usesCache = cached
                var random = SeededGenerator(seed: chapter.options.seed &+ 3)
                let result = try generator.generate(prompt: prompt, maxTokens: length,
                                                    settings: SamplingSettings(temperature: 1), generator: &random)
                // The rate over the whole run of `length` tokens (both start from the same short prompt).
                let rate = Double(result.tokens.count) / (result.prefillSeconds + result.decodeSeconds)
                if cached { withCache.append(rate) } else { without.append(rate) }
            }
        }
        Console.printTable(["new tokens", "with cache (tokens/s)", "without (tokens/s)", "speed-up"],
            lengths.indices.map { i in
            [String(lengths[i]), String(format: "%.0f", withCache[i]), String(format: "%.0f", without[i]),
             String(format: "%.1f×", withCache[i] / without[i])]
        })
        let config = model.config
        let llama = GPTConfig.llamaStyle(vocabularySize: config.vocabularySize,
                                         contextLength: config.contextLength, layers: config.layers,
                                         heads: config.heads, kvHeads: max(1, config.heads / 2),
                                         embeddingSize: config.embeddingSize)
        let bytes = Double(model.parameters.parameterCount * 4)
        let stream = StreamProbe(bytes: Int(bytes)).gigabytesPerSecond()
        Console.keyValues([
            ("cache for this model", String(format: "%.2f MB (2 × %d layers × %d heads × %d positions × %d × 4 bytes)",
                                            Double(KVCache(for: config).bytes) / 1e6, config.layers, config.kvHeads,
                                                config.contextLength, config.headSize)),
            ("same shape, grouped-query (\(llama.kvHeads) kv heads)",
                String(format: "%.2f MB", Double(KVCache(for: llama).bytes) / 1e6)),
            ("weights read per token",
             String(format: "%.1f MB → %.1f GB/s at %.0f tokens/s", bytes / 1e6,
                    bytes * (withCache.last ?? 0) / 1e9, withCache.last ?? 0)),
            ("one plain pass over as many bytes",
             String(format: "%.1f GB/s: decoding runs at %.0f%% of it", stream,
                    100 * bytes * (withCache.last ?? 0) / 1e9 / stream)),
        ])
        try chapter.plot(.line([Series("KV cache", x: lengths.map(Double.init), y: withCache),
                                Series("no cache: rerun the whole window", x: lengths.map(Double.init), y: without)],
                               title: "Generation speed against length, batch 1", xLabel: "new tokens",
                               yLabel: "tokens/s", points: true),
                         as: "kv-cache")
    }

    // MARK: - 8.6 Speculative decoding

    //: A small drafter (here 2 layers of width 64, trained for a few seconds on the same text and
    //: tokenizer) proposes k tokens; the base model scores all k + 1 positions in one pass. Greedy
    //: verification keeps the drafts while they equal the base model's own choice, so the output is
    //: exactly plain greedy's — only faster when the drafter guesses well. For sampling, a draft d is
    //: kept with probability min(1, p(d)/q(d)), and on the first rejection the replacement is drawn from
    //: max(0, p − q) renormalised: the output is distributed exactly as the base model's (the tests check
    //: both). Acceptance falls with k — each later draft must survive all earlier ones.
    //:
    //: Read the speed-up column with two facts in mind. A drafter trained for seconds agrees with the base
    //: model rarely, and every rejected draft is wasted work. And the trick pays when decoding is bound by
    //: reading the weights from memory, so that checking k + 1 positions costs about as much as one: true
    //: of big models, not of this 13 MB one, which fits in the processor's 32 MB L3 cache — here k + 1 rows
    //: cost close to k + 1 times one row's arithmetic. Both columns are honest; change the drafter (or the
    //: base model's size) and watch them move.
    func trainDrafter(_ text: Corpus) throws -> GPT {
        Console.section("8.6 Speculative decoding")
        let data = try TokenDataset.make(corpus: text, tokenizer: bpe, contextLength: model.config.contextLength)
        let draft = try GPT(.gpt2Style(vocabularySize: model.config.vocabularySize,
                                       contextLength: model.config.contextLength,
                                       layers: 2, heads: 2, embeddingSize: 64), seed: chapter.options.seed)
        let steps = quick ? 30 : 150
        var config = TrainingConfig(steps: steps, batchSize: 16)
        (config.learningRate, config.warmupSteps, config.evaluateEvery) = (3e-3, steps / 10, steps)
        config.seed = chapter.options.seed
        let trainer = try Trainer(model: draft, data: data, config: config, checkpointFolder: nil)
        try trainer.run(label: "  drafter", quiet: true)
        print("  drafter: \(Format.integer(draft.parameters.parameterCount)) parameters (base model " +
              "\(Format.integer(model.parameters.parameterCount))), validation loss " +
              "\(Format.fixed(trainer.state.validation.last?.loss ?? .nan))")
        return draft
    }

    func speculative(_ draft: GPT) throws {
        let prompt = try [endOfText] + encode("A friend")
        let count = quick ? 24 : 120
        var random = SeededGenerator(seed: chapter.options.seed &+ 1)
        let plain = Generator(model: model)
        _ = try plain.generate(prompt: prompt, maxTokens: 8, settings: .greedy, generator: &random)     // warm-up
        let reference = try plain.generate(prompt: prompt, maxTokens: count, settings: .greedy, generator: &random)
        let plainRate = reference.tokensPerSecond
        var rows: [[String]] = [], acceptance: [Double] = []
        let ks = quick ? [1, 2, 4] : [1, 2, 3, 4, 6, 8]
        for k in ks {
            let decoder = try SpeculativeDecoder(target: model, drafter: .model(draft), k: k)
            let result = try decoder.generate(prompt: prompt, maxTokens: count, settings: .greedy, generator: &random)
            acceptance.append(result.acceptanceRate)
            rows.append([String(k), String(format: "%.0f%%", 100 * result.acceptanceRate),
                         String(format: "%.2f", result.tokensPerTargetPass),
                         String(format: "%.0f", result.tokensPerSecond),
                             String(format: "%.2f×", result.tokensPerSecond / plainRate),
                         result.tokens == reference.tokens ? "yes" : "NO"])
        }
        print("  greedy, \(count) tokens; plain decoding \(String(format: "%.0f", plainRate)) tokens/s")
        Console.printTable(["k", "accepted", "tokens per base pass", "tokens/s", "speed-up",
                            "same text as greedy"], rows)
        let sampler = try SpeculativeDecoder(target: model, drafter: .model(draft), k: 4)
        let sampled = try sampler.generate(prompt: prompt, maxTokens: count,
                                           settings: SamplingSettings(temperature: 0.8, topP: 0.9),
                                         stopTokens: [endOfText], generator: &random)
        print("  sampling (T 0.8, top-p 0.9, k 4): \(String(format: "%.0f%%", 100 * sampled.acceptanceRate)) " +
              "accepted, \(String(format: "%.2f", sampled.tokensPerTargetPass)) tokens per base pass")
        print("    │ \(shown("A friend" + decode(sampled.tokens)))")
        try chapter.plot(.line([Series("greedy acceptance", x: ks.map(Double.init), y: acceptance)],
                               title: "Speculative decoding: share of draft tokens accepted against draft length k",
                               xLabel: "draft length k", yLabel: "accepted / proposed", points: true),
                         as: "speculative-acceptance")
    }

    // MARK: - 8.7 Prompt lookup: drafts for free

    //: When the output copies the input — repeating a quote, summarising by extraction, editing code — the
    //: drafts can come from the prompt itself: find the last few tokens earlier in the text and propose
    //: what followed them there. No drafter model at all; the base model verifies as before.
    func promptLookup(_ text: Corpus) throws {
        Console.section("8.7 Prompt lookup: drafts for free")
        let quote = text.entries.first { $0.text.count > 120 && $0.text.count < 400 }?.text ?? "The quick brown fox " +
            "jumps over the lazy dog."
        let prompt = try [endOfText] + encode(quote + "\n\nOnce more, word for word:\n\n" + String(quote.prefix(12)))
        let count = quick ? 24 : 80
        var random = SeededGenerator(seed: chapter.options.seed &+ 1)
        let reference = try Generator(model: model).generate(prompt: prompt, maxTokens: count,
                                                             settings: .greedy, generator: &random)
        let decoder = try SpeculativeDecoder(target: model, drafter: .promptLookup(ngram: 3), k: 6)
        let result = try decoder.generate(prompt: prompt, maxTokens: count, settings: .greedy, generator: &random)
        Console.keyValues([
            ("drafts accepted", String(format: "%.0f%% of %d proposed", 100 * result.acceptanceRate, result.proposed)),
            ("tokens per base pass", String(format: "%.2f", result.tokensPerTargetPass)),
            ("speed", String(format: "%.0f tokens/s against %.0f plain (%.2f×)", result.tokensPerSecond,
             reference.tokensPerSecond,
                             result.tokensPerSecond / max(reference.tokensPerSecond, 1e-9))),
            ("same text as greedy", result.tokens == reference.tokens ? "yes" : "NO"),
        ])
        print("    │ \(shown(String(decode(result.tokens).prefix(100))))")
    }
}
