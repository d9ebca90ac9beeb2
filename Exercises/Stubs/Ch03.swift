// Chapter 03 exercises — your file. Steps and hints: Exercises/Ch03.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter03: Chapter03Exercises {
    public init() {}

    /// 03.1 — Parameters of a GPT-2-recipe model.
    public func gpt2ParameterCount(vocabularySize: Int, contextLength: Int, layers: Int, embeddingSize: Int, mlpHidden: Int) throws -> Int {
        throw ExerciseUnsolved("add up embeddings, blocks and the final norm (Exercises/Ch03.md, step 1)")
    }

    /// 03.2 — Bytes of keys and values for `tokens` positions.
    public func kvCacheBytes(layers: Int, kvHeads: Int, headSize: Int, tokens: Int, bytesPerNumber: Int) throws -> Int {
        throw ExerciseUnsolved("keys and values, per layer, per kv head (Exercises/Ch03.md, step 2)")
    }

    /// 03.3 — LayerNorm of one row.
    public func layerNorm(_ x: [Float], weight: [Float], bias: [Float], epsilon: Float) throws -> [Float] {
        throw ExerciseUnsolved("normalise, then scale and shift (Exercises/Ch03.md, step 3)")
    }
}
