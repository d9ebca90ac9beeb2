// Introduced in Chapter 03. The model's shape as a value: Codable (saved as config.json beside the
// weights), Equatable, with the two families the literature keeps returning to as named presets.

/// Which normalisation each block uses.
public enum NormKind: String, Codable, Sendable, CaseIterable { case layerNorm, rmsNorm }
/// How positions enter the model.
public enum PositionKind: String, Codable, Sendable, CaseIterable { case learned, sinusoidal, rotary }
/// The feed-forward network of each block.
public enum MLPKind: String, Codable, Sendable, CaseIterable { case gelu, swiglu }

public struct GPTConfig: Codable, Equatable, Sendable {
    /// V: ids the model reads and predicts.
    public var vocabularySize: Int
    /// Tmax: the longest sequence it attends over.
    public var contextLength: Int
    /// L: transformer blocks.
    public var layers: Int
    /// H: query heads per block.
    public var heads: Int
    /// G: key/value heads (G == H: multi-head attention; 1: multi-query; otherwise grouped-query).
    public var kvHeads: Int
    /// C: the width of the residual stream.
    public var embeddingSize: Int
    /// The MLP's hidden width (4·C for GELU; about 8/3·C for SwiGLU).
    public var mlpHiddenSize: Int
    public var norm: NormKind
    public var positions: PositionKind
    public var mlp: MLPKind
    /// The LM head reuses the token embedding matrix (saves V·C parameters).
    public var tiedEmbeddings: Bool
    /// Linear layers and LayerNorm have biases (GPT-2 yes, Llama no).
    public var bias: Bool
    public var normEpsilon: Float
    public var ropeBase: Float

    /// D: the size of one head.
    public var headSize: Int { embeddingSize / heads }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", contextLength = "context_length", layers = "n_layer", heads = "n_head"
        case kvHeads = "n_kv_head", embeddingSize = "n_embd", mlpHiddenSize = "mlp_hidden", norm, positions, mlp
        case tiedEmbeddings = "tied_embeddings", bias, normEpsilon = "norm_eps", ropeBase = "rope_base"
    }

    /// GPT-2's recipe: LayerNorm, learned positions, GELU MLP (4·C), multi-head attention, biases, tied embeddings.
    public static func gpt2Style(vocabularySize: Int, contextLength: Int, layers: Int, heads: Int,
                                 embeddingSize: Int) -> GPTConfig {
        GPTConfig(vocabularySize: vocabularySize, contextLength: contextLength, layers: layers,
                  heads: heads, kvHeads: heads,
                  embeddingSize: embeddingSize, mlpHiddenSize: 4 * embeddingSize, norm: .layerNorm, positions: .learned,
                  mlp: .gelu, tiedEmbeddings: true, bias: true, normEpsilon: 1e-5, ropeBase: 10_000)
    }

    /// Llama's recipe: RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention, no biases, untied head.
    /// The SwiGLU width is 8/3·C rounded up to a multiple of 64 (llama2.c's 'small' shape: 384 → 1024).
    public static func llamaStyle(vocabularySize: Int, contextLength: Int, layers: Int, heads: Int, kvHeads: Int,
                                  embeddingSize: Int) -> GPTConfig {
        let hidden = (8 * embeddingSize / 3 + 63) / 64 * 64
        return GPTConfig(vocabularySize: vocabularySize, contextLength: contextLength, layers: layers, heads: heads,
                         kvHeads: kvHeads, embeddingSize: embeddingSize, mlpHiddenSize: hidden, norm: .rmsNorm,
                         positions: .rotary, mlp: .swiglu, tiedEmbeddings: false, bias: false,
                         normEpsilon: 1e-5, ropeBase: 10_000)
    }

    /// The course's sizes: 'tiny' (seconds per hundred steps) and 'small' (the course model, minutes).
    public enum Size: String, CaseIterable, Sendable { case tiny, small }

    public static func gpt2Style(_ size: Size, vocabularySize: Int? = nil) -> GPTConfig {
        switch size {
        case .tiny: return gpt2Style(vocabularySize: vocabularySize ?? 512, contextLength: 128, layers: 4,
                                     heads: 4, embeddingSize: 128)
        case .small: return gpt2Style(vocabularySize: vocabularySize ?? 4096, contextLength: 256, layers: 6,
                                      heads: 6, embeddingSize: 384)
        }
    }

    public static func llamaStyle(_ size: Size, vocabularySize: Int? = nil) -> GPTConfig {
        switch size {
        case .tiny: return llamaStyle(vocabularySize: vocabularySize ?? 512, contextLength: 128, layers: 4, heads: 4,
                                      kvHeads: 2, embeddingSize: 128)
        case .small: return llamaStyle(vocabularySize: vocabularySize ?? 4096, contextLength: 256, layers: 6, heads: 6,
                                       kvHeads: 2, embeddingSize: 384)
        }
    }

    /// The presets by name, for `--preset`: gpt2-tiny, gpt2-small, llama-tiny, llama-small.
    public static func preset(_ name: String, vocabularySize: Int? = nil) -> GPTConfig? {
        let parts = name.split(separator: "-")
        guard parts.count == 2, let size = Size(rawValue: String(parts[1])) else { return nil }
        switch parts[0] {
        case "gpt2": return gpt2Style(size, vocabularySize: vocabularySize)
        case "llama": return llamaStyle(size, vocabularySize: vocabularySize)
        default: return nil
        }
    }

    public static let presetNames = ["gpt2-tiny", "gpt2-small", "llama-tiny", "llama-small"]

    /// Problems that make the config unusable, in words (empty when it is fine).
    public var problems: [String] {
        var found: [String] = []
        // Upper bounds keep every product below (V + Tmax)·C·L fitting 64 bits, so a hand-edited
        // config.json is refused in words instead of overflowing (release builds have no overflow traps)
        // or failing to allocate terabytes.
        let limits: [(String, Int, Int)] = [
            ("vocab_size", vocabularySize, 1 << 22), ("context_length", contextLength, 1 << 20),
                ("n_layer", layers, 1024),
            ("n_head", heads, 1024), ("n_kv_head", kvHeads, 1024), ("n_embd", embeddingSize, 1 << 16),
            ("mlp_hidden", mlpHiddenSize, 1 << 18)]
        for (name, value, limit) in limits where value < 1 || value > limit {
            found.append("\(name) is \(value); it must be from 1 to \(limit)")
        }
        if !found.isEmpty { return found }
        if embeddingSize % heads != 0 { found.append("n_embd \(embeddingSize) is not divisible by n_head \(heads)") }
        if heads % kvHeads != 0 { found.append("n_head \(heads) is not divisible by n_kv_head \(kvHeads)") }
        if positions == .rotary && (embeddingSize / heads) % 2 != 0 { found.append("rotary positions need an even " +
            "head size, got \(embeddingSize / heads)") }
        if !normEpsilon.isFinite || normEpsilon <= 0 { found.append("norm_eps is \(normEpsilon); it must be a small " +
                                                                    "positive number") }
        if !ropeBase.isFinite || ropeBase <= 1 { found.append("rope_base is \(ropeBase); it must be a number above 1") }
        return found
    }

    /// Every parameter's checkpoint name and shape, in `GPT.namedParameters` order, computed from the config
    /// alone (no allocation): what `Checkpoint.load` checks a file against before building the model.
    public var parameterShapes: [(String, [Int])] {
        let (v, c, d, f) = (vocabularySize, embeddingSize, headSize, mlpHiddenSize)
        var shapes: [(String, [Int])] = [("tok_embeddings.weight", [v, c])]
        if positions == .learned { shapes.append(("pos_embeddings.weight", [contextLength, c])) }
        func linear(_ name: String, _ outputs: Int, _ inputs: Int) {
            shapes.append(("\(name).weight", [outputs, inputs]))
            if bias { shapes.append(("\(name).bias", [outputs])) }
        }
        func normalisation(_ name: String) {
            shapes.append(("\(name).weight", [c]))
            if norm == .layerNorm && bias { shapes.append(("\(name).bias", [c])) }
        }
        for layer in 0..<layers {
            let block = "blocks.\(layer)"
            normalisation("\(block).norm1")
            linear("\(block).attn.qkv", (heads + 2 * kvHeads) * d, c)
            linear("\(block).attn.proj", c, heads * d)
            normalisation("\(block).norm2")
            switch mlp {
            case .gelu:
                linear("\(block).mlp.fc", f, c)
                linear("\(block).mlp.proj", c, f)
            case .swiglu:
                linear("\(block).mlp.gate", f, c)
                linear("\(block).mlp.up", f, c)
                linear("\(block).mlp.down", c, f)
            }
        }
        normalisation("norm_f")
        if !tiedEmbeddings { shapes.append(("lm_head.weight", [v, c])) }
        return shapes
    }
}
