// Introduced in Chapter 03. Model throughput: forward + backward tokens/s and MFU, and attention's cost
// against sequence length (the quadratic term).

import Foundation
import LLMCore

extension Benchmarks {
    /// Forward + backward (no optimizer) of a GPT on random tokens: tokens/s and MFU against `peak`
    /// (GFLOP/s), counting 6·N FLOPs per token plus attention's 12·L·H·D·T (nanoGPT's estimate).
    public static func modelStep(_ config: GPTConfig, batch: Int, name: String, peak: Double, repeats: Int,
                                 into report: inout BenchmarkReport) throws {
        let model = try GPT(config, seed: 1)
        var generator = SeededGenerator(seed: 2)
        let t = config.contextLength
        let ids = (0..<batch).map { _ in (0..<t).map { _ in generator.integer(below: config.vocabularySize) } }
        let targets = (0..<(batch * t)).map { _ in generator.integer(below: config.vocabularySize) }
        let parameters = model.parameters
        let seconds = medianSeconds(repeats: repeats) {
            let tape = Tape()
            let loss = tape.crossEntropy(model(ids, tape), targets: targets)
            parameters.zeroGrad()
            tape.backward(loss)
        }
        let tokensPerSecond = Double(batch * t) / seconds
        let accounting = ModelAccounting(config)
        let flopsPerToken = Double(6 * accounting.nonEmbeddingPositionParameters
                                   + 12 * config.layers * config.heads * config.headSize * t)
        report.add("\(name) fwd+bwd, B \(batch) × T \(t)", tokensPerSecond, "tokens/s",
                   mfuText(flopsPerSecond: flopsPerToken * tokensPerSecond, peakGFLOPs: peak)
                   + String(format: " of sgemm; %.0f ms/step", seconds * 1000))
    }

    /// Full training steps (forward, backward, clipping, AdamW) on random tokens at `threads`: tokens/s and
    /// MFU against the sgemm peak at that thread count. The peak products are timed between the steps
    /// (each step is preceded by one 1024³ product of each kind), so a busy moment on a shared machine
    /// slows both sides of the ratio alike; medians of each.
    public static func trainingStep(_ config: GPTConfig, batch: Int, name: String, threads: Int, repeats: Int,
                                    into report: inout BenchmarkReport) throws {
        try Parallel.withThreads(threads) {
            var generator = SeededGenerator(seed: 5)
            let tokens = (0..<200_000).map { _ in Int32(generator.integer(below: config.vocabularySize)) }
            let data = TokenDataset(train: tokens, validation: Array(tokens.prefix(10_000)),
                                    vocabularySize: config.vocabularySize)
            var settings = TrainingConfig(steps: repeats + 1, batchSize: batch)
            settings.evaluationBatches = 1
            let trainer = try Trainer(model: try GPT(config, seed: 1), data: data,
                                      config: settings, checkpointFolder: nil)
            let probe = PeakProbe(size: 1024)
            _ = try trainer.step()                          // warm-up: buffers reach the pool
            var stepTimes: [Double] = [], splitTimes: [Double] = [], openBLASTimes: [Double] = []
            for _ in 0..<max(repeats, 1) {
                if threads > 1 { openBLASTimes.append(probe.openBLASSeconds()) }
                splitTimes.append(probe.splitSeconds())
                stepTimes.append(try Self.seconds { try trainer.step() })
            }
            let seconds = median(stepTimes)
            let fastest = openBLASTimes.isEmpty ? median(splitTimes) : min(median(openBLASTimes), median(splitTimes))
            let peak = probe.flops / fastest / 1e9
            let tokensPerSecond = Double(batch * config.contextLength) / seconds
            let flopsPerToken = Double(6 * ModelAccounting(config).nonEmbeddingPositionParameters
                                       + 12 * config.layers * config.heads * config.headSize * config.contextLength)
            report.add("train \(name), B \(batch) × T \(config.contextLength), \(threads) " +
                       "thread\(threads == 1 ? "" : "s")", tokensPerSecond, "tokens/s",
                       mfuText(flopsPerSecond: flopsPerToken * tokensPerSecond, peakGFLOPs: peak)
                       + String(format: " of %.0f GFLOP/s; %.0f ms/step", peak, seconds * 1000))
        }
    }

    /// One training step of full fine-tuning against LoRA (r = 8, α = 16, every linear layer) on the same model
    /// and batches, alternating one step of each `repeats` times: medians, their ratio, and the optimizer
    /// state each keeps (Chapter 06).
    public static func loraStep(_ config: GPTConfig, batch: Int, name: String, repeats: Int,
                                into report: inout BenchmarkReport) throws {
        var generator = SeededGenerator(seed: 6)
        let tokens = (0..<200_000).map { _ in Int32(generator.integer(below: config.vocabularySize)) }
        let data = TokenDataset(train: tokens, validation: Array(tokens.prefix(10_000)),
                                vocabularySize: config.vocabularySize)
        var settings = TrainingConfig(steps: 2 * repeats + 2, batchSize: batch)
        settings.evaluationBatches = 1
        let full = try Trainer(model: try GPT(config, seed: 1), data: data, config: settings, checkpointFolder: nil)
        let adapted = try GPT(config, seed: 1)
        _ = try LoRAAdapter.apply(to: adapted, config: LoRAConfig(rank: 8, alpha: 16), seed: 2)
        settings.weightDecay = 0
        let lora = try Trainer(model: adapted, data: data, config: settings, checkpointFolder: nil)
        // And with two tokens' rows of the embedding and head trainable (Chapter 06's chat-token rows).
        let withRows = try GPT(config, seed: 1)
        _ = try LoRAAdapter.apply(to: withRows, config: LoRAConfig(rank: 8, alpha: 16, trainableTokens:
            LoRAConfig.tokenRows([1, 2], tiedEmbeddings: config.tiedEmbeddings)), seed: 2)
        let rows = try Trainer(model: withRows, data: data, config: settings, checkpointFolder: nil)
        let trainers = [full, lora, rows]
        for trainer in trainers { _ = try trainer.step() }           // warm-up: buffers reach the pool
        var times: [[Double]] = [[], [], []]
        for _ in 0..<max(repeats, 1) {
            for (i, trainer) in trainers.enumerated() { times[i].append(try Self.seconds { try trainer.step() }) }
        }
        let (fullSeconds, loraSeconds, rowsSeconds) = (median(times[0]), median(times[1]), median(times[2]))
        func bytes(_ trainer: Trainer<TokenWindows>) -> Double {
            Double(trainer.optimizer.state().reduce(0) { $0 + 4 * $1.1.count }) / 1e6
        }
        let trainable = lora.trainable.reduce(0) { $0 + $1.value.count }
        let all = full.trainable.reduce(0) { $0 + $1.value.count }
        report.add("fine-tuning step, \(name), full, B \(batch) × T \(config.contextLength)", fullSeconds * 1000, "ms",
                   String(format: "AdamW state %.1f MB", bytes(full)))
        report.add("fine-tuning step, \(name), LoRA r = 8 on all linear layers", loraSeconds * 1000, "ms",
                   String(format: "%.2f× the full step; AdamW state %.2f MB (%.3f×); %.2f %% trainable",
                          loraSeconds / fullSeconds, bytes(lora), bytes(lora) / bytes(full),
                          100 * Double(trainable) / Double(all)))
        report.add("fine-tuning step, \(name), LoRA r = 8 + 2 tokens' embedding and head rows", rowsSeconds * 1000,
                   "ms", String(format: "%.2f× the full step, %.2f× LoRA alone", rowsSeconds / fullSeconds,
                                rowsSeconds / loraSeconds))
    }

    /// Attention forward + backward time for B = 1, H = 6, D = 64 at growing T; returns (T, milliseconds).
    public static func attentionScaling(lengths: [Int] = [64, 128, 256, 512, 1024], repeats: Int) -> [(Int, Double)] {
        var generator = SeededGenerator(seed: 3)
        return lengths.map { t in
            let qkv = Variable.parameter(Tensor.randomNormal([1, t, 3 * 6 * 64], using: &generator))
            let seed = Tensor.randomNormal([1, t, 6 * 64], using: &generator)
            let seconds = medianSeconds(repeats: repeats) {
                let tape = Tape()
                tape.backward(tape.attention(qkv, heads: 6, kvHeads: 6), seed: seed)
                qkv.grad = nil
            }
            return (t, seconds * 1000)
        }
    }
}
