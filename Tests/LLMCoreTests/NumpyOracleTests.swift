// The outside oracle for the model (llm.c's test_gpt2.c idea): a tiny seeded model of each preset is
// saved, and an independent numpy implementation written from the equations (Tests/Fixtures/numpy_gpt.py,
// float64, its own hand-written backward) computes the logits, the loss and every parameter's gradient
// for the same batch. Ours must agree. Skips, saying so, without numpy and safetensors (make deps installs
// them).
//
// Tolerance: each tensor is compared relative to its own scale, max|ours − numpy| ≤ 1e-5 · max|numpy|.
// Float32 rounding through a 2-layer model gives ~5e-7 of scale here (printed by the test); the 16-lane tanh
// behind our GELU (FastMath.swift) adds less. What it catches: a wrong backward is off by O(1) of the
// scale (a missing factor, a transposed product, a dropped residual path); a GELU derivative off by 20 %
// in one term was off by ~1e-2 of scale.

import Foundation
import Testing
@testable import LLMCore

@Suite("numpy oracle")
struct NumpyOracleTests {
    static let configs: [(String, GPTConfig)] = {
        var gpt2 = GPTConfig.gpt2Style(vocabularySize: 29, contextLength: 12, layers: 2, heads: 2, embeddingSize: 16)
        gpt2.mlpHiddenSize = 24
        var llama = GPTConfig.llamaStyle(vocabularySize: 29, contextLength: 12, layers: 2, heads: 4, kvHeads: 2, embeddingSize: 16)
        llama.mlpHiddenSize = 24
        return [("gpt2 (LayerNorm, learned positions, GELU, tied)", gpt2),
                ("llama (RMSNorm, RoPE, SwiGLU, GQA 4→2, untied)", llama)]
    }()

    @Test("logits, loss and every parameter gradient agree with numpy", arguments: 0..<2)
    func agreesWithNumpy(index: Int) throws {
        let (name, config) = Self.configs[index]
        let folder = temporaryFolder("oracle-\(index)")
        let model = try GPT(config, seed: 21)
        // Larger weights than the N(0, 0.02) init, so every path carries signal the comparison can see.
        var g = SeededGenerator(seed: 5)
        for (_, parameter) in model.namedParameters {
            parameter.value = Tensor.randomNormal(parameter.shape, standardDeviation: 0.3, using: &g)
        }
        try Checkpoint.save(model, to: folder)
        let (b, t) = (3, 10)
        let ids = (0..<b).map { _ in (0..<t).map { _ in g.integer(below: config.vocabularySize) } }
        let targets = (0..<(b * t)).map { _ in g.integer(below: config.vocabularySize) }
        let batchURL = folder.appendingPathComponent("batch.json")
        try JSONSerialization.data(withJSONObject: ["ids": ids, "targets": targets]).write(to: batchURL)
        let outURL = folder.appendingPathComponent("numpy.safetensors")
        guard try runPythonFixture("numpy_gpt.py", [folder.path, batchURL.path, outURL.path], needs: "numpy and safetensors") != nil
        else { return }
        let reference = try SafetensorsFile.read(outURL)

        let tape = Tape()
        let logits = model(ids, tape)
        let loss = tape.crossEntropy(logits, targets: targets)
        let logitValues = logits.value
        tape.backward(loss)
        var worstRatio: Float = 0
        func expectAgrees(_ ours: Tensor, _ theirs: Tensor, _ what: String) {
            #expect(ours.shape == theirs.shape, "\(name) \(what): shape \(ours.shape) vs \(theirs.shape)")
            let scale = theirs.scalars.map(abs).max() ?? 0
            let worst = zip(ours.scalars, theirs.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * max(scale, 1e-12), "\(name) \(what): max difference \(worst) at scale \(scale)")
            worstRatio = max(worstRatio, worst / max(scale, 1e-12))
        }
        expectAgrees(logitValues, try reference.tensor("logits"), "logits")
        expectAgrees(loss.value, try reference.tensor("loss"), "loss")
        for (parameterName, parameter) in model.namedParameters {
            let ours = try #require(parameter.grad, "\(name): no gradient for \(parameterName)")
            expectAgrees(ours, try reference.tensor("grad.\(parameterName)"), "∂loss/∂\(parameterName)")
        }
        #expect(reference.entries.count == model.namedParameters.count + 2, "numpy computed a gradient for every parameter")
        print("numpy oracle, \(name): worst difference \(String(format: "%.1e", worstRatio)) of a tensor's scale (tolerance 1e-5)")
    }
}
