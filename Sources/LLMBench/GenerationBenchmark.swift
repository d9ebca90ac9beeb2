// Introduced in Chapter 08. Batch-1 generation speed, with and without the KV cache.

import Foundation
import LLMCore

extension Benchmarks {
    /// Generates `newTokens` after a 16-token prompt from a randomly initialised model of `config` at
    /// `threads` (top-p 0.9 sampling at T = 1, as llama2.c's `run` does by default; `greedy`: argmax, as
    /// `run -t 0`, so either of run.c's modes has its like-for-like line) and reports
    /// tokens/s of the token-by-token loop. With the cache, also the weight bytes read per second: each
    /// new token reads every weight once, so that figure against memory bandwidth is the ceiling.
    public static func generation(_ config: GPTConfig, name: String, threads: Int, cache: Bool, greedy: Bool = false,
                                  newTokens: Int = 200, repeats: Int, into report: inout BenchmarkReport) throws {
        try Parallel.withThreads(threads) {
            let model = try GPT(config, seed: 1)
            let generator = Generator(model: model)
            generator.usesCache = cache
            let prompt = (0..<16).map { $0 % config.vocabularySize }
            var random = SeededGenerator(seed: 2)
            let weightBytes = model.bytesReadPerToken
            let stream = StreamProbe(bytes: weightBytes)
            var rates: [Double] = [], bandwidths: [Double] = []
            // Without the cache every token is a long forward pass: no warm-up needed.
            let warmUps = cache ? 1 : 0
            for _ in 0..<max(repeats, 1) + warmUps {
                let result = try generator.generate(prompt: prompt, maxTokens: newTokens,
                                                    settings: greedy ? .greedy : SamplingSettings(topP: 0.9),
                                                    generator: &random)
                rates.append(result.tokensPerSecond)
                if cache { bandwidths.append(stream.gigabytesPerSecond()) }
            }
            let rate = median(Array(rates.dropFirst(warmUps)))
            let label = { (cached: Bool) in
                "generate \(name), \(newTokens) tokens, \(cached ? "KV cache" : "no cache"), " +
                "\(greedy ? "greedy, " : "")\(threads) " +
                "thread\(threads == 1 ? "" : "s")"
            }
            guard cache else {
                let speedUp = report.value(label(true))
                    .map { String(format: "; the cache is %.0f× faster", $0 / rate) } ?? ""
                return report.add(label(false), rate, "tokens/s", "reruns the whole window per token" + speedUp)
            }
            // The ceiling: one pass over the weights per token at the speed this run streams memory.
            let bandwidth = median(Array(bandwidths.dropFirst(warmUps))), read = rate * Double(weightBytes) / 1e9
            report.add(label(true), rate, "tokens/s",
                       String(format: "weights at %.1f GB/s = %.0f%% of streaming (%.1f GB/s); cache %.1f MB",
                              read, 100 * read / bandwidth, bandwidth, Double(generator.cache.bytes) / 1e6))
        }
    }
}

extension Benchmarks {
    /// Batch-1 decoding of `newTokens` with the blocks' linear layers in Float32 and quantized (Chapter 07),
    /// the variants taking turns `repeats` times in one run (medians): tokens/s, the ratio to Float32, and
    /// the weight bytes read per second against a plain streaming pass over the same number of bytes.
    public static func quantizedGeneration(_ config: GPTConfig, name: String, threads: Int, newTokens: Int = 200,
                                           repeats: Int, into report: inout BenchmarkReport) throws {
        try Parallel.withThreads(threads) {
            let variants: [(String, QuantizationScheme?, Bool)] = [
                ("fp32", nil, false), ("int8-g32", .q8_0, false), ("int8-g32, int8 activations", .q8_0, true),
                ("int4-g32", .q4_0, false), ("int4-g32, int8 activations", .q4_0, true),
            ]
            var models: [(name: String, generator: Generator, bytes: Int)] = []
            for (label, scheme, int8) in variants {
                let model = try GPT(config, seed: 1)
                if let scheme { try model.quantize(scheme, int8Activations: int8) }
                let bytes = model.bytesReadPerToken
                models.append((label, Generator(model: model), bytes))
            }
            let prompt = (0..<16).map { $0 % config.vocabularySize }
            var rates = models.map { _ in [Double]() }, bandwidths: [Double] = []
            for round in 0..<(max(repeats, 1) + 1) {                       // round 0 warms up
                for (i, model) in models.enumerated() {
                    var random = SeededGenerator(seed: 2)
                    let result = try model.generator.generate(prompt: prompt, maxTokens: newTokens,
                                                              settings: SamplingSettings(topP: 0.9), generator: &random)
                    if round > 0 { rates[i].append(result.tokensPerSecond) }
                }
                if round > 0 { bandwidths.append(StreamProbe(bytes: models[0].bytes).gigabytesPerSecond()) }
            }
            // The ratio is the median of each round's ratio: the variants of one round run back to back, so
            // a swing in the machine's load moves both sides of it.
            let bandwidth = median(bandwidths)
            for (i, model) in models.enumerated() {
                let rate = median(rates[i]), read = rate * Double(model.bytes) / 1e9
                let ratio = median(zip(rates[i], rates[0]).map { $0 / $1 })
                report.add("decode \(name), \(model.name), \(threads) thread\(threads == 1 ? "" : "s")", rate,
                           "tokens/s", String(format: "%.2f× fp32; weights %.1f MB read at %.1f GB/s = %.0f%% of " +
                                              "streaming (%.1f GB/s)", ratio, Double(model.bytes) / 1e6, read,
                                              100 * read / bandwidth, bandwidth))
            }
        }
    }
}
