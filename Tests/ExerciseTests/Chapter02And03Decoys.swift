// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 02.
struct Chapter02Decoy: Chapter02Exercises {
    // The mask flipped: hides the past instead of the future.
    func causalMask(length: Int) throws -> [[Float]] {
        (0..<length).map { i in (0..<length).map { j in j < i ? -Float.infinity : 0 } }
    }
    // Forgets the −Σ term (treats softmax like an element-wise function).
    func softmaxBackward(y: [Float], dY: [Float]) throws -> [Float] { zip(y, dY).map { $0 * $1 } }
    // Rotates pairs (i, i + D/2) instead of adjacent pairs.
    func rotate(_ x: [Float], position: Int, base: Float) throws -> [Float] {
        var out = x
        let d = x.count, half = d / 2
        for i in 0..<half {
            let angle = Double(position) * pow(Double(base), -2 * Double(i) / Double(d))
            let (c, s) = (Float(cos(angle)), Float(sin(angle)))
            out[i] = x[i] * c - x[i + half] * s
            out[i + half] = x[i] * s + x[i + half] * c
        }
        return out
    }
}

/// Plausible mistakes for Chapter 03.
struct Chapter03Decoy: Chapter03Exercises {
    // Counts the LM head separately although it is tied to the embeddings.
    func gpt2ParameterCount(vocabularySize v: Int, contextLength t: Int, layers l: Int, embeddingSize c: Int, mlpHidden f: Int) throws -> Int {
        try Chapter03Solution().gpt2ParameterCount(vocabularySize: v, contextLength: t, layers: l, embeddingSize: c, mlpHidden: f) + v * c
    }
    // Forgets the values (keys only).
    func kvCacheBytes(layers: Int, kvHeads: Int, headSize: Int, tokens: Int, bytesPerNumber: Int) throws -> Int {
        layers * kvHeads * headSize * tokens * bytesPerNumber
    }
    // Sample variance (n − 1) instead of population variance.
    func layerNorm(_ x: [Float], weight: [Float], bias: [Float], epsilon: Float) throws -> [Float] {
        let n = Float(x.count)
        let mean = x.reduce(0, +) / n
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(n - 1, 1)
        return x.indices.map { (x[$0] - mean) / (variance + epsilon).squareRoot() * weight[$0] + bias[$0] }
    }
}
