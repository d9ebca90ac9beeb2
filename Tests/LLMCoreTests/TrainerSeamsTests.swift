// The seams the second half of the course stands on: frozen parameters, the Linear weight extension
// point, the batch sources (masked, labelled, preference pairs), their losses, and the one trainer
// running each of them with exact resume.

import Foundation
import Testing
@testable import LLMCore

/// A second kind of Linear weight for the tests: W + ΔW with W frozen and ΔW trainable — LoRA without
/// the low rank. It proves a layer can change kind without any layer code changing.
final class DeltaWeight: LinearWeight {
    let base: Variable, delta: Variable
    init(wrapping dense: DenseWeight) {
        base = dense.matrix
        base.freeze()
        delta = .parameter(Tensor(zeros: dense.matrix.shape), name: dense.matrix.name + ".delta")
    }
    var outputs: Int { base.shape[0] }
    var inputs: Int { base.shape[1] }
    func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable {
        let y = tape.linear(x, weight: base, bias: bias)
        return tape.add(y, tape.matmul(x, delta, transposeB: true))
    }
    var namedParameters: [(String, Variable)] { [(base.name, base), (delta.name, delta)] }
}

@Suite("Trainer seams", .serialized)
struct TrainerSeamsTests {
    @Test("a frozen parameter gets no gradient, no optimizer state, and does not move")
    func frozenParameters() throws {
        try Parallel.withThreads(2) {
            let (model, data, _) = try trainingFixture()
            model.freeze()
            let head = model.blocks[1].mlp.last
            head.unfreeze()
            let before = model.tokenEmbedding.value.scalars, qkv = model.blocks[0].attention.qkv.denseMatrix!.value.scalars
            let trainer = try Trainer(model: model, data: data, config: loopConfig(steps: 3), checkpointFolder: nil)
            #expect(trainer.trainable.count == head.parameters.count)
            #expect(trainer.optimizer.state().count == 2 * head.parameters.count, "AdamW keeps m and v for trainable ones only")
            let moved = head.denseMatrix!.value.scalars
            try trainer.step()
            #expect(model.tokenEmbedding.grad == nil && model.blocks[0].attention.qkv.denseMatrix!.grad == nil)
            #expect(model.tokenEmbedding.value.scalars == before && model.blocks[0].attention.qkv.denseMatrix!.value.scalars == qkv)
            #expect(head.denseMatrix!.grad != nil && head.denseMatrix!.value.scalars != moved)
            // Freezing everything leaves nothing to train: a clear error, not a silent no-op.
            head.freeze()
            #expect(throws: CourseError.self) { try Trainer(model: model, data: data, config: loopConfig(steps: 3), checkpointFolder: nil) }
        }
    }

    @Test("Linear's weight kind can be swapped: W + ΔW trains ΔW only and changes no layer code")
    func linearWeightExtensionPoint() throws {
        let (model, data, _) = try trainingFixture()
        let ids = [[1, 2, 3, 4, 5]]
        let reference = model(ids, .inference).value.scalars
        model.freeze()
        var deltas: [Variable] = []
        for layer in model.linearLayers {
            let delta = DeltaWeight(wrapping: layer.weight as! DenseWeight)
            layer.weight = delta
            deltas.append(delta.delta)
        }
        #expect(model(ids, .inference).value.scalars == reference, "ΔW = 0: the same function")
        #expect(model.namedParameters.count == model.linearLayers.count + Set(model.namedParameters.map(\.0)).count - model.linearLayers.count)
        let trainer = try Trainer(model: model, data: data, config: loopConfig(steps: 4), checkpointFolder: nil)
        #expect(trainer.trainable.count == deltas.count && zip(trainer.trainable, deltas).allSatisfy { $0 === $1 })
        try trainer.run(quiet: true)
        #expect(deltas.allSatisfy { $0.value.scalars.contains { $0 != 0 } }, "every ΔW trained")
        #expect(model.linearLayers.allSatisfy { ($0.weight as! DeltaWeight).base.grad == nil })
        // The cached and uncached paths both go through the new kind (one forward pass).
        let cache = KVCache(for: model.config)
        let full = model(ids, .inference).value.scalars
        #expect(full != reference)
        expectClose(model.forward(ids[0], cache: cache, allPositions: true).scalars, full, 1e-5, "cache with ΔW")
    }

    @Test("masked examples: only response tokens are targets, padding is ignored (the doc's example)")
    func maskedExamples() throws {
        let example = MaskedExample(prompt: [5, 6], response: [7, 8])
        let short = MaskedExample(prompt: [9], response: [3])
        let source = try MaskedExamples(train: [example], validation: [short], batchSize: 2, length: 4, padding: 0)
        let batch = source.batch([example, short])
        #expect(batch.inputs == [[5, 6, 7], [9, 0, 0]])
        #expect(batch.targets == [-100, 7, 8, 3, -100, -100])
        #expect(source.batch([example]).inputs == [[5, 6, 7]], "padded to the longest, not to the context")
        // A response that starts past the context has nothing to learn from: refused with its index.
        let late = MaskedExample(prompt: [1, 2, 3, 4, 5, 6], response: [7])
        #expect(throws: CourseError.self) { try MaskedExamples(train: [late], validation: [short], batchSize: 1, length: 4, padding: 0) }
        #expect(throws: CourseError.self) { try MaskedExamples(train: [], validation: [short], batchSize: 1, length: 4, padding: 0) }
    }

    @Test("SFT through the one trainer: masked loss falls, resume is exact, frozen embeddings stay frozen")
    func maskedTrainingAndResume() throws {
        try Parallel.withThreads(2) {
            let (_, data, _) = try trainingFixture()
            // Task: after the prompt [a, b] answer [b, a]. Learnable, and only the answer is scored.
            var g = SeededGenerator(seed: 4)
            let examples = (0..<64).map { _ -> MaskedExample in
                let a = 10 + g.integer(below: 20), b = 10 + g.integer(below: 20)
                return MaskedExample(prompt: [1, a, b, 2], response: [b, a, 3])
            }
            let source = try MaskedExamples(train: Array(examples[8...]), validation: Array(examples[..<8]),
                                            batchSize: 8, length: 15, padding: 0)
            var config = loopConfig(steps: 8)
            config.checkpointEvery = 4
            func makeModel() throws -> GPT {
                let (model, _, _) = try trainingFixture()
                model.tokenEmbedding.freeze()
                return model
            }
            let folderA = FileManager.default.temporaryDirectory.appendingPathComponent("sft-\(UUID().uuidString)")
            let folderB = folderA.appendingPathExtension("b")
            defer { [folderA, folderB].forEach { try? FileManager.default.removeItem(at: $0) } }
            let full = try Trainer(model: try makeModel(), source: source, loss: Losses.nextToken, config: config, checkpointFolder: folderA)
            let before = full.validationLoss()
            try full.run(quiet: true)
            #expect(full.validationLoss() < before)
            let first = try Trainer(model: try makeModel(), source: source, loss: Losses.nextToken, config: config, checkpointFolder: folderB)
            for _ in 0..<5 { try first.step() }
            try first.saveCheckpoint()
            let resumed = try Trainer.resume(from: folderB, loss: Losses.nextToken) { _, _ in source }
            #expect(!resumed.model.tokenEmbedding.requiresGrad, "frozen in the checkpoint, frozen after resume")
            #expect(resumed.trainable.count == full.trainable.count)
            try resumed.run(quiet: true)
            #expect(resumed.state.trainLosses == full.state.trainLosses, "bit for bit")
        }
    }

    @Test("classification: a head on the last real token's hidden state learns a label; the head is checkpointed")
    func classification() throws {
        try Parallel.withThreads(2) {
            let (model, _, _) = try trainingFixture()
            // Label: does the sequence contain token 7? Sequences of different lengths, right-padded.
            var g = SeededGenerator(seed: 8)
            let examples = (0..<160).map { _ -> (tokens: [Int], label: Int) in
                let tokens = (0..<(3 + g.integer(below: 8))).map { _ in 8 + g.integer(below: 10) }
                let label = g.integer(below: 2)
                var row = tokens
                if label == 1 { row[g.integer(below: row.count)] = 7 }
                return (row, label)
            }
            let source = try LabelledExamples(train: Array(examples[32...]), validation: Array(examples[..<32]),
                                              batchSize: 16, length: 16, padding: 0)
            let batch = source.batch([examples[0], examples[1]])
            #expect(batch.lastPositions == [examples[0].tokens.count - 1, examples[1].tokens.count - 1])
            var generator = SeededGenerator(seed: 1)
            let head = Linear("classifier", inputs: model.config.embeddingSize, outputs: 2, bias: true,
                              standardDeviation: 0.02, generator: &generator)
            var config = loopConfig(steps: 120)
            (config.accumulation, config.learningRate, config.minimumLearningRate) = (1, 1e-2, 1e-3)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cls-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let trainer = try Trainer(model: model, source: source, loss: Losses.classification(head: head),
                                      extras: head.namedParameters, config: config, checkpointFolder: folder)
            let before = trainer.validationLoss()
            try trainer.run(quiet: true)
            let scores = source.validationBatches(maxBatches: 10).flatMap { batch -> [Bool] in
                let s = Losses.classScores(model, head: head, batch)
                return batch.labels.indices.map { (s[$0, 1] > s[$0, 0] ? 1 : 0) == batch.labels[$0] }
            }
            let accuracy = Double(scores.filter { $0 }.count) / Double(scores.count)
            #expect(trainer.validationLoss() < before * 0.7, "loss \(before) → \(trainer.validationLoss())")
            #expect(accuracy >= 0.8, "held-out accuracy \(accuracy) on 32 items (majority class ≈ 0.5)")
            let file = try SafetensorsFile.read(folder.appendingPathComponent("extras.safetensors"))
            #expect(try file.tensor("classifier.weight") == head.denseMatrix!.value)
        }
    }

    @Test("preference pairs and DPO: the loss starts at ln 2 (policy = reference) and falls")
    func preferencePairs() throws {
        try Parallel.withThreads(2) {
            let (policy, _, _) = try trainingFixture()
            let (reference, _, _) = try trainingFixture()
            reference.freeze()
            var g = SeededGenerator(seed: 5)
            let pairs = (0..<40).map { _ -> PreferencePairs.Pair in
                let a = 10 + g.integer(below: 20)
                return PreferencePairs.Pair(prompt: [1, a], chosen: [a, a, 3], rejected: [a + 1, 9, 3])
            }
            let source = try PreferencePairs(train: Array(pairs[8...]), validation: Array(pairs[..<8]), batchSize: 8, length: 15, padding: 0)
            let batch = source.batch([pairs[0]])
            #expect(batch.chosen.inputs == [[1, pairs[0].prompt[1], pairs[0].chosen[0], pairs[0].chosen[1]]])
            #expect(batch.rejected.targets == [-100, pairs[0].rejected[0], 9, 3])
            var config = loopConfig(steps: 20)
            (config.accumulation, config.learningRate, config.minimumLearningRate) = (1, 3e-3, 3e-4)
            let trainer = try Trainer(model: policy, source: source, loss: Losses.dpo(reference: reference, beta: 0.5),
                                      config: config, checkpointFolder: nil)
            let start = trainer.validationLoss()
            #expect(abs(start - log(2)) < 1e-5, "identical policy and reference: every margin 0, −log σ(0) = ln 2")
            try trainer.run(quiet: true)
            #expect(trainer.validationLoss() < start * 0.8)
            #expect(reference.parameters.allSatisfy { $0.grad == nil })
        }
    }

    @Test("gradient checks: gatherPositions, sequenceLogProbabilities, dpoLoss")
    func sequenceOpsGradients() {
        var g = SeededGenerator(seed: 3)
        let x = Variable.parameter(.randomNormal([3, 4, 5], standardDeviation: 1, using: &g), name: "x")
        let report1 = GradientCheck.run([x]) { tape, v in tape.gatherPositions(v[0], [3, 0, 3]) }
        #expect(report1.passed, "\(report1)")
        let targets = [2, -100, 4, 0, -100, -100, 1, 3, 3, 2, 0, -100]
        let report2 = GradientCheck.run([x]) { tape, v in tape.sequenceLogProbabilities(v[0], targets: targets) }
        #expect(report2.passed, "\(report2)")
        // Forward by hand: row 0 of sequence 0 scores target 2 → log softmax(x[0, 0])[2].
        let row = (0..<5).map { x.value[0, 0, $0] }
        let logSum = log(row.map { exp($0) }.reduce(0, +))
        let sums = Tape.inference.sequenceLogProbabilities(Variable(x.value), targets: [2, -100, -100, -100] + [Int](repeating: -100, count: 8))
        #expect(abs(sums.value.base[0] - (row[2] - logSum)) < 1e-5 && sums.value.base[1] == 0)
        let chosen = Variable.parameter(.randomNormal([4], standardDeviation: 1, using: &g), name: "chosen")
        let rejected = Variable.parameter(.randomNormal([4], standardDeviation: 1, using: &g), name: "rejected")
        let report3 = GradientCheck.run([chosen, rejected]) { tape, v in
            tape.dpoLoss(chosen: v[0], rejected: v[1], referenceMargins: [0.5, -1, 0, 2], beta: 0.7)
        }
        #expect(report3.passed, "\(report3)")
    }
}

@Suite("MFU")
struct MFUTests {
    @Test("a deliberately low peak is re-measured, and the label says so; MFU never reads above 100 %")
    func lowPeak() {
        var measured = 0
        var meter = MFUMeter(peakGFLOPs: 1) { measured += 1; return 200 }     // first timing 1 GFLOP/s: far too low
        #expect(meter.label(flopsPerSecond: 50e9) == "25% (peak re-measured)")
        #expect(measured == 1 && meter.peakGFLOPs == 200)
        #expect(meter.label(flopsPerSecond: 100e9) == "50% (peak re-measured)", "no second re-measurement needed")
        #expect(measured == 1)
        // A rate above every peak measured: flagged, no number.
        var stuck = MFUMeter(peakGFLOPs: 1, maximumRemeasurements: 2) { 2 }
        #expect(stuck.label(flopsPerSecond: 50e9).hasPrefix("n/a"))
        #expect(stuck.remeasurements == 2)
        var honest = MFUMeter(peakGFLOPs: 100) { Issue.record("no re-measurement below 100 %"); return 0 }
        #expect(honest.label(flopsPerSecond: 40e9) == "40%")
        #expect(mfuText(flopsPerSecond: 300e9, peakGFLOPs: 200).contains("n/a"))
        #expect(mfuText(flopsPerSecond: 100e9, peakGFLOPs: 200) == "MFU 50.0%")
        for rate in stride(from: 1e9, through: 1e12, by: 7e10) {                // property: never above 100 %
            var m = MFUMeter(peakGFLOPs: 50) { 60 }
            let text = m.label(flopsPerSecond: rate)
            if let percent = Int(text.prefix { $0.isNumber }) { #expect(percent <= 100, "\(text)") }
        }
    }
}

@Suite("Run artifacts")
struct RunArtifactsTests {
    @Test("every artifact has one path under the run folder; a missing one names the command that makes it")
    func map() throws {
        let root = temporaryFolder()
        let artifacts = RunArtifacts(runDirectory: root.path)
        #expect(artifacts.url(.baseModel).path == root.appendingPathComponent("pretrain/checkpoint").path)
        #expect(artifacts.url(.tokenizer).path == root.appendingPathComponent("tokenizer").path)
        #expect(Set(Artifact.allCases.map(\.relativePath)).count == Artifact.allCases.count, "two artifacts share a path")
        #expect(!artifacts.exists(.baseModel))
        #expect(throws: CourseError.self) { try artifacts.require(.baseModel) }
        let message = artifacts.missing(.chatModel, flag: "--checkpoint DIR").description
        #expect(message.contains("swift run -c release ch05") && message.contains("--checkpoint DIR")
                && message.contains(artifacts.url(.chatModel).path), "\(message)")
        try Checkpoint.save(try GPT(microConfigs()[0], seed: 1), to: artifacts.url(.baseModel))
        #expect(try artifacts.require(.baseModel) == artifacts.url(.baseModel))
    }
}
