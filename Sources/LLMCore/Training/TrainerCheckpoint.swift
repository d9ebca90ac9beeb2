// Introduced in Chapter 04. A trainer's checkpoint: a folder holding the model (`model.safetensors`,
// `config.json`; for a LoRA run the frozen base, with the adapter beside it in PEFT's files), the extras
// (`extras.safetensors`, when there are any), the optimizer's buffers (`optimizer.safetensors`) and the
// loop state with the config and the trained parameters' names (`trainer.json`). It is written as
// `<folder>.partial` and swapped in with two renames, so an interrupted save keeps the last good
// checkpoint (in `<folder>` or, between the renames, `<folder>.previous`, which resuming falls back to).
// Resuming a LoRA run with dropout continues with fresh dropout masks (their generator is not saved).

import Foundation

extension Trainer {
    static var optimizerFileName: String { "optimizer.safetensors" }
    static var stateFileName: String { "trainer.json" }
    static var extrasFileName: String { "extras.safetensors" }

    /// Writes model, extras, optimizer and loop state into `checkpointFolder`, replacing the previous
    /// checkpoint only once the new one is complete.
    public func saveCheckpoint() throws {
        guard let folder = checkpointFolder else { return }
        let partial = folder.appendingPathExtension("partial"), previous = folder.appendingPathExtension("previous")
        let manager = FileManager.default
        try? manager.removeItem(at: partial)
        try Checkpoint.save(model, to: partial)
        if let adapter = LoRAAdapter.attached(to: model) { try adapter.save(to: partial) }    // a LoRA run
        if !extras.isEmpty {
            try SafetensorsFile.write(extras.map { ($0.0, $0.1.value) },
                                      to: partial.appendingPathComponent(Self.extrasFileName))
        }
        try SafetensorsFile.write(optimizer.state(), metadata: ["step": "\(optimizer.step)"],
                                  to: partial.appendingPathComponent(Self.optimizerFileName))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let names = (model.namedParameters + extras).filter { named in trainable.contains { $0 === named.1 } }.map(\.0)
        let trainingFile = TrainingCheckpoint(config: config, state: state, trainable: names)
        try AtomicFile.write(try encoder.encode(trainingFile), to: partial.appendingPathComponent(Self.stateFileName))
        try? manager.removeItem(at: previous)
        if manager.fileExists(atPath: folder.path) { try manager.moveItem(at: folder, to: previous) }
        try manager.moveItem(at: partial, to: folder)
        try? manager.removeItem(at: previous)
        lastCheckpoint = folder.path
    }

    /// A trainer continuing from the checkpoint in `folder` (falls back to `folder.previous` when a save
    /// was interrupted between its two renames): the same weights, frozen parameters, extras, optimizer
    /// buffers, batch generator and history. `makeSource` builds the batch source for the loaded model
    /// and the saved config; `extras` are the (freshly made) parameters outside the model, filled from
    /// the checkpoint. `steps` changes the run's total (to train further than first planned); the
    /// schedule follows it.
    public static func resume(from folder: URL, loss: @escaping Loss, extras: [(String, Variable)] = [],
                              steps: Int? = nil,
                              makeSource: (GPT, TrainingConfig) throws -> Source) throws -> Trainer {
        let manager = FileManager.default
        var source = folder
        if !manager.fileExists(atPath: folder.path),
            manager.fileExists(atPath: folder.appendingPathExtension("previous").path) {
            source = folder.appendingPathExtension("previous")
        }
        let model = try Checkpoint.load(from: source)
        if LoRAAdapter.exists(in: source) { _ = try LoRAAdapter.load(from: source, onto: model) }
        let stateURL = source.appendingPathComponent(stateFileName)
        guard let stateData = manager.contents(atPath: stateURL.path),
              let saved = try? JSONDecoder().decode(TrainingCheckpoint.self, from: stateData) else {
            throw CheckpointError(path: stateURL.path, reason: "missing or not a training state; it cannot be resumed")
        }
        if !extras.isEmpty {
            let file = try SafetensorsFile.read(source.appendingPathComponent(extrasFileName))
            for (name, parameter) in extras {
                let tensor = try file.tensor(name)
                guard tensor.shape == parameter.shape else {
                    throw CheckpointError(path: file.path, tensor: name,
                                          reason: "has shape \(tensor.shape) but the run needs \(parameter.shape)")
                }
                parameter.value = tensor
            }
        }
        if let names = saved.trainable.map(Set.init) {
            for (name, parameter) in model.namedParameters + extras where !names.contains(name) { parameter.freeze() }
        }
        var config = saved.config
        if let steps { config.steps = steps }
        let trainer = try Trainer(model: model, source: try makeSource(model, config), loss: loss, extras: extras,
                                  config: config, checkpointFolder: folder)
        let optimizerFile = try SafetensorsFile.read(source.appendingPathComponent(optimizerFileName))
        var buffers: [String: Tensor] = [:]
        for entry in optimizerFile.entries { buffers[entry.name] = try optimizerFile.tensor(entry.name) }
        try trainer.optimizer.restore(buffers, step: saved.state.step)
        trainer.state = saved.state
        trainer.lastCheckpoint = folder.path
        return trainer
    }
}

extension Trainer where Source == TokenWindows {
    /// Pretraining: random windows of the model's context from `data`, next-token loss, every parameter.
    public convenience init(model: GPT, data: TokenDataset, config: TrainingConfig, checkpointFolder: URL?) throws {
        try self.init(model: model,
                      source: TokenWindows(data, batchSize: config.batchSize, length: model.config.contextLength),
                      loss: Losses.nextToken, config: config, checkpointFolder: checkpointFolder)
    }

    /// Resumes a pretraining run (see `resume(from:loss:extras:steps:makeSource:)`).
    public static func resume(from folder: URL, data: TokenDataset, steps: Int? = nil) throws -> Trainer {
        try resume(from: folder, loss: Losses.nextToken, steps: steps) { model, config in
            TokenWindows(data, batchSize: config.batchSize, length: model.config.contextLength)
        }
    }
}
