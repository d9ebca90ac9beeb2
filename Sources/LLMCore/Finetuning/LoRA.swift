// Introduced in Chapter 06. Low-rank adaptation: leave W frozen and learn a low-rank update beside it,
//
//     y = x·Wᵀ + b + (α/r) · (dropout(x)·Aᵀ)·Bᵀ,      A (r, in) small random, B (out, r) zero,
//
// so a fresh adapter changes nothing, and only r·(in + out) numbers per layer train. The scale is α/r —
// not α: with α fixed, changing the rank keeps the update's size (Hu et al., 2021; PEFT's `lora_alpha`).
// `LoRAWeight` is one more kind of `LinearWeight`, swapped into the layers it targets; merging folds the
// update into W (an ordinary dense checkpoint), unmerging takes it out again. Detaching puts the plain
// weight back without touching it, so one base in memory can carry many adapters, one at a time
// (`AdapterLibrary`).

import Foundation

/// Which layers get an adapter, its rank, α and dropout — PEFT's `LoraConfig`, in our names.
public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    /// Layer-name suffixes: "attn.qkv" matches "blocks.0.attn.qkv" in every block (PEFT matches
    /// `target_modules` the same way: the name or its last dotted parts).
    public var targets: [String]
    /// Dropout on the adapter's input while training (0: none; inference never drops).
    public var dropout: Float
    /// What the adapter was trained on (PEFT's `base_model_name_or_path`; informational).
    public var baseModel: String
    /// Ids whose rows of "tok_embeddings" and/or "lm_head" train too (PEFT's `trainable_token_indices`;
    /// see TrainableTokens.swift). Empty: none.
    public var trainableTokens: [String: [Int]]
    /// The tables whose rows can train.
    public static let tokenModules = ["tok_embeddings", "lm_head"]

    /// Every linear layer of a block: attention q|k|v and projection, and the MLP's matrices.
    public static let allLinear = ["attn.qkv", "attn.proj", "mlp.fc", "mlp.proj", "mlp.gate", "mlp.up", "mlp.down"]
    public static let attentionOnly = ["attn.qkv", "attn.proj"]
    public static let mlpOnly = ["mlp.fc", "mlp.proj", "mlp.gate", "mlp.up", "mlp.down"]

    public init(rank: Int, alpha: Float, targets: [String] = LoRAConfig.allLinear, dropout: Float = 0,
                baseModel: String = "", trainableTokens: [String: [Int]] = [:]) {
        (self.rank, self.alpha, self.targets, self.dropout, self.baseModel) = (rank, alpha, targets, dropout, baseModel)
        self.trainableTokens = trainableTokens
    }

    /// `trainableTokens` for training `ids`' rows of every table a model has: the embedding, and the LM
    /// head unless it is the embedding (`tiedEmbeddings`).
    public static func tokenRows(_ ids: [Int], tiedEmbeddings: Bool) -> [String: [Int]] {
        ids.isEmpty ? [:] : tiedEmbeddings ? ["tok_embeddings": ids] : ["tok_embeddings": ids, "lm_head": ids]
    }

    /// α/r, the factor the update is multiplied by.
    public var scale: Float { alpha / Float(rank) }

    /// Whether the layer called `name` is a target.
    public func targets(_ name: String) -> Bool { targets.contains { name == $0 || name.hasSuffix("." + $0) } }

    /// What is wrong with the numbers, if anything (rank ≥ 1, α > 0 and finite, dropout in [0, 1)).
    public var problems: [String] {
        var out: [String] = []
        if rank < 1 { out.append("LoRA rank \(rank) must be 1 or more") }
        if !(alpha > 0 && alpha.isFinite) { out.append("lora_alpha \(alpha) must be a positive number") }
        if !(0..<1).contains(dropout) { out.append("lora_dropout \(dropout) must be in [0, 1)") }
        if targets.isEmpty { out.append("target_modules is empty") }
        for (module, ids) in trainableTokens.sorted(by: { $0.key < $1.key }) {
            if !Self.tokenModules.contains(module) {
                out.append("trainable_token_indices names \(module); the tables are " +
                           Self.tokenModules.joined(separator: " and "))
            }
            if Set(ids).count != ids.count || ids.contains(where: { $0 < 0 }) || ids.isEmpty {
                out.append("trainable_token_indices for \(module) must be distinct ids ≥ 0 (got \(ids))")
            }
        }
        return out
    }
}

/// W (frozen) + (α/r)·B·A, over any inner weight (dense here; Chapter 07's quantized weights too: QLoRA).
public final class LoRAWeight: LinearWeight {
    /// The weight the adapter sits on, frozen.
    public let inner: any LinearWeight
    public let a: Variable                    // (r, in)
    public let b: Variable                    // (out, r)
    public let config: LoRAConfig
    /// Whether B·A is folded into the inner dense matrix (then the product is the dense one).
    public private(set) var merged = false
    private var dropoutGenerator: SeededGenerator

    /// Wraps `inner` for the layer called `layer`; A is drawn N(0, 1/in) (Kaiming-like, as PEFT's default),
    /// B starts at zero. The rank is capped at min(out, in).
    public init(wrapping inner: any LinearWeight, layer: String, config: LoRAConfig,
                generator: inout SeededGenerator) {
        self.inner = inner
        inner.namedParameters.forEach { $0.1.freeze() }
        let rank = min(config.rank, min(inner.outputs, inner.inputs))
        a = .parameter(.randomNormal([rank, inner.inputs], standardDeviation: 1 / Float(inner.inputs).squareRoot(),
                                     using: &generator), name: "\(layer).lora_A.weight")
        b = .parameter(Tensor(zeros: [inner.outputs, rank]), name: "\(layer).lora_B.weight")
        self.config = config
        dropoutGenerator = SeededGenerator(seed: generator.next())
    }

    public var outputs: Int { inner.outputs }
    public var inputs: Int { inner.inputs }
    public var rank: Int { a.shape[0] }
    public var scale: Float { config.scale }
    /// The frozen matrix when the inner weight is dense (what merging changes).
    public var base: Variable? { (inner as? DenseWeight)?.matrix }

    public func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable {
        if merged { return inner.product(x, bias: bias, tape) }
        let input = tape.isRecording && config.dropout > 0
            ? tape.dropout(x, probability: config.dropout, generator: &dropoutGenerator) : x
        // One op: x·Wᵀ + b + (α/r)·(x·Aᵀ)·Bᵀ, scaled at rank r (the narrow end) and added straight into the
        // layer's output; over a weight that is not dense (Chapter 07's quantized W), onto its output.
        if let base { return tape.linearLowRank(x, weight: base, bias: bias, adapterInput: input, a: a, b: b,
                                                scale: scale) }
        return tape.addLowRank(inner.product(x, bias: bias, tape), input, a: a, b: b, scale: scale)
    }

    /// The inner weight's tensors, then A and B.
    public var namedParameters: [(String, Variable)] { inner.namedParameters + [(a.name, a), (b.name, b)] }

    /// (α/r)·B·A as an (out, in) matrix.
    public var delta: Tensor {
        var out = Tensor(zeros: [outputs, inputs])
        b.value.withUnsafeBufferPointer { bp in
            a.value.withUnsafeBufferPointer { ap in
                out.withUnsafeMutableBufferPointer { op in
                    BLAS.gemm(transposeA: false, transposeB: false, m: outputs, n: inputs, k: rank,
                              alpha: scale, a: bp.baseAddress!, b: ap.baseAddress!, beta: 0, c: op.baseAddress!)
                }
            }
        }
        return out
    }

    /// W ← W + sign·(α/r)·B·A.
    private func fold(_ sign: Float) throws {
        guard let base else {
            throw CourseError.invalidValue(name: "merge \(a.name.replacingOccurrences(of: ".lora_A.weight", with: ""))",
                                           value: "\(type(of: inner))",
                                           expected: "a dense Float32 weight to merge into (dequantize it first)")
        }
        let d = delta
        var w = base.value
        w.withUnsafeMutableBufferPointer { wp in
            d.withUnsafeBufferPointer { dp in for i in 0..<wp.count { wp[i] += sign * dp[i] } }
        }
        base.value = w
    }

    /// W ← W + (α/r)·B·A; the product is then the dense one.
    public func merge() throws { if !merged { try fold(1); merged = true } }
    /// W ← W − (α/r)·B·A: the adapter is separate again.
    public func unmerge() throws { if merged { try fold(-1); merged = false } }
}

/// The adapters of one model: apply, list, merge, unmerge, detach and attach again.
public final class LoRAAdapter {
    public let config: LoRAConfig
    /// The model it adapts.
    public let model: GPT
    /// The layers it adapts and their adapted weights, in the model's layer order.
    let targets: [(layer: Linear, weight: LoRAWeight)]
    /// Trainable token rows of the embedding and the LM head (empty without `trainable_token_indices`).
    public let tokens: (embedding: TokenRows?, head: TokenRows?)

    init(model: GPT, config: LoRAConfig, targets: [(layer: Linear, weight: LoRAWeight)],
         tokens: (embedding: TokenRows?, head: TokenRows?)) {
        (self.model, self.config, self.targets, self.tokens) = (model, config, targets, tokens)
    }

    private var tokenRows: [TokenRows] { [tokens.embedding, tokens.head].compactMap { $0 } }

    /// (layer name, its adapted weight), in the model's layer order.
    public var layers: [(String, LoRAWeight)] { targets.map { ($0.layer.name, $0.weight) } }

    /// Freezes every parameter of `model` and puts an adapter on each target layer. Throws when the
    /// config has a problem, no layer matches, or a target layer already carries an adapter.
    public static func apply(to model: GPT, config: LoRAConfig, seed: UInt64) throws -> LoRAAdapter {
        if let problem = config.problems.first {
            throw CourseError.invalidValue(name: "LoRA config", value: problem, expected: "rank ≥ 1, α > 0, " +
                                           "dropout in [0, 1), at least one target")
        }
        let chosen = model.linearLayers.filter { config.targets($0.name) }
        if chosen.isEmpty {
            let known = LoRAConfig.allLinear.joined(separator: ", ")
            throw CourseError.invalidValue(name: "LoRA targets", value: config.targets.joined(separator: ", "),
                                           expected: "names that match layers, e.g. \(known)")
        }
        if let taken = chosen.first(where: { $0.weight is LoRAWeight }) {
            throw CourseError.invalidValue(name: "layer \(taken.name)", value: "already has an adapter",
                                           expected: "a model without one (detach or merge the other adapter first)")
        }
        if model.embeddingRows != nil || model.headRows != nil {
            throw CourseError.invalidValue(name: "token rows", value: "already trained rows on this model",
                                           expected: "a model without them (detach the other adapter first)")
        }
        let vocabulary = model.config.vocabularySize
        for (module, ids) in config.trainableTokens {
            if module == "lm_head" && model.lmHead == nil {
                throw CourseError.invalidValue(name: "trainable_token_indices", value: "lm_head",
                                               expected: "tok_embeddings only: this model's head is its embedding")
            }
            if let bad = ids.first(where: { $0 >= vocabulary }) {
                throw CourseError.invalidValue(name: "trainable_token_indices for \(module)", value: "\(bad)",
                                               expected: "ids below the vocabulary size \(vocabulary)")
            }
        }
        model.freeze()
        var generator = SeededGenerator(seed: seed)
        let targets = chosen.map { layer -> (layer: Linear, weight: LoRAWeight) in
            let lora = LoRAWeight(wrapping: layer.weight, layer: layer.name, config: config, generator: &generator)
            layer.weight = lora
            return (layer, lora)
        }
        let embedding = config.trainableTokens["tok_embeddings"].map {
            TokenRows(table: model.tokenEmbedding, module: "tok_embeddings", ids: $0)
        }
        let head = config.trainableTokens["lm_head"].flatMap { ids in
            model.lmHead.map { TokenRows(table: $0, module: "lm_head", ids: ids) }
        }
        (model.embeddingRows, model.headRows) = (embedding, head)
        return LoRAAdapter(model: model, config: config, targets: targets, tokens: (embedding, head))
    }

    /// The adapter currently attached to `model`'s layers (nil when none is).
    public static func attached(to model: GPT) -> LoRAAdapter? {
        let targets = model.linearLayers.compactMap { layer in (layer.weight as? LoRAWeight).map { (layer, $0) } }
        guard let config = targets.first?.1.config else { return nil }
        return LoRAAdapter(model: model, config: config, targets: targets.map { (layer: $0.0, weight: $0.1) },
                           tokens: (model.embeddingRows, model.headRows))
    }

    /// Whether every target layer (and the token rows) currently computes with this adapter.
    public var isAttached: Bool {
        targets.allSatisfy { $0.layer.weight === $0.weight } && model.embeddingRows === tokens.embedding
            && model.headRows === tokens.head
    }

    /// Puts the plain weights back (unmerging first): the model is the base again, and the adapter is
    /// kept for `attach`.
    public func detach() throws {
        for (layer, weight) in targets where layer.weight === weight {
            try weight.unmerge()
            layer.weight = weight.inner
        }
        tokenRows.forEach { $0.unmerge() }
        if let rows = tokens.embedding, model.embeddingRows === rows { model.embeddingRows = nil }
        if let rows = tokens.head, model.headRows === rows { model.headRows = nil }
    }

    /// Puts this adapter back on its layers (which must carry their plain weights).
    public func attach() throws {
        for (layer, weight) in targets where layer.weight !== weight {
            guard layer.weight === weight.inner else {
                throw CourseError.invalidValue(name: "layer \(layer.name)", value: "carries another adapter",
                                               expected: "the plain weight (detach the other adapter first)")
            }
            layer.weight = weight
        }
        for (mine, current) in [(tokens.embedding, model.embeddingRows), (tokens.head, model.headRows)]
            where mine != nil && current != nil && mine !== current {
            throw CourseError.invalidValue(name: "token rows", value: "another adapter's rows are on the model",
                                           expected: "no rows (detach the other adapter first)")
        }
        if let rows = tokens.embedding { model.embeddingRows = rows }
        if let rows = tokens.head { model.headRows = rows }
    }

    /// The trainable tensors (every A and B, then the token rows), with their names.
    public var namedParameters: [(String, Variable)] {
        targets.flatMap { [($0.weight.a.name, $0.weight.a), ($0.weight.b.name, $0.weight.b)] }
            + tokenRows.map { ($0.rows.name, $0.rows) }
    }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.1.value.count } }

    /// Folds every update into its W (the model is then an ordinary dense model, as fast as the base).
    public func merge() throws {
        try targets.forEach { try $0.weight.merge() }
        tokenRows.forEach { $0.merge() }
    }
    public func unmerge() throws {
        try targets.forEach { try $0.weight.unmerge() }
        tokenRows.forEach { $0.unmerge() }
    }

    /// Whether a checkpoint tensor name is an adapter's (A, B or token rows).
    public static func isAdapterTensor(_ name: String) -> Bool {
        [".lora_A.weight", ".lora_B.weight", ".trainable_tokens_delta"].contains { name.hasSuffix($0) }
    }
}

/// One base model in memory, several adapters: `use(name)` switches between them (or back to the base with
/// nil) by swapping which weight each layer computes with — nothing is reloaded or copied.
public final class AdapterLibrary {
    public let model: GPT
    private var adapters: [(name: String, adapter: LoRAAdapter)] = []
    /// The adapter in use (nil: the base model).
    public private(set) var active: String?

    public init(model: GPT) { self.model = model }

    /// The adapters' names, in the order they were added.
    public var names: [String] { adapters.map(\.name) }

    public func adapter(_ name: String) -> LoRAAdapter? { adapters.first { $0.name == name }?.adapter }

    /// Loads the adapter saved in `folder` under `name` (default: the folder's name); the one in use stays.
    @discardableResult
    public func load(_ folder: URL, name: String? = nil) throws -> String {
        let name = name ?? folder.standardizedFileURL.lastPathComponent
        if adapter(name) != nil {
            throw CourseError.invalidValue(name: "adapter name", value: name, expected: "a name not loaded yet")
        }
        let current = active
        try use(nil)
        let adapter = try LoRAAdapter.load(from: folder, onto: model)
        try adapter.detach()
        adapters.append((name, adapter))
        try use(current)
        return name
    }

    /// Switches to the adapter called `name` (nil: the plain base model).
    public func use(_ name: String?) throws {
        guard name != active else { return }
        guard name.map({ adapter($0) != nil }) ?? true else {
            throw CourseError.invalidValue(name: "adapter", value: name ?? "",
                                           expected: "one of: " + (["none"] + names).joined(separator: ", "))
        }
        if let active, let current = adapter(active) { try current.detach() }
        active = nil
        if let name, let next = adapter(name) {
            try next.attach()
            active = name
        }
    }
}
