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
        let lora = LoRAWeight(wrapping: dense, rank: 3, scale: 0.7, generator: &g)
        lora.b.value = .randomNormal([5, 3], using: &g)
        let x = Variable.parameter(.randomNormal([2, 4, 6], using: &g), name: "x")
        let report = GradientCheck.run([x, lora.a, lora.b]) { tape, v in lora.product(v[0], bias: nil, tape) }
        #expect(report.passed, "\(report)")
        #expect(lora.base.grad == nil, "the frozen W gets no gradient")
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
            adapter.merge()
            let merged = m(ids, .inference).value.scalars
            let scale = unmerged.map(abs).max() ?? 1
            let worst = zip(merged, unmerged).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "merged vs unmerged: max |Δ| \(worst) of \(scale)")
            adapter.unmerge()
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
        #expect(loaded.config == adapter.config && loaded.parameterCount == adapter.parameterCount)
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
