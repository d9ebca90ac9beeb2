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
        subcommands: [Run.self, Metric.self, Compare.self], defaultSubcommand: Run.self)

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
            let source = try corpus.load(default: .pretraining)
            var entries = source.entries.indices.filter(Corpus.isHeldOut).map { source.entries[$0] }
            if maxEntries > 0 && entries.count > maxEntries {
                entries = (0..<maxEntries).map { entries[$0 * entries.count / maxEntries] }
            }
            guard !entries.isEmpty else {
                throw CourseError.invalidValue(name: "corpus", value: "(\(source.entries.count) entries)",
                                               expected: "at least 10 entries, so that one is held out")
            }
            var figures: [String: ReportCard.Figure] = [:]
            if asked.contains("classifier") {
                try classifierFigures(source, tokenizer: bpe, into: &figures)
            }
            if asked.contains("tasks") {
                try taskFigures(source, chat: gpt, tokenizer: bpe, into: &figures)
            }
            guard asked.contains("heldout") else { return try write(figures) }
            let scores = try HeldOut.perEntry(gpt, tokenizer: bpe, entries: entries.map(\.text))
            let chinese = entries.map { Corpus.chineseTopics.contains($0.topic) }
            let groups: [(String, (Int) -> Bool)] = [("all", { _ in true }), ("english", { !chinese[$0] }),
                                                     ("chinese", { chinese[$0] })]
            for (name, keep) in groups {
                let chosen = scores.indices.filter(keep).map { scores[$0] }
                guard !chosen.isEmpty else { continue }
                figures["bits/byte (\(name))"] = ReportCard.Figure(HeldOut.bitsPerByteInterval(chosen),
                                                                   items: chosen.count)
            }
            print("held-out bits per byte of \(Chapter.relativePath(checkpoint)) (each entry on its own; " +
                  "95 % bootstrap intervals over entries):")
            for (name, figure) in figures.sorted(by: { $0.key < $1.key }) where name.hasPrefix("bits/byte") {
                print("  \(name): \(figure.interval.formatted), \(figure.items) entries")
            }
            try write(figures)
        }

        /// Chapter 05's held-out requests answered by the checkpoint as a chat model (as Chapter 05 and 07 ask
        /// them): topic following judged by the classifier (when there is one) and by naive Bayes, and exact
        /// match on attributions and poem authors, each with its interval.
        func taskFigures(_ corpus: Corpus, chat: GPT, tokenizer: BPETokenizer,
                         into figures: inout [String: ReportCard.Figure]) throws {
            let template = try ChatTemplate(tokenizer: tokenizer)
            let topics = try CourseTasks.topics(in: corpus)
            let splits = CourseTasks.splits(corpus, topics: topics, quick: false).used
            let items = HeldOutTasks(splits, topics: topics, template: template, context: chat.config.contextLength,
                                     quick: false)
            let labelled = try TopicClassification(corpus, topics: topics)
            let bayes = NaiveBayes(documents: labelled.train.map(\.text), labels: labelled.train.map(\.label),
                                   classes: topics.count)
            let folder = classifier.map { URL(fileURLWithPath: $0) }
                ?? RunArtifacts(runDirectory: "runs/course").url(.classifier)
            let judge = try? TopicClassifier.load(from: folder, tokenizer: tokenizer)
            let scores = try items.score(chat: chat, template: template, judge: judge?.topics == topics ? judge : nil,
                                         bayes: bayes, topics: topics, seed: model.seed)
            print("Chapter 05's held-out requests, answered by \(Chapter.relativePath(checkpoint)) as a chat model:")
            var rows: [(String, Int, Int)] = [("topic (naive Bayes judge)", scores.bayesHits, scores.topicItems),
                                              ("attribution EM", scores.attributionHits, scores.attributionItems),
                                              ("poem author EM", scores.poemHits, scores.poemItems)]
            if judge?.topics == topics {
                rows.insert(("topic (classifier judge)", scores.topicHits, scores.topicItems), at: 0)
            } else {
                print("  (no classifier with these topics at \(Chapter.relativePath(folder.path)): naive Bayes judges)")
            }
            if scores.topicItems == 0 {
                print("  topic: no held-out topic requests (none in the test split that fit the context)")
            }
            for (name, hits, n) in rows where n > 0 {
                let interval = Bootstrap.proportion(hits: hits, items: n)
                print("  \(name): \(interval.formatted), \(hits) of \(n)")
                figures[name] = ReportCard.Figure(interval, items: n)
            }
        }

        /// Chapter 05's classifier on its test split, grouped by whether the entry is an attributed quote
        /// (a property of the text, not of its topic, so the groups are not the labels in disguise).
        func classifierFigures(_ corpus: Corpus, tokenizer: BPETokenizer,
                               into figures: inout [String: ReportCard.Figure]) throws {
            let folder = classifier.map { URL(fileURLWithPath: $0) }
                ?? RunArtifacts(runDirectory: "runs/course").url(.classifier)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path)
            else {
                throw CourseError.invalidValue(name: "--classifier", value: folder.path,
                                               expected: "Chapter 05's classifier (make it with swift run -c " +
                                                   "release ch05, or pass --classifier DIR)")
            }
            let topics = try TopicClassifier.load(from: folder, tokenizer: tokenizer)
            let split = try TopicClassification(corpus, topics: topics.topics)
            let items = split.test.map {
                ClassifierEvaluation.Item(text: $0.text, label: $0.label,
                                          group: corpus.entries[$0.entry].attribution == nil ? "unattributed"
                                                                                               : "attributed")
            }
            let e = try ClassifierEvaluation.run({ topics.probabilities($0) }, items: items,
                                                 classes: topics.topics.count)
            print("topic classifier \(Chapter.relativePath(folder.path)), \(e.items) test items of " +
                  "\(topics.topics.count) topics:")
            print("  accuracy \(e.accuracy.formatted) (majority class: " +
                  "\(Format.fixed(e.majorityAccuracy, 3))); macro-F1 \(e.macroF1.formatted)")
            print("  ECE (15 bins) \(e.expectedCalibrationError.formatted)")
            for g in e.fairness.groups {
                print("  \(g.group): accuracy \(Format.fixed(g.accuracy, 3)) on \(g.count) items")
            }
            print("  demographic-parity difference \(Format.fixed(e.fairness.demographicParityDifference, 3)), " +
                  "equalized-odds difference \(Format.fixed(e.fairness.equalizedOddsDifference, 3))")
            for r in e.robustness {
                print("  \(r.perturbation.rawValue): accuracy \(Format.fixed(r.accuracy, 3)), drop rate " +
                      "\(Format.fixed(r.dropRate, 3))")
            }
            figures["topic accuracy"] = ReportCard.Figure(e.accuracy, items: e.items)
            figures["topic macro-F1"] = ReportCard.Figure(e.macroF1, items: e.items)
            figures["topic ECE"] = ReportCard.Figure(e.expectedCalibrationError, items: e.items)
        }

        func write(_ figures: [String: ReportCard.Figure]) throws {
            if let json {
                var card = ReportCard()
                for name in figures.keys.sorted() {
                    let note = name.hasPrefix("bits/byte") ? "held-out corpus entries, each on its own; lower is better"
                        : name.hasPrefix("topic (") || name.hasSuffix(" EM")
                        ? "Chapter 05's held-out requests, the checkpoint as a chat model; higher is better"
                        : "Chapter 05's topic classifier on its test split" + (name.hasSuffix("ECE")
                            ? "; 15 equal-width bins, lower is better" : "; higher is better")
                    card.addColumn(name, note: note)
                }
                try card.add(model: checkpoint, figures: figures)
                try AtomicFile.write(try card.json(), to: URL(fileURLWithPath: json))
            }
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
