// Chapter 06's first pieces: a LoRA weight that starts as the identity update, trains only A and B, passes
// a gradient check, and merges into W and back.

import Foundation
import Testing
@testable import LLMCore

@Suite("LoRA", .serialized)
struct LoRATests {
    func model() throws -> GPT {
        try GPT(.llamaStyle(vocabularySize: 50, contextLength: 16, layers: 2, heads: 2, kvHeads: 1, embeddingSize: 16),
                seed: 3)
    }

    @Test("a fresh adapter changes nothing; targets pick layers by name; only A and B are trainable")
    func freshAndTargets() throws {
        let m = try model()
        let ids = [[1, 2, 3, 4, 5, 6]]
        let before = m(ids, .inference).value.scalars
        let config = LoRAConfig(rank: 4, alpha: 8, targets: ["attn.qkv", "mlp.down"])
        let adapter = try LoRAAdapter.apply(to: m, config: config, seed: 1)
        #expect(adapter.layers.map(\.0) == ["blocks.0.attn.qkv", "blocks.0.mlp.down", "blocks.1.attn.qkv",
                                             "blocks.1.mlp.down"])
        #expect(m(ids, .inference).value.scalars == before, "B = 0: the same function, bit for bit")
        #expect(m.trainableParameters.count == 8 && m.trainableParameters.allSatisfy { $0.name.contains("lora_") })
        #expect(adapter.layers[0].1.a.name == "blocks.0.attn.qkv.lora_A.weight")
        #expect(LoRAConfig(rank: 4, alpha: 8).scale == 2, "α/r, not α")
        #expect(throws: CourseError.self) {
            try LoRAAdapter.apply(to: try model(), config: LoRAConfig(rank: 2, alpha: 2, targets: ["nope"]), seed: 1)
        }
        #expect(throws: CourseError.self) {
            try LoRAAdapter.apply(to: try model(), config: LoRAConfig(rank: 0, alpha: 2), seed: 1)
        }
    }

    @Test("the adapter's gradients pass a finite-difference check (A and B, with B non-zero)")
    func gradientCheck() throws {
        var g = SeededGenerator(seed: 4)
        let dense = DenseWeight(.parameter(.randomNormal([5, 6], using: &g), name: "w.weight"))
        let lora = LoRAWeight(wrapping: dense, layer: "w", config: LoRAConfig(rank: 3, alpha: 2.1), generator: &g)
        #expect(lora.a.name == "w.lora_A.weight" && lora.rank == 3 && abs(lora.scale - 0.7) < 1e-6)
        lora.b.value = .randomNormal([5, 3], using: &g)
        let x = Variable.parameter(.randomNormal([2, 4, 6], using: &g), name: "x")
        let report = GradientCheck.run([x, lora.a, lora.b]) { tape, v in lora.product(v[0], bias: nil, tape) }
        #expect(report.passed, "\(report)")
        #expect(lora.base?.grad == nil, "the frozen W gets no gradient")
    }

    @Test("addLowRank equals add(y, matmul(scale(matmul(x, A)), B)) and passes a finite-difference check")
    func fusedUpdate() throws {
        var g = SeededGenerator(seed: 8)
        let y = Variable.parameter(.randomNormal([2, 3, 5], using: &g), name: "y")
        let x = Variable.parameter(.randomNormal([2, 3, 4], using: &g), name: "x")
        let a = Variable.parameter(.randomNormal([2, 4], using: &g), name: "a")
        let b = Variable.parameter(.randomNormal([5, 2], using: &g), name: "b")
        let tape = Tape.inference
        let fused = tape.addLowRank(y, x, a: a, b: b, scale: 0.7).value.scalars
        let composed = tape.add(y, tape.matmul(tape.scale(tape.matmul(x, a, transposeB: true), by: 0.7), b,
                                               transposeB: true)).value.scalars
        #expect(zip(fused, composed).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(fused) against \(composed)")
        let report = GradientCheck.run([y, x, a, b]) { tape, v in
            let once = tape.addLowRank(v[0], v[1], a: v[2], b: v[3], scale: 0.7)
            return tape.add(once, tape.addLowRank(v[0], v[1], a: v[2], b: v[3], scale: -1.3))   // accumulate twice
        }
        #expect(report.passed, "\(report)")
        // The dense layer and its update in one op: the same function, and its gradients (x used twice: once
        // as the layer's input and once as the adapter's; and with a separate adapter input, as after dropout).
        let w = Variable.parameter(.randomNormal([5, 4], using: &g), name: "w")
        let bias = Variable.parameter(.randomNormal([5], using: &g), name: "bias")
        let xa = Variable.parameter(.randomNormal([2, 3, 4], using: &g), name: "xa")
        let layer = tape.linearLowRank(x, weight: w, bias: bias, adapterInput: xa, a: a, b: b, scale: 0.7)
        let parts = tape.addLowRank(tape.linear(x, weight: w, bias: bias), xa, a: a, b: b, scale: 0.7)
        #expect(zip(layer.value.scalars, parts.value.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
        for separate in [false, true] {
            let check = GradientCheck.run([x, w, bias, xa, a, b]) { tape, v in
                tape.linearLowRank(v[0], weight: v[1], bias: v[2], adapterInput: separate ? v[3] : v[0], a: v[4],
                                   b: v[5], scale: 0.7)
            }
            #expect(check.passed, "separate adapter input: \(separate): \(check)")
        }
    }

    @Test("training moves A and B only; merged and unmerged logits agree; unmerge restores W")
    func trainMergeUnmerge() throws {
        try Parallel.withThreads(2) {
            let (m, data, _) = try trainingFixture()
            let frozen = m.namedParameters.map { ($0.0, $0.1.value) }
            let adapter = try LoRAAdapter.apply(to: m, config: LoRAConfig(rank: 2, alpha: 4), seed: 2)
            let trainer = try Trainer(model: m, data: data, config: loopConfig(steps: 6), checkpointFolder: nil)
            #expect(trainer.trainable.count == adapter.namedParameters.count)
            #expect(trainer.optimizer.state().count == 2 * adapter.namedParameters.count, "no optimizer state for W")
            try trainer.run(quiet: true)
            for (name, value) in frozen {
                let now = try #require(m.namedParameters.first { $0.0 == name }).1.value
                #expect(now == value, "\(name) moved")
            }
            #expect(adapter.layers.contains { $0.1.b.value.scalars.contains { $0 != 0 } }, "B trained")
            let ids = [[1, 2, 3, 4, 5, 6, 7]]
            let unmerged = m(ids, .inference).value.scalars
            try adapter.merge()
            let merged = m(ids, .inference).value.scalars
            let scale = unmerged.map(abs).max() ?? 1
            let worst = zip(merged, unmerged).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "merged vs unmerged: max |Δ| \(worst) of \(scale)")
            try adapter.unmerge()
            for (name, value) in frozen where name.hasSuffix(".weight") {
                let now = try #require(m.namedParameters.first { $0.0 == name }).1.value.scalars
                let worstW = zip(now, value.scalars).map { abs($0 - $1) }.max() ?? 0
                #expect(worstW <= 1e-6, "\(name) after unmerge: \(worstW)")
            }
            let again = m(ids, .inference).value.scalars
            #expect(zip(again, unmerged).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, "unmerged again")
        }
    }
}

@Suite("LoRA files")
struct LoRAFileTests {
    @Test("save → load onto the same base gives the same logits; another base is a clear error")
    func roundTrip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = GPTConfig.llamaStyle(vocabularySize: 50, contextLength: 16, layers: 2, heads: 2, kvHeads: 1,
                                          embeddingSize: 16)
        let trained = try GPT(config, seed: 3)
        let adapter = try LoRAAdapter.apply(to: trained, config: LoRAConfig(rank: 2, alpha: 4), seed: 5)
        var g = SeededGenerator(seed: 6)
        for (_, b) in adapter.layers { b.b.value = .randomNormal(b.b.shape, using: &g) }
        try adapter.save(to: folder, baseModel: "runs/course/sft/checkpoint")
        let ids = [[3, 1, 4, 1, 5, 9]]
        let loaded = try LoRAAdapter.load(from: folder, onto: try GPT(config, seed: 3))
        var expected = adapter.config
        expected.baseModel = "runs/course/sft/checkpoint"
        #expect(loaded.config == expected && loaded.parameterCount == adapter.parameterCount)
        let fresh = try GPT(config, seed: 3)
        _ = try LoRAAdapter.load(from: folder, onto: fresh)
        #expect(fresh(ids, .inference).value.scalars == trained(ids, .inference).value.scalars)
        let configURL = folder.appendingPathComponent("adapter_config.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL))
        let keys = Set((json as? [String: Any])?.keys.map { $0 } ?? [])
        #expect(keys.isSuperset(of: ["r", "lora_alpha", "target_modules", "lora_dropout", "fan_in_fan_out",
                                     "base_model_name_or_path", "peft_type"]))
        // Python's safetensors reads the adapter: PEFT's names, our shapes (skips without the package).
        if let data = try runPythonFixture("safetensors_check.py",
                                           [folder.appendingPathComponent("adapter_model.safetensors").path],
                                           needs: "safetensors"),
           let tensors = try JSONSerialization.jsonObject(with: data) as? [String: [Any]] {
            #expect(Set(tensors.keys) == Set(adapter.namedParameters.map { LoRAAdapter.peftName($0.0) }))
            for (name, parameter) in adapter.namedParameters {
                #expect((tensors[LoRAAdapter.peftName(name)]?.first as? [Int]) == parameter.shape, "\(name)")
            }
        }
        let wider = GPTConfig.llamaStyle(vocabularySize: 50, contextLength: 16, layers: 2, heads: 2, kvHeads: 1,
                                         embeddingSize: 32)
        #expect {
            try LoRAAdapter.load(from: folder, onto: try GPT(wider, seed: 3))
        } throws: { error in
            (error as? CheckpointError)?.tensor == "base_model.model.blocks.0.attn.qkv.lora_A.weight"
                && "\(error)".contains("[2, 16]") && "\(error)".contains("[2, 32]")
        }
    }
}

@Suite("LoRA adapters in use", .serialized)
struct LoRAUseTests {
    func config() -> GPTConfig {
        .llamaStyle(vocabularySize: 50, contextLength: 16, layers: 2, heads: 2, kvHeads: 1, embeddingSize: 16)
    }

    /// An adapter with random (non-zero) B saved in a new folder, and the logits the adapted model gives.
    func savedAdapter(_ name: String, seed: UInt64, targets: [String] = LoRAConfig.allLinear) throws
        -> (URL, [Float]) {
        let folder = temporaryFolder("lora-\(name)").appendingPathComponent(name)
        let model = try GPT(config(), seed: 3)
        let adapter = try LoRAAdapter.apply(to: model, config: LoRAConfig(rank: 2, alpha: 4, targets: targets),
                                            seed: seed)
        var g = SeededGenerator(seed: seed)
        for (_, w) in adapter.layers { w.b.value = .randomNormal(w.b.shape, using: &g) }
        try adapter.save(to: folder, baseModel: "test")
        return (folder, model([[3, 1, 4, 1, 5]], .inference).value.scalars)
    }

    @Test("several adapters on one base: switching gives each adapter's logits and the base's, W untouched")
    func library() throws {
        let (english, englishLogits) = try savedAdapter("english", seed: 11)
        let (poems, poemLogits) = try savedAdapter("poems", seed: 12, targets: ["mlp.down"])
        let model = try GPT(config(), seed: 3)
        let ids = [[3, 1, 4, 1, 5]]
        let baseLogits = model(ids, .inference).value.scalars
        let weights = model.namedParameters.map(\.1.value)
        let library = AdapterLibrary(model: model)
        try library.load(english)
        try library.load(poems)
        #expect(library.names == ["english", "poems"] && library.active == nil)
        #expect(model(ids, .inference).value.scalars == baseLogits, "loading attaches nothing")
        for _ in 0..<2 {
            try library.use("english")
            #expect(model(ids, .inference).value.scalars == englishLogits)
            try library.use("poems")
            #expect(model(ids, .inference).value.scalars == poemLogits)
            try library.use(nil)
            #expect(model(ids, .inference).value.scalars == baseLogits)
        }
        #expect(model.namedParameters.map(\.1.value) == weights, "the base weights are never changed")
        #expect(throws: CourseError.self) { try library.use("chinese") }
        #expect(throws: CourseError.self) { try library.load(english) }              // the name is taken
        // A merged adapter is unmerged when switched away from.
        try library.use("english")
        try library.adapter("english")?.merge()
        try library.use(nil)
        #expect(model(ids, .inference).value.scalars.elementsEqual(baseLogits) { abs($0 - $1) < 1e-5 })
    }

    @Test("a model checkpoint leaves the adapter out (merged: W + (α/r)·B·A); a trainer checkpoint resumes LoRA")
    func checkpoints() throws {
        try Parallel.withThreads(2) {
            let (m, data, _) = try trainingFixture()
            let base = m.namedParameters.map { ($0.0, $0.1.value) }
            // With trainable rows for two tokens of the (tied) embedding: they resume and merge too.
            let config = LoRAConfig(rank: 2, alpha: 4, trainableTokens: ["tok_embeddings": [3, 1]])
            _ = try LoRAAdapter.apply(to: m, config: config, seed: 2)
            let folder = temporaryFolder("lora-run").appendingPathComponent("checkpoint")
            let trainer = try Trainer(model: m, data: data, config: loopConfig(steps: 8), checkpointFolder: folder)
            for _ in 0..<4 { try trainer.step() }
            try trainer.saveCheckpoint()
            let names = try SafetensorsFile.read(folder.appendingPathComponent("model.safetensors")).entries.map(\.name)
            #expect(Set(names) == Set(base.map(\.0)), "model.safetensors holds the base only")
            #expect(LoRAAdapter.exists(in: folder))
            let plain = try Checkpoint.load(from: folder)
            #expect(plain.namedParameters.map(\.1.value) == base.map(\.1), "the base, unchanged")
            try trainer.run(quiet: true)
            let resumed = try Trainer.resume(from: folder, data: data, steps: 8)
            #expect(resumed.state.step == 8 && resumed.trainable.count == trainer.trainable.count)
            #expect(resumed.trainable.allSatisfy { LoRAAdapter.isAdapterTensor($0.name) })
            #expect(resumed.model.embeddingRows?.ids == [3, 1] && resumed.model.headRows == nil)
            // Stop at 4, resume, continue to 8: the same losses as straight through.
            let (m2, _, _) = try trainingFixture()
            _ = try LoRAAdapter.apply(to: m2, config: config, seed: 2)
            let folder2 = temporaryFolder("lora-run2").appendingPathComponent("checkpoint")
            let first = try Trainer(model: m2, data: data, config: loopConfig(steps: 8), checkpointFolder: folder2)
            for _ in 0..<4 { try first.step() }
            try first.saveCheckpoint()
            let again = try Trainer.resume(from: folder2, data: data)
            try again.run(quiet: true)
            #expect(again.state.trainLosses == trainer.state.trainLosses)
            // Merged, a model checkpoint is an ordinary dense one with the update folded in.
            let adapter = try #require(LoRAAdapter.attached(to: again.model))
            let ids = [[1, 2, 3, 4, 5]]
            let unmerged = again.model(ids, .inference).value.scalars
            try adapter.merge()
            let mergedFolder = temporaryFolder("lora-merged")
            try Checkpoint.save(again.model, to: mergedFolder)
            let dense = try Checkpoint.load(from: mergedFolder)
            #expect(dense.linearLayers.allSatisfy { $0.weight is DenseWeight } && dense.embeddingRows == nil)
            #expect(dense.tokenEmbedding.value != base[0].1, "the trained rows are inside the merged embedding")
            let out = dense(ids, .inference).value.scalars
            let scale = unmerged.map(abs).max() ?? 1
            #expect(zip(out, unmerged).allSatisfy { abs($0 - $1) <= 1e-4 * scale })
        }
    }

    @Test("dropout drops adapter inputs while training only; bad configs are named")
    func dropoutAndConfigErrors() throws {
        var g = SeededGenerator(seed: 8)
        let dense = DenseWeight(.parameter(.randomNormal([4, 6], using: &g), name: "w.weight"))
        let lora = LoRAWeight(wrapping: dense, layer: "w", config: LoRAConfig(rank: 2, alpha: 2, dropout: 0.5),
                              generator: &g)
        lora.b.value = .randomNormal([4, 2], using: &g)
        let x = Variable(.randomNormal([3, 6], using: &g))
        let plain = Tape.inference
        let reference = plain.add(dense.product(x, bias: nil, plain),
                                  plain.matmul(plain.matmul(x, lora.a, transposeB: true), lora.b, transposeB: true))
        #expect(lora.product(x, bias: nil, .inference).value == reference.value, "no dropout at inference")
        let training = lora.product(x, bias: nil, Tape()).value
        #expect(training != reference.value, "dropout changes the adapter's input while training")
        #expect(LoRAConfig(rank: 2, alpha: 2, dropout: 1).problems.count == 1)
        #expect(LoRAConfig(rank: 2, alpha: 0).problems.count == 1)
        let folder = temporaryFolder("lora-bad")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (json, words) in [("{\"r\": 4}", "lora_alpha"), ("[1]", "JSON object"),
                              ("{\"r\": 4.5, \"lora_alpha\": 8, \"target_modules\": [\"attn.qkv\"]}",
                               "whole number r"),
                              ("{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"attn.qkv\"], " +
                               "\"fan_in_fan_out\": true}",
                               "fan_in_fan_out"),
                              ("{\"r\": 0, \"lora_alpha\": 8, \"target_modules\": [\"attn.qkv\"]}", "rank 0")] {
            try Data(json.utf8).write(to: folder.appendingPathComponent("adapter_config.json"))
            #expect { try LoRAAdapter.readConfig(in: folder) } throws: { "\($0)".contains(words) }
        }
        #expect { try LoRAAdapter.readConfig(in: temporaryFolder("lora-none")) } throws: {
            "\($0)".contains("does not exist")
        }
    }
}

@Suite("Singular values")
struct SingularValueTests {
    /// An n × n orthogonal matrix: a product of two Householder reflections I − 2vvᵀ/‖v‖².
    func orthogonal(_ n: Int, _ g: inout SeededGenerator) -> [[Double]] {
        var q = (0..<n).map { i in (0..<n).map { j in i == j ? 1.0 : 0.0 } }
        for _ in 0..<2 {
            let v = (0..<n).map { _ in Double(g.uniform()) - 0.5 }
            let norm = v.reduce(0) { $0 + $1 * $1 }
            q = q.map { row in
                let dot = zip(row, v).reduce(0) { $0 + $1.0 * $1.1 }
                return zip(row, v).map { $0 - 2 * dot / norm * $1 }
            }
        }
        return q
    }

    @Test("U·diag(σ)·Vᵀ gives back σ (tall and wide); rank(holding:) counts directions of ‖·‖²")
    func knownSpectrum() throws {
        var g = SeededGenerator(seed: 21)
        let (m, n) = (7, 4)
        let sigma: [Double] = [5, 2, 0.5, 0]
        let u = orthogonal(m, &g), v = orthogonal(n, &g)
        var a = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n { a[i * n + j] = Float((0..<n).reduce(0.0) { $0 + u[i][$1] * sigma[$1] * v[j][$1] }) }
        }
        for matrix in [Tensor(shape: [m, n], values: a),
                       Tensor(shape: [n, m], values: (0..<(n * m)).map { a[($0 % m) * n + $0 / m] })] {
            let found = SingularValues.of(matrix)
            #expect(found.count == n)
            for (x, y) in zip(found, sigma) { #expect(abs(Double(x) - y) < 1e-5, "\(found) against \(sigma)") }
        }
        #expect(SingularValues.rank(holding: 0.5, of: [5, 2, 0.5, 0]) == 1)     // 25 of 29.25
        #expect(SingularValues.rank(holding: 0.9, of: [5, 2, 0.5, 0]) == 2)     // 29 of 29.25
        #expect(SingularValues.rank(holding: 0.9, of: [0, 0]) == 0)
        // numpy's SVD agrees on a random matrix (skips without numpy).
        let random = Tensor.randomNormal([6, 5], using: &g)
        let listed = random.scalars.map { "\($0)" }.joined(separator: ",")
        if let data = try runPythonFixture("numpy_svd.py", [listed, "6", "5"], needs: "numpy"),
           let reference = try JSONSerialization.jsonObject(with: data) as? [Double] {
            for (x, y) in zip(SingularValues.of(random), reference) { #expect(abs(Double(x) - y) < 1e-4 * max(1, y)) }
        }
    }
}
