// Introduced in Chapter 03. A checkpoint is a folder: `model.safetensors` (the weights, named as in
// docs/checkpoints.md) and `config.json` (the GPTConfig). Loading checks the config against every
// tensor and names the first one that does not fit.

import Foundation

public enum Checkpoint {
    public static let weightsFileName = "model.safetensors"
    public static let configFileName = "config.json"

    /// Writes the model's parameters and config into `folder` (each file atomically). LoRA adapters are not
    /// part of it: an unmerged adapter's W is written as it is (the base), a merged one's as W + (α/r)·B·A —
    /// save the adapter itself with `LoRAAdapter.save`.
    public static func save(_ model: GPT, to folder: URL, dtype: DType = .F32,
                            metadata: [String: String] = [:]) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CourseError.unwritable(path: folder.path, reason: error.localizedDescription)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(model.config), to: folder.appendingPathComponent(configFileName))
        let url = folder.appendingPathComponent(weightsFileName)
        if !model.quantizedMatrices.isEmpty {               // Chapter 07: integers and scales, the rest F32
            let (stored, quantization) = try QuantizedCheckpoint.tensors(of: model)
            let all = metadata.merging(quantization) { _, b in b }.merging(["format": "pt"]) { a, _ in a }
            try SafetensorsFile.write(stored, metadata: all, to: url)
            return
        }
        let stored = model.namedParameters.filter { !LoRAAdapter.isAdapterTensor($0.0) }
        try SafetensorsFile.write(stored.map { ($0.0, $0.1.value) }, dtype: dtype,
                                  metadata: metadata.merging(["format": "pt"]) { a, _ in a }, to: url)
    }

    /// Reads a checkpoint's config (a clear error when it is missing, malformed or unusable).
    public static func config(in folder: URL, file: URL? = nil) throws -> GPTConfig {
        let url = file ?? folder.appendingPathComponent(configFileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CheckpointError(path: url.path, reason: "the file does not exist")
        }
        return try parseConfig(data, path: url.path)
    }

    /// A config from config.json's bytes, checked for every problem `GPTConfig.problems` knows.
    public static func parseConfig(_ data: Data, path: String) throws -> GPTConfig {
        let config: GPTConfig
        do { config = try JSONDecoder().decode(GPTConfig.self, from: data) } catch {
            throw CheckpointError(path: path, reason: "not a model config: \(describe(error))")
        }
        if let problem = config.problems.first { throw CheckpointError(path: path, reason: problem) }
        return config
    }

    /// Loads a model: config, then every parameter the config implies, each checked for presence, shape
    /// and dtype against the file *before* anything is allocated (a hand-edited config cannot make us
    /// allocate what the file does not hold).
    public static func load(from folder: URL) throws -> GPT {
        let config = try config(in: folder)
        let file = try SafetensorsFile.read(folder.appendingPathComponent(weightsFileName))
        let quantized = try QuantizedCheckpoint.matrices(in: file, config: config)          // Chapter 07
        let expected = config.parameterShapes
        for (name, shape) in expected where quantized[name] == nil {
            guard let entry = file.entry(name) else {
                throw CheckpointError(path: file.path, tensor: name,
                                      reason: "is missing, but the config (\(configFileName)) needs it with shape " +
                                              "\(shape)")
            }
            guard entry.shape == shape else {
                throw CheckpointError(path: file.path, tensor: name,
                                      reason: "has shape \(entry.shape) but the config needs \(shape)")
            }
            guard entry.dtype.integerRange == nil else {
                throw CheckpointError(path: file.path, tensor: name,
                                      reason: "is \(entry.dtype.rawValue), but model weights must be F32, F16 or BF16")
            }
        }
        let known = Set(expected.map(\.0)).union(QuantizedCheckpoint.storedNames(quantized))
        if let extra = file.entries.first(where: { !known.contains($0.name) }) {
            throw CheckpointError(path: file.path, tensor: extra.name,
                                  reason: "is not part of the model the config describes")
        }
        let model = try GPT(config, seed: 0)
        for layer in model.linearLayers {
            if let matrix = quantized["\(layer.name).weight"] {
                layer.weight = QuantizedWeight(matrix, name: "\(layer.name).weight")
            }
        }
        let headName = GPT.headName + ".weight"
        model.quantizedHead = quantized[headName].map { QuantizedWeight($0, name: headName) }
        for (name, parameter) in model.namedParameters { parameter.value = try file.tensor(name) }
        return model
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return context.codingPath.isEmpty ? "not valid JSON" : "bad value at '\(path)'"
        default: return "\(error)"
        }
    }
}
