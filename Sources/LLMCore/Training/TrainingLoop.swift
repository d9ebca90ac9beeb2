// Introduced in Chapter 04. The loop around `Trainer.step`: progress bar (loss, learning rate,
// tokens/s, MFU), periodic validation and samples, checkpoints — the same for the chapter and `llm train`.

import Foundation

extension Trainer {
    /// Trains until `config.steps` (from wherever the state is). `peakGFLOPs` (the sgemm peak) turns
    /// tokens/s into MFU, re-measured when a figure would exceed 100 % (`MFUMeter`); `tokenizer` enables
    /// samples in the log; `beforeStep` is called with each step's number before it runs (tests stop a run
    /// there, Chapter 04 notes the time).
    public func run(peakGFLOPs: Double? = nil, tokenizer: BPETokenizer? = nil, label: String = "  train",
                    quiet: Bool = false, beforeStep: ((Int) -> Void)? = nil) throws {
        let total = config.steps
        guard state.step < total else { return }
        let progress = ProgressBar(total: total, label: label, plainLines: 8)
        let config = model.config
        let flopsPerToken = Double(6 * ModelAccounting(config).nonEmbeddingPositionParameters
                                   + 12 * config.layers * config.heads * config.headSize * config.contextLength)
        let startTokens = state.tokensSeen
        let start = Date()
        var meter = peakGFLOPs.map { MFUMeter(peakGFLOPs: $0, measure: { SgemmPeak.measure() }) }
        while state.step < total {
            beforeStep?(state.step + 1)
            let loss = try step()
            let done = state.step
            if done % self.config.evaluateEvery == 0 || done == total {
                let validation = evaluate()
                if !quiet { print("  step \(done): validation loss \(Format.fixed(validation)), perplexity " +
                                  "\(Format.fixed(exp(validation), 1))") }
            }
            if let tokenizer, self.config.sampleEvery > 0, done % self.config.sampleEvery == 0, !quiet {
                printSamples(tokenizer)
            }
            if self.config.checkpointEvery > 0 && done % self.config.checkpointEvery == 0 { try saveCheckpoint() }
            let seconds = Date().timeIntervalSince(start)
            let rate = Double(state.tokensSeen - startTokens) / max(seconds, 1e-9)
            var metrics = [("loss", Format.fixed(loss)), ("lr", String(format: "%.2e", optimizer.learningRate))]
            if meter != nil { metrics.append(("MFU", meter!.label(flopsPerSecond: flopsPerToken * rate))) }
            if !quiet { progress.update(step: done, metrics: metrics, tokensPerSecond: rate) }
        }
        try saveCheckpoint()
    }

    /// A greedy and a sampled continuation of <|endoftext|> (a fresh fortune), printed.
    public func printSamples(_ tokenizer: BPETokenizer, count: Int = 40) {
        let end = tokenizer.specialId("<|endoftext|>") ?? 0
        var random = SeededGenerator(seed: config.seed &+ UInt64(state.step))
        let generator = Generator(model: model)
        for temperature in [Float(0), 0.8] {
            let ids = (try? generator.generate(prompt: [end], maxTokens: count,
                                               settings: SamplingSettings(temperature: temperature),
                                               stopTokens: [end], generator: &random).tokens) ?? []
            let text = ((try? tokenizer.decode(ids)) ?? "").replacingOccurrences(of: "\n", with: " ⏎ ")
            print("    sample (\(temperature == 0 ? "greedy" : "T = \(temperature)")): \(text)")
        }
    }
}
