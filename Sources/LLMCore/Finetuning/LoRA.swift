// Introduced in Chapter 06 (first pieces; the chapter is still to come). Low-rank adaptation: leave W frozen
// and learn a low-rank update beside it,
//
//     y = x·Wᵀ + b + (α/r) · (x·Aᵀ)·Bᵀ,      A (r, in) small random, B (out, r) zero,
//
// so a fresh adapter changes nothing, and only r·(in + out) numbers per layer train. The scale is α/r —
// not α: with α fixed, changing the rank keeps the update's size (Hu et al., 2021; PEFT's `lora_alpha`).
// `LoRAWeight` is one more kind of `LinearWeight`, swapped into the layers it targets; merging folds the
// update into W (an ordinary dense checkpoint), unmerging takes it out again.

import Foundation

/// Which layers get an adapter, its rank and its α.
public struct LoRAConfig: Sendable, Equatable, Codable {
    public var rank: Int
    public var alpha: Float
    /// Layer-name suffixes: "attn.qkv" matches "blocks.0.attn.qkv" in every block.
    public var targets: [String]

    /// Every linear layer of a block: attention q|k|v and projection, and the MLP's matrices.
    public static let allLinear = ["attn.qkv", "attn.proj", "mlp.fc", "mlp.proj", "mlp.gate", "mlp.up", "mlp.down"]

    public init(rank: Int, alpha: Float, targets: [String] = LoRAConfig.allLinear) {
        (self.rank, self.alpha, self.targets) = (rank, alpha, targets)
    }

    /// α/r, the factor the update is multiplied by.
    public var scale: Float { alpha / Float(rank) }

    /// Whether the layer called `name` is a target.
    public func targets(_ name: String) -> Bool { targets.contains { name == $0 || name.hasSuffix("." + $0) } }
}

/// W (frozen) + (α/r)·B·A.
public final class LoRAWeight: LinearWeight {
    public let base: Variable                 // (out, in), frozen
    public let a: Variable                    // (r, in)
    public let b: Variable                    // (out, r)
    public let scale: Float
    /// Whether B·A is folded into `base` (then the product is the dense one).
    public private(set) var merged = false

    /// Wraps a dense weight; A is drawn N(0, 1/in) (Kaiming-like, as PEFT's default), B starts at zero.
    public init(wrapping dense: DenseWeight, rank: Int, scale: Float, generator: inout SeededGenerator) {
        base = dense.matrix
        base.freeze()
        let (outputs, inputs) = (dense.outputs, dense.inputs)
        a = .parameter(.randomNormal([rank, inputs], standardDeviation: 1 / Float(inputs).squareRoot(),
                                     using: &generator), name: base.name.replacingOccurrences(of: ".weight",
                                                                                              with: ".lora_A.weight"))
        b = .parameter(Tensor(zeros: [outputs, rank]),
                       name: base.name.replacingOccurrences(of: ".weight", with: ".lora_B.weight"))
        self.scale = scale
    }

    public var outputs: Int { base.shape[0] }
    public var inputs: Int { base.shape[1] }

    public func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable {
        let y = tape.linear(x, weight: base, bias: bias)
        if merged { return y }
        let low = tape.matmul(tape.matmul(x, a, transposeB: true), b, transposeB: true)    // (…, r) → (…, out)
        return tape.add(y, tape.scale(low, by: scale))
    }

    public var namedParameters: [(String, Variable)] { [(base.name, base), (a.name, a), (b.name, b)] }

    /// (α/r)·B·A as an (out, in) matrix.
    public var delta: Tensor {
        var out = Tensor(zeros: [outputs, inputs])
        b.value.withUnsafeBufferPointer { bp in
            a.value.withUnsafeBufferPointer { ap in
                out.withUnsafeMutableBufferPointer { op in
                    BLAS.gemm(transposeA: false, transposeB: false, m: outputs, n: inputs, k: a.shape[0],
                              alpha: scale, a: bp.baseAddress!, b: ap.baseAddress!, beta: 0, c: op.baseAddress!)
                }
            }
        }
        return out
    }

    /// W ← W + (α/r)·B·A (`sign` −1: back).
    func fold(_ sign: Float) {
        let d = delta
        var w = base.value
        w.withUnsafeMutableBufferPointer { wp in
            d.withUnsafeBufferPointer { dp in for i in 0..<wp.count { wp[i] += sign * dp[i] } }
        }
        base.value = w
    }

    public func merge() { if !merged { fold(1); merged = true } }
    public func unmerge() { if merged { fold(-1); merged = false } }
}

/// The adapters of one model: apply, list, merge, unmerge.
public struct LoRAAdapter {
    public let config: LoRAConfig
    /// (layer name, its adapted weight), in the model's layer order.
    public let layers: [(String, LoRAWeight)]

    /// Freezes every parameter of `model` and puts an adapter on each target layer. Throws when no layer
    /// matches or a target layer is not dense.
    public static func apply(to model: GPT, config: LoRAConfig, seed: UInt64) throws -> LoRAAdapter {
        guard config.rank >= 1 else {
            throw CourseError.invalidValue(name: "LoRA rank", value: "\(config.rank)", expected: "1 or more")
        }
        model.freeze()
        var generator = SeededGenerator(seed: seed)
        var layers: [(String, LoRAWeight)] = []
        for layer in model.linearLayers where config.targets(layer.name) {
            guard let dense = layer.weight as? DenseWeight else {
                throw CourseError.invalidValue(name: "layer \(layer.name)", value: "\(type(of: layer.weight))",
                                               expected: "a dense weight to adapt (merge other adapters first)")
            }
            let lora = LoRAWeight(wrapping: dense, rank: min(config.rank, min(dense.outputs, dense.inputs)),
                                  scale: config.scale, generator: &generator)
            layer.weight = lora
            layers.append((layer.name, lora))
        }
        if layers.isEmpty {
            let known = LoRAConfig.allLinear.joined(separator: ", ")
            throw CourseError.invalidValue(name: "LoRA targets", value: config.targets.joined(separator: ", "),
                                           expected: "names that match layers, e.g. \(known)")
        }
        return LoRAAdapter(config: config, layers: layers)
    }

    /// The trainable tensors (every A and B), with their names.
    public var namedParameters: [(String, Variable)] {
        layers.flatMap { [($0.1.a.name, $0.1.a), ($0.1.b.name, $0.1.b)] }
    }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.1.value.count } }

    public func merge() { layers.forEach { $0.1.merge() } }
    public func unmerge() { layers.forEach { $0.1.unmerge() } }
}

// MARK: Files in Hugging Face PEFT's layout

extension LoRAAdapter {
    public static let configFileName = "adapter_config.json", weightsFileName = "adapter_model.safetensors"

    /// PEFT's name for one of our adapter tensors: "base_model.model." + our name
    /// ("blocks.0.attn.qkv.lora_A.weight"), as PEFT prefixes the wrapped model's module path.
    public static func peftName(_ name: String) -> String { "base_model.model." + name }

    /// Writes `adapter_config.json` (PEFT's keys) and `adapter_model.safetensors` (A and B only) into `folder`.
    public func save(to folder: URL, baseModel: String) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CourseError.unwritable(path: folder.path, reason: error.localizedDescription)
        }
        let object: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": config.rank, "lora_alpha": Double(config.alpha),
            "target_modules": config.targets, "lora_dropout": 0.0, "fan_in_fan_out": false, "bias": "none",
            "base_model_name_or_path": baseModel, "inference_mode": true,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: folder.appendingPathComponent(Self.configFileName))
        try SafetensorsFile.write(namedParameters.map { (Self.peftName($0.0), $0.1.value) },
                                  metadata: ["format": "pt"], to: folder.appendingPathComponent(Self.weightsFileName))
    }

    /// Puts the adapter saved in `folder` onto `model` (which must be the base it was trained on): reads the
    /// config, adapts its targets, and fills every A and B, checking each tensor's presence and shape first.
    public static func load(from folder: URL, onto model: GPT) throws -> LoRAAdapter {
        let configURL = folder.appendingPathComponent(configFileName)
        guard let data = FileManager.default.contents(atPath: configURL.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let rank = object["r"] as? Int, let alpha = (object["lora_alpha"] as? NSNumber)?.floatValue,
              let targets = object["target_modules"] as? [String], rank >= 1 else {
            throw CheckpointError(path: configURL.path,
                                  reason: "not a LoRA adapter config (needs r ≥ 1, lora_alpha, target_modules)")
        }
        let file = try SafetensorsFile.read(folder.appendingPathComponent(weightsFileName))
        let adapter = try apply(to: model, config: LoRAConfig(rank: rank, alpha: alpha, targets: targets), seed: 0)
        for (name, parameter) in adapter.namedParameters {
            let stored = peftName(name)
            guard let entry = file.entry(stored) else {
                throw CheckpointError(path: file.path, tensor: stored,
                                      reason: "is missing; was the adapter trained on another model?")
            }
            guard entry.shape == parameter.shape else {
                throw CheckpointError(path: file.path, tensor: stored,
                                      reason: "has shape \(entry.shape), but this base model needs " +
                                              "\(parameter.shape): the adapter was trained on another base")
            }
            parameter.value = try file.tensor(stored)
        }
        return adapter
    }
}
