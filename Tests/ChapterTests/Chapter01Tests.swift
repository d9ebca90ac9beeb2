// Chapter 01 and `llm tokenizer`, run as a learner and a practitioner would.

import Foundation
import Testing

/// A folder corpus in fortune format with an English file and a Chinese one (topic "tang300").
func writeBilingualCorpus(in folder: URL) throws -> URL {
    let corpus = folder.appendingPathComponent("corpus")
    try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
    let english = (0..<80).map { "Fortune \($0): the early bird gets the worm, but the second mouse gets the cheese.\n\t-- Proverb" }
    try english.joined(separator: "\n%\n").write(to: corpus.appendingPathComponent("wisdom"), atomically: true, encoding: .utf8)
    let poems = (0..<40).map { _ in "床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。" }
    try poems.joined(separator: "\n%\n").write(to: corpus.appendingPathComponent("tang300"), atomically: true, encoding: .utf8)
    return corpus
}

@Suite("Chapter 01 and llm tokenizer", .serialized)
struct Chapter01Tests {
    @Test("ch01 --quick runs every section, agrees with itself, and saves the tokenizer")
    func quickRun() throws {
        let (result, runs, _) = try runQuickChapter("ch01", ["--vocab-size", "600"])
        expectSections(result, ["1.1 Why tokens", "1.2 Pre-tokenization", "1.3 The naive merge loop", "1.4 The fast merge loop",
                       "1.5 Training the course tokenizer", "1.6 Encoding and decoding", "1.7 English versus Chinese",
                       "1.8 Special tokens", "1.9 Saving the course tokenizer"])
        #expect(result.stdout.contains("same merges, in the same order: yes"))
        #expect(result.stdout.contains("decode(encode(text)) == text: true"))
        #expect(result.stdout.contains("reloaded, same ids: true"))
        #expect(result.stdout.contains("EN tok/byte"))
        expectFiles(runs, ["tokenizer/tokenizer.tiktoken", "tokenizer/tokenizer.json", "01-tokenizer/bpe-top-merges.gp",
                     "01-tokenizer/compression-per-byte.gp", "01-tokenizer/compression-per-character.gp"])
    }

    @Test("ch01 rejects a vocabulary below 256 + 4 in one line")
    func badVocabulary() throws {
        let result = try runProduct("ch01", ["--quick", "--vocab-size", "100", "--run-dir", scratchFolder().path])
        #expect(result.status != 0 && result.stderr.contains("--vocab-size 100") && result.stderr.split(separator: "\n").count == 1)
    }

    @Test("llm tokenizer train, encode, decode: a shell round trip")
    func commandLine() throws {
        let folder = scratchFolder()
        let corpus = try writeBilingualCorpus(in: folder)
        let out = folder.appendingPathComponent("tok")
        let train = try runProduct("llm", ["tokenizer", "train", "--corpus", corpus.path, "--vocab-size", "400", "--out", out.path])
        #expect(train.status == 0 && train.stdout.contains("trained 400 ids"), "\(train.stderr)")
        let text = "the early bird <|endoftext|> 床前明月光"
        let encoded = try runProduct("llm", ["tokenizer", "encode", "--tokenizer", out.path, "--allow-special"], input: text)
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let ids = encoded.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        #expect(ids.contains(396))  // <|endoftext|> is the first id after the 396 ordinary tokens
        let decoded = try runProduct("llm", ["tokenizer", "decode", "--tokenizer", out.path], input: encoded.stdout)
        #expect(decoded.status == 0 && decoded.stdout == text)
        let refused = try runProduct("llm", ["tokenizer", "encode", "--tokenizer", out.path], input: text)
        #expect(refused.status == 1 && refused.stderr.contains("<|endoftext|>") && refused.stderr.contains("--allow-special"))
        let unknown = try runProduct("llm", ["tokenizer", "decode", "--tokenizer", out.path], input: "1 2 99999")
        #expect(unknown.status == 1 && unknown.stderr.contains("token id 99999") && unknown.stderr.split(separator: "\n").count == 1)
        let notANumber = try runProduct("llm", ["tokenizer", "decode", "--tokenizer", out.path], input: "1 two")
        #expect(notANumber.status == 1 && notANumber.stderr.contains("'two'"))
    }

    @Test("llm tokenizer: bad files and values are one-line errors")
    func errors() throws {
        let folder = scratchFolder()
        let corpus = try writeBilingualCorpus(in: folder)
        let small = try runProduct("llm", ["tokenizer", "train", "--corpus", corpus.path, "--vocab-size", "259", "--out", folder.path])
        #expect(small.status == 1 && small.stderr.contains("at least 260"))
        let empty = folder.appendingPathComponent("empty.txt")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        let emptyRun = try runProduct("llm", ["tokenizer", "train", "--corpus", empty.path, "--out", folder.path])
        #expect(emptyRun.status == 1 && emptyRun.stderr.contains("no text"))
        let out = folder.appendingPathComponent("tok")
        _ = try runProduct("llm", ["tokenizer", "train", "--corpus", corpus.path, "--vocab-size", "300", "--out", out.path])
        let rank = out.appendingPathComponent("tokenizer.tiktoken")
        var lines = try String(contentsOf: rank, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[9] = "not-base64 9"
        try (lines.joined(separator: "\n") + "\n").write(to: rank, atomically: true, encoding: .utf8)
        let corrupt = try runProduct("llm", ["tokenizer", "encode", "--tokenizer", out.path], input: "hi")
        #expect(corrupt.status == 1 && corrupt.stderr.contains("line 10") && corrupt.stderr.contains("base64"), "\(corrupt.stderr)")
    }
}
