// Introduced in Chapter 03. Where the parameters and the arithmetic of a GPT go, from the config alone.
//
// Per block, with C = embedding size, D = head size, H heads, G key/value heads, F = MLP hidden size:
//   norms         2·C (+ 2·C biases for LayerNorm with biases)
//   attention     qkv C·(H + 2G)·D (+ (H + 2G)·D)   proj H·D·C (+ C)
//   MLP (GELU)    C·F + F·C (+ F + C)               MLP (SwiGLU) 3·C·F (+ 2F + C)
// plus embeddings V·C, learned positions Tmax·C, the final norm, and an untied head V·C.
//
// Forward FLOPs per token (a multiply-add is 2 FLOPs): 2 × the parameters used in matrix products
// (every linear layer and the LM head; embedding lookups are free), plus attention's two T-long products
// per layer, QKᵀ and PV: 2·2·L·H·D·T at context T. Training is about 3× forward (backward is 2×).

public struct ParameterCount: Sendable, Equatable {
    public let component: String
    public let count: Int
}

public struct ModelAccounting: Sendable {
    public let config: GPTConfig

    public init(_ config: GPTConfig) { self.config = config }

    /// Parameters per component, from the formulas above.
    public var components: [ParameterCount] {
        let c = config.embeddingSize, d = config.headSize, h = config.heads,
            g = config.kvHeads, f = config.mlpHiddenSize
        let b = config.bias ? 1 : 0
        let normSize = c * (config.norm == .layerNorm && config.bias ? 2 : 1)
        let attention = c * (h + 2 * g) * d + b * (h + 2 * g) * d + h * d * c + b * c
        let mlp = config.mlp == .gelu ? 2 * c * f + b * (f + c) : 3 * c * f + b * (2 * f + c)
        let l = config.layers
        var parts = [ParameterCount(component: "token embeddings (V·C)", count: config.vocabularySize * c)]
        if config.positions == .learned { parts.append(ParameterCount(component: "position embeddings (Tmax·C)",
                                                       count: config.contextLength * c)) }
        parts += [
            ParameterCount(component: "attention × \(l)", count: l * attention),
            ParameterCount(component: "MLP (\(config.mlp.rawValue)) × \(l)", count: l * mlp),
            ParameterCount(component: "norms (2 per block + final)", count: (2 * l + 1) * normSize),
        ]
        if !config.tiedEmbeddings { parts.append(ParameterCount(component: "LM head (V·C, untied)",
                                                 count: config.vocabularySize * c)) }
        return parts
    }

    public var total: Int { components.reduce(0) { $0 + $1.count } }

    /// Parameters that take part in matrix products: all but embeddings looked up (tokens, positions) and
    /// norms — plus the token embeddings again when tied, since the LM head multiplies by them.
    public var matmulParameters: Int {
        let c = config.embeddingSize, d = config.headSize, h = config.heads,
            g = config.kvHeads, f = config.mlpHiddenSize
        let perBlock = c * (h + 2 * g) * d + h * d * c + (config.mlp == .gelu ? 2 : 3) * c * f
        return config.layers * perBlock + config.vocabularySize * c
    }

    /// Forward FLOPs per token at context length `t` (default: the full context).
    public func forwardFLOPsPerToken(context t: Int? = nil) -> Int {
        let t = t ?? config.contextLength
        return 2 * matmulParameters + 4 * config.layers * config.heads * config.headSize * t
    }

    /// N as training-FLOP estimates use it (6·N per token): parameters without position embeddings.
    public var nonEmbeddingPositionParameters: Int {
        total - (config.positions == .learned ? config.contextLength * config.embeddingSize : 0)
    }
}
