//: # Chapter 01 — Tokenizer: byte-level BPE
//:
//: What we build: the tokenizer every later chapter uses. Text becomes bytes (UTF-8), and byte-pair
//: encoding (BPE; Sennrich et al. 2016, https://arxiv.org/abs/1508.07909, as GPT-2 and GPT-4 use it)
//: learns which byte sequences deserve their own id by merging the most frequent adjacent pair, over
//: and over. We pre-tokenize the way GPT-4's `cl100k_base` does, train the slow textbook way and then
//: the fast incremental way, see what BPE does to English and to Chinese, add the special tokens chat
//: models need, and save a tokenizer Python's `tiktoken` can load.
//:
//: What we leave out: SentencePiece/unigram tokenizers, Unicode normalisation, and regex engines
//: (the pre-tokenizer is written by hand).
//:
//: Run it: `swift run -c release ch01` (about 15 seconds; `--quick` a few).
//: Outputs: `runs/course/tokenizer/` (tokenizer.tiktoken, tokenizer.json — used by Chapters 02–10) and
//: `runs/course/01-tokenizer/` — `bpe-top-merges.png`, `compression-per-byte.png`, `compression-per-character.png`.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

@main
struct TokenizerChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch01",
        abstract: "Chapter 01 — Tokenizer: byte-level BPE that trains fast, encodes fast, and interoperates.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the English and Chinese fortunes

    @Option(name: .customLong("vocab-size"),
            help: "Vocabulary size of the course tokenizer: 256 bytes + merges + 4 special tokens.")
    var vocabularySize: Int = 4096

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        try requireFlag("--vocab-size", vocabularySize, in: 260...100_000)  // 256 bytes + 4 special tokens at least
    }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "01-tokenizer")
        let lesson = Lesson(chapter: chapter)
        let tokenizerFolder = options.artifacts.url(.tokenizer)
        let corpus = try corpus.load(default: .all)
        let documents = corpus.entries.map(\.text)
        chapter.banner("Chapter 01 — Tokenizer: byte-level BPE")

        lesson.whyTokens()                                                        // 1.1
        lesson.preTokenization()                                                  // 1.2
        let sample = lesson.naiveMerges(documents)                                // 1.3
        lesson.fastMerges(sample)                                                 // 1.4
        let trained = try lesson.trainCourseTokenizer(documents, vocabularySize)  // 1.5
        try lesson.roundTrips(trained.tokenizer)                                  // 1.6
        try lesson.englishVersusChinese(trained.tokenizer, corpus)                // 1.7
        try lesson.specialTokens(trained.tokenizer)                               // 1.8
        try lesson.save(trained.tokenizer, to: tokenizerFolder)                   // 1.9
    }
}

/// What the sections share: the chapter's run folder, plotter, options and seed.
struct Lesson {
    let chapter: ChapterContext
    var quick: Bool { chapter.quick }

    // MARK: - 1.1 Why tokens: characters, bytes, or something in between

    //: A model reads a sequence of ids from a fixed vocabulary. Characters (Chapter 00) give a short
    //: vocabulary but long sequences, and Unicode has ~150,000 of them. Bytes give exactly 256 ids and
    //: can spell anything — but "tokenization" becomes 3 ids for one Chinese character and 4 for an emoji,
    //: and attention's cost grows with the square of the length. BPE starts from bytes and learns
    //: longer units where the data repeats itself: frequent words become one id, rare ones stay spelled out.
    func whyTokens() {
        Console.section("1.1 Why tokens: characters, bytes, or something in between")
        let text = "Tokenizers eat text: 春眠不覺曉 😀"
        Console.printTable(["view", "length", "first units"], [
            ["characters (Unicode scalars)", "\(text.unicodeScalars.count)",
                text.unicodeScalars.prefix(12).map { String($0) }.joined(separator: "·")],
            ["UTF-8 bytes", "\(text.utf8.count)", text.utf8.prefix(12).map { String($0) }.joined(separator: " ")],
        ])
        print("  \"春\" is 3 bytes (\(Array("春".utf8).map { String(format: "%02X", $0) }.joined(separator: " "))), " +
              "\"😀\" is 4: bytes spell anything, at a price in length.")
    }

    // MARK: - 1.2 Pre-tokenization: where merges may not cross

    //: Before BPE, text is cut into pieces, and merges never cross a piece boundary: "dog." and "dog!"
    //: then share the token "dog" instead of learning "dog." and "dog!" separately. GPT-4's rule (a regular
    //: expression, written out by hand in `PreTokenizer.swift`) keeps a leading space with the word
    //: (" world"), splits English contractions ("'s"), groups digits by at most three, and keeps runs of
    //: punctuation and of whitespace together. GPT-2's older rule glues a space to numbers and does not
    //: cap their length; both are shown.
    func preTokenization() {
        Console.section("1.2 Pre-tokenization: where merges may not cross")
        let text = "I'm 12345 years old!!  春眠不覺曉，處處聞啼鳥。\n"
        for pattern in PreTokenizerPattern.allCases {
            let pieces = PreTokenizer(pattern: pattern).pieces(text)
                .map { "[\($0.replacingOccurrences(of: "\n", with: "⏎"))]" }
            print("  \(pattern.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(pieces.joined())")
        }
    }
}
