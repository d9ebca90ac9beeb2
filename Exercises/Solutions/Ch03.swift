// Chapter 03 reference solutions. Try the exercises before reading on.

import ExerciseKit

public struct Chapter03Solution: Chapter03Exercises {
    public init() {}

    public func gpt2ParameterCount(vocabularySize v: Int, contextLength t: Int, layers l: Int, embeddingSize c: Int, mlpHidden f: Int) throws -> Int {
        let embeddings = v * c + t * c                                   // tokens + learned positions (head tied)
        let norms = 2 * (2 * c)                                          // two LayerNorms, weight + bias
        let attention = (3 * c * c + 3 * c) + (c * c + c)                // qkv and projection, with biases
        let mlp = (c * f + f) + (f * c + c)                              // fc and proj, with biases
        return embeddings + l * (norms + attention + mlp) + 2 * c       // + the final LayerNorm
    }

    public func kvCacheBytes(layers: Int, kvHeads: Int, headSize: Int, tokens: Int, bytesPerNumber: Int) throws -> Int {
        2 * layers * kvHeads * headSize * tokens * bytesPerNumber
    }

    public func layerNorm(_ x: [Float], weight: [Float], bias: [Float], epsilon: Float) throws -> [Float] {
        let n = Float(x.count)
        let mean = x.reduce(0, +) / n
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let r = 1 / (variance + epsilon).squareRoot()
        return x.indices.map { (x[$0] - mean) * r * weight[$0] + bias[$0] }
    }
}
