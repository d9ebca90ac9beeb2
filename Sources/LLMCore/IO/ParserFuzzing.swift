// Introduced with the core issue. The entry points of `make fuzz`: each feeds arbitrary bytes to a
// parser of a file a user hands us, and does what a command would do with the result. A thrown error
// is the right answer to bad bytes; a crash, a trap or a hang is a bug. The fuzzer (Fuzz/) calls these,
// and LLMCoreTests replays every input the fuzzer once crashed on (Tests/Fixtures/fuzz-regressions/).

import Foundation

public enum ParserFuzzing: String, CaseIterable, Sendable {
    case safetensors, config, tokenizer

    /// Runs one input through this target; returns whether the parser accepted it.
    @discardableResult
    public func run(_ data: Data) -> Bool {
        switch self {
        case .safetensors:
            guard let file = try? SafetensorsFile.parse(data, path: "fuzz.safetensors") else { return false }
            for entry in file.entries.prefix(8) { _ = try? file.raw(entry.name); _ = try? file.tensor(entry.name) }
            _ = file.entries.reduce(0) { $0 + $1.shape.reduce(1, *) }       // what `llm checkpoint inspect` prints
            return true
        case .config:
            guard let config = try? Checkpoint.parseConfig(data, path: "fuzz/config.json") else { return false }
            _ = config.parameterShapes
            _ = ModelAccounting(config).total
            return true
        case .tokenizer:
            // The input is the two files one after the other, split at the first NUL byte.
            let split = data.firstIndex(of: 0) ?? data.endIndex
            let config = data[data.startIndex..<split], ranks = split < data.endIndex ? data[(split + 1)...] : Data()
            guard let tokenizer = try? BPETokenizer.parse(ranks: Data(ranks), config: Data(config),
                                                          rankPath: "fuzz/tokenizer.tiktoken",
                                                          configPath: "fuzz/tokenizer.json") else { return false }
            if let ids = try? tokenizer.encode("Hello, wörld <|endoftext|> 123",
                                               special: .allow) { _ = try? tokenizer.decode(ids) }
            return true
        }
    }
}
