// Introduced in Chapter 03. The decoder-only transformer: token (+ position) embeddings, L blocks,
// a final norm, and the LM head that scores every vocabulary entry at every position.

import Foundation

public final class GPT: ParameterContainer {
    public let config: GPTConfig
    public let tokenEmbedding: Variable                  // (V, C)
    public let positionEmbedding: Variable?              // (Tmax, C): learned, or a fixed sinusoidal table
    public let blocks: [Block]
    public let finalNorm: Norm
    public let lmHead: Variable?                         // (V, C) when untied

    /// A freshly initialised model (GPT-2 initialisation: N(0, 0.02), residual projections 0.02/√(2L)).
    /// Throws `CourseError.invalidValue` for an unusable config.
    public init(_ config: GPTConfig, seed: UInt64) throws {
        if let problem = config.problems.first { throw CourseError.invalidValue(name: "model config", value: "", expected: problem) }
        self.config = config
        var generator = SeededGenerator(seed: seed)
        let (v, c) = (config.vocabularySize, config.embeddingSize)
        tokenEmbedding = .parameter(.randomNormal([v, c], standardDeviation: 0.02, using: &generator), name: "tok_embeddings.weight")
        switch config.positions {
        case .learned:
            positionEmbedding = .parameter(.randomNormal([config.contextLength, c], standardDeviation: 0.02, using: &generator),
                                           name: "pos_embeddings.weight")
        case .sinusoidal:
            positionEmbedding = Variable(GPT.sinusoidalTable(length: config.contextLength, size: c), name: "pos_embeddings.sinusoidal")
        case .rotary:
            positionEmbedding = nil
        }
        blocks = (0..<config.layers).map { Block("blocks.\($0)", config: config, generator: &generator) }
        finalNorm = Norm("norm_f", kind: config.norm, size: c, bias: config.bias, epsilon: config.normEpsilon)
        lmHead = config.tiedEmbeddings ? nil : .parameter(.randomNormal([v, c], standardDeviation: 0.02, using: &generator), name: "lm_head.weight")
    }

    /// Vaswani et al.'s fixed positions: PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i + 1] = cos(…).
    public static func sinusoidalTable(length: Int, size: Int) -> Tensor {
        var table = Tensor(zeros: [length, size])
        table.withUnsafeMutableBufferPointer { pe in
            for t in 0..<length {
                for i in stride(from: 0, to: size, by: 2) {
                    let angle = Double(t) / pow(10_000, Double(i) / Double(size))
                    pe[t * size + i] = Float(sin(angle))
                    if i + 1 < size { pe[t * size + i + 1] = Float(cos(angle)) }
                }
            }
        }
        return table
    }

    /// Logits (B, T, V) for token ids (B, T). Ids must be in 0..<V and T ≤ contextLength (callers such as
    /// tokenizers and samplers check user input first).
    /// - Parameters:
    ///   - causal: `false` runs the same blocks bidirectionally (the masked-LM contrast of Chapter 03).
    ///   - keyMask: (B, T), `false` for padding.
    public func callAsFunction(_ ids: [[Int]], _ tape: Tape, causal: Bool = true, keyMask: [[Bool]]? = nil) -> Variable {
        let (b, t) = (ids.count, ids.first?.count ?? 0)
        if t > config.contextLength || ids.contains(where: { $0.count != t }) {
            shapeFailure("GPT", "needs a (B, T) batch of equal rows with T ≤ \(config.contextLength); got \(ids.map(\.count))")
        }
        var x = tape.embedding(tokenEmbedding, ids: ids.flatMap { $0 }, shape: [b, t])       // (B, T, C)
        if let positionEmbedding {
            x = tape.add(x, tape.slice(positionEmbedding, axis: 0, 0..<t))                   // + (T, C)
        }
        for block in blocks { x = block(x, tape, causal: causal, keyMask: keyMask) }         // (B, T, C)
        x = finalNorm(x, tape)
        return tape.matmul(x, lmHead ?? tokenEmbedding, transposeB: true)                   // (B, T, V)
    }

    /// Every trainable parameter with its checkpoint name (a fixed sinusoidal table is not one).
    public var namedParameters: [(String, Variable)] {
        var all = [(tokenEmbedding.name, tokenEmbedding)]
        if let positionEmbedding, positionEmbedding.requiresGrad { all.append((positionEmbedding.name, positionEmbedding)) }
        for block in blocks { all += block.namedParameters }
        all += finalNorm.namedParameters
        if let lmHead { all.append((lmHead.name, lmHead)) }
        return all
    }
}
