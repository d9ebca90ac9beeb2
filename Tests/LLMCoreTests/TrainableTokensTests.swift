// Chapter 06's trainable token rows (PEFT's trainable tokens): the overwrite op against a naive copy and a
// finite-difference check; fresh rows change nothing; training moves the rows and nothing of the tables;
// merge / unmerge; PEFT's file layout, read back by us and by Python.

import Foundation
import Testing
@testable import LLMCore

@Suite("Trainable token rows", .serialized)
struct TrainableTokensTests {
    func untied(vocabulary: Int = 50, seed: UInt64 = 3) throws -> GPT {
        try GPT(.llamaStyle(vocabularySize: vocabulary, contextLength: 16, layers: 2, heads: 2, kvHeads: 1,
                            embeddingSize: 16), seed: seed)
    }

    @Test("overwrite equals a naive copy along either axis, and passes a finite-difference check")
    func overwriteOp() throws {
        var g = SeededGenerator(seed: 11)
        let x = Variable.parameter(.randomNormal([2, 5, 3], using: &g), name: "x")
        for (axis, indices) in [(0, [1]), (1, [4, 0]), (2, [2])] {
            var yShape = x.shape
            yShape[axis] = indices.count
            let y = Variable.parameter(.randomNormal(yShape, using: &g), name: "y")
            let out = Tape.inference.overwrite(x, axis: axis, at: indices, with: y).value
            // Naive: walk every element; take y's where the axis index is replaced.
            let (xs, ys) = (x.value.scalars, y.value.scalars)
            var expected: [Float] = []
            for i in 0..<2 { for j in 0..<5 { for k in 0..<3 {
                let at = [i, j, k]
                if let slot = indices.firstIndex(of: at[axis]) {
                    var yi = at
                    yi[axis] = slot
                    expected.append(ys[(yi[0] * yShape[1] + yi[1]) * yShape[2] + yi[2]])
                } else {
                    expected.append(xs[(i * 5 + j) * 3 + k])
                }
            } } }
            #expect(out.scalars == expected, "axis \(axis)")
            let report = GradientCheck.run([x, y]) { tape, v in
                // Use the output twice so the second backward adds into existing gradients (the `fresh == false`
                // branch).
                let o = tape.overwrite(v[0], axis: axis, at: indices, with: v[1])
                return tape.add(o, tape.overwrite(v[0], axis: axis, at: indices, with: tape.scale(v[1], by: 2)))
            }
            #expect(report.passed, "axis \(axis): \(report)")
        }
    }

    @Test("the fused logits op equals matmul then overwrite, and passes a finite-difference check")
    func fusedLogits() throws {
        var g = SeededGenerator(seed: 12)
        let hidden = Variable.parameter(.randomNormal([2, 3, 4], using: &g), name: "hidden")
        let table = Variable.parameter(.randomNormal([7, 4], using: &g), name: "table")
        let rows = Variable.parameter(.randomNormal([2, 4], using: &g), name: "rows")
        let ids = [5, 1]
        let tape = Tape.inference
        let fused = tape.logits(hidden, table: table, replacing: ids, with: rows).value.scalars
        let composed = tape.overwrite(tape.matmul(hidden, table, transposeB: true), axis: 2, at: ids,
                                      with: tape.matmul(hidden, rows, transposeB: true)).value.scalars
        #expect(zip(fused, composed).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(fused) against \(composed)")
        let report = GradientCheck.run([hidden, table, rows]) { tape, v in
            let once = tape.logits(v[0], table: v[1], replacing: ids, with: v[2])
            return tape.add(once, tape.logits(tape.scale(v[0], by: 0.5), table: v[1], replacing: ids, with: v[2]))
        }
        #expect(report.passed, "\(report)")
    }

    @Test("fresh rows change nothing; only A, B and the rows train; their gradients pass a finite-difference check")
    func freshRowsAndGradients() throws {
        let m = try untied()
        let ids = [[1, 7, 2, 7, 9, 3]]
        let before = m(ids, .inference).value.scalars
        let tokens = LoRAConfig.tokenRows([7, 9], tiedEmbeddings: m.config.tiedEmbeddings)
        let config = LoRAConfig(rank: 2, alpha: 4, trainableTokens: tokens)
        #expect(config.trainableTokens == ["tok_embeddings": [7, 9], "lm_head": [7, 9]])
        let adapter = try LoRAAdapter.apply(to: m, config: config, seed: 1)
        #expect(m(ids, .inference).value.scalars == before, "rows start as the tables' rows: same logits, bit for bit")
        let rows = try #require(adapter.tokens.embedding), head = try #require(adapter.tokens.head)
        #expect(rows.rows.name == "tok_embeddings.token_adapter.trainable_tokens_delta" && rows.rows.shape == [2, 16])
        #expect(head.rows.name == "lm_head.token_adapter.trainable_tokens_delta")
        #expect(Set(m.trainableParameters.map(\.name)) == Set(adapter.namedParameters.map(\.0)))
        let lowRank = adapter.layers.reduce(0) { $0 + $1.1.a.value.count + $1.1.b.value.count }
        #expect(adapter.parameterCount == lowRank + 2 * 2 * 16, "A and B, and two tables × two rows × C = 16")
        var g = SeededGenerator(seed: 5)
        rows.rows.value = .randomNormal(rows.rows.shape, using: &g)
        head.rows.value = .randomNormal(head.rows.shape, using: &g)
        #expect(m(ids, .inference).value.scalars != before, "new rows change the logits")
        let report = GradientCheck.run([rows.rows, head.rows]) { tape, _ in m.logits(ids, tape) }
        #expect(report.passed, "\(report)")
        #expect(m.tokenEmbedding.grad == nil && m.lmHead?.grad == nil, "the frozen tables get no gradient")
        // An id that never appears gets no gradient from this batch: only ids 7 and 9 are looked up.
        let other = try untied()
        let unseen = try LoRAAdapter.apply(to: other, config: LoRAConfig(rank: 2, alpha: 4,
                                                                        trainableTokens: ["tok_embeddings": [8]]),
                                           seed: 1)
        let tape = Tape()
        tape.backward(tape.sum(other.logits(ids, tape)))
        #expect(unseen.tokens.embedding?.rows.grad == nil && unseen.tokens.head == nil)
    }

    @Test("training moves the rows, not the tables; merged = unmerged; unmerge restores the tables exactly")
    func trainAndMerge() throws {
        try Parallel.withThreads(2) {
            let (tied, data, _) = try trainingFixture()
            var config = tied.config
            config.tiedEmbeddings = false
            let m = try GPT(config, seed: 2)
            let common = Array(Set(data.train.prefix(64).map(Int.init))).sorted().prefix(3).map { $0 }
            let tables = [m.tokenEmbedding.value, m.lmHead!.value]
            let tokens = LoRAConfig.tokenRows(common, tiedEmbeddings: false)
            let adapter = try LoRAAdapter.apply(to: m, config: LoRAConfig(rank: 2, alpha: 4, trainableTokens: tokens),
                                                seed: 2)
            let start = adapter.tokens.embedding!.rows.value
            let trainer = try Trainer(model: m, data: data, config: loopConfig(steps: 6), checkpointFolder: nil)
            #expect(trainer.trainable.count == adapter.namedParameters.count)
            try trainer.run(quiet: true)
            #expect([m.tokenEmbedding.value, m.lmHead!.value] == tables, "the frozen tables did not move")
            #expect(adapter.tokens.embedding!.rows.value != start, "the rows trained")
            let ids = [common + [1, 2, 3]]
            let unmerged = m(ids, .inference).value.scalars
            try adapter.merge()
            #expect(m.tokenEmbedding.value != tables[0], "merged: the rows are in the table")
            let merged = m(ids, .inference).value.scalars
            let scale = unmerged.map(abs).max() ?? 1
            let worst = zip(merged, unmerged).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "merged vs unmerged: max |Δ| \(worst) of \(scale)")
            try adapter.unmerge()
            #expect([m.tokenEmbedding.value, m.lmHead!.value] == tables, "unmerge puts the rows back, bit for bit")
            try adapter.detach()
            #expect(m.embeddingRows == nil && m.headRows == nil)
            try adapter.attach()
            // (W + (α/r)·B·A − (α/r)·B·A is W up to rounding, so the LoRA layers differ in the last bits.)
            let again = m(ids, .inference).value.scalars
            #expect(adapter.isAttached && zip(again, unmerged).allSatisfy { abs($0 - $1) <= 1e-4 * scale })
        }
    }

    @Test("PEFT's trainable_token_indices and tensor names; a tied model writes a list; bad ids are named")
    func files() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try untied()
        let tokens = LoRAConfig.tokenRows([4, 2], tiedEmbeddings: false)
        let adapter = try LoRAAdapter.apply(to: trained, config: LoRAConfig(rank: 2, alpha: 4, trainableTokens: tokens),
                                            seed: 5)
        var g = SeededGenerator(seed: 6)
        for (_, parameter) in adapter.namedParameters { parameter.value = .randomNormal(parameter.shape, using: &g) }
        try adapter.save(to: folder)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(
            LoRAAdapter.configFileName))) as? [String: Any]
        #expect((json?["trainable_token_indices"] as? [String: [Int]]) == ["tok_embeddings": [4, 2], "lm_head": [4, 2]])
        let fresh = try untied()
        let loaded = try LoRAAdapter.load(from: folder, onto: fresh)
        #expect(loaded.config == adapter.config)
        let ids = [[4, 1, 2, 3, 2]]
        #expect(fresh(ids, .inference).value.scalars == trained(ids, .inference).value.scalars)
        let file = try SafetensorsFile.read(folder.appendingPathComponent(LoRAAdapter.weightsFileName))
        let names = file.entries.map(\.name)
        #expect(names.contains("base_model.model.tok_embeddings.token_adapter.trainable_tokens_delta")
                && names.contains("base_model.model.lm_head.token_adapter.trainable_tokens_delta"))
        if let data = try runPythonFixture("safetensors_check.py",
                                           [folder.appendingPathComponent(LoRAAdapter.weightsFileName).path],
                                           needs: "safetensors"),
           let tensors = try JSONSerialization.jsonObject(with: data) as? [String: [Any]] {
            #expect((tensors["base_model.model.lm_head.token_adapter.trainable_tokens_delta"]?.first as? [Int])
                    == [2, 16])
        }
        // A model checkpoint of the merged model holds the rows inside its tables and no adapter tensor.
        try adapter.merge()
        let checkpoint = folder.appendingPathComponent("merged")
        try Checkpoint.save(trained, to: checkpoint)
        let stored = try SafetensorsFile.read(checkpoint.appendingPathComponent("model.safetensors"))
        #expect(!stored.entries.contains { LoRAAdapter.isAdapterTensor($0.name) })
        #expect(try stored.tensor("lm_head.weight") == trained.lmHead!.value)

        // A tied model: the list form (the embedding; the head shares it); asking for lm_head is an error.
        let tied = try GPT(.gpt2Style(vocabularySize: 50, contextLength: 16, layers: 1, heads: 2, embeddingSize: 16),
                           seed: 1)
        #expect(LoRAConfig.tokenRows([3], tiedEmbeddings: true) == ["tok_embeddings": [3]])
        let tiedAdapter = try LoRAAdapter.apply(to: tied, config: LoRAConfig(rank: 1, alpha: 1,
                                                                           trainableTokens: ["tok_embeddings": [3]]),
                                                seed: 1)
        let tiedFolder = folder.appendingPathComponent("tied")
        try tiedAdapter.save(to: tiedFolder)
        let tiedJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: tiedFolder.appendingPathComponent(
            LoRAAdapter.configFileName))) as? [String: Any]
        #expect((tiedJSON?["trainable_token_indices"] as? [Int]) == [3])
        #expect(try LoRAAdapter.readConfig(in: tiedFolder).trainableTokens == ["tok_embeddings": [3]])
        #expect { try LoRAAdapter.apply(to: try GPT(tied.config, seed: 1),
                                        config: LoRAConfig(rank: 1, alpha: 1, trainableTokens: ["lm_head": [3]]),
                                        seed: 1) } throws: { "\($0)".contains("lm_head") }
        // Ids beyond the vocabulary, repeated ids, unknown tables and fractional ids are named.
        #expect { try LoRAAdapter.apply(to: try untied(), config: LoRAConfig(rank: 1, alpha: 1,
                                                                           trainableTokens: ["tok_embeddings": [50]]),
                                        seed: 1) } throws: { "\($0)".contains("50") && "\($0)".contains("vocabulary") }
        #expect(LoRAConfig(rank: 1, alpha: 1, trainableTokens: ["tok_embeddings": [3, 3]]).problems.count == 1)
        #expect(LoRAConfig(rank: 1, alpha: 1, trainableTokens: ["wte": [3]]).problems.first?.contains("wte") == true)
        let edited = folder.appendingPathComponent(LoRAAdapter.configFileName)
        var object = try #require(json)
        object["trainable_token_indices"] = [2.5]
        try JSONSerialization.data(withJSONObject: object).write(to: edited)
        #expect { try LoRAAdapter.readConfig(in: folder) } throws: { "\($0)".contains("2.5") }
        object["trainable_token_indices"] = "all"
        try JSONSerialization.data(withJSONObject: object).write(to: edited)
        #expect { try LoRAAdapter.readConfig(in: folder) } throws: { "\($0)".contains("trainable_token_indices") }
        // The adapter's file lacking the rows its config asks for is a clear error, naming the tensor.
        object["trainable_token_indices"] = [4, 2, 1]
        try JSONSerialization.data(withJSONObject: object).write(to: edited)
        #expect { try LoRAAdapter.load(from: folder, onto: try untied()) } throws: { error in
            (error as? CheckpointError)?.tensor
                == "base_model.model." + TokenRows.tensorName("tok_embeddings")
        }
    }
}
