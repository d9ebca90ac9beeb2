//: # Chapter 10 — Evaluation
//:
//: What we build: the measurements that say whether a model is any good, each computed from scratch and checked
//: against the tool the field uses — bits per byte, exact match and token F1 (SQuAD), BLEU and chrF (sacrebleu),
//: ROUGE (rouge-score), accuracy and F1 (scikit-learn), expected calibration error — with a 95 % interval on every
//: figure, and a report card over every model the earlier chapters made. The lesson in one line: a number means
//: something only with its protocol, its baseline and its uncertainty.
//:
//: What we leave out: benchmark suites (MMLU, HellaSwag: multiple-choice questions far beyond a 9 MB model),
//: learned metrics (BERTScore, COMET: they need a large model of their own), LLM-as-judge with a strong model
//: (the course has none), and contamination checks beyond the course's own entry-level split.
//:
//: Run it: `swift run -c release ch10` (about three minutes on 2 cores; `--quick` under 30 seconds). Needs the
//: Chapter 01 tokenizer, the Chapter 04 base model and the Chapter 05 chat model and classifier; with `--quick`
//: it trains tiny stand-ins when they are missing. The report card (10.7) also reads Chapter 06's adapters,
//: Chapter 07's quantized models and Chapter 09's `rag/report.json`, and lists the ones it cannot find with the
//: command that makes them. Writes `runs/course/eval/report.md` and `report.json`; plots and the blind sheet go to
//: `runs/course/10-evaluation/`: `reliability-next-token.png`, `reliability-classifier.png`,
//: `accuracy-coverage.png`, `interval-width.png`, `robustness.png`, `blind-sheet.md` (+ `blind-sheet.key.json`).
//:
//: Legend: N test items, p a proportion, c a confidence, B the bins of a reliability diagram, n-gram n words in
//: a row; brackets [a, b] are 95 % bootstrap intervals over the test items.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct EvaluationChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch10",
        abstract: "Chapter 10 — Evaluation: metrics with baselines and intervals, and the course's report card.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the pretraining corpus (English fortunes + poems)
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The base model (default: <run-dir>/pretrain/checkpoint, from Chapter 04).")
    var base: String?

    @Option(help: "The chat model (default: <run-dir>/sft/checkpoint, from Chapter 05).")
    var checkpoint: String?

    @Option(help: "The topic classifier, the judge of topic following (default: <run-dir>/sft/classifier).")
    var classifier: String?

    @Option(help: "Held-out entries per model for bits per byte (default 300, 40 with --quick; 0: all).")
    var maxEntries: Int?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        if let maxEntries, maxEntries < 0 { throw flagError("--max-entries", "\(maxEntries)", "0 (all) or more") }
    }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "10-evaluation")
        let text = try corpus.load(default: .pretraining)
        let bpe = try tokenizer.load(options, corpus: text)
        let baseModel = try ChapterInputs.baseModel(base.map { URL(fileURLWithPath: $0) }
                                                        ?? options.artifacts.url(.baseModel),
                                                    corpus: text, tokenizer: bpe, quick: options.quick,
                                                    seed: options.seed)
        let chat = try ChapterInputs.chatModel(checkpoint.map { URL(fileURLWithPath: $0) }
                                                   ?? options.artifacts.url(.chatModel),
                                               base: baseModel, corpus: text, tokenizer: bpe, quick: options.quick)
        let judge = try ChapterInputs.classifier(classifier.map { URL(fileURLWithPath: $0) }
                                                     ?? options.artifacts.url(.classifier),
                                                 base: baseModel, corpus: text, tokenizer: bpe, quick: options.quick,
                                                 seed: options.seed)
        chapter.banner("Chapter 10 — Evaluation")
        var lesson = EvaluationLesson(chapter: chapter, corpus: text, bpe: bpe, base: baseModel, chat: chat,
                                      judge: judge, maxEntries: maxEntries ?? (options.quick ? 40 : 300))
        try lesson.perplexityMisleads()   // 10.1
        try lesson.references()           // 10.2
        try lesson.calibration()          // 10.3
        try lesson.intervals()            // 10.4
        try lesson.fairnessAndRobustness()   // 10.5
        try lesson.humanEvaluation()      // 10.6
        try lesson.reportCard()           // 10.7
    }
}

/// What the sections share: the models, the harness, and what earlier sections measured.
struct EvaluationLesson {
    let chapter: ChapterContext
    let corpus: Corpus
    let bpe: BPETokenizer
    let base: GPT, chat: GPT
    let judge: TopicClassifier
    let maxEntries: Int
    var harness: CourseEvaluation
    /// Filled by 10.1: each model's held-out figures; by 10.3: the classifier's evaluation.
    var heldOut: [String: [String: ReportCard.Figure]] = [:]
    var classified: ClassifierEvaluation?
    /// Filled by 10.4: the chat model's topic answers (10.5 attacks them, 10.6 shows them to a rater).
    var chatTopics: TopicAnswers?, baseTopics: TopicAnswers?
    var quick: Bool { chapter.quick }
    var seed: UInt64 { chapter.options.seed }

    init(chapter: ChapterContext, corpus: Corpus, bpe: BPETokenizer, base: GPT, chat: GPT, judge: TopicClassifier,
         maxEntries: Int) {
        (self.chapter, self.corpus, self.bpe, self.base, self.chat, self.judge, self.maxEntries) =
            (chapter, corpus, bpe, base, chat, judge, maxEntries)
        harness = CourseEvaluation(corpus: corpus, tokenizer: bpe)
        harness.resamples = chapter.quick ? 200 : 1000
    }

    /// Text on one line, cut to `width` characters.
    func shown(_ text: String, _ width: Int = 60) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }

    /// The held-out entries this chapter scores (every 10th entry of the corpus), at most `count`, evenly spread.
    func heldOutEntries(_ keep: (CorpusEntry) -> Bool = { _ in true }, count: Int) -> [CorpusEntry] {
        let all = corpus.entries.indices.filter(Corpus.isHeldOut).map { corpus.entries[$0] }.filter(keep)
        return count <= 0 || all.count <= count ? all : (0..<count).map { all[$0 * all.count / count] }
    }

    // MARK: - 10.1 Why perplexity alone misleads

    //: Chapter 04 chose its model by validation loss, and bits per byte — the loss in a unit any compressor
    //: shares — is the honest way to compare language models: Σ −log₂ p(token) over the held-out text divided
    //: by its UTF-8 bytes, so that tokenizers with different vocabularies land on one scale. Its protocol here:
    //: each held-out entry (every 10th entry of the corpus, never trained on) is scored on its own, after an
    //: `<|endoftext|>`, in windows of the context that do not overlap; that makes the entries independent
    //: items, so a bootstrap over them gives the interval. Below: the base model and the chat model Chapter 05
    //: fine-tuned from it, on the same entries, on the replies of Chapter 05's validation conversations (the
    //: loss fine-tuning lowered, in nats per reply token) and on Chapter 05's held-out requests. Fine-tuning makes
    //: the model *worse* at plain text — higher bits per byte, outside the interval — and much better at
    //: replies. Which perplexity is "the" perplexity depends on the text it is measured on, and neither says
    //: whether the model does the task: on the requests the two models are not told apart (10.4 measures
    //: the difference). A leaderboard sorted by held-out perplexity would have put the base model first and
    //: called fine-tuning a regression.
    mutating func perplexityMisleads() throws {
        Console.section("10.1 Why perplexity alone misleads")
        var rows: [[String]] = []
        let replies = try harness.replyBatches(topics: judge.topics, context: chat.config.contextLength,
                                               maxBatches: quick ? 2 : 20)
        var replyLoss: [String: Double] = [:]
        for (name, model) in [("base (Chapter 04)", base), ("chat (Chapter 05)", chat)] {
            print("▸ \(name)")
            var figures = try harness.heldOut(model, maxEntries: maxEntries)
            figures.merge(try harness.tasks(model, judge: judge, seed: seed, quick: quick)) { $1 }
            heldOut[name] = figures
            replyLoss[name] = Losses.meanNextToken(model, replies)
            let cell = { (column: String) in figures[column]?.interval.formatted ?? "—" }
            rows.append([name, cell("bits/byte (all)"), Format.fixed(replyLoss[name] ?? .nan, 3),
                         cell("topic (classifier judge)"), cell("poem author EM")])
        }
        let held = heldOutEntries(count: maxEntries).map(\.text)
        let train = corpus.entries.indices.filter { !Corpus.isHeldOut($0) }.prefix(quick ? 2000 : 20_000)
            .map { corpus.entries[$0].text }
        let (compressors, _) = Compressors.baselines(train: Compressors.text(train), heldOut: Compressors.text(held))
        for c in compressors {
            rows.append(["\(c.name), primed with training text", Format.fixed(c.primed, 3), "—", "—", "—"])
        }
        rows.append(["chance (uniform; one topic in \(judge.topics.count))", "8.000",
                     Format.fixed(log(Double(bpe.vocabularySize)), 3), Format.fixed(1 / Double(judge.topics.count), 3),
                     "0"])
        print("")
        Console.printTable(["model", "text bits/byte ↓", "reply nats/token ↓", "topic following ↑",
                            "poem author EM ↑"], rows)
        print("  (text: \(held.count) held-out entries; replies: \(replies.reduce(0) { $0 + $1.inputs.count }) " +
              "validation conversations of Chapter 05, reply tokens only;")
        print("   topic following: \(heldOut["chat (Chapter 05)"]?["topic (classifier judge)"]?.items ?? 0) held-out " +
              "requests, the classifier judges)")
        let name = ("base (Chapter 04)", "chat (Chapter 05)")
        if let b = heldOut[name.0]?["bits/byte (all)"], let c = heldOut[name.1]?["bits/byte (all)"],
           let rb = replyLoss[name.0], let rc = replyLoss[name.1] {
            let text = c.interval.lower > b.interval.upper ? "worse on held-out text (the intervals do not overlap)"
                : c.interval.upper < b.interval.lower ? "better on held-out text" : "level on held-out text"
            let reply = rc < rb ? "better" : rc > rb ? "worse" : "level"
            print("  fine-tuning made the model \(text)")
            print("  and \(reply) on replies " + String(format: "(%.3f → %.3f nats/token)", rb, rc))
        }
    }

    // MARK: - 10.2 Scoring answers against references

    //: When a task has a right answer, compare with it. **Exact match** (SQuAD's normalisation: lower case, no
    //: punctuation, no articles a/an/the, single spaces) gives 1 or 0; **token F1** gives partial credit,
    //: the harmonic mean of precision and recall of the shared words counted as multisets — "Mark Twain" against
    //: "Twain" is 0 by EM and 0.67 by F1. For Chinese, each character is a token (as CMRC 2018 scores it).
    //:
    //: Free text — a translation, a summary, the rest of a fortune — has many right answers, so the field counts
    //: overlapping n-grams with one reference instead. **BLEU** (corpus-level, as sacrebleu computes it): for
    //: n = 1…4 the modified precision p_n — each hypothesis n-gram counts at most as often as it appears in the
    //: reference (clipping: "the the the" does not score three matches of "the") — then BLEU = BP · exp(¼ Σ log
    //: p_n), with the brevity penalty BP = exp(1 − r/h) when the hypotheses (h words) are shorter than the
    //: references (r words). A zero p_n makes BLEU 0; "exp" smoothing (sacrebleu's default) replaces it by
    //: 1/(2^k · total). **chrF** does the same on character 1–6-grams with recall weighted twice (F2);
    //: **ROUGE-L** (rouge-score) is the F of the longest common subsequence of words. Each figure comes with
    //: sacrebleu's signature so a reader can reproduce it — `llm eval metric bleu --hypotheses H --references R`
    //: prints the same number as `sacrebleu R < H` (our tests hold them to 1e-6). The task here: the base model
    //: continues held-out entries from their first half, scored against the true second half; the baseline is
    //: the second half of *another* entry, which shares only the language's common words — the chance level
    //: of each metric.
    func references() throws {
        Console.section("10.2 Scoring answers against references")
        let template = try ChatTemplate(tokenizer: bpe)
        let topics = judge.topics
        let splits = CourseTasks.splits(corpus, topics: topics, quick: false).used
        let asked = HeldOutTasks(splits, topics: topics, template: template, context: chat.config.contextLength,
                                 quick: quick)
        let questions = asked.attribution + asked.poem
        var answers: [String] = []
        for item in questions {
            var random = SeededGenerator(seed: seed)
            answers.append(try TaskEvaluation.reply(chat, template, request: item.request, maxTokens: 16,
                                                    random: &random))
        }
        let gold = questions.map(\.answer)
        if !answers.isEmpty {
            let em = try EvalMetricReport.compute("em", hypotheses: answers, references: gold.map { [$0] },
                                                  resamples: harness.resamples).figures["em"]
            let f1 = try EvalMetricReport.compute("f1", hypotheses: answers, references: gold.map { [$0] },
                                                  resamples: harness.resamples).figures["f1"]
            print("  the chat model names the author of \(asked.attribution.count) held-out quotes and " +
                  "\(asked.poem.count) poems:")
            print("    exact match \(em?.formatted ?? "—"), token F1 \(f1?.formatted ?? "—")")
            let partial = zip(answers, gold).filter { AnswerMetrics.exactMatch($0, $1) == 0 &&
                                                       AnswerMetrics.tokenF1($0, $1) > 0 }
            print("    \(partial.count) answers score 0 by exact match and more by F1" +
                  (partial.isEmpty ? "" : ", as"))
            for (answer, reference) in partial.prefix(3) {
                print("      \"\(shown(answer, 28))\" for \"\(reference)\": F1 " +
                      Format.fixed(AnswerMetrics.tokenF1(answer, reference), 2))
            }
        }
        // Continuations: English entries from half their words, poems from their first lines.
        let english = heldOutEntries({ !Corpus.chineseTopics.contains($0.topic) && $0.text.split(separator: " ")
                                         .count >= 12 }, count: quick ? 8 : 100)
        let poems = heldOutEntries({ Corpus.poemTopics.contains($0.topic) && Self.verseLines($0.text).count >= 2 },
                                   count: quick ? 4 : 40)
        var rows: [[String]] = []
        for (language, entries) in [("English", english), ("Chinese poems", poems)] where entries.count >= 2 {
            var hypotheses: [String] = [], references: [String] = []
            for entry in entries {
                let (prompt, reference) = language == "English" ? Self.halves(entry.text) : Self.firstLines(entry.text)
                var random = SeededGenerator(seed: seed)
                let maxTokens = min(48, bpe.encode(bytes: Array(reference.utf8)).count + 4)
                let written = try TaskEvaluation.complete(base, bpe, prompt: prompt, maxTokens: maxTokens,
                                                          singleLine: language != "English", random: &random)
                hypotheses.append(Self.flat(written))
                references.append(Self.flat(reference))
            }
            let shuffled = Array(references[1...] + [references[0]])   // another entry's ending
            let bleuTokens: BLEUTokenizer = language == "English" ? .thirteenA : .zh
            let rougeTokens: ROUGE.Tokenization = language == "English" ? .english : .chinese
            for (system, output) in [("base model", hypotheses), ("another entry's ending", shuffled)] {
                let refs = references.map { [$0] }
                let bleu = try EvalMetricReport.compute("bleu", hypotheses: output, references: refs,
                                                        tokenizer: bleuTokens, resamples: harness.resamples)
                let chrf = try EvalMetricReport.compute("chrf", hypotheses: output, references: refs,
                                                        resamples: harness.resamples)
                let rouge = try EvalMetricReport.compute("rouge", hypotheses: output, references: refs,
                                                         tokenization: rougeTokens, resamples: harness.resamples)
                rows.append(["\(language) (\(entries.count))", system,
                             bleu.figures["bleu"].map { Self.percent($0) } ?? "—",
                             chrf.figures["chrf"].map { Self.percent($0) } ?? "—",
                             rouge.figures["rougeL"].map { Self.percent(Self.scaled($0, 100)) } ?? "—"])
                if system == "base model" { print("  \(language): \(bleu.lines[1])") }
            }
            if language != "English" {
                let dropped = try ROUGE.corpus(hypotheses, references: references, tokenization: .english)
                print("  the same poems with rouge-score's tokenizer ([a-z0-9]+ only): ROUGE-L " +
                      Format.fixed(100 * (dropped["rougeL"]?.f ?? 0), 1) + " — every Chinese character dropped")
            }
            if let entry = entries.first, let written = hypotheses.first {
                let (prompt, reference) = language == "English" ? Self.halves(entry.text) : Self.firstLines(entry.text)
                print("    prompt: \(shown(prompt, 50))")
                print("    model:  \(shown(written, 50))")
                print("    truth:  \(shown(reference, 50))")
            }
        }
        Console.printTable(["continuations", "system", "BLEU", "chrF", "ROUGE-L F"], rows)
    }

    /// A text cut after half its words: (the first half, the rest).
    static func halves(_ text: String) -> (String, String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        let cut = words[words.count / 2].startIndex
        return (String(text[..<cut]), String(text[cut...]))
    }

    /// The lines of a poem's verse (those with Chinese punctuation, not the title, author or a heading).
    static func verseLines(_ text: String) -> [Range<String.Index>] {
        var lines: [Range<String.Index>] = []
        var start = text.startIndex
        while start < text.endIndex {
            let end = text[start...].firstIndex(of: "\n") ?? text.endIndex
            if text[start..<end].contains(where: { "，。？！".contains($0) }) { lines.append(start..<end) }
            start = end < text.endIndex ? text.index(after: end) : end
        }
        return lines
    }

    /// A poem up to and including its first line of verse (and that line's newline), and its second line of
    /// verse; the whole text and "" for a poem with fewer than two.
    static func firstLines(_ text: String) -> (String, String) {
        let verse = verseLines(text)
        guard verse.count >= 2 else { return (text, "") }
        return (String(text[...verse[0].upperBound]), String(text[verse[1]]))
    }

    static func flat(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func scaled(_ i: Bootstrap.Interval, _ k: Double) -> Bootstrap.Interval {
        Bootstrap.Interval(value: i.value * k, lower: i.lower * k, upper: i.upper * k)
    }

    /// "12.3 [8.1, 16.0]": a figure on a 0–100 scale.
    static func percent(_ i: Bootstrap.Interval) -> String {
        String(format: "%.1f [%.1f, %.1f]", i.value, i.lower, i.upper)
    }
}
