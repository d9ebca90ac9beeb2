// Corrupt checkpoints: each problem gives one clear error naming the file and, where there is one, the
// tensor — never a crash.

import Foundation
import Testing
@testable import LLMCore

/// A safetensors file from a header object and a data buffer of `bytes` bytes.
func craftedSafetensors(_ header: [String: Any], bytes: Int, name: String = #function) throws -> URL {
    let url = temporaryFolder(name).appendingPathComponent("crafted.safetensors")
    let json = try JSONSerialization.data(withJSONObject: header)
    var data = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    data.append(Data(count: bytes))
    try data.write(to: url)
    return url
}

func expectCheckpointError(_ url: URL, tensor: String?, mentions: String, _ comment: String = "") {
    do {
        _ = try SafetensorsFile.read(url)
        Issue.record("expected an error: \(comment)")
    } catch let error as CheckpointError {
        #expect(error.tensor == tensor && error.reason.contains(mentions) && error.description.contains(url.path), "\(error)")
    } catch {
        Issue.record("unexpected error type: \(error)")
    }
}

@Suite("Corrupt checkpoints")
struct CorruptCheckpointTests {
    func entry(_ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> [String: Any] {
        ["dtype": dtype, "shape": shape, "data_offsets": [begin, end]]
    }

    @Test("truncated: data cut short, header cut short, file shorter than 8 bytes")
    func truncated() throws {
        let folder = temporaryFolder()
        let url = folder.appendingPathComponent("t.safetensors")
        try SafetensorsFile.write([("a", Tensor(zeros: [4])), ("b", Tensor(zeros: [8]))], to: url)
        let full = try Data(contentsOf: url)
        try full.prefix(full.count - 4).write(to: url)
        expectCheckpointError(url, tensor: "b", mentions: "past the data buffer", "data cut")
        try full.prefix(20).write(to: url)
        expectCheckpointError(url, tensor: nil, mentions: "header claims", "header cut")
        try full.prefix(5).write(to: url)
        expectCheckpointError(url, tensor: nil, mentions: "too short", "5 bytes")
    }

    @Test("bad JSON, wrong dtype, shape against byte length, overlap, hole, unused bytes")
    func header() throws {
        let url = temporaryFolder().appendingPathComponent("bad.safetensors")
        var data = Data()
        withUnsafeBytes(of: UInt64(5).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data("{oops".utf8))
        try data.write(to: url)
        expectCheckpointError(url, tensor: nil, mentions: "not a JSON object", "bad JSON")

        expectCheckpointError(try craftedSafetensors(["w": entry("F64", [2], 0, 16)], bytes: 16, name: "dtype"),
                              tensor: "w", mentions: "dtype F64 is not supported")
        expectCheckpointError(try craftedSafetensors(["w": entry("F32", [3], 0, 16)], bytes: 16, name: "length"),
                              tensor: "w", mentions: "needs 12 bytes but data_offsets span 16")
        expectCheckpointError(try craftedSafetensors(["a": entry("F32", [4], 0, 16), "b": entry("F32", [4], 8, 24)], bytes: 24, name: "overlap"),
                              tensor: "b", mentions: "overlap")
        expectCheckpointError(try craftedSafetensors(["a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)], bytes: 20, name: "hole"),
                              tensor: "b", mentions: "hole")
        expectCheckpointError(try craftedSafetensors(["a": entry("F32", [2], 0, 8)], bytes: 12, name: "unused"),
                              tensor: nil, mentions: "4 bytes no tensor uses")
        expectCheckpointError(try craftedSafetensors(["a": ["dtype": "F32", "shape": [-1], "data_offsets": [0, 0]]], bytes: 0, name: "negative"),
                              tensor: "a", mentions: "is not a list of whole numbers")
    }

    @Test("config against tensors: a missing tensor, a wrong shape, an extra tensor, a broken config")
    func configMismatch() throws {
        let folder = temporaryFolder()
        let config = microConfigs()[0]
        try Checkpoint.save(try GPT(config, seed: 1), to: folder)
        let configURL = folder.appendingPathComponent(Checkpoint.configFileName)
        func rewrite(_ edit: (inout GPTConfig) -> Void) throws {
            var changed = config
            edit(&changed)
            try JSONEncoder().encode(changed).write(to: configURL)
        }
        func expectError(tensor: String?, mentions: String) {
            do {
                _ = try Checkpoint.load(from: folder)
                Issue.record("expected an error mentioning \(mentions)")
            } catch let error as CheckpointError {
                #expect(error.tensor == tensor && error.description.contains(mentions), "\(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        try rewrite { $0.layers = 3 }
        expectError(tensor: "blocks.2.norm1.weight", mentions: "is missing")
        try rewrite { $0.mlpHiddenSize = 16 }
        expectError(tensor: "blocks.0.mlp.fc.weight", mentions: "has shape [12, 8] but the config needs [16, 8]")
        try rewrite { $0.layers = 1 }
        expectError(tensor: "blocks.1.norm1.weight", mentions: "is not part of the model")
        try Data("{\"vocab_size\": 3}".utf8).write(to: configURL)
        expectError(tensor: nil, mentions: "missing key")
        try rewrite { $0.heads = 3 }
        expectError(tensor: nil, mentions: "not divisible")
    }

    @Test("hand-edited headers: overflowing shapes, fractional or huge offsets, strings for numbers, bad metadata")
    func handEditedHeaders() throws {
        let cases: [(String, [String: Any], Int, String?, String)] = [
            ("overflow", ["w": ["dtype": "F32", "shape": [4_294_967_296, 4_294_967_296, 16], "data_offsets": [0, 0]]], 0,
             "w", "more elements than can be addressed"),
            ("overflow-bytes", ["w": ["dtype": "I64", "shape": [1_152_921_504_606_846_976, 2], "data_offsets": [0, 0]]], 0,
             "w", "more elements than can be addressed"),
            ("half-offset", ["w": ["dtype": "F32", "shape": [1], "data_offsets": [0.5, 4]]], 4, "w", "data_offsets is not"),
            ("huge-offset", ["w": ["dtype": "F32", "shape": [1], "data_offsets": [0, 1e300]]], 4, "w", "data_offsets is not"),
            ("string-offset", ["w": ["dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]]], 4, "w", "data_offsets is not"),
            ("half-shape", ["w": ["dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]]], 8, "w", "not a list of whole numbers"),
            ("string-shape", ["w": ["dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]]], 8, "w", "not a list of whole numbers"),
            ("no-shape", ["w": ["dtype": "F32", "data_offsets": [0, 8]]], 8, "w", "shape is missing"),
            ("dtype-number", ["w": ["dtype": 7, "shape": [2], "data_offsets": [0, 8]]], 8, "w", "dtype is missing or not a string"),
            ("metadata", ["__metadata__": ["step": 3], "w": ["dtype": "F32", "shape": [1], "data_offsets": [0, 4]]], 4,
             nil, "__metadata__ value of 'step' is not a string"),
        ]
        for (name, header, bytes, tensor, mentions) in cases {
            expectCheckpointError(try craftedSafetensors(header, bytes: bytes, name: name), tensor: tensor, mentions: mentions, name)
        }
    }

    @Test("a hand-edited config.json is checked against the tensors before anything is allocated")
    func handEditedConfig() throws {
        let folder = temporaryFolder()
        let config = microConfigs()[0]
        try Checkpoint.save(try GPT(config, seed: 1), to: folder)
        let configURL = folder.appendingPathComponent(Checkpoint.configFileName)
        func expectError(_ edit: (inout [String: Any]) -> Void, tensor: String?, mentions: String) throws {
            let object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(config)) as? [String: Any])
            try writeEdited(object, to: configURL, edit)
            do {
                _ = try Checkpoint.load(from: folder)
                Issue.record("expected an error mentioning \(mentions)")
            } catch let error as CheckpointError {
                #expect(error.tensor == tensor && error.description.contains(mentions) && !error.description.contains("\n"), "\(error)")
            }
        }
        // Absurd sizes are refused in words (no overflow, no "failed to allocate").
        try expectError({ $0["vocab_size"] = 1_000_000_000_000 }, tensor: nil, mentions: "vocab_size is 1000000000000; it must be from 1 to")
        try expectError({ $0["n_embd"] = Int.max }, tensor: nil, mentions: "n_embd is")
        // Large but allowed: V·C·4 bytes would be 1 TB. The file does not hold it, so nothing is allocated.
        try expectError({ $0["vocab_size"] = 4_000_000; $0["n_embd"] = 65_536; $0["n_head"] = 2 },
                        tensor: "tok_embeddings.weight", mentions: "has shape [11, 8] but the config needs [4000000, 65536]")
        try expectError({ $0["vocab_size"] = 11.5 }, tensor: nil, mentions: "not a model config")
        try expectError({ $0["norm_eps"] = -1 }, tensor: nil, mentions: "norm_eps")
    }

    @Test("weights stored as integers are refused by name: a model needs float weights")
    func integerWeights() throws {
        let folder = temporaryFolder()
        let model = try GPT(microConfigs()[0], seed: 1)
        try Checkpoint.save(model, to: folder)
        let stored = try model.namedParameters.map { name, parameter in
            name == "norm_f.weight" ? try StoredTensor(name: name, Tensor(shape: parameter.shape, repeating: 1), as: .I8)
                                    : try StoredTensor(name: name, parameter.value)
        }
        try SafetensorsFile.write(stored, to: folder.appendingPathComponent(Checkpoint.weightsFileName))
        #expect(throws: CheckpointError(path: folder.appendingPathComponent(Checkpoint.weightsFileName).path, tensor: "norm_f.weight",
                                        reason: "is I8, but model weights must be F32, F16 or BF16")) { try Checkpoint.load(from: folder) }
    }

    @Test("the config's parameter shapes equal the model's, in order", arguments: microConfigs())
    func parameterShapes(config: GPTConfig) throws {
        let model = try GPT(config, seed: 1)
        #expect(config.parameterShapes.map(\.0) == model.namedParameters.map(\.0))
        #expect(config.parameterShapes.map(\.1) == model.namedParameters.map(\.1.shape))
    }
}

@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// Every input `make fuzz` ever crashed on (kept in Tests/Fixtures/fuzz-regressions/<target>/), and the
    /// seeds it starts from: each must now give an answer — accepted or a thrown error — not a crash.
    @Test("every saved fuzz input runs through its parser without a crash", arguments: ParserFuzzing.allCases)
    func replay(target: ParserFuzzing) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var accepted = 0, files = 0
        for folder in ["Tests/Fixtures/fuzz-regressions", "Fuzz/seeds"] {
            let url = root.appendingPathComponent("\(folder)/\(target.rawValue)")
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] where !name.hasPrefix(".") {
                files += 1
                if target.run(try Data(contentsOf: url.appendingPathComponent(name))) && folder == "Fuzz/seeds" { accepted += 1 }
            }
        }
        #expect(accepted >= 1, "the seeds of \(target) are valid files (\(files) read)")
    }
}
