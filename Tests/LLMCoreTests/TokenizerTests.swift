// Byte-level BPE: the textbook case by hand, round trips on random bytes, the fast trainer against the
// naive one, the pre-tokenizer against its regex (and against Python's tiktoken when installed), files
// and their error messages.

import Foundation
import Testing
@testable import LLMCore

/// Random text from an alphabet chosen to hit every rule: contractions (with ſ), digits, whitespace
/// runs, CR/LF, tabs, no-break spaces, CJK, emoji, combining marks, punctuation.
func trickyText(_ generator: inout SeededGenerator, maxPieces: Int = 30) -> String {
    let alphabet = ["a", "Z", "é", "e\u{301}", "'", "s", "l", "T", "S", "v", "r", "D", "M", "ſ", " ", "  ", "\t", "\n", "\r\n",
                    "\n\n", "1", "23", "4567", ".", ",", "!?", "—", "春", "眠不覺曉", "😀", "🎉", "\u{00A0}", "\u{2003}",
                    "'s", "'LL", "'ve", " '", "<|", "|>", "Hello", " world", "Ⅻ", "½"]
    let n = generator.integer(below: maxPieces + 1)
    return (0..<n).map { _ in alphabet[generator.integer(below: alphabet.count)] }.joined()
}

func trainedSmall(_ text: String = "", vocabularySize: Int = 300, pattern: PreTokenizerPattern = .cl100k) throws -> BPETokenizer {
    var g = SeededGenerator(seed: 77)
    let documents = text.isEmpty ? (0..<300).map { _ in trickyText(&g) } : [text]
    return try BPETrainer.train(documents: documents, vocabularySize: vocabularySize, pattern: pattern).tokenizer
}

@Suite("Tokenizer")
struct TokenizerTests {
    @Test("the textbook case: aaabdaaabac")
    func textbook() throws {
        // Pairs in "aaabdaaabac" (one piece: all letters), overlapping: aa ×4, ab ×2, bd, da, ba, ac.
        // 1. aa → 256 (4). The word becomes [256, a, b, d, 256, a, b, a, c].
        // 2. (256, a) and (a, b) both occur twice: the tie goes to the smaller first id, a = 97 → ab = 257.
        // 3. (256, 257) twice → 258 = "aaab".
        let result = try BPETrainer.train(documents: ["aaabdaaabac"], vocabularySize: 259, specialTokens: [])
        #expect(result.merges == [Merge(left: 97, right: 97, result: 256, count: 4),
                                  Merge(left: 97, right: 98, result: 257, count: 2),
                                  Merge(left: 256, right: 257, result: 258, count: 2)])
        let tokenizer = result.tokenizer
        #expect(tokenizer.tokens[258] == Array("aaab".utf8))
        #expect(try tokenizer.encode("aaabdaaabac") == [258, 100, 258, 97, 99])
        #expect(try tokenizer.decode([258, 100]) == "aaabd")
    }

    @Test("the fast trainer learns exactly the naive trainer's merges", arguments: [PreTokenizerPattern.cl100k, .gpt2])
    func fastEqualsNaive(pattern: PreTokenizerPattern) throws {
        var g = SeededGenerator(seed: 5)
        let documents = (0..<200).map { _ in trickyText(&g) } + ["low lower lowest newer wider", "aaaa aaaa aa"]
        let fast = try BPETrainer.train(documents: documents, vocabularySize: 360, pattern: pattern)
        let naive = try BPETrainer.trainNaive(documents: documents, vocabularySize: 360, pattern: pattern)
        #expect(fast.merges.count > 50)
        #expect(fast.merges == naive)
    }

    @Test("decode(encode(bytes)) == bytes for 3,000 random byte strings, invalid UTF-8 included")
    func roundTripBytes() throws {
        let tokenizer = try trainedSmall()
        var g = SeededGenerator(seed: 8)
        for case_ in 0..<3000 {
            var bytes: [UInt8]
            switch case_ % 3 {
            case 0: bytes = (0..<g.integer(below: 40)).map { _ in UInt8(g.integer(below: 256)) }      // anything
            case 1: bytes = Array(trickyText(&g).utf8)                                                 // valid text
            default:                                                                                   // text, cut mid-character
                bytes = Array(trickyText(&g).utf8)
                if !bytes.isEmpty {
                    let cut = g.integer(below: bytes.count)
                    bytes.removeSubrange(cut..<min(bytes.count, cut + 2))
                }
            }
            let ids = tokenizer.encode(bytes: bytes)
            #expect(try tokenizer.decodeBytes(ids) == bytes, "bytes \(bytes)")
        }
    }

    @Test("decode(encode(text)) == text for 3,000 random strings; long whitespace runs too")
    func roundTripText() throws {
        let tokenizer = try trainedSmall()
        var g = SeededGenerator(seed: 9)
        var texts = (0..<3000).map { _ in trickyText(&g, maxPieces: 60) }
        texts += [String(repeating: " ", count: 1000), String(repeating: "\n \t", count: 300) + "x", String(repeating: "ab", count: 500)]
        for text in texts { #expect(try tokenizer.decode(tokenizer.encode(text)) == text) }
    }

    @Test("invalid UTF-8 decodes to U+FFFD, never a crash")
    func invalidUTF8() throws {
        let tokenizer = try trainedSmall()
        let ids = tokenizer.encode(bytes: [0x61, 0xE6, 0x98, 0x62])  // "a", a cut-off 3-byte sequence, "b"
        #expect(try tokenizer.decode(ids) == "a\u{FFFD}b")
    }

    @Test("pre-tokenizer pieces follow the cl100k regex")
    func cl100kPieces() {
        let split = PreTokenizer(pattern: .cl100k).pieces
        #expect(split("Hello world's  123456 ok!!\n\n end") ==
                ["Hello", " world", "'s", " ", " ", "123", "456", " ok", "!!\n\n", " end"])
        #expect(split("I'M  you'LL x   \n\n  y  ") == ["I", "'M", " ", " you", "'LL", " x", "   \n\n", " ", " y", "  "])
        #expect(split("春眠不覺曉，處處聞啼鳥。") == ["春眠不覺曉", "，處處聞啼鳥", "。"])
        #expect(split("e\u{301}té 😀😀 $5") == ["e", "\u{301}té", " 😀😀", " $", "5"])
        #expect(split("a\r\nb\tc") == ["a", "\r\n", "b", "\tc"])
        #expect(split("'ſ x") == ["'ſ", " x"])
    }

    @Test("pre-tokenizer pieces follow the GPT-2 regex")
    func gpt2Pieces() {
        let split = PreTokenizer(pattern: .gpt2).pieces
        #expect(split("Hello world's  123456 ok!!\n\n end") ==
                ["Hello", " world", "'s", " ", " 123456", " ok", "!!", "\n\n", " end"])
        #expect(split("I'M you're") == ["I", "'", "M", " you", "'re"])
    }

    @Test("special tokens: allowed, rejected, or plain text — never split")
    func specialTokens() throws {
        let tokenizer = try trainedSmall()
        let end = try #require(tokenizer.specialId("<|endoftext|>"))
        let ids = try tokenizer.encode("hi<|endoftext|>there", special: .allow)
        #expect(ids.contains(end) && ids.filter { $0 == end }.count == 1)
        #expect(try tokenizer.decode(ids) == "hi<|endoftext|>there")
        #expect(throws: TokenizerError.disallowedSpecial("<|endoftext|>")) { try tokenizer.encode("a <|endoftext|>") }
        let plain = try tokenizer.encode("<|endoftext|>", special: .asText)
        #expect(!plain.contains(end) && plain.count > 1)
        #expect(try tokenizer.encode("<|im_start|>user\nhi<|im_end|>", special: .allow).first == tokenizer.specialId("<|im_start|>"))
        #expect(try tokenizer.encode("<|nope|> <| |>", special: .allow) == tokenizer.encode("<|nope|> <| |>", special: .asText))
    }

    @Test("parallel encoding of documents equals encoding one by one")
    func parallelEncode() throws {
        let tokenizer = try trainedSmall()
        var g = SeededGenerator(seed: 10)
        let documents = (0..<500).map { _ in trickyText(&g) }
        #expect(try tokenizer.encode(documents: documents) == documents.map { try tokenizer.encode($0) })
    }

    @Test("a smaller vocabulary is a prefix of a larger one")
    func truncation() throws {
        let big = try trainedSmall(vocabularySize: 400)
        let small = try big.truncated(to: 300)
        #expect(small.tokens == Array(big.tokens.prefix(300)) && small.vocabularySize == 304)
        #expect(small.specialId("<|pad|>") == 303)
    }

    @Test("errors: vocabulary too small, empty corpus, unknown id")
    func errors() throws {
        #expect(throws: TokenizerError.vocabularyTooSmall(requested: 259, minimum: 260)) {
            try BPETrainer.train(documents: ["abc"], vocabularySize: 259)
        }
        #expect(throws: TokenizerError.emptyCorpus) { try BPETrainer.train(documents: ["", ""], vocabularySize: 300) }
        let tokenizer = try trainedSmall()
        #expect(throws: TokenizerError.unknownId(99_999, vocabularySize: tokenizer.vocabularySize)) { try tokenizer.decode([1, 99_999]) }
        #expect(throws: TokenizerError.unknownId(-1, vocabularySize: tokenizer.vocabularySize)) { try tokenizer.decode([-1]) }
        #expect(TokenizerError.vocabularyTooSmall(requested: 10, minimum: 260).description.contains("at least 260"))
    }
}

@Suite("Tokenizer files")
struct TokenizerFileTests {
    func saved() throws -> (BPETokenizer, URL) {
        let tokenizer = try trainedSmall()
        let folder = temporaryFolder()
        try tokenizer.save(to: folder)
        return (tokenizer, folder)
    }

    @Test("save then load gives the same tokenizer")
    func roundTrip() throws {
        let (tokenizer, folder) = try saved()
        let loaded = try BPETokenizer.load(from: folder)
        #expect(loaded.tokens == tokenizer.tokens && loaded.specialTokens == tokenizer.specialTokens && loaded.pattern == tokenizer.pattern)
        let lines = try String(contentsOf: folder.appendingPathComponent("tokenizer.tiktoken"), encoding: .utf8).split(separator: "\n")
        #expect(lines[65] == "QQ== 65")  // base64("A") rank 65
    }

    @Test("corrupt rank files are rejected with the line and the reason", arguments: [
        ("QQ== 0\n", "rank 0 out of order (expected 65)"),
        ("QQ== 65 x\n", "expected 'base64 rank', got 3 field(s)"),
        ("!!!! 65\n", "is not base64"),
        ("QQ== sixty\n", "rank 'sixty' is not a whole number"),
        ("QQ== 65", "cut off"),
    ])
    func corrupt(replacement: String, reason: String) throws {
        let (_, folder) = try saved()
        let url = folder.appendingPathComponent("tokenizer.tiktoken")
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines = Array(lines.prefix(65)) + [replacement.hasSuffix("\n") ? String(replacement.dropLast()) : replacement]
        try (lines.joined(separator: "\n") + (replacement.hasSuffix("\n") ? "\n" : "")).write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try BPETokenizer.load(from: folder)
            Issue.record("expected an error for \(replacement)")
        } catch let error as TokenizerError {
            guard case .corruptFile(let path, let line, let message) = error else { Issue.record("\(error)"); return }
            #expect(path == url.path && line == 66 && message.contains(reason), "\(error)")
        }
    }

    @Test("a missing file, a bad config, a duplicate token, a special id clash")
    func otherProblems() throws {
        let (tokenizer, folder) = try saved()
        let rank = folder.appendingPathComponent("tokenizer.tiktoken"), config = folder.appendingPathComponent("tokenizer.json")
        let original = try Data(contentsOf: rank)
        try "AA== 0\nAA== 1\n".write(to: rank, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.corruptFile(path: rank.path, line: 2, reason: "the byte string of rank 1 appears twice")) {
            try BPETokenizer.load(from: folder)
        }
        try original.write(to: rank)
        try "{\"pattern\": 1}".write(to: config, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.self) { try BPETokenizer.load(from: folder) }
        try tokenizer.save(to: folder)
        try FileManager.default.removeItem(at: rank)
        #expect(throws: TokenizerError.corruptFile(path: rank.path, line: 0, reason: "the file does not exist")) {
            try BPETokenizer.load(from: folder)
        }
    }

    @Test("hand-edited tokenizer.json: special ids past the limit, negative, shared, a wrong vocab_size")
    func handEditedConfig() throws {
        let (tokenizer, folder) = try saved()
        let configURL = folder.appendingPathComponent("tokenizer.json")
        let original = try #require(try JSONSerialization.jsonObject(with: try Data(contentsOf: configURL)) as? [String: Any])
        let specials = try #require(original["special_tokens"] as? [String: Int])
        let first = try #require(specials.min { $0.value < $1.value })
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("huge id", { $0["special_tokens"] = specials.merging([first.key: Int.max]) { $1 } }, "beyond the"),
            ("negative id", { $0["special_tokens"] = specials.merging([first.key: -5]) { $1 } }, "which an ordinary token already uses"),
            ("shared id", { $0["special_tokens"] = specials.mapValues { _ in first.value } }, "share an id"),
            ("vocab size", { $0["vocab_size"] = tokenizer.vocabularySize + 1 }, "vocab_size is"),
            ("fractional id", { $0["special_tokens"] = [first.key: 0.5] }, "not a tokenizer config"),
        ]
        for (name, edit, mentions) in cases {
            try writeEdited(original, to: configURL, edit)
            do {
                _ = try BPETokenizer.load(from: folder)
                Issue.record("\(name): accepted")
            } catch let error as TokenizerError {
                #expect(error.description.contains(mentions) && error.description.contains(configURL.path), "\(name): \(error)")
            }
        }
    }

    @Test("Python's tiktoken gives the same ids (skips when python3 or tiktoken is missing)")
    func tiktokenAgrees() throws {
        let (tokenizer, folder) = try saved()
        var g = SeededGenerator(seed: 12)
        let texts = ["Hello world's  123456 ok!!\n\n end  ", "I'M  you'LL 'ſ\r\n\t x", "春眠不覺曉，處處聞啼鳥。 😀 e\u{301}",
                     "<|endoftext|>a<|im_start|>", String(repeating: " ", count: 50) + "\n"] + (0..<300).map { _ in trickyText(&g) }
        let textsURL = folder.appendingPathComponent("texts.json")
        try JSONSerialization.data(withJSONObject: texts).write(to: textsURL)
        guard let data = try runPythonFixture("tiktoken_compare.py", [folder.path, textsURL.path], needs: "tiktoken") else { return }
        let theirs = try #require(try JSONSerialization.jsonObject(with: data) as? [[Int]])
        for (text, expected) in zip(texts, theirs) {
            #expect(try tokenizer.encode(text, special: .allow) == expected, "text \(text.debugDescription)")
        }
    }
}

/// With the other tests that compare thread counts.
extension ThreadCountTests {
    @Test("BPE training is the same on 1 and 2 threads")
    func threadIndependent() throws {
        var g = SeededGenerator(seed: 6)
        let documents = (0..<300).map { _ in trickyText(&g) }
        let one = try Parallel.withThreads(1) { try BPETrainer.train(documents: documents, vocabularySize: 400).merges }
        let two = try Parallel.withThreads(2) { try BPETrainer.train(documents: documents, vocabularySize: 400).merges }
        #expect(one == two)
    }
}
