// Introduced in Chapter 03. What later chapters read from earlier ones, with the message that says
// which command makes it when it is missing.

import ArgumentParser
import Foundation
import LLMCore

public enum ChapterInputs {
    /// The Chapter 01 tokenizer in `folder`. With `quick` and no tokenizer there, a small one is trained
    /// on `corpus` instead (so `--quick` runs stand alone); otherwise a missing tokenizer is an error
    /// that names the command to run.
    public static func tokenizer(_ folder: URL, corpus: Corpus, quick: Bool) throws -> BPETokenizer {
        let exists = FileManager.default.fileExists(atPath: folder.appendingPathComponent(BPETokenizer.rankFileName).path)
        if exists || !quick {
            do {
                return try BPETokenizer.load(from: folder)
            } catch TokenizerError.corruptFile(let path, 0, "the file does not exist") {
                throw CourseError.invalidValue(name: "tokenizer", value: path,
                                               expected: "the Chapter 01 tokenizer: run 'swift run -c release ch01' (or 'make course') first, or pass --tokenizer DIR")
            }
        }
        print("(no tokenizer in \(folder.path): training a small one for --quick; run ch01 for the course tokenizer)")
        return try BPETrainer.train(documents: corpus.entries.prefix(2000).map(\.text), vocabularySize: 1024).tokenizer
    }
}

/// `--corpus PATH`, shared by the chapters that read text.
public struct CorpusOption: ParsableArguments {
    @Option(help: "A UTF-8 text file or folder to learn from (default: the fortune collections in \(Corpus.fortunesDirectory)).")
    public var corpus: String?

    public init() {}

    /// The corpus at `--corpus`, or the default fortunes in `language`.
    public func load(default language: Corpus.Language) throws -> Corpus {
        try corpus.map { try Corpus.load(path: $0) } ?? Corpus.fortunes(language)
    }
}

/// `--tokenizer DIR`, shared by the chapters that read the Chapter 01 tokenizer.
public struct TokenizerOption: ParsableArguments {
    @Option(help: "The tokenizer folder (default: <run-dir>/tokenizer, written by Chapter 01).")
    public var tokenizer: String?

    public init() {}

    /// The tokenizer at `--tokenizer` or in `<run-dir>/tokenizer` (see `ChapterInputs.tokenizer`).
    public func load(_ options: ChapterOptions, corpus: Corpus) throws -> BPETokenizer {
        try ChapterInputs.tokenizer(URL(fileURLWithPath: tokenizer ?? "\(options.runDirectory)/tokenizer"),
                                    corpus: corpus, quick: options.quick)
    }
}
