// Introduced in Chapter 04; every later chapter that trains uses it. The training loop: batches → loss
// → backward → clip → update, with evaluation, samples, checkpoints, exact resume, and a guard against
// divergence — one loop for every objective:
//
//   Trainer(model:, source: some BatchSource, loss: (GPT, Batch, Tape) → loss, trainable:, config:, …)
//
// The batch source says what a batch is (token windows, masked SFT examples, labelled examples,
// preference pairs; BatchSources.swift), the loss what is minimised (Losses.swift), `trainable` which
// parameters move (default: every parameter of the model that is not frozen, plus `extras` such as a
// classifier head). Only trainable parameters get optimizer state.
//
// One step: `accumulation` micro-batches (their gradients add up, each scaled by 1/accumulation), the
// global gradient norm clipped to `clipNorm`, the learning rate from the warmup-cosine schedule, one
// optimizer update. A checkpoint holds everything the next step depends on — weights, optimizer buffers
// and step, the batch generator, the loss history — so a resumed run continues the uninterrupted one to
// the last bit (same thread count). It is written as a new folder and swapped in with renames: an
// interrupted save leaves the previous checkpoint.

import Foundation

public struct TrainingConfig: Codable, Sendable, Equatable {
    public var steps: Int
    public var batchSize: Int
    public var accumulation: Int = 1
    public var optimizer: OptimizerKind = .adamw
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

/// Which optimizer a trainer builds for its trainable parameters.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// AdamW with `weightDecay` (AdamW.swift).
    case adamw
    /// SGD with momentum 0.9 (Optimizers.swift).
    case sgd
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case diverged(step: Int, loss: Double, gradientNorm: Double, checkpoint: String?)
    case tooLarge(bytesNeeded: Int, bytesAvailable: Int)

    public var description: String {
        switch self {
        case .diverged(let step, let loss, let norm, let checkpoint):
            let kept = checkpoint.map { "the last good checkpoint is intact in \($0)" } ?? "no checkpoint had been " +
                "written yet"
            return "training diverged at step \(step) (loss \(loss), gradient norm \(String(format: "%.3g", norm))); " +
                   "\(kept). Try a lower --learning-rate, a longer warmup, or a smaller clip norm, then --resume"
        case .tooLarge(let needed, let available):
            return String(format: "this batch and context need about %.1f GB for training, more than the %.1f GB " +
                                  "available; lower --batch-size or --context, or raise --accumulation",
                                      Double(needed) / 1e9, Double(available) / 1e9)
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

public final class Trainer<Source: BatchSource> {
    /// The objective: a scalar loss for one batch, recorded on the tape.
    public typealias Loss = (GPT, Source.Batch, Tape) -> Variable

    public let model: GPT
    public let source: Source
    public let loss: Loss
    /// What the optimizer updates (nothing else gets a gradient buffer or optimizer state).
    public let trainable: [Variable]
    /// Parameters outside the model that are trained and checkpointed with it (a classifier head).
    public let extras: [(String, Variable)]
    public let optimizer: Optimizer
    public let config: TrainingConfig
    public let schedule: CosineSchedule
    public internal(set) var state: TrainingState
    /// Where checkpoints go (nil: none).
    public let checkpointFolder: URL?
    private let validationSet: [Source.Batch]
    var lastCheckpoint: String?

    /// - Parameters:
    ///   - trainable: default: the model's parameters that are not frozen, then `extras`'.
    ///   - extras: named parameters outside the model, saved in the checkpoint's `extras.safetensors`.
    public init(model: GPT, source: Source, loss: @escaping Loss, trainable: [Variable]? = nil,
                extras: [(String, Variable)] = [], config: TrainingConfig, checkpointFolder: URL?) throws {
        let needed = TrainingMemory.estimate(model.config, batchSize: config.batchSize)
        let available = Int(ProcessInfo.processInfo.physicalMemory) * 3 / 4
        if needed > available { throw TrainingError.tooLarge(bytesNeeded: needed, bytesAvailable: available) }
        self.model = model
        self.source = source
        self.loss = loss
        self.extras = extras
        self.trainable = trainable ?? (model.trainableParameters + extras.map(\.1).filter(\.requiresGrad))
        if self.trainable.isEmpty || self.trainable.contains(where: { !$0.requiresGrad }) {
            throw CourseError.invalidValue(name: "trainable parameters",
                                           value: "(\(self.trainable.count), some frozen)",
                                           expected: "at least one parameter, none of them frozen")
        }
        self.config = config
        self.checkpointFolder = checkpointFolder
        switch config.optimizer {
        case .sgd: optimizer = SGD(self.trainable, learningRate: config.learningRate, momentum: 0.9)
        case .adamw: optimizer = AdamW(self.trainable, learningRate: config.learningRate,
                                       weightDecay: config.weightDecay)
        }
        schedule = CosineSchedule(peak: config.learningRate, minimum: config.minimumLearningRate,
                                  warmup: config.warmupSteps, total: config.steps)
        state = TrainingState(sampler: BatchSampler(seed: config.seed))
        validationSet = source.validationBatches(maxBatches: config.evaluationBatches)
    }

    /// Mean loss over the fixed validation batches (each batch weighs the same).
    public func validationLoss() -> Double {
        guard !validationSet.isEmpty else { return .nan }
        var total = 0.0
        for batch in validationSet { total += Double(loss(model, batch, .inference).value.item) }
        return total / Double(validationSet.count)
    }

    /// One optimizer step; returns the (mean) training loss. Throws `TrainingError.diverged` on a
    /// non-finite loss or an exploding gradient, before the update touches the weights.
    @discardableResult
    public func step() throws -> Double {
        trainable.zeroGrad()
        var total = 0.0
        for _ in 0..<config.accumulation {
            let batch = source.trainingBatch(&state.sampler.generator)
            let tape = Tape()
            let micro = loss(model, batch, tape)
            total += Double(micro.value.item) / Double(config.accumulation)
            tape.backward(micro, seed: Tensor(scalar: 1 / Float(config.accumulation)))
            state.tokensSeen += source.tokenCount(batch)
        }
        let next = state.step + 1
        let norm = clipGradients(trainable, maxNorm: config.clipNorm)
        if !total.isFinite || !norm.isFinite || norm > config.divergenceNorm {
            throw TrainingError.diverged(step: next, loss: total, gradientNorm: norm, checkpoint: lastCheckpoint)
        }
        optimizer.learningRate = schedule.rate(at: next)
        optimizer.update()
        state.step = next
        state.trainLosses.append(total)
        return total
    }

    /// Records the validation loss now.
    @discardableResult
    public func evaluate() -> Double {
        let loss = validationLoss()
        state.validation.append(.init(step: state.step, loss: loss))
        return loss
    }

}

/// trainer.json: the training config and the loop state.
struct TrainingCheckpoint: Codable {
    let config: TrainingConfig
    let state: TrainingState
    /// Names of the trained parameters (nil in checkpoints from before freezing existed: all of them).
    var trainable: [String]?
}

/// How much memory training needs, from the model's shape alone.
public enum TrainingMemory {
    /// Bytes a training step needs, roughly: weights, gradients and two optimizer buffers, plus per
    /// token the activations the tape keeps (≈ 18·C + H·T per layer, logits, probabilities and their
    /// gradient), in Float32.
    public static func estimate(_ config: GPTConfig, batchSize: Int) -> Int {
        let parameters = ModelAccounting(config).total
        let tokens = batchSize * config.contextLength
        let perToken = config.layers * (18 * config.embeddingSize + 2 * config.mlpHiddenSize + 2 * config.heads * config.contextLength)
            + 3 * config.vocabularySize
        return 4 * (4 * parameters + tokens * perToken)
    }
}
