// Introduced in Chapter 01. Tokenizer files that other tools read.
//
// `tokenizer.tiktoken` — the rank file tiktoken loads: one line per ordinary token, `base64(bytes) rank`,
// ranks 0, 1, 2, … in order. `tokenizer.json` — what the rank file cannot say: the pre-tokenizer
// regex and the special tokens. In Python:
//
//     import json, tiktoken
//     from tiktoken.load import load_tiktoken_bpe
//     config = json.load(open("tokenizer.json"))
//     enc = tiktoken.Encoding("course", pat_str=config["pattern"],
//                             mergeable_ranks=load_tiktoken_bpe("tokenizer.tiktoken"),
//                             special_tokens=config["special_tokens"])
//
// gives the same ids as `BPETokenizer.encode` for any text.

import Foundation

public struct TokenizerConfig: Codable, Sendable, Equatable {
    public var pattern: String
    public var patternName: String
    public var specialTokens: [String: Int]
    public var vocabularySize: Int

    enum CodingKeys: String, CodingKey {
        case pattern
        case patternName = "pattern_name"
        case specialTokens = "special_tokens"
        case vocabularySize = "vocab_size"
    }
}

extension BPETokenizer {
    public static let rankFileName = "tokenizer.tiktoken"
    public static let configFileName = "tokenizer.json"

    /// Writes `tokenizer.tiktoken` and `tokenizer.json` into `folder` (created if needed), atomically.
    public func save(to folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CourseError.unwritable(path: folder.path, reason: error.localizedDescription)
        }
        var lines = ""
        lines.reserveCapacity(tokens.count * 12)
        for (rank, bytes) in tokens.enumerated() { lines += "\(Data(bytes).base64EncodedString()) \(rank)\n" }
        try AtomicFile.write(lines, to: folder.appendingPathComponent(BPETokenizer.rankFileName))
        let config = TokenizerConfig(pattern: pattern.regex, patternName: pattern.rawValue,
                                     specialTokens: specialTokens, vocabularySize: vocabularySize)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(config), to: folder.appendingPathComponent(BPETokenizer.configFileName))
    }

    /// Reads a tokenizer saved by `save(to:)`. A missing, truncated or corrupt file is rejected with its
    /// path, the line number and the reason.
    public static func load(from folder: URL) throws -> BPETokenizer {
        let rankURL = folder.appendingPathComponent(rankFileName),
            configURL = folder.appendingPathComponent(configFileName)
        for url in [rankURL, configURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw TokenizerError.corruptFile(path: url.path, line: 0, reason: "the file does not exist")
        }
        guard let configData = FileManager.default.contents(atPath: configURL.path),
              let rankData = FileManager.default.contents(atPath: rankURL.path) else {
            throw TokenizerError.corruptFile(path: folder.path, line: 0, reason: "the tokenizer files cannot be read")
        }
        return try parse(ranks: rankData, config: configData, rankPath: rankURL.path, configPath: configURL.path)
    }

    /// The most ids a tokenizer may have (the model config's limit on vocab_size too).
    public static let maximumVocabularySize = 1 << 22

    /// Builds a tokenizer from the two files' bytes (what `load` does after reading them; the fuzz
    /// target's entry). Every field is checked: special ids are whole numbers after the ordinary tokens,
    /// distinct and below `maximumVocabularySize`, and `vocab_size` agrees with them.
    public static func parse(ranks rankData: Data, config configData: Data, rankPath: String,
                             configPath: String) throws -> BPETokenizer {
        guard let config = try? JSONDecoder().decode(TokenizerConfig.self, from: configData) else {
            throw TokenizerError.corruptFile(path: configPath, line: 1,
                                             reason: "not a tokenizer config (JSON with pattern, special_tokens, " +
                                                     "vocab_size)")
        }
        guard let pattern = PreTokenizerPattern.allCases.first(where: { $0.regex == config.pattern }) else {
            throw TokenizerError.corruptFile(path: configPath, line: 1,
                                             reason: "unsupported pattern; this course implements the cl100k and " +
                                                     "gpt2 patterns only")
        }
        let tokens = try readRanks(rankData, path: rankPath)
        for (text, id) in config.specialTokens.sorted(by: { $0.value < $1.value }) {
            if id < tokens.count || text.isEmpty {
                throw TokenizerError.corruptFile(path: configPath, line: 1,
                                                 reason: "special token '\(text)' has id \(id), which an ordinary " +
                                                         "token already uses (ids from \(tokens.count) on are free)")
            }
            if id >= maximumVocabularySize {
                throw TokenizerError.corruptFile(path: configPath, line: 1,
                                                 reason: "special token '\(text)' has id \(id), beyond the " +
                                                         "\(maximumVocabularySize) ids a tokenizer may have")
            }
        }
        if Set(config.specialTokens.values).count != config.specialTokens.count {
            throw TokenizerError.corruptFile(path: configPath, line: 1, reason: "two special tokens share an id")
        }
        let tokenizer: BPETokenizer
        do {
            tokenizer = try BPETokenizer(tokens: tokens, specialTokens: config.specialTokens, pattern: pattern)
        } catch TokenizerError.corruptFile(_, _, let reason) {
            throw TokenizerError.corruptFile(path: rankPath, line: 0, reason: reason)
        }
        if tokenizer.vocabularySize != config.vocabularySize {
            throw TokenizerError.corruptFile(path: configPath, line: 1,
                                             reason: "vocab_size is \(config.vocabularySize) but the ranks and " +
                                                     "special tokens give \(tokenizer.vocabularySize)")
        }
        return tokenizer
    }

    /// Parses a rank file: `base64 rank` per line, ranks 0, 1, 2, … with no byte string twice.
    static func readRanks(_ data: Data, path: String) throws -> [[UInt8]] {
        let url = URL(fileURLWithPath: path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.corruptFile(path: url.path, line: 0, reason: "not readable as UTF-8 text")
        }
        if !text.isEmpty && !text.hasSuffix("\n") {
            throw TokenizerError.corruptFile(path: url.path, line: text.split(separator: "\n").count,
                                             reason: "the last line is cut off (truncated file?)")
        }
        var tokens: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = index + 1
            let fields = line.split(separator: " ")
            guard fields.count == 2 else {
                throw TokenizerError.corruptFile(path: url.path, line: number,
                                                 reason: "expected 'base64 rank', got \(fields.count) field(s)")
            }
            guard let bytes = Data(base64Encoded: String(fields[0])), !bytes.isEmpty else {
                throw TokenizerError.corruptFile(path: url.path, line: number,
                                                 reason: "'\(fields[0])' is not base64 of a non-empty byte string")
            }
            guard let rank = Int(fields[1]) else {
                throw TokenizerError.corruptFile(path: url.path, line: number,
                                                 reason: "rank '\(fields[1])' is not a whole number")
            }
            guard rank == tokens.count else {
                throw TokenizerError.corruptFile(path: url.path, line: number,
                                                 reason: "rank \(rank) out of order (expected \(tokens.count))")
            }
            guard seen.insert([UInt8](bytes)).inserted else {
                throw TokenizerError.corruptFile(path: url.path, line: number,
                                                 reason: "the byte string of rank \(rank) appears twice")
            }
            tokens.append([UInt8](bytes))
        }
        if tokens.isEmpty { throw TokenizerError.corruptFile(path: url.path, line: 1,
                                                             reason: "the file has no tokens") }
        if tokens.count > maximumVocabularySize {
            throw TokenizerError.corruptFile(path: url.path, line: tokens.count,
                                             reason: "more than \(maximumVocabularySize) tokens")
        }
        return tokens
    }
}
