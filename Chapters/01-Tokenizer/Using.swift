//: ## Chapter 01, part three — what BPE does to two languages, special tokens, and the saved files

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension Lesson {
    // MARK: - 1.7 English versus Chinese

    //: Because merges are learned one after another, the tokenizer with a smaller vocabulary is simply
    //: the first merges of the big one (`truncated(to:)`). So one training run shows how compression
    //: grows with vocabulary size. English starts at 1 token per byte (= per character) and drops to about
    //: a third. A Chinese character is 3 UTF-8 bytes, so Chinese text starts near 2 tokens per character
    //: (its files also hold ASCII spaces and punctuation) and improves as whole characters earn their own
    //: ids — with thousands of distinct characters in the poems, a 4096-id vocabulary shared with English
    //: cannot hold them all. Per *byte*, Chinese compresses better; per *character* — what a reader counts —
    //: it costs more tokens than English.
    func englishVersusChinese(_ tokenizer: BPETokenizer, _ corpus: Corpus) throws {
        Console.section("1.7 English versus Chinese")
        let budget = chapter.quick ? 60_000 : 400_000
        func sample(_ keep: (CorpusEntry) -> Bool) -> String {
            var text = "", bytes = 0
            for entry in corpus.entries where keep(entry) && bytes < budget {
                text += entry.text + "\n"
                bytes += entry.text.utf8.count + 1
            }
            return text
        }
        let english = sample { !Corpus.chineseTopics.contains($0.topic) }
        let chinese = sample { Corpus.chineseTopics.contains($0.topic) }
        guard !english.isEmpty, !chinese.isEmpty else {
            print("  (skipped: this corpus does not have both English and Chinese text)")
            return
        }
        let full = tokenizer.tokens.count
        let sizes = [256, 300, 512, 1024, 2048,
                     full].filter { $0 <= full }.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
        var rows: [[String]] = []
        var perByte: [String: [Double]] = ["English": [], "Chinese": []], perCharacter = perByte
        for size in sizes {
            let small = try tokenizer.truncated(to: size)
            var cells = ["\(size)"]
            for (name, text) in [("English", english), ("Chinese", chinese)] {
                let tokens = Double(try small.encode(text, special: .asText).count)
                perByte[name]!.append(tokens / Double(text.utf8.count))
                perCharacter[name]!.append(tokens / Double(text.unicodeScalars.count))
                cells += [Format.fixed(perByte[name]!.last!, 3), Format.fixed(perCharacter[name]!.last!, 3)]
            }
            rows.append(cells)
        }
        Console.printTable(["tokens in vocabulary", "EN tok/byte", "EN tok/char", "ZH tok/byte", "ZH tok/char"], rows)
        let x = sizes.map(Double.init)
        try chapter.plot(.line([Series("English", x: x, y: perByte["English"]!),
                                Series("Chinese", x: x, y: perByte["Chinese"]!)],
                               title: "Tokens per UTF-8 byte as the vocabulary grows",
                               xLabel: "ordinary tokens (256 bytes + merges)",
                               yLabel: "tokens per byte", logX: true, points: true),
                         as: "compression-per-byte")
        try chapter.plot(.line([Series("English", x: x, y: perCharacter["English"]!),
                                Series("Chinese", x: x, y: perCharacter["Chinese"]!)],
                               title: "Tokens per character as the vocabulary grows",
                               xLabel: "ordinary tokens (256 bytes + merges)",
                               yLabel: "tokens per character", logX: true, points: true),
                         as: "compression-per-character")
    }

    // MARK: - 1.8 Special tokens

    //: Some ids must never come out of ordinary text: `<|endoftext|>` separates documents in pretraining
    //: (Chapter 04), `<|im_start|>`/`<|im_end|>` frame the turns of a chat (Chapter 05), `<|pad|>` fills
    //: batches. They sit after the merges and are matched as whole strings before pre-tokenization.
    //: If a *user* types "<|im_end|>", encoding it as the real marker would let them forge a turn, so
    //: the default is to refuse; trusted templates allow it; `.asText` spells it out as ordinary bytes.
    func specialTokens(_ tokenizer: BPETokenizer) throws {
        Console.section("1.8 Special tokens")
        let chat = "<|im_start|>user\nWhat is a fortune?<|im_end|>"
        let allowed = try tokenizer.encode(chat, special: .allow)
        print("  allow:   \(allowed.map(String.init).joined(separator: " "))")
        print("           " + allowed.map { "[\(tokenizer.display($0))]" }.joined())
        do {
            _ = try tokenizer.encode(chat)
        } catch {
            print("  reject:  \(error)")
        }
        let plain = try tokenizer.encode("<|im_end|>", special: .asText)
        print("  as text: \"<|im_end|>\" → \(plain.count) ordinary tokens " +
              "\(plain.map { "[\(tokenizer.display($0))]" }.joined())")
    }

    // MARK: - 1.9 Saving the course tokenizer

    //: Two files: the rank file tiktoken reads (`base64(bytes) rank` per line) and a small JSON with the
    //: pattern and the special tokens. Later chapters load them from `runs/course/tokenizer/`, and so can
    //: Python — a test in `Tests/LLMCoreTests/TokenizerTests.swift` checks that `tiktoken` gives the same ids.
    func save(_ tokenizer: BPETokenizer, to folder: URL) throws {
        Console.section("1.9 Saving the course tokenizer")
        try tokenizer.save(to: folder)
        let reloaded = try BPETokenizer.load(from: folder)
        let probe = "Reloaded tokenizers give the same ids. 春眠不覺曉"
        print("  wrote \(Chapter.relativePath(folder.appendingPathComponent(BPETokenizer.rankFileName).path)) and " +
              "\(BPETokenizer.configFileName)")
        print("  reloaded, same ids: \(try reloaded.encode(probe) == tokenizer.encode(probe))")
        print("""
          in Python:
            import json, tiktoken
            from tiktoken.load import load_tiktoken_bpe
            config = json.load(open("\(folder.path)/tokenizer.json"))
            enc = tiktoken.Encoding("course", pat_str=config["pattern"],
                mergeable_ranks=load_tiktoken_bpe("\(folder.path)/tokenizer.tiktoken"),
                special_tokens=config["special_tokens"])
        """)
    }
}
