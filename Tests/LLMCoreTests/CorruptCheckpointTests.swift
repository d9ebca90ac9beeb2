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
                              tensor: "w", mentions: "dtype F64 is not one of")
        expectCheckpointError(try craftedSafetensors(["w": entry("F32", [3], 0, 16)], bytes: 16, name: "length"),
                              tensor: "w", mentions: "needs 12 bytes but data_offsets span 16")
        expectCheckpointError(try craftedSafetensors(["a": entry("F32", [4], 0, 16), "b": entry("F32", [4], 8, 24)], bytes: 24, name: "overlap"),
                              tensor: "b", mentions: "overlap")
        expectCheckpointError(try craftedSafetensors(["a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)], bytes: 20, name: "hole"),
                              tensor: "b", mentions: "hole")
        expectCheckpointError(try craftedSafetensors(["a": entry("F32", [2], 0, 8)], bytes: 12, name: "unused"),
                              tensor: nil, mentions: "4 bytes no tensor uses")
        expectCheckpointError(try craftedSafetensors(["a": ["dtype": "F32", "shape": [-1], "data_offsets": [0, 0]]], bytes: 0, name: "negative"),
                              tensor: "a", mentions: "shape is not a list of non-negative integers")
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
}
