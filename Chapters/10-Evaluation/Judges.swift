// Chapter 10, sections 10.6–10.7: people and proxies as judges, and the report card.

import ChapterSupport
import Foundation
import LLMCore

extension EvaluationLesson {
    // MARK: - 10.6 Human evaluation, and a cheap proxy for it

    //: For open-ended answers the reference is a person. Done properly that means: the same prompts to both
    //: models, the answers side by side with the models' names hidden and their order flipped by a coin per
    //: item (raters favour the first answer, and whichever they believe is the new model), a written rubric,
    //: and a win rate — (wins + ½ ties) / items — with its interval. `blind-sheet.md` below is such a sheet for
    //: the chat model against the base model on topic requests; its key, which answer is whose, is in
    //: `blind-sheet.key.json`. Fill it in (write 1, 2 or = after each "Verdict:") and read it back with
    //: `llm eval compare read --sheet runs/course/10-evaluation/blind-sheet.md`.
    //:
    //: The course has no raters, so a scripted rubric stands in for one here, to show the path end to end: an
    //: answer earns a point if it is on the requested topic (naive Bayes on word counts reads that topic in it)
    //: and a point if it does not repeat itself (at least 5 words, 60 % of them distinct); the higher score
    //: wins, equal scores tie. The cheap proxy the chapter compares it with is the Chapter 05 classifier as
    //: judge — it prefers the answer it gives the higher probability of the requested topic, and never ties.
    //: Where they disagree is the lesson: a proxy measures one thing (topic), a rubric several.
    func humanEvaluation() throws {
        Console.section("10.6 Human evaluation, and a cheap proxy for it")
        guard let a = chatTopics, let b = baseTopics, !a.answers.isEmpty else {
            print("  (no topic requests in this corpus: nothing to compare)")
            return
        }
        let count = min(a.answers.count, quick ? 4 : 16)
        let items = (0..<count).map { $0 * a.answers.count / count }   // spread over the topics
        let (sheet, key) = try BlindComparison.sheet(prompts: items.map { a.requests[$0] },
                                                     answersA: items.map { a.answers[$0] },
                                                     answersB: items.map { b.answers[$0] },
                                                     names: ("chat (Chapter 05)", "base (Chapter 04)"), seed: seed)
        let sheetFile = chapter.folder.file("blind-sheet.md")
        try AtomicFile.write(Data(sheet.utf8), to: sheetFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let keyFile = sheetFile.deletingPathExtension().appendingPathExtension("key.json")
        try AtomicFile.write(try encoder.encode(key), to: keyFile)
        print("  wrote \(Chapter.relativePath(sheetFile.path)) (\(count) items) and its key " +
              keyFile.lastPathComponent)
        // The scripted rubric and the classifier, each preferring A (+1), B (−1) or neither (0).
        let labelled = try TopicClassification(corpus, topics: judge.topics)
        let bayes = NaiveBayes(documents: labelled.train.map(\.text), labels: labelled.train.map(\.label),
                               classes: judge.topics.count)
        func rubric(_ answer: String, _ wanted: Int) -> Int {
            let words = answer.lowercased().split(whereSeparator: { !$0.isLetter })
            let fluent = words.count >= 5 && Double(Set(words).count) >= 0.6 * Double(words.count)
            return (bayes.predict(answer) == wanted ? 1 : 0) + (fluent ? 1 : 0)
        }
        var byRubric: [Int] = [], byClassifier: [Int] = []
        for i in items {
            let (ra, rb) = (rubric(a.answers[i], a.wanted[i]), rubric(b.answers[i], b.wanted[i]))
            byRubric.append(ra > rb ? 1 : ra < rb ? -1 : 0)
            let (pa, pb) = (a.probabilities[i][a.wanted[i]], b.probabilities[i][b.wanted[i]])
            byClassifier.append(pa > pb ? 1 : pa < pb ? -1 : 0)
        }
        func onSheet(_ preferences: [Int]) -> [Int] {   // A/B preferences as the sheet's 1 / 2 / =
            zip(preferences, key.aFirst).map { p, aFirst in p == 0 ? 0 : ((p > 0) == aFirst ? 1 : 2) }
        }
        let rated = try BlindComparison.filled(sheet, verdicts: onSheet(byRubric))
        try AtomicFile.write(Data(rated.utf8), to: chapter.folder.file("blind-sheet.rubric.md"))
        let rubricResult = try BlindComparison.read(rated, key: key, resamples: harness.resamples, seed: seed)
        let proxy = try BlindComparison.read(try BlindComparison.filled(sheet, verdicts: onSheet(byClassifier)),
                                             key: key, resamples: harness.resamples, seed: seed)
        Console.keyValues([
            ("scripted rubric", rubricResult.summary),
            ("classifier as judge", proxy.summary),
        ])
        let decided = items.indices.filter { byRubric[$0] != 0 }
        let agree = decided.filter { byRubric[$0] == byClassifier[$0] }.count
        print("  A = chat, B = base. Where the rubric picks a winner (\(decided.count) of \(count) items), the " +
              "classifier agrees on \(agree)")
        for j in decided.filter({ byRubric[$0] != byClassifier[$0] }).prefix(2) {
            let i = items[j]
            print("    \(shown(a.requests[i], 64))")
            print("      chat: \(shown(a.answers[i], 56))")
            print("      base: \(shown(b.answers[i], 56))")
            print("      rubric prefers \(byRubric[j] > 0 ? "chat" : "base"), the classifier " +
                  (byClassifier[j] > 0 ? "chat" : "base"))
        }
    }

    // MARK: - 10.7 The report card

    //: Everything the course made, measured the same way, in one table: `runs/course/eval/report.md` (a model
    //: card to read) and `report.json` (for scripts). Rows: the base model, the chat model, the classifier, every
    //: LoRA adapter of Chapter 06 on the model it fits, every quantized model of Chapter 07 (the chat formats,
    //: and 7.5's int4 base models — PTQ, the Float32 control's PTQ and QAT — on held-out text), and Chapter 09's
    //: retrieval-augmented answers read from its report; a model that is not there is a row naming the command
    //: that makes it, never a silent gap. Columns: held-out bits per byte overall and by language, Chapter 05's
    //: held-out requests (topic following by the classifier and by naive Bayes, attribution and poem-author
    //: exact match), and the classifier's accuracy, macro-F1 and ECE — each with its interval and item count.
    //: Read the rows against their intervals: PTQ, the control and QAT of 7.5 differ by 0.1 % in bits per byte,
    //: far inside ±0.07 — 7.5 could rank them only because it scores every model on the same windows and
    //: compares the losses model against model, which is a paired comparison (10.4).
    //: Beside the card, bar charts with the intervals drawn: `eval/bits-per-byte.png`, `topic-following.png`
    //: and `attribution.png`. `make course` writes it all again at the end with 600 held-out entries per
    //: model (`llm eval report`).
    func reportCard() throws {
        Console.section("10.7 The report card")
        var quiet = harness
        quiet.log = { _ in }
        let artifacts = chapter.options.artifacts
        let start = Date()
        let card = try quiet.reportCard(artifacts, maxEntries: maxEntries, seed: seed)
        let (markdown, json) = try CourseEvaluation.write(card, to: artifacts, plots: !chapter.options.noPlots)
        let columns = [("bits/byte (all)", "bits/byte ↓"), ("topic (classifier judge)", "topic ↑"),
                       ("attribution EM", "attribution ↑"), ("poem author EM", "poem author ↑"),
                       ("topic accuracy", "clf accuracy ↑"), ("topic ECE", "clf ECE ↓")]
        let measured = card.rows.filter { $0.missingCommand == nil }
        Console.printTable(["model (± half the 95 % interval)"] + columns.map(\.1), measured.map { row in
            [row.model] + columns.map { column in
                row.figures[column.0].map { f in
                    String(format: "%.3f ±%.3f", f.interval.value, (f.interval.upper - f.interval.lower) / 2)
                } ?? "—"
            }
        })
        for row in card.rows where row.missingCommand != nil {
            print("  not there yet: \(row.model) — make it with `\(row.missingCommand ?? "")`")
        }
        print("  \(measured.count) models measured in \(Format.duration(Date().timeIntervalSince(start))) " +
              "(\(maxEntries == 0 ? "all" : "\(maxEntries)") held-out entries each); wrote " +
              "\(Chapter.relativePath(markdown.path)) and \(json.lastPathComponent)")
    }
}
