// `llm eval`: Chapter 10's measurements from a shell. `llm eval metric` scores any system's outputs against
// references, one segment per line, with the figures sacrebleu and rouge-score would print — so anyone
// can check a number here against the Python tools, or score a model that is not ours.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluation (Chapter 10): score outputs against references.",
        subcommands: [Metric.self])

    enum MetricName: String, ExpressibleByArgument, CaseIterable {
        case bleu, chrf, rouge, f1, em
    }

    struct Metric: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "BLEU / chrF (as sacrebleu), ROUGE (as rouge-score), token F1 / exact match (as SQuAD) " +
                "of a hypotheses file against references, one segment per line, with a 95 % bootstrap interval.")

        @Argument(help: "bleu, chrf, rouge, f1 or em.")
        var metric: MetricName

        @Option(help: "A references file, one line per segment; repeat for several references per segment.")
        var references: [String] = []

        @Option(help: "The hypotheses (system outputs) file, one line per segment.")
        var hypotheses: String

        @Option(help: "BLEU's tokenizer: 13a (sacrebleu's default), zh (Chinese) or none.")
        var tokenize: String = "13a"

        @Option(help: "ROUGE's tokens: english (rouge-score's: [a-z0-9]+ only) or chinese (CJK characters too).")
        var rougeTokens: String = "english"

        @Flag(help: "Lower-case before scoring (BLEU, chrF).")
        var lowercase = false

        @Option(help: "Bootstrap resamples for the interval (0: none).")
        var resamples: Int = 1000

        @Option(help: "Also write the figures as JSON here.")
        var json: String?

        func run() throws {
            guard !references.isEmpty else { throw flagError("--references", "(none)", "at least one references file") }
            guard resamples >= 0 else { throw flagError("--resamples", "\(resamples)", "0 or more") }
            guard let tokenizer = BLEUTokenizer(rawValue: tokenize) else {
                throw flagError("--tokenize", tokenize, BLEUTokenizer.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard let tokenization = ROUGE.Tokenization(rawValue: rougeTokens) else {
                throw flagError("--rouge-tokens", rougeTokens, "english or chinese")
            }
            let hypothesisLines = try SegmentFile.lines(hypotheses)
            let referenceFiles = try references.map { path in
                let lines = try SegmentFile.lines(path)
                guard lines.count == hypothesisLines.count else {
                    throw CourseError.invalidValue(name: "references file '\(path)'", value: "(\(lines.count) lines)",
                                                   expected: "one line per hypothesis (\(hypothesisLines.count) in " +
                                                       "'\(hypotheses)')")
                }
                return lines
            }
            let perSegment = hypothesisLines.indices.map { i in referenceFiles.map { $0[i] } }
            let report = try EvalMetricReport.compute(metric.rawValue, hypotheses: hypothesisLines,
                                                      references: perSegment, tokenizer: tokenizer,
                                                      tokenization: tokenization, lowercase: lowercase,
                                                      resamples: resamples)
            for line in report.lines { print(line) }
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try encoder.encode(report.figures), to: URL(fileURLWithPath: json))
            }
        }
    }
}

/// A text file of segments, one per line (a final newline does not make an empty last segment).
enum SegmentFile {
    static func lines(_ path: String) throws -> [String] {
        let url = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CourseError.invalidValue(name: "file '\(path)'", value: "(cannot be read)",
                                           expected: "a UTF-8 text file, one segment per line")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CourseError.invalidValue(name: "file '\(path)'", value: "(not UTF-8)",
                                           expected: "UTF-8 text (convert it with iconv -t UTF-8)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
