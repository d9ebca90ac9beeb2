// Introduced in Chapter 08. Batch-1 generation speed, with and without the KV cache.

import Foundation
import LLMCore

extension Benchmarks {
    /// Generates `newTokens` after a 16-token prompt from a randomly initialised model of `config` at
    /// `threads` (top-p 0.9 sampling at T = 1, as llama2.c's `run` does by default) and reports
    /// tokens/s of the token-by-token loop. With the cache, also the weight bytes read per second: each
    /// new token reads every weight once, so that figure against memory bandwidth is the ceiling.
    public static func generation(_ config: GPTConfig, name: String, threads: Int, cache: Bool, newTokens: Int = 200,
                                  repeats: Int, into report: inout BenchmarkReport) throws {
        try Parallel.withThreads(threads) {
            let model = try GPT(config, seed: 1)
            let generator = Generator(model: model)
            generator.usesCache = cache
            let prompt = (0..<16).map { $0 % config.vocabularySize }
            var random = SeededGenerator(seed: 2)
            let weightBytes = model.parameters.parameterCount * MemoryLayout<Float>.size
            let stream = StreamProbe(bytes: weightBytes)
            var rates: [Double] = [], bandwidths: [Double] = []
            let warmUps = cache ? 1 : 0                          // without the cache every token is a long forward pass: no warm-up needed
            for _ in 0..<max(repeats, 1) + warmUps {
                let result = try generator.generate(prompt: prompt, maxTokens: newTokens,
                                                    settings: SamplingSettings(topP: 0.9),
                                                    generator: &random)
                rates.append(result.tokensPerSecond)
                if cache { bandwidths.append(stream.gigabytesPerSecond()) }
            }
            let rate = median(Array(rates.dropFirst(warmUps)))
            let label = { (cached: Bool) in
                "generate \(name), \(newTokens) tokens, \(cached ? "KV cache" : "no cache"), \(threads) " +
                "thread\(threads == 1 ? "" : "s")"
            }
            guard cache else {
                let speedUp = report.value(label(true)).map { String(format: "; the cache is %.0f× faster", $0 / rate) } ?? ""
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
