// Introduced in Chapter 08. Batch-1 generation speed, with and without the KV cache.

import Foundation

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
            var rates: [Double] = []
            for _ in 0..<max(repeats, 1) + 1 {                    // the first run warms up
                let result = try generator.generate(prompt: prompt, maxTokens: newTokens, settings: SamplingSettings(topP: 0.9),
                                                    generator: &random)
                rates.append(result.tokensPerSecond)
            }
            let rate = median(Array(rates.dropFirst()))
            let weightBytes = Double(model.parameters.parameterCount * MemoryLayout<Float>.size)
            report.add("generate \(name), \(newTokens) tokens, \(cache ? "KV cache" : "no cache"), \(threads) thread\(threads == 1 ? "" : "s")",
                       rate, "tokens/s",
                       cache ? String(format: "weights read at %.1f GB/s; cache %.1f MB", rate * weightBytes / 1e9, Double(generator.cache.bytes) / 1e6)
                             : "reruns the whole window per token")
        }
    }
}
