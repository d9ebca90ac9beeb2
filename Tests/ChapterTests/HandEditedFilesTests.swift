// Files a user edits by hand, through the command line as a user would meet them: each is one line on
// standard error and exit code 1, never a trap — in the debug build the tests use and, when one has been
// built (`make course`, `make bench`), the release build, where the core is compiled `-Ounchecked` and
// only the parser's own checks stand between a bad file and a crash.

import Foundation
import Testing

/// A safetensors file from a raw JSON header and `bytes` bytes of data.
func handEditedSafetensors(_ header: String, bytes: Int, in folder: URL, name: String) throws -> URL {
    let url = folder.appendingPathComponent("\(name).safetensors")
    var data = Data()
    let json = Data(header.utf8)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    data.append(Data(count: bytes))
    try data.write(to: url)
    return url
}

@Suite("Hand-edited files")
struct HandEditedFilesTests {
    static let cases: [(name: String, header: String, bytes: Int, mentions: String)] = [
        ("overflow", #"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 0]}}"#, 0,
         "more elements than can be addressed"),
        ("half-offset", #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0.5, 4]}}"#, 4, "data_offsets is not"),
        ("huge-offset", #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 1e300]}}"#, 4, "data_offsets is not"),
        ("f64", #"{"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}"#, 8, "dtype F64 is not supported"),
        ("negative", #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}"#, 0, "not a list of whole numbers"),
    ]

    /// The `llm` builds to try: the tests' own, and the release build when there is one.
    static func builds() -> [URL] {
        let release = repositoryRoot.appendingPathComponent(".build/release/llm")
        var found = [productsFolder().appendingPathComponent("llm")]
        if FileManager.default.isExecutableFile(atPath: release.path) {
            found.append(release)
        } else {
            print("note: no release build of llm (.build/release/llm); hand-edited files checked in the debug build only")
        }
        return found
    }

    static func expectOneLineError(_ llm: URL, _ arguments: [String], mentions: String, _ what: String) throws {
        let process = Process()
        process.executableURL = llm
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let build = llm.deletingLastPathComponent().lastPathComponent
        #expect(process.terminationStatus == 1, "\(what) (\(build)): exit \(process.terminationStatus), \(message)")
        #expect(message.hasPrefix("error: ") && message.contains(mentions), "\(what) (\(build)): \(message)")
        #expect(message.split(separator: "\n").count == 1, "\(what) (\(build)): more than one line: \(message)")
    }

    @Test("llm checkpoint inspect on hand-edited safetensors headers: one line each, debug and release")
    func headers() throws {
        let folder = scratchFolder()
        for llm in Self.builds() {
            for item in Self.cases {
                let url = try handEditedSafetensors(item.header, bytes: item.bytes, in: folder, name: item.name)
                try Self.expectOneLineError(llm, ["checkpoint", "inspect", url.path], mentions: item.mentions, item.name)
            }
        }
    }

    @Test("llm checkpoint inspect on a hand-edited config.json with an absurd vocab_size: refused before allocating")
    func config() throws {
        let folder = scratchFolder()
        _ = try handEditedSafetensors(#"{"tok_embeddings.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}"#,
                                      bytes: 16, in: folder, name: "model")
        let config: [String: Any] = ["vocab_size": 4_000_000, "context_length": 8, "n_layer": 1, "n_head": 2, "n_kv_head": 2,
                                     "n_embd": 65_536, "mlp_hidden": 8, "norm": "layerNorm", "positions": "learned",
                                     "mlp": "gelu", "tied_embeddings": true, "bias": true, "norm_eps": 1e-5, "rope_base": 10000]
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        for llm in Self.builds() {
            try Self.expectOneLineError(llm, ["checkpoint", "inspect", folder.path],
                                        mentions: "has shape [2, 2] but the config needs [4000000, 65536]", "vocab 4M × 65536")
        }
        var absurd = config
        absurd["vocab_size"] = 1_000_000_000_000_000
        try JSONSerialization.data(withJSONObject: absurd).write(to: folder.appendingPathComponent("config.json"))
        for llm in Self.builds() {
            try Self.expectOneLineError(llm, ["checkpoint", "inspect", folder.path], mentions: "vocab_size is", "vocab 10^15")
        }
    }
}
