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
        abstract: "Evaluation (Chapter 10): a model on held-out data; outputs against references; blind sheets.",
        subcommands: [Run.self, Report.self, Metric.self, Compare.self], defaultSubcommand: Run.self)

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "A checkpoint (with an adapter, if given) on the course's held-out entries: bits per byte " +
                "overall, in English and in Chinese, each with its 95 % interval over entries.")

        @Option(help: "The checkpoint folder.")
        var checkpoint: String

        @Option(help: ArgumentHelp("Tasks, comma-separated: heldout (bits per byte on every 10th corpus entry), " +
                "classifier (Chapter 05's topic classifier on its test split: accuracy, macro-F1, ECE, groups, " +
                "perturbations), tasks (a chat model on Chapter 05's held-out requests: topic following, " +
                "attribution and poem-author exact match)."))
        var tasks: String = "heldout"

        @Option(help: "The topic classifier folder for --tasks classifier (default: runs/course/sft/classifier).")
        var classifier: String?

        @Option(help: "Score at most this many held-out entries (evenly spaced), 0 for all.")
        var maxEntries: Int = 0

        @Option(help: "Also write the figures as JSON here.")
        var json: String?

        @OptionGroup var corpus: CorpusOption
        @OptionGroup var model: ModelRunFlags

        func run() throws {
            let known: Set<String> = ["heldout", "classifier", "tasks"]
            let asked = tasks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let unknown = asked.first(where: { !known.contains($0) }) ?? (asked.isEmpty ? "" : nil) {
                throw flagError("--tasks", unknown.isEmpty ? tasks : unknown,
                                "heldout, classifier or tasks (Chapter 09's join with Chapter 10's harness)")
            }
            guard maxEntries >= 0 else { throw flagError("--max-entries", "\(maxEntries)", "0 (all) or more") }
            let (gpt, bpe, _) = try model.load(checkpoint)
            let harness = CourseEvaluation(corpus: try corpus.load(default: .pretraining), tokenizer: bpe)
            let classifierFolder = classifier.map { URL(fileURLWithPath: $0) }
                ?? RunArtifacts(runDirectory: "runs/course").url(.classifier)
            print("\(Chapter.relativePath(checkpoint)):")
            var figures: [String: ReportCard.Figure] = [:]
            if asked.contains("heldout") { figures.merge(try harness.heldOut(gpt, maxEntries: maxEntries)) { $1 } }
            if asked.contains("classifier") {
                guard FileManager.default.fileExists(
                    atPath: classifierFolder.appendingPathComponent("model.safetensors").path) else {
                    throw CourseError.invalidValue(name: "--classifier", value: classifierFolder.path,
                                                   expected: "Chapter 05's classifier (make it with swift run -c " +
                                                       "release ch05, or pass --classifier DIR)")
                }
                figures.merge(try harness.classifier(at: classifierFolder)) { $1 }
            }
            if asked.contains("tasks") {
                figures.merge(try harness.tasks(gpt, judgeFolder: classifierFolder, seed: model.seed)) { $1 }
            }
            if let json {
                var card = ReportCard()
                CourseEvaluation.addColumns(to: &card)
                try card.add(model: checkpoint, figures: figures)
                try AtomicFile.write(try card.json(), to: URL(fileURLWithPath: json))
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The report card: every model the chapters wrote into the run folder on the held-out data " +
                "and Chapter 05's requests, with intervals, as <run-dir>/eval/report.md and report.json; models " +
                "not made yet are listed with the command that makes them.")

        @Option(help: "The run folder the chapters wrote.")
        var runDir: String = "runs/course"

        @Option(help: "Score at most this many held-out entries per model (evenly spaced), 0 for all.")
        var maxEntries: Int = 0

        @Option(help: "Seed for the chat models' sampled answers.")
        var seed: UInt64 = 1337

        @Option(help: "The tokenizer folder (default: the run's, or the one beside its chat model).")
        var tokenizer: String?

        @OptionGroup var corpus: CorpusOption

        func run() throws {
            guard maxEntries >= 0 else { throw flagError("--max-entries", "\(maxEntries)", "0 (all) or more") }
            let artifacts = RunArtifacts(runDirectory: runDir)
            let folder = artifacts.exists(.tokenizer) && tokenizer == nil ? artifacts.url(.tokenizer)
                : try findTokenizerFolder(tokenizer, near: artifacts.url(.chatModel))
            let tokenizer = try BPETokenizer.load(from: folder)
            let harness = CourseEvaluation(corpus: try corpus.load(default: .pretraining), tokenizer: tokenizer)
            let card = try harness.reportCard(artifacts, maxEntries: maxEntries, seed: seed)
            let (markdown, json) = try CourseEvaluation.write(card, to: artifacts)
            print("wrote \(Chapter.relativePath(markdown.path)) and \(Chapter.relativePath(json.path))")
        }
    }

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

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Human evaluation: write a blind side-by-side sheet of two models' answers, or read a " +
                "filled one back into a win rate with its 95 % interval.",
            subcommands: [Write.self, Read.self])

        struct Write: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write SHEET.md (for the rater) and SHEET.key.json (which answer is whose; keep it away).")

            @Option(help: "The prompts, one per line.")
            var prompts: String
            @Option(help: "Model A's answers, one per line, in the prompts' order.")
            var answersA: String
            @Option(help: "Model B's answers, one per line.")
            var answersB: String
            @Option(help: "The two models' names, as A,B (they appear only in the key).")
            var names: String = "A,B"
            @Option(help: "The sheet to write (Markdown); the key goes next to it as .key.json.")
            var out: String
            @Option(help: "Seed of the per-item order.")
            var seed: UInt64 = 0

            func run() throws {
                let parts = names.split(separator: ",").map(String.init)
                guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty }) else {
                    throw flagError("--names", names, "two names separated by a comma, as base,sft")
                }
                let prompts = try SegmentFile.lines(self.prompts)
                let a = try SegmentFile.lines(answersA), b = try SegmentFile.lines(answersB)
                let (sheet, key) = try BlindComparison.sheet(prompts: prompts, answersA: a, answersB: b,
                                                             names: (parts[0], parts[1]), seed: seed)
                let url = URL(fileURLWithPath: out)
                try AtomicFile.write(Data(sheet.utf8), to: url)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try encoder.encode(key), to: Compare.keyURL(url))
                print("wrote \(Chapter.relativePath(url.path)) (\(prompts.count) items) and its key " +
                      "\(Chapter.relativePath(Compare.keyURL(url).path)); after rating: llm eval compare read " +
                      "--sheet \(Chapter.relativePath(url.path))")
            }
        }

        struct Read: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Read a filled sheet and its key.")

            @Option(help: "The filled sheet; its key is read from next to it (.key.json).")
            var sheet: String

            func run() throws {
                let url = URL(fileURLWithPath: sheet)
                let keyURL = Compare.keyURL(url)
                guard let keyData = FileManager.default.contents(atPath: keyURL.path) else {
                    throw CourseError.invalidValue(name: "key file '\(keyURL.path)'", value: "(cannot be read)",
                                                   expected: "the .key.json that llm eval compare write made")
                }
                let key: ComparisonKey
                do { key = try JSONDecoder().decode(ComparisonKey.self, from: keyData) } catch {
                    throw CourseError.invalidValue(name: "key file '\(keyURL.path)'", value: "(not a comparison key)",
                                                   expected: "the .key.json that llm eval compare write made")
                }
                let text = try SegmentFile.lines(sheet).joined(separator: "\n")
                let result = try BlindComparison.read(text, key: key)
                print("A = \(key.a), B = \(key.b): " + result.summary)
            }
        }

        static func keyURL(_ sheet: URL) -> URL {
            sheet.deletingPathExtension().appendingPathExtension("key.json")
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
