// Chapter 03's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter03Exercises: Sendable {
    /// 03.1 — The number of parameters of a GPT-2-recipe model (LayerNorm with biases, learned positions,
    /// GELU MLP of width `mlpHidden`, multi-head attention, biases, tied embeddings).
    func gpt2ParameterCount(vocabularySize: Int, contextLength: Int, layers: Int, embeddingSize: Int, mlpHidden: Int) throws -> Int

    /// 03.2 — Bytes of KV cache for `tokens` positions: keys and values, every layer, every key/value head.
    func kvCacheBytes(layers: Int, kvHeads: Int, headSize: Int, tokens: Int, bytesPerNumber: Int) throws -> Int

    /// 03.3 — LayerNorm of one row: (x − mean)/√(variance + ε) ⊙ weight + bias (population variance).
    func layerNorm(_ x: [Float], weight: [Float], bias: [Float], epsilon: Float) throws -> [Float]
}

public enum Chapter03Checks {
    public static let chapter = "03 — The Transformer"

    public static let all: [Exercise<any Chapter03Exercises>] = [
        Exercise(id: "03.1", title: "count a GPT-2's parameters",
                 hint: "V·C + Tmax·C, then per block: 2 norms (2C each), qkv (3C·C + 3C), proj (C·C + C), MLP (2·C·F + F + C); final norm 2C") { solution in
            for config in [GPTConfig.gpt2Style(.tiny), .gpt2Style(.small),
                           .gpt2Style(vocabularySize: 7, contextLength: 3, layers: 1, heads: 1, embeddingSize: 2)] {
                let expected = ModelAccounting(config).total
                let answer = try solution.gpt2ParameterCount(vocabularySize: config.vocabularySize, contextLength: config.contextLength,
                                                             layers: config.layers, embeddingSize: config.embeddingSize,
                                                             mlpHidden: config.mlpHiddenSize)
                try require(answer == expected, "V \(config.vocabularySize), T \(config.contextLength), L \(config.layers), C \(config.embeddingSize): expected \(expected), got \(answer)")
            }
        },
        Exercise(id: "03.2", title: "the size of the KV cache",
                 hint: "2 (keys and values) × layers × kvHeads × headSize × tokens × bytes per number") { solution in
            // llama-small at T = 256 in Float32: 2·6·2·64·256·4 = 1,572,864 bytes (section 2.6).
            let small = try solution.kvCacheBytes(layers: 6, kvHeads: 2, headSize: 64, tokens: 256, bytesPerNumber: 4)
            try require(small == 1_572_864, "llama-small at 256 tokens: expected 1572864 bytes, got \(small)")
            let mha = try solution.kvCacheBytes(layers: 12, kvHeads: 12, headSize: 64, tokens: 1024, bytesPerNumber: 2)
            try require(mha == 37_748_736, "GPT-2 124M at 1024 tokens in 16-bit: expected 37748736 bytes, got \(mha)")
        },
        Exercise(id: "03.3", title: "LayerNorm of one row",
                 hint: "mean, then variance = mean((x − mean)²), then (x − mean)/√(variance + ε) · weight + bias") { solution in
            var generator = SeededGenerator(seed: 31)
            for c in [1, 4, 37] {
                let x = Tensor.randomNormal([1, c], mean: 2, standardDeviation: 3, using: &generator)
                let w = Tensor.randomNormal([c], using: &generator), b = Tensor.randomNormal([c], using: &generator)
                let expected = Tape.inference.layerNorm(Variable(x), weight: Variable(w), bias: Variable(b), epsilon: 1e-5).value.scalars
                let answer = try solution.layerNorm(x.scalars, weight: w.scalars, bias: b.scalars, epsilon: 1e-5)
                try requireClose(answer, expected, tolerance: 1e-4, "LayerNorm of \(c) numbers")
            }
        },
    ]
}
