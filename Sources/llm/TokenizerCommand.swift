// `llm tokenizer train|encode|decode`: Chapter 01's tokenizer from a shell, to compare with other tools.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train a byte-level BPE tokenizer, or encode and decode with one.",
        subcommands: [Train.self, Encode.self, Decode.self])

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train on a corpus; write tokenizer.tiktoken and tokenizer.json to --out.")

        @Option(help: "A UTF-8 text file or folder (fortune files split on '%' lines).")
        var corpus: String

        @Option(name: .customLong("vocab-size"), help: "Ids in all: 256 bytes + merges + the 4 special tokens.")
        var vocabularySize: Int = 4096

        @Option(help: "The folder to write the tokenizer files into.")
        var out: String

        @Option(help: "Pre-tokenizer pattern: cl100k (GPT-4) or gpt2.")
        var pattern: PreTokenizerPattern = .cl100k

        @Option(help: "Threads for counting (default: all cores, \(Parallel.defaultThreads) here).")
        var threads: Int?

        mutating func validate() throws { try ChapterOptions.validateThreads(threads) }

        func run() throws {
            Parallel.setThreads(threads ?? Parallel.defaultThreads)
            let documents = try Corpus.load(path: corpus).entries.map(\.text)
            let result = try BPETrainer.train(documents: documents, vocabularySize: vocabularySize, pattern: pattern)
            try result.tokenizer.save(to: URL(fileURLWithPath: out))
            print("trained \(result.tokenizer.vocabularySize) ids (\(result.merges.count) merges) on " +
                  "\(documents.count) documents in \(Format.duration(result.seconds)) → \(out)")
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read UTF-8 text on standard input; print its token ids, separated by spaces.")

        @OptionGroup var location: TokenizerLocation

        @Flag(name: .customLong("allow-special"),
              help: "Encode special-token text such as <|endoftext|> as the special token (default: refuse it).")
        var allowSpecial = false

        func run() throws {
            let bpe = try location.load()
            let input = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: input, encoding: .utf8) else {
                throw CourseError.invalidValue(name: "standard input",
                                               value: "(\(input.count) bytes)", expected: "UTF-8 text")
            }
            let ids = try bpe.encode(text, special: allowSpecial ? .allow : .reject)
            print(ids.map(String.init).joined(separator: " "))
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read token ids (separated by spaces or newlines) on standard input; print the text.")

        @OptionGroup var location: TokenizerLocation

        func run() throws {
            let bpe = try location.load()
            let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            var ids: [Int] = []
            for field in input.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
                guard let id = Int(field) else {
                    throw CourseError.invalidValue(name: "token id", value: "'\(field)'",
                        expected: "whole numbers separated by spaces")
                }
                ids.append(id)
            }
            FileHandle.standardOutput.write(Data(try bpe.decodeBytes(ids)))
        }
    }
}

/// `--tokenizer DIR`, shared by the subcommands that use a trained tokenizer.
struct TokenizerLocation: ParsableArguments {
    @Option(help: "The folder holding tokenizer.tiktoken and tokenizer.json.")
    var tokenizer: String

    func load() throws -> BPETokenizer { try BPETokenizer.load(from: URL(fileURLWithPath: tokenizer)) }
}

extension PreTokenizerPattern: ExpressibleByArgument {}
