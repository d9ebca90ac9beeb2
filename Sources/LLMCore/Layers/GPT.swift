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
    /// Chapter 06: trainable rows for a few ids of the token embedding and of the (untied) LM head — nil
    /// without. A tied model's head uses the embedding's rows, as its table is the embedding.
    public var embeddingRows: TokenRows?
    public var headRows: TokenRows?
    /// Chapter 07: the LM head as integers and scales (`GPT.quantize`) — nil while it is Float32. A tied model
    /// keeps its Float32 embedding for the lookups; the head then scores with this copy.
    public var quantizedHead: QuantizedWeight?
    /// Chapter 07's QAT: the scheme the head is fake-quantized with while training (nil: none).
    public var fakeQuantizedHead: QuantizationScheme?

    /// A freshly initialised model (GPT-2 initialisation: N(0, 0.02), residual projections 0.02/√(2L)).
    /// Throws `CourseError.invalidValue` for an unusable config.
    public init(_ config: GPTConfig, seed: UInt64) throws {
        if let problem = config.problems.first { throw CourseError.invalidValue(name: "model config",
                                                                                value: "", expected: problem) }
        self.config = config
        var generator = SeededGenerator(seed: seed)
        let (v, c) = (config.vocabularySize, config.embeddingSize)
        tokenEmbedding = .parameter(.randomNormal([v, c], standardDeviation: 0.02, using: &generator),
                                    name: "tok_embeddings.weight")
        switch config.positions {
        case .learned:
            positionEmbedding = .parameter(.randomNormal([config.contextLength, c],
                                                         standardDeviation: 0.02, using: &generator),
                                           name: "pos_embeddings.weight")
        case .sinusoidal:
            positionEmbedding = Variable(GPT.sinusoidalTable(length: config.contextLength, size: c),
                                         name: "pos_embeddings.sinusoidal")
        case .rotary:
            positionEmbedding = nil
        }
        blocks = (0..<config.layers).map { Block("blocks.\($0)", config: config, generator: &generator) }
        finalNorm = Norm("norm_f", kind: config.norm, size: c, bias: config.bias, epsilon: config.normEpsilon)
        lmHead = config.tiedEmbeddings ? nil : .parameter(.randomNormal([v, c], standardDeviation: 0.02,
                                                                        using: &generator), name: "lm_head.weight")
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

    // The forward pass, once: embeddings → blocks → final norm → head. Training, evaluation, generation
    // with and without a KV cache, classifier and reward heads all go through these three functions.

    /// The final-norm hidden states (B, T, C) for token ids (B, T): what the LM head, a classifier head,
    /// a reward head or dense retrieval read.
    ///
    /// Ids must be in 0..<V and T ≤ contextLength (callers such as tokenizers, samplers and batch sources
    /// check user input first).
    /// - Parameters:
    ///   - causal: `false` runs the same blocks bidirectionally (the masked-LM contrast of Chapter 03).
    ///   - keyMask: (B, T), `false` for padding.
    ///   - cache: inference with a KV cache (B = 1): the ids are the positions after `cache.length`, their
    ///     keys and values are appended, and they attend over everything cached before them.
    ///   - caches: batched decoding (T = 1, one cache per row): row b is the next position of the sequence in
    ///     `caches[b]`, each at its own position.
    public func hiddenStates(_ ids: [[Int]], _ tape: Tape, causal: Bool = true, keyMask: [[Bool]]? = nil,
                             cache: KVCache? = nil, caches: [KVCache]? = nil) -> Variable {
        let (b, t) = (ids.count, ids.first?.count ?? 0)
        if let caches {
            if t != 1 || caches.count != b || caches.contains(where: {
                $0.layers != config.layers || $0.length + 1 > config.contextLength
            }) {
                shapeFailure("GPT", "batched decoding runs one new token per cache, each with room left; got " +
                                    "\(ids.map(\.count)) ids for \(caches.count) caches")
            }
            var x = embeddingRows?.embed(ids.flatMap { $0 }, shape: [b, 1], tape)
                ?? tape.embedding(tokenEmbedding, ids: ids.flatMap { $0 }, shape: [b, 1])        // (B, 1, C)
            if let positionEmbedding {                                                       // + each row's own
                x = tape.add(x, tape.embedding(positionEmbedding, ids: caches.map(\.length), shape: [b, 1]))
            }
            for (layer, block) in blocks.enumerated() {
                x = block(x, tape, causal: causal, caches: caches, layer: layer)               // (B, 1, C)
            }
            for cache in caches { cache.advance(by: 1) }
            return finalNorm(x, tape)
        }
        let start = cache?.length ?? 0
        if t == 0 || start + t > config.contextLength || ids.contains(where: { $0.count != t }) {
            shapeFailure("GPT", "needs a (B, T) batch of equal rows with T ≥ 1 and \(start) + T ≤ " +
                                "\(config.contextLength); got \(ids.map(\.count))")
        }
        if let cache, b != 1 || cache.layers != config.layers || cache.capacity < config.contextLength {
            shapeFailure("GPT", "a KV cache holds one sequence of this model's \(config.layers) layers; got B = " +
                                "\(b), cache of \(cache.layers) layers")
        }
        var x = embeddingRows?.embed(ids.flatMap { $0 }, shape: [b, t], tape)
            ?? tape.embedding(tokenEmbedding, ids: ids.flatMap { $0 }, shape: [b, t])         // (B, T, C)
        if let positionEmbedding {
            x = tape.add(x, tape.slice(positionEmbedding, axis: 0, start..<start + t))       // + (T, C)
        }
        for (layer, block) in blocks.enumerated() {
            x = block(x, tape, causal: causal, keyMask: keyMask, cache: cache, layer: layer) // (B, T, C)
        }
        cache?.advance(by: t)
        return finalNorm(x, tape)                                                            // (B, T, C)
    }

    /// The LM head: hidden states (…, C) → logits (…, V), sharing the token embedding when tied.
    public func head(_ hidden: Variable, _ tape: Tape) -> Variable {
        if let rows = lmHead == nil ? embeddingRows : headRows { return rows.logits(hidden, tape) }
        if let quantizedHead { return quantizedHead.product(hidden, bias: nil, tape) }
        let table = lmHead ?? tokenEmbedding
        if let fakeQuantizedHead {
            return tape.matmul(hidden, tape.fakeQuantize(table, scheme: fakeQuantizedHead), transposeB: true)
        }
        return tape.matmul(hidden, table, transposeB: true)              // (…, V)
    }

    /// Logits (B, T, V) for token ids (B, T); the arguments are those of `hiddenStates`. With
    /// `lastOnly`, only the last position goes through the head: (B, 1, V), what generation needs.
    public func logits(_ ids: [[Int]], _ tape: Tape, causal: Bool = true, keyMask: [[Bool]]? = nil,
                       cache: KVCache? = nil, caches: [KVCache]? = nil, lastOnly: Bool = false) -> Variable {
        var hidden = hiddenStates(ids, tape, causal: causal, keyMask: keyMask, cache: cache,
                                  caches: caches)                                           // (B, T, C)
        let t = hidden.shape[1]
        if lastOnly && t > 1 { hidden = tape.slice(hidden, axis: 1, t - 1..<t) }            // (B, 1, C)
        return head(hidden, tape)                                                            // (B, T, V)
    }

    /// `logits(ids, tape)`: the model as a function, (B, T) ids → (B, T, V) logits.
    public func callAsFunction(_ ids: [[Int]], _ tape: Tape, causal: Bool = true,
                               keyMask: [[Bool]]? = nil) -> Variable {
        logits(ids, tape, causal: causal, keyMask: keyMask)
    }

    /// Every linear layer of the blocks, in model order (what LoRA and quantization walk).
    public var linearLayers: [Linear] {
        blocks.flatMap { block in
            [block.attention.qkv, block.attention.projection,
             block.mlp.first] + (block.mlp.up.map { [$0] } ?? []) + [block.mlp.last]
        }
    }

    /// Every parameter with its checkpoint name, frozen or not (a fixed sinusoidal table is not one).
    public var namedParameters: [(String, Variable)] {
        var all = [(tokenEmbedding.name, tokenEmbedding)]
        if let positionEmbedding,
            config.positions == .learned { all.append((positionEmbedding.name, positionEmbedding)) }
        for block in blocks { all += block.namedParameters }
        all += finalNorm.namedParameters
        if let lmHead, quantizedHead == nil { all.append((lmHead.name, lmHead)) }
        for rows in [embeddingRows, headRows].compactMap({ $0 }) { all.append((rows.rows.name, rows.rows)) }
        return all
    }
}
