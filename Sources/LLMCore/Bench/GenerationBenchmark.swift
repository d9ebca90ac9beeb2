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
            let weightBytes = model.parameters.parameterCount * MemoryLayout<Float>.size
            let stream = StreamProbe(bytes: weightBytes)
            var rates: [Double] = [], bandwidths: [Double] = []
            let warmUps = cache ? 1 : 0                          // without the cache every token is a long forward pass: no warm-up needed
            for _ in 0..<max(repeats, 1) + warmUps {
                let result = try generator.generate(prompt: prompt, maxTokens: newTokens, settings: SamplingSettings(topP: 0.9),
                                                    generator: &random)
                rates.append(result.tokensPerSecond)
                if cache { bandwidths.append(stream.gigabytesPerSecond()) }
            }
            let rate = median(Array(rates.dropFirst(warmUps)))
            let label = { (cached: Bool) in
                "generate \(name), \(newTokens) tokens, \(cached ? "KV cache" : "no cache"), \(threads) thread\(threads == 1 ? "" : "s")"
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

/// Memory bandwidth as batch-1 decoding sees it: a dot product of a buffer the size of the model's
/// weights with itself, split over the same workers and pool as the matrix-vector products, so every
/// byte comes from memory (or the last-level cache, as the weights do) once per pass. Timed between
/// generation runs so that this machine's load swings move both sides of the ratio alike.
public struct StreamProbe {
    let buffer: Tensor

    public init(bytes: Int) {
        buffer = Tensor(zeros: [max(1, bytes / MemoryLayout<Float>.size)])
        buffer.base.update(repeating: 1e-3, count: buffer.count)      // touch every page before timing
    }

    /// The best of three passes, in GB/s, at the calling thread's `Parallel.threads`.
    public func gigabytesPerSecond() -> Double {
        let count = buffer.count, base = buffer.base
        var best = Double.infinity, sink: Float = 0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            let blocks = (count + (1 << 16) - 1) >> 16
            let partial = Tensor(zeros: [blocks])
            Parallel.forEach(blocks, fineGrained: true) { range in
                for block in range {
                    let from = block << 16, n = min(1 << 16, count - from)
                    partial.base[block] = Kernels.dot(base + from, base + from, count: n)
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            sink += partial.base[0]
        }
        withExtendedLifetime(sink) {}
        return Double(count * MemoryLayout<Float>.size) / best / 1e9
    }
}
