// Introduced in Chapter 04. The training loop: batches → loss → backward → clip → update, with
// evaluation, samples, checkpoints, exact resume, and a guard against divergence.
//
// One step: `accumulation` micro-batches of B windows each (their gradients add up, each scaled by
// 1/accumulation), the global gradient norm clipped to `clipNorm`, the learning rate from the
// warmup-cosine schedule, one optimizer update. A checkpoint holds everything the next step depends on —
// weights, optimizer buffers and step, the sampler's generator, the loss history — so a resumed run
// continues the uninterrupted one to the last bit (same thread count). It is written as a new folder
// and swapped in with renames: an interrupted save leaves the previous checkpoint.

import Foundation

public struct TrainingConfig: Codable, Sendable, Equatable {
    public var steps: Int
    public var batchSize: Int
    public var accumulation: Int = 1
    public var optimizer: String = "adamw"          // "adamw" or "sgd"
    public var learningRate: Float = 3e-3
    public var minimumLearningRate: Float = 3e-4
    public var warmupSteps: Int = 20
    public var weightDecay: Float = 0.1
    public var clipNorm: Double = 1.0
    /// A gradient norm above this (before clipping), or a non-finite loss, stops training.
    public var divergenceNorm: Double = 1e4
    public var evaluateEvery: Int = 50
    public var evaluationBatches: Int = 8
    public var sampleEvery: Int = 0                 // 0: no samples in the log
    public var checkpointEvery: Int = 0             // 0: only at the end
    public var seed: UInt64 = 1337

    public init(steps: Int, batchSize: Int) {
        self.steps = steps
        self.batchSize = batchSize
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case diverged(step: Int, loss: Double, gradientNorm: Double, checkpoint: String?)
    case tooLarge(bytesNeeded: Int, bytesAvailable: Int)

    public var description: String {
        switch self {
        case .diverged(let step, let loss, let norm, let checkpoint):
            let kept = checkpoint.map { "the last good checkpoint is intact in \($0)" } ?? "no checkpoint had been written yet"
            return "training diverged at step \(step) (loss \(loss), gradient norm \(String(format: "%.3g", norm))); \(kept). Try a lower --learning-rate, a longer warmup, or a smaller clip norm, then --resume"
        case .tooLarge(let needed, let available):
            return String(format: "this batch and context need about %.1f GB for training, more than the %.1f GB available; lower --batch-size or --context, or raise --accumulation", Double(needed) / 1e9, Double(available) / 1e9)
        }
    }
}

/// The loop's state between steps: what a checkpoint saves besides weights and optimizer buffers.
public struct TrainingState: Codable, Sendable, Equatable {
    public var step = 0
    public var sampler: BatchSampler
    public var trainLosses: [Double] = []
    public var validation: [ValidationPoint] = []
    public var tokensSeen = 0

    public struct ValidationPoint: Codable, Sendable, Equatable {
        public let step: Int
        public let loss: Double
    }
}

public final class Trainer {
    public let model: GPT
    public let optimizer: Optimizer
    public let config: TrainingConfig
    public let data: TokenDataset
    public let schedule: CosineSchedule
    public private(set) var state: TrainingState
    /// Where checkpoints go (nil: none).
    public let checkpointFolder: URL?
    private let validationSet: [(inputs: [[Int]], targets: [Int])]
    private var lastCheckpoint: String?

    public init(model: GPT, data: TokenDataset, config: TrainingConfig, checkpointFolder: URL?) throws {
        let needed = Trainer.memoryEstimate(model.config, batchSize: config.batchSize)
        let available = Int(ProcessInfo.processInfo.physicalMemory) * 3 / 4
        if needed > available { throw TrainingError.tooLarge(bytesNeeded: needed, bytesAvailable: available) }
        self.model = model
        self.config = config
        self.data = data
        self.checkpointFolder = checkpointFolder
        let parameters = model.parameters
        optimizer = config.optimizer == "sgd"
            ? SGD(parameters, learningRate: config.learningRate, momentum: 0.9)
            : AdamW(parameters, learningRate: config.learningRate, weightDecay: config.weightDecay)
        schedule = CosineSchedule(peak: config.learningRate, minimum: config.minimumLearningRate,
                                  warmup: config.warmupSteps, total: config.steps)
        state = TrainingState(sampler: BatchSampler(seed: config.seed))
        validationSet = validationBatches(data.validation, batch: config.batchSize, length: model.config.contextLength,
                                          maxBatches: config.evaluationBatches)
    }

    /// Bytes a training step needs, roughly: weights, gradients and two optimizer buffers, plus per
    /// token the activations the tape keeps (≈ 18·C + H·T per layer, logits, probabilities and their
    /// gradient), in Float32.
    public static func memoryEstimate(_ config: GPTConfig, batchSize: Int) -> Int {
        let parameters = ModelAccounting(config).total
        let tokens = batchSize * config.contextLength
        let perToken = config.layers * (18 * config.embeddingSize + 2 * config.mlpHiddenSize + 2 * config.heads * config.contextLength)
            + 3 * config.vocabularySize
        return 4 * (4 * parameters + tokens * perToken)
    }

    /// Mean validation loss over the fixed validation batches.
    public func validationLoss() -> Double {
        guard !validationSet.isEmpty else { return .nan }
        var total = 0.0
        for batch in validationSet {
            let tape = Tape.inference
            total += Double(tape.crossEntropy(model(batch.inputs, tape), targets: batch.targets).value.item)
        }
        return total / Double(validationSet.count)
    }

    /// One optimizer step; returns the (mean) training loss. Throws `TrainingError.diverged` on a
    /// non-finite loss or an exploding gradient, before the update touches the weights.
    @discardableResult
    public func step() throws -> Double {
        let parameters = model.parameters
        parameters.zeroGrad()
        var loss = 0.0
        let t = model.config.contextLength
        for _ in 0..<config.accumulation {
            let batch = state.sampler.next(data.train, batch: config.batchSize, length: t)
            let tape = Tape()
            let micro = tape.crossEntropy(model(batch.inputs, tape), targets: batch.targets)
            loss += Double(micro.value.item) / Double(config.accumulation)
            tape.backward(micro, seed: Tensor(scalar: 1 / Float(config.accumulation)))
        }
        let next = state.step + 1
        let norm = clipGradients(parameters, maxNorm: config.clipNorm)
        if !loss.isFinite || !norm.isFinite || norm > config.divergenceNorm {
            throw TrainingError.diverged(step: next, loss: loss, gradientNorm: norm, checkpoint: lastCheckpoint)
        }
        optimizer.learningRate = schedule.rate(at: next)
        optimizer.update()
        state.step = next
        state.tokensSeen += config.accumulation * config.batchSize * t
        state.trainLosses.append(loss)
        return loss
    }

    /// Records the validation loss now.
    @discardableResult
    public func evaluate() -> Double {
        let loss = validationLoss()
        state.validation.append(.init(step: state.step, loss: loss))
        return loss
    }

    // MARK: Checkpoints

    static let optimizerFileName = "optimizer.safetensors", stateFileName = "trainer.json"

    /// Writes model, optimizer and loop state into `checkpointFolder`, replacing the previous checkpoint
    /// only once the new one is complete.
    public func saveCheckpoint() throws {
        guard let folder = checkpointFolder else { return }
        let partial = folder.appendingPathExtension("partial"), previous = folder.appendingPathExtension("previous")
        let manager = FileManager.default
        try? manager.removeItem(at: partial)
        try Checkpoint.save(model, to: partial)
        try SafetensorsFile.write(optimizer.state(), metadata: ["step": "\(optimizer.step)"], to: partial.appendingPathComponent(Trainer.optimizerFileName))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let trainingFile = TrainingCheckpoint(config: config, state: state)
        try AtomicFile.write(try encoder.encode(trainingFile), to: partial.appendingPathComponent(Trainer.stateFileName))
        try? manager.removeItem(at: previous)
        if manager.fileExists(atPath: folder.path) { try manager.moveItem(at: folder, to: previous) }
        try manager.moveItem(at: partial, to: folder)
        try? manager.removeItem(at: previous)
        lastCheckpoint = folder.path
    }

    /// A trainer continuing from the checkpoint in `folder` (falls back to `folder.previous` when a save
    /// was interrupted between its two renames).
    /// `steps` changes the run's total (to train further than first planned); the schedule follows it.
    public static func resume(from folder: URL, data: TokenDataset, steps: Int? = nil) throws -> Trainer {
        let manager = FileManager.default
        var source = folder
        if !manager.fileExists(atPath: folder.path), manager.fileExists(atPath: folder.appendingPathExtension("previous").path) {
            source = folder.appendingPathExtension("previous")
        }
        let model = try Checkpoint.load(from: source)
        let stateURL = source.appendingPathComponent(stateFileName)
        guard let stateData = manager.contents(atPath: stateURL.path),
              let saved = try? JSONDecoder().decode(TrainingCheckpoint.self, from: stateData) else {
            throw CheckpointError(path: stateURL.path, reason: "missing or not a training state; it cannot be resumed")
        }
        var config = saved.config
        if let steps { config.steps = steps }
        let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: folder)
        let optimizerFile = try SafetensorsFile.read(source.appendingPathComponent(optimizerFileName))
        var buffers: [String: Tensor] = [:]
        for entry in optimizerFile.entries { buffers[entry.name] = try optimizerFile.tensor(entry.name) }
        try trainer.optimizer.restore(buffers, step: saved.state.step)
        trainer.state = saved.state
        trainer.lastCheckpoint = folder.path
        return trainer
    }
}

/// trainer.json: the training config and the loop state.
struct TrainingCheckpoint: Codable {
    let config: TrainingConfig
    let state: TrainingState
}
