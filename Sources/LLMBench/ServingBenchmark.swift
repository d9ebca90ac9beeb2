// `llm bench --only serve` (Chapter 12): what continuous batching buys. N streams decode at once through
// the batch scheduler (one forward pass per step for all of them); the aggregate tokens/s against one
// stream's is the ratio, from the same run.

import Foundation
import LLMCore

extension Benchmarks {
    public static func serving(_ config: GPTConfig, name: String, streams: [Int] = [1, 4, 16, 32],
                               newTokens: Int = 64, repeats: Int, into report: inout BenchmarkReport) async throws {
        let model = try GPT(config, seed: 1)
        var single: Double?
        for count in streams {
            let scheduler = BatchScheduler(model: model, maxActive: count, queueLimit: count)
            var rates: [Double] = []
            for round in 0..<(repeats + 1) {   // the first round warms up
                let start = DispatchTime.now().uptimeNanoseconds
                let tickets = try (0..<count).map { i in
                    try scheduler.submit(.init(prompt: (0..<16).map { ($0 * 7 + i) % config.vocabularySize },
                                               maxTokens: newTokens, settings: SamplingSettings(topP: 0.9),
                                               seed: UInt64(i)))
                }
                var produced = 0
                for ticket in tickets {
                    for await event in ticket.events { if case .token = event { produced += 1 } }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if round > 0 { rates.append(Double(produced) / seconds) }
            }
            scheduler.shutdown()
            let rate = median(rates)
            if count == 1 { single = rate }
            let ratio = single.map { String(format: "%.2f× one stream", rate / $0) } ?? ""
            report.add("serve \(name), \(count) concurrent stream\(count == 1 ? "" : "s") × \(newTokens) tokens",
                       rate, "tokens/s", "aggregate, batched decode steps; " + ratio)
        }
    }
}
