// `llm train`: Chapter 04's training loop for your own corpus and model.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pretrain a GPT on a corpus: progress, validation, samples and resumable checkpoints in <run-dir>/checkpoint.")

    @Option(help: "A model preset: \(GPTConfig.presetNames.joined(separator: ", ")) (the vocabulary comes from the tokenizer).")
    var preset: String?

    @Option(help: "A config.json describing the model instead of a preset.")
    var config: String?

    @Option(help: "A UTF-8 text file or folder (fortune files split on '%' lines).")
    var corpus: String?

    @Option(help: "The tokenizer folder (tokenizer.tiktoken + tokenizer.json).")
    var tokenizer: String?

    @Option(name: .customLong("run-dir"), help: "Where the checkpoint and the token cache go.")
    var runDirectory = "runs/train"

    @Option(help: "Total optimizer steps.")
    var steps: Int = 200

    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch.")
    var batchSize: Int = 8

    @Option(help: "Micro-batches whose gradients add up to one step.")
    var accumulation: Int = 1

    @Option(help: "Context length (default: the model's).")
    var context: Int?

    @Option(name: .customLong("learning-rate"), help: "Peak learning rate (AdamW), after warmup.")
    var learningRate: Float = 2e-3

    @Option(name: .customLong("min-learning-rate"), help: "Where the cosine decay ends (default: a tenth of the peak).")
    var minimumLearningRate: Float?

    @Option(help: "Warmup steps (default: a tenth of --steps).")
    var warmup: Int?

    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.")
    var weightDecay: Float = 0.1

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0: only at the end).")
    var checkpointEvery: Int = 50

    @Option(help: "Seed for initialisation and batches.")
    var seed: UInt64 = 1337

    @Option(help: "Threads (default: all cores, \(Parallel.defaultThreads) here).")
    var threads: Int?

    @Flag(help: "Continue from <run-dir>/checkpoint exactly where it stopped (up to --steps in total).")
    var resume = false

    mutating func validate() throws {
        try ChapterOptions.validateThreads(threads)
        try requireFlag("--steps", steps, in: 1...10_000_000)
        try requireFlag("--batch-size", batchSize, in: 1...100_000)
        try requireFlag("--accumulation", accumulation, in: 1...10_000)
        try requireFlag("--checkpoint-every", checkpointEvery, in: 0...10_000_000)
        if let context { try requireFlag("--context", context, in: 1...100_000) }
        if let warmup { try requireFlag("--warmup", warmup, in: 0...steps) }
        if let minimumLearningRate, !(minimumLearningRate >= 0 && minimumLearningRate <= learningRate) {
            throw flagError("--min-learning-rate", "\(minimumLearningRate)", "between 0 and --learning-rate")
        }
        if !(weightDecay >= 0 && weightDecay < 1) { throw flagError("--weight-decay", "\(weightDecay)", "in [0, 1)") }
        if !(learningRate > 0 && learningRate.isFinite) { throw flagError("--learning-rate",
                                                                          "\(learningRate)", "a positive number") }
        if !resume && (preset == nil) == (config == nil) { throw flagError("--preset/--config", "",
                                                                           "exactly one of them (or --resume)") }
        if !resume && (corpus == nil || tokenizer == nil) { throw flagError("--corpus/--tokenizer",
                                                                            "", "both, to start a run") }
        if let preset, GPTConfig.preset(preset) == nil {
            throw flagError("--preset", preset, "one of \(GPTConfig.presetNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        Parallel.setThreads(threads ?? Parallel.defaultThreads)
        let folder = try RunFolder(runDirectory: runDirectory, chapter: ".").url.standardizedFileURL
        let checkpoint = folder.appendingPathComponent("checkpoint")
        let tokenizerFolder = URL(fileURLWithPath: tokenizer ?? folder.appendingPathComponent("tokenizer").path)
        let bpe = try BPETokenizer.load(from: tokenizerFolder)
        let text = try Corpus.load(path: corpus ?? Corpus.fortunesDirectory)
        let trainer: Trainer<TokenWindows>
        if resume {
            let saved = try Checkpoint.config(in: checkpoint)
            let data = try TokenDataset.make(corpus: text, tokenizer: bpe,
                                             contextLength: saved.contextLength, cacheFolder: folder)
            trainer = try Trainer.resume(from: checkpoint, data: data, steps: steps)
            print("resuming at step \(trainer.state.step) of \(trainer.config.steps)")
        } else {
            var model = try config.map { try Checkpoint.config(in: URL(fileURLWithPath: $0).deletingLastPathComponent(), file: URL(fileURLWithPath: $0)) }
                ?? GPTConfig.preset(preset ?? "", vocabularySize: bpe.vocabularySize)!
            if let context { model.contextLength = context }
            if model.vocabularySize != bpe.vocabularySize {
                throw CourseError.invalidValue(name: "config vocab_size", value: "\(model.vocabularySize)",
                    expected: "the tokenizer's \(bpe.vocabularySize)")
            }
            let data = try TokenDataset.make(corpus: text, tokenizer: bpe,
                                             contextLength: model.contextLength, cacheFolder: folder)
            var settings = TrainingConfig(steps: steps, batchSize: batchSize)
            settings.accumulation = accumulation
            settings.learningRate = learningRate
            settings.minimumLearningRate = minimumLearningRate ?? learningRate / 10
            settings.warmupSteps = warmup ?? max(1, steps / 10)
            settings.weightDecay = weightDecay
            settings.evaluateEvery = max(1, steps / 10)
            settings.sampleEvery = max(1, steps / 4)
            settings.checkpointEvery = checkpointEvery
            settings.seed = seed
            trainer = try Trainer(model: try GPT(model, seed: seed), data: data, config: settings,
                                  checkpointFolder: checkpoint)
            print("training \(Format.integer(trainer.model.parameters.parameterCount)) parameters on " +
                  "\(Format.integer(data.train.count)) tokens (unigram baseline \(Format.fixed(data.unigramLoss)) " +
                  "nats)")
        }
        try trainer.run(peakGFLOPs: SgemmPeak.measure(), tokenizer: bpe)
        let heldOut = HeldOut.score(trainer.model, trainer.source.data)
        print("held-out (every held-out token once, \(Format.integer(heldOut.tokens)) tokens, " +
              "\(Format.integer(heldOut.bytes)) bytes): \(Format.fixed(heldOut.natsPerToken)) nats/token, " +
              "\(Format.fixed(heldOut.bitsPerByte, 3)) bits/byte")
        print("checkpoint: \(Chapter.relativePath(checkpoint.path))")
    }
}
