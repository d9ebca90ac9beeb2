// The training loop: exact resume, the divergence guard, schedules, clipping, optimizers, data.

import Foundation
import Testing
@testable import LLMCore

/// A small corpus, tokenizer, dataset and model for loop tests.
func trainingFixture(seed: UInt64 = 1) throws -> (GPT, TokenDataset, BPETokenizer) {
    var g = SeededGenerator(seed: seed)
    let words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "and", "then", "slept"]
    let entries = (0..<200).map { _ in
        CorpusEntry(text: (0..<12).map { _ in words[g.integer(below: words.count)] }.joined(separator: " ") + ".", topic: "t", attribution: nil)
    }
    let corpus = Corpus(entries: entries, source: "test")
    let tokenizer = try BPETrainer.train(documents: entries.map(\.text), vocabularySize: 300).tokenizer
    var config = GPTConfig.gpt2Style(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 2, heads: 2, embeddingSize: 16)
    config.mlpHiddenSize = 32
    let data = try TokenDataset.make(corpus: corpus, tokenizer: tokenizer, contextLength: 16)
    return (try GPT(config, seed: 2), data, tokenizer)
}

func loopConfig(steps: Int) -> TrainingConfig {
    var config = TrainingConfig(steps: steps, batchSize: 4)
    config.accumulation = 2
    config.warmupSteps = 3
    config.evaluateEvery = 4
    config.evaluationBatches = 2
    return config
}

@Suite("Training loop", .serialized)
struct TrainingTests {
    @Test("stop at step 5, resume: the losses after resume equal the uninterrupted run's, bit for bit")
    func exactResume() throws {
        // Pinned for this thread, so no other test's thread count can change how the products split.
        try Parallel.withThreads(2) { try checkExactResume() }
    }

    private func checkExactResume() throws {
        let (modelA, data, _) = try trainingFixture()
        let folderA = temporaryFolder("uninterrupted").appendingPathComponent("checkpoint")
        let uninterrupted = try Trainer(model: modelA, data: data, config: loopConfig(steps: 10), checkpointFolder: folderA)
        try uninterrupted.run(quiet: true)

        let (modelB, _, _) = try trainingFixture()
        let folderB = temporaryFolder("interrupted").appendingPathComponent("checkpoint")
        let first = try Trainer(model: modelB, data: data, config: loopConfig(steps: 10), checkpointFolder: folderB)
        for _ in 0..<5 { try first.step() }
        try first.saveCheckpoint()                                   // "killed" after step 5
        let resumed = try Trainer.resume(from: folderB, data: data)
        #expect(resumed.state.step == 5)
        try resumed.run(quiet: true)
        #expect(resumed.state.trainLosses == uninterrupted.state.trainLosses)   // Double ==, every step
        #expect(resumed.state.trainLosses.count == 10)
        for ((name, a), (_, b)) in zip(modelA.namedParameters, resumed.model.namedParameters) {
            #expect(a.value == b.value, "\(name)")
        }
    }

    @Test("a NaN stops training with the previous checkpoint intact")
    func divergenceGuard() throws {
        let (model, data, _) = try trainingFixture()
        let folder = temporaryFolder().appendingPathComponent("checkpoint")
        var config = loopConfig(steps: 10)
        config.checkpointEvery = 2
        let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: folder)
        var saved: [String: Tensor] = [:]
        do {
            try trainer.run(quiet: true) { step in
                if step == 5 {   // after the checkpoint at step 4: remember it, then poison a weight
                    for (name, p) in model.namedParameters { saved[name] = p.value }
                    model.blocks[0].mlp.first.denseMatrix!.value[0, 0] = .nan
                }
            }
            Issue.record("training should have stopped")
        } catch let error as TrainingError {
            guard case .diverged(let step, _, _, let checkpoint) = error else { Issue.record("\(error)"); return }
            #expect(step == 5 && checkpoint == folder.path)
            #expect(error.description.contains("intact") && error.description.contains("--resume"))
        }
        let kept = try Checkpoint.load(from: folder)
        for (name, p) in kept.namedParameters { #expect(p.value == saved[name], "\(name)") }
        #expect(try Trainer.resume(from: folder, data: data).state.step == 4)
    }

    @Test("a batch and context too large for memory are refused with the number")
    func tooLarge() throws {
        let (_, data, _) = try trainingFixture()
        let huge = try GPT(GPTConfig.gpt2Style(vocabularySize: 300, contextLength: 16, layers: 1, heads: 1, embeddingSize: 8), seed: 1)
        var config = loopConfig(steps: 1)
        config.batchSize = 1 << 30
        #expect(throws: TrainingError.self) { try Trainer(model: huge, data: data, config: config, checkpointFolder: nil) }
        let message = TrainingError.tooLarge(bytesNeeded: 80_000_000_000, bytesAvailable: 16_000_000_000).description
        #expect(message.contains("80.0 GB") && message.contains("--batch-size"))
    }

    @Test("a corpus smaller than one context window is a clear error")
    func tinyCorpus() throws {
        let tokenizer = try BPETrainer.train(documents: ["a b c d e f"], vocabularySize: 270).tokenizer
        let corpus = Corpus(entries: [CorpusEntry(text: "a b", topic: "t", attribution: nil), CorpusEntry(text: "c", topic: "t", attribution: nil)], source: "tiny.txt")
        #expect(throws: CourseError.self) { try TokenDataset.make(corpus: corpus, tokenizer: tokenizer, contextLength: 64) }
    }

    @Test("warmup then cosine: the documented values")
    func schedule() {
        let s = CosineSchedule(peak: 1, minimum: 0.1, warmup: 10, total: 110)
        #expect(s.rate(at: 1) == 0.1 && s.rate(at: 10) == 1)
        #expect(abs(s.rate(at: 60) - 0.55) < 1e-6)         // halfway through the decay: (1 + 0.1)/2
        #expect(s.rate(at: 110) == 0.1 && s.rate(at: 500) == 0.1)
    }

    @Test("clipping scales the global norm down to the limit, and leaves small gradients alone")
    func clipping() {
        let a = Variable.parameter(Tensor(shape: [2], values: [0, 0])), b = Variable.parameter(Tensor(shape: [1], values: [0]))
        a.grad = Tensor(shape: [2], values: [3, 0])
        b.grad = Tensor(shape: [1], values: [4])                          // norm √(9 + 16) = 5
        #expect(clipGradients([a, b], maxNorm: 1) == 5)
        #expect(abs(gradientNorm([a, b]) - 1) < 1e-6 && abs(a.grad![0] - 0.6) < 1e-6)
        #expect(clipGradients([a, b], maxNorm: 2) < 1.0001 && abs(a.grad![0] - 0.6) < 1e-6)
    }

    @Test("AdamW's first step moves each weight by the learning rate against its gradient's sign")
    func adamFirstStep() {
        // m̂ = g, v̂ = g², so the update is η·g/|g| = η·sign(g) (ε aside); no decay on 1-D parameters.
        let w = Variable.parameter(Tensor(shape: [3], values: [1, 1, 1]), name: "bias")
        w.grad = Tensor(shape: [3], values: [0.5, -2, 1e-3])
        let adam = AdamW([w], learningRate: 0.1, weightDecay: 0.5)
        adam.update()
        expectClose(w.value.scalars, [0.9, 1.1, 0.9], 1e-4)
    }

    @Test("training lowers the loss below the unigram baseline; the token cache round-trips")
    func learns() throws {
        let (model, data, tokenizer) = try trainingFixture()
        var config = loopConfig(steps: 60)
        config.learningRate = 1e-2
        let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: nil)
        try trainer.run(quiet: true)
        #expect(trainer.state.validation.last!.loss < data.unigramLoss, "\(trainer.state.validation.last!.loss) vs unigram \(data.unigramLoss)")
        let folder = temporaryFolder()
        let corpus = Corpus(entries: [CorpusEntry(text: String(repeating: "the cat sat. ", count: 40), topic: "a", attribution: nil)] +
                            (0..<12).map { CorpusEntry(text: "dog \($0) ran far away and then slept on a mat", topic: "b", attribution: nil) },
                            source: "x")
        let made = try TokenDataset.make(corpus: corpus, tokenizer: tokenizer, contextLength: 8, cacheFolder: folder)
        let cached = try TokenDataset.make(corpus: corpus, tokenizer: tokenizer, contextLength: 8, cacheFolder: folder)
        #expect(made.train == cached.train && made.validation == cached.validation)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).contains { $0.hasPrefix("tokens-") })
    }
}
