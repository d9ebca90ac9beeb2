// Introduced in Chapter 02 (Linear, norms) and Chapter 03 (the rest). The building blocks of a GPT,
// bottom-up as in nanoGPT: each layer owns its parameters (Variables) and records its ops on a Tape.
// Legend: B batch, T sequence length, C embedding size, V vocabulary, H heads, G key/value heads,
// D head size.

/// Something with named parameters: the names are the checkpoint's tensor names.
public protocol ParameterContainer {
    /// Every parameter with its full name, in a fixed order.
    var namedParameters: [(String, Variable)] { get }
}

extension ParameterContainer {
    public var parameters: [Variable] { namedParameters.map(\.1) }

    /// The parameters that are not frozen: what a trainer updates by default.
    public var trainableParameters: [Variable] { parameters.filter(\.requiresGrad) }

    /// Freezes every parameter (fine-tuning then unfreezes or adds what it trains).
    public func freeze() { parameters.forEach { $0.freeze() } }

    /// Makes every parameter trainable.
    public func unfreeze() { parameters.forEach { $0.unfreeze() } }
}

/// y = x·Wᵀ + b, with W stored (out, in) as PyTorch stores it. The weight is a `LinearWeight`: a plain
/// matrix unless a later chapter swaps in another kind (see LinearWeight.swift).
public final class Linear: ParameterContainer {
    /// The layer's name in checkpoints ("blocks.0.attn.qkv"); its tensors are "<name>.weight", "<name>.bias".
    public let name: String
    public var weight: any LinearWeight  // (out, in)
    public let bias: Variable?           // (out)

    public init(_ name: String, inputs: Int, outputs: Int, bias: Bool, standardDeviation: Float,
                generator: inout SeededGenerator) {
        self.name = name
        weight = DenseWeight(.parameter(.randomNormal([outputs, inputs], standardDeviation: standardDeviation,
                                                      using: &generator), name: "\(name).weight"))
        self.bias = bias ? .parameter(Tensor(zeros: [outputs]), name: "\(name).bias") : nil
    }

    /// The Float32 matrix when the weight is a plain `DenseWeight` (nil for other kinds).
    public var denseMatrix: Variable? { (weight as? DenseWeight)?.matrix }

    public func callAsFunction(_ x: Variable, _ tape: Tape) -> Variable {
        weight.product(x, bias: bias, tape)                     // x·Wᵀ + b: (…, out)
    }

    public var namedParameters: [(String, Variable)] {
        weight.namedParameters + (bias.map { [($0.name, $0)] } ?? [])
    }
}

/// LayerNorm (weight and bias) or RMSNorm (weight only) over the last dimension.
public final class Norm: ParameterContainer {
    public let kind: NormKind
    public let weight: Variable          // (C)
    public let bias: Variable?           // (C), LayerNorm with biases only
    public let epsilon: Float

    public init(_ name: String, kind: NormKind, size: Int, bias: Bool, epsilon: Float) {
        self.kind = kind
        self.epsilon = epsilon
        weight = .parameter(Tensor(shape: [size], repeating: 1), name: "\(name).weight")
        self.bias = kind == .layerNorm && bias ? .parameter(Tensor(zeros: [size]), name: "\(name).bias") : nil
    }

    public func callAsFunction(_ x: Variable, _ tape: Tape) -> Variable {
        switch kind {
        case .layerNorm:
            return tape.layerNorm(x, weight: weight,
                                  bias: bias ?? Variable(Tensor(zeros: weight.shape)), epsilon: epsilon)
        case .rmsNorm:
            return tape.rmsNorm(x, weight: weight, epsilon: epsilon)
        }
    }

    public var namedParameters: [(String, Variable)] { [(weight.name, weight)] + (bias.map { [($0.name, $0)] } ?? []) }
}

/// Causal self-attention: one linear layer makes q|k|v for all heads, RoPE rotates q and k (when the
/// model uses rotary positions), fused attention mixes positions, one linear layer projects back.
public final class SelfAttention: ParameterContainer {
    public let qkv: Linear               // (H + 2G)·D ← C
    public let projection: Linear        // C ← H·D
    public let heads: Int, kvHeads: Int, headSize: Int
    public let rotary: Bool
    public let ropeBase: Float

    public init(_ name: String, config: GPTConfig, generator: inout SeededGenerator) {
        heads = config.heads
        kvHeads = config.kvHeads
        headSize = config.headSize
        rotary = config.positions == .rotary
        ropeBase = config.ropeBase
        qkv = Linear("\(name).qkv", inputs: config.embeddingSize, outputs: (heads + 2 * kvHeads) * headSize,
                     bias: config.bias, standardDeviation: 0.02, generator: &generator)
        // GPT-2: residual projections start smaller, 0.02/√(2L), so the residual stream's variance does not grow
        // with depth.
        projection = Linear("\(name).proj", inputs: heads * headSize, outputs: config.embeddingSize, bias: config.bias,
                            standardDeviation: 0.02 / (2 * Float(config.layers)).squareRoot(), generator: &generator)
    }

    /// x (B, T, C) → (B, T, C). With a `cache` (inference, B = 1) the T rows are the positions after the
    /// cache's `length`: their keys and values are appended to layer `layer` of the cache, and each query
    /// attends over every cached position up to its own.
    ///
    /// With `caches` (batched decoding, Chapter 12), row b of x (B, 1, C) is the next position of the sequence
    /// in `caches[b]`: each row is rotated by its own position and attends over its own cache, while the
    /// projections run on all B rows at once — the weights are read once for B tokens.
    public func callAsFunction(_ x: Variable, _ tape: Tape, causal: Bool = true, keyMask: [[Bool]]? = nil,
                               cache: KVCache? = nil, caches: [KVCache]? = nil, layer: Int = 0) -> Variable {
        var packed = qkv(x, tape)                                                         // (B, T, (H + 2G)·D)
        if let caches { return projection(attend(packed, caches: caches, layer: layer, tape), tape) }
        if rotary {
            packed = tape.rotary(packed, headSize: headSize, rotatedHeads: heads + kvHeads,
                                 positionOffset: cache?.length ?? 0, base: ropeBase)
        }
        let mixed = cache.map { $0.attend(packed, layer: layer, heads: heads) }           // (1, T, H·D)
            ?? tape.attention(packed, heads: heads, kvHeads: kvHeads, causal: causal, keyMask: keyMask)  // (B, T, H·D)
        return projection(mixed, tape)                                                     // (B, T, C)
    }

    /// One new position per sequence: (B, 1, (H + 2G)·D) packed rows → (B, 1, H·D), row b over `caches[b]`.
    private func attend(_ packed: Variable, caches: [KVCache], layer: Int, _ tape: Tape) -> Variable {
        let (b, width) = (packed.shape[0], packed.shape[2])
        let out = Tensor(uninitialized: [b, 1, heads * headSize])
        let rows: [Variable] = caches.enumerated().map { row, cache in   // each row at its own position
            let one = Tensor(uninitialized: [1, 1, width])
            one.base.update(from: packed.value.base + row * width, count: width)
            let rowPacked = Variable(one, name: "packed row")
            return rotary ? tape.rotary(rowPacked, headSize: headSize, rotatedHeads: heads + kvHeads,
                                        positionOffset: cache.length, base: ropeBase) : rowPacked
        }
        // One sequence per worker (each attends over its own cache; its heads then run inline).
        Parallel.forEach(b, fineGrained: true) { range in
            for row in range {
                let mixed = caches[row].attend(rows[row], layer: layer, heads: heads).value          // (1, 1, H·D)
                (out.base + row * heads * headSize).update(from: mixed.base, count: heads * headSize)
            }
        }
        return Variable(out, name: "batched cached attention")
    }

    public var namedParameters: [(String, Variable)] { qkv.namedParameters + projection.namedParameters }
}

/// The position-wise feed-forward network: GELU (fc → GELU → proj) or SwiGLU (down(SiLU(gate·x) ⊙ up·x)).
public final class MLP: ParameterContainer {
    public let kind: MLPKind
    public let first: Linear             // GELU: fc; SwiGLU: gate        hidden ← C
    public let up: Linear?               // SwiGLU only                   hidden ← C
    public let last: Linear              // GELU: proj; SwiGLU: down      C ← hidden

    public init(_ name: String, config: GPTConfig, generator: inout SeededGenerator) {
        kind = config.mlp
        let (c, hidden) = (config.embeddingSize, config.mlpHiddenSize)
        let residual = 0.02 / (2 * Float(config.layers)).squareRoot()
        switch config.mlp {
        case .gelu:
            first = Linear("\(name).fc", inputs: c, outputs: hidden, bias: config.bias,
                standardDeviation: 0.02, generator: &generator)
            up = nil
            last = Linear("\(name).proj", inputs: hidden, outputs: c, bias: config.bias,
                standardDeviation: residual, generator: &generator)
        case .swiglu:
            first = Linear("\(name).gate", inputs: c, outputs: hidden, bias: config.bias,
                standardDeviation: 0.02, generator: &generator)
            up = Linear("\(name).up", inputs: c, outputs: hidden, bias: config.bias,
                standardDeviation: 0.02, generator: &generator)
            last = Linear("\(name).down", inputs: hidden, outputs: c, bias: config.bias,
                standardDeviation: residual, generator: &generator)
        }
    }

    public func callAsFunction(_ x: Variable, _ tape: Tape) -> Variable {
        switch kind {
        case .gelu: return last(tape.gelu(first(x, tape)), tape)                                  // (B, T, C)
        case .swiglu: return last(tape.mul(tape.silu(first(x, tape)), up!(x, tape)), tape)       // (B, T, C)
        }
    }

    public var namedParameters: [(String, Variable)] {
        first.namedParameters + (up?.namedParameters ?? []) + last.namedParameters
    }
}

/// A pre-norm transformer block: x + attention(norm(x)), then + mlp(norm(x)).
public final class Block: ParameterContainer {
    public let norm1: Norm, attention: SelfAttention, norm2: Norm, mlp: MLP

    public init(_ name: String, config: GPTConfig, generator: inout SeededGenerator) {
        norm1 = Norm("\(name).norm1", kind: config.norm, size: config.embeddingSize, bias: config.bias,
            epsilon: config.normEpsilon)
        attention = SelfAttention("\(name).attn", config: config, generator: &generator)
        norm2 = Norm("\(name).norm2", kind: config.norm, size: config.embeddingSize, bias: config.bias,
            epsilon: config.normEpsilon)
        mlp = MLP("\(name).mlp", config: config, generator: &generator)
    }

    /// x (B, T, C) → (B, T, C); `cache` and `layer` as in `SelfAttention`.
    public func callAsFunction(_ x: Variable, _ tape: Tape, causal: Bool = true, keyMask: [[Bool]]? = nil,
                               cache: KVCache? = nil, caches: [KVCache]? = nil, layer: Int = 0) -> Variable {
        let attended = attention(norm1(x, tape), tape, causal: causal, keyMask: keyMask, cache: cache,
                                 caches: caches, layer: layer)
        let h = tape.add(x, attended)                                                            // (B, T, C)
        return tape.add(h, mlp(norm2(h, tape), tape))                                            // (B, T, C)
    }

    public var namedParameters: [(String, Variable)] {
        norm1.namedParameters + attention.namedParameters + norm2.namedParameters + mlp.namedParameters
    }
}
