// Introduced in Chapter 06. A LoRA adapter on disk, in Hugging Face PEFT's layout (docs/checkpoints.md):
// `adapter_config.json` (r, lora_alpha, target_modules, …, trainable_token_indices) and
// `adapter_model.safetensors` (every A and B, and the trainable token rows, under PEFT's names). Saving
// writes both; loading checks each tensor's presence and shape against the base before it fills anything.

import Foundation

extension LoRAAdapter {
    public static let configFileName = "adapter_config.json", weightsFileName = "adapter_model.safetensors"

    /// PEFT's name for one of our adapter tensors: "base_model.model." + our name
    /// ("blocks.0.attn.qkv.lora_A.weight"), as PEFT prefixes the wrapped model's module path.
    public static func peftName(_ name: String) -> String { "base_model.model." + name }

    /// Whether `folder` holds an adapter (its config file).
    public static func exists(in folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(configFileName).path)
    }

    /// Writes `adapter_config.json` (PEFT's keys) and `adapter_model.safetensors` (A and B only) into `folder`.
    public func save(to folder: URL, baseModel: String? = nil) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CourseError.unwritable(path: folder.path, reason: error.localizedDescription)
        }
        let object: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": config.rank, "lora_alpha": Double(config.alpha),
            "target_modules": config.targets, "lora_dropout": Double(config.dropout), "fan_in_fan_out": false,
            "bias": "none", "base_model_name_or_path": baseModel ?? config.baseModel, "inference_mode": true,
            "use_rslora": false, "modules_to_save": NSNull(), "trainable_token_indices": tokenIndicesJSON,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: folder.appendingPathComponent(Self.configFileName))
        try SafetensorsFile.write(namedParameters.map { (Self.peftName($0.0), $0.1.value) },
                                  metadata: ["format": "pt"], to: folder.appendingPathComponent(Self.weightsFileName))
    }

    /// PEFT's `trainable_token_indices`: null, a list (the input embedding's rows; a tied head shares them) or
    /// a table → ids object.
    private var tokenIndicesJSON: Any {
        let chosen = config.trainableTokens
        if chosen.isEmpty { return NSNull() }
        if chosen.count == 1, let ids = chosen["tok_embeddings"] { return ids }
        return chosen
    }

    /// Reads `adapter_config.json` in `folder`; every problem is named.
    public static func readConfig(in folder: URL) throws -> LoRAConfig {
        let url = folder.appendingPathComponent(configFileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError(path: url.path,
                                  reason: "the file does not exist; is \(folder.path) an adapter folder?")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CheckpointError(path: url.path, reason: "not a JSON object")
        }
        guard let r = object["r"] as? NSNumber, r.doubleValue == r.doubleValue.rounded(), abs(r.doubleValue) < 1e9,
              let alpha = (object["lora_alpha"] as? NSNumber)?.floatValue,
              let targets = object["target_modules"] as? [String] else {
            throw CheckpointError(path: url.path, reason: "not a LoRA adapter config (needs a whole number r, " +
                                  "lora_alpha and " +
                                  "target_modules as a list of names)")
        }
        if let type = object["peft_type"] as? String, type != "LORA" {
            throw CheckpointError(path: url.path, reason: "peft_type is \(type); only LORA adapters are supported")
        }
        if object["fan_in_fan_out"] as? Bool == true {
            throw CheckpointError(path: url.path, reason: "fan_in_fan_out is true (GPT-2 Conv1D layout); our " +
                                  "weights are (out, in), so it must be false")
        }
        if object["use_rslora"] as? Bool == true {
            throw CheckpointError(path: url.path, reason: "use_rslora is true (scale α/√r); only α/r is supported")
        }
        var tokens: [String: [NSNumber]] = [:]
        switch object["trainable_token_indices"] {
        case nil, is NSNull: break
        case let ids as [NSNumber]: tokens["tok_embeddings"] = ids
        case let table as [String: [NSNumber]]: tokens = table
        default:
            throw CheckpointError(path: url.path, reason: "trainable_token_indices must be null, a list of ids " +
                                  "or an object of table name → ids")
        }
        if let bad = tokens.values.joined().first(where: { $0.doubleValue != $0.doubleValue.rounded()
                                                           || abs($0.doubleValue) > 1e9 }) {
            throw CheckpointError(path: url.path, reason: "trainable_token_indices holds \(bad), not a token id")
        }
        let config = LoRAConfig(rank: r.intValue, alpha: alpha, targets: targets,
                                dropout: (object["lora_dropout"] as? NSNumber)?.floatValue ?? 0,
                                baseModel: object["base_model_name_or_path"] as? String ?? "",
                                trainableTokens: tokens.mapValues { $0.map(\.intValue) })
        if let problem = config.problems.first { throw CheckpointError(path: url.path, reason: problem) }
        return config
    }

    /// Puts the adapter saved in `folder` onto `model` (which must be the base it was trained on): reads the
    /// config, adapts its targets, and fills every A and B, checking each tensor's presence and shape first.
    public static func load(from folder: URL, onto model: GPT) throws -> LoRAAdapter {
        let config = try readConfig(in: folder)
        let file = try SafetensorsFile.read(folder.appendingPathComponent(weightsFileName))
        let adapter = try apply(to: model, config: config, seed: 0)
        do {
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
            let expected = Set(adapter.namedParameters.map { peftName($0.0) })
            if let extra = file.entries.first(where: { !expected.contains($0.name) }) {
                throw CheckpointError(path: file.path, tensor: extra.name,
                                      reason: "is not an adapter tensor of this base model (targets " +
                                              "\(config.targets.joined(separator: ", ")))")
            }
        } catch {
            try? adapter.detach()                         // leave the model as it was
            throw error
        }
        return adapter
    }
}
