// Introduced in Chapter 04. The baseline any language model must beat: a general-purpose compressor on
// the same held-out bytes. Computed here, on this corpus, never typed in.
//
// Each compressor is run twice: on the held-out text alone, and "primed" — given the training text
// first, counting only the extra bytes the held-out text costs (size(train + held-out) − size(train)).
// The primed figure is the fair one: the model has read the training text too. xz at its best setting
// (-9e, a 64 MiB window: all of the fortunes fit) and gzip -9 (zlib's deflate, a 32 KiB window) are the
// two the field quotes; both are the command-line tools Debian ships.

import Foundation

/// One compressor's bits per byte on a held-out text.
public struct CompressorBaseline: Sendable, Equatable {
    public let name: String
    /// Bits per byte of the held-out text compressed on its own.
    public let alone: Double
    /// Bits per byte it adds when the training text came first.
    public let primed: Double
}

public enum Compressors {
    /// The command-line compressors measured, with their best settings.
    public static let tools: [(name: String, command: String, arguments: [String])] = [
        ("gzip -9", "gzip", ["-9", "-c", "-n"]),
        ("xz -9e", "xz", ["-9e", "-c", "-T1"]),
    ]

    /// The compressed size of `data`, or nil when the tool is not installed or fails.
    public static func compressedSize(_ data: Data, command: String, arguments: [String]) -> Int? {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("llm-compress-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: input) }
        guard (try? data.write(to: input)) != nil else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments + [input.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        guard (try? process.run()) != nil else { return nil }
        let compressed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? compressed.count : nil
    }

    /// Every installed tool's baselines on `heldOut` (and primed with `train`); tools that are missing
    /// are left out (`missing` names them).
    public static func baselines(train: Data, heldOut: Data) -> (baselines: [CompressorBaseline], missing: [String]) {
        var found: [CompressorBaseline] = [], missing: [String] = []
        let bits = { (bytes: Int) in 8 * Double(bytes) / Double(max(heldOut.count, 1)) }
        for tool in tools {
            guard let alone = compressedSize(heldOut, command: tool.command, arguments: tool.arguments),
                  let trainOnly = compressedSize(train, command: tool.command, arguments: tool.arguments),
                  let both = compressedSize(train + heldOut, command: tool.command, arguments: tool.arguments) else {
                missing.append(tool.command)
                continue
            }
            found.append(CompressorBaseline(name: tool.name, alone: bits(alone), primed: bits(both - trainOnly)))
        }
        return (found, missing)
    }

    /// A corpus split's text as the compressors see it: each entry followed by one newline (the byte its
    /// `<|endoftext|>` stands for), so the byte count equals `TokenDataset`'s.
    public static func text(_ entries: [String]) -> Data {
        var data = Data()
        for entry in entries {
            data.append(contentsOf: entry.utf8)
            data.append(0x0A)
        }
        return data
    }
}
