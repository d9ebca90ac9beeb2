// Chapter 10 run as a learner would: every section on stand-in models, its files, and the report card.

import Foundation
import Testing

@Suite("Chapter 10", .serialized)
struct Chapter10Tests {
    @Test("ch10 --quick runs every section on stand-ins, writes the plots, the blind sheet and the report card")
    func quickRun() throws {
        let folder = scratchFolder()
        let corpus = try writeInstructionCorpus(in: folder), runs = folder.appendingPathComponent("runs")
        // Chapter 09's report, as it writes it: the card reads its retrieval rows from there.
        let rag = runs.appendingPathComponent("rag")
        try FileManager.default.createDirectory(at: rag, withIntermediateDirectories: true)
        let report = #"{"answers": [{"condition": "chat model + top-3, choosing", "by_task": {"attribution": "# +
            #"{"exact_match": 0.5, "questions": 60}}}, {"condition": "reader + top-3, choosing", "by_task": "# +
            #"{"attribution": {"exact_match": 0.55, "questions": 60}}}, "# +
            #"{"condition": "chat model, no retrieval", "by_task": "# +
            #"{"attribution": {"exact_match": 0, "questions": 60}}}]}"#
        try Data(report.utf8).write(to: rag.appendingPathComponent("report.json"))
        let result = try runProduct("ch10", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path])
        expectSections(result, ["10.1 Why perplexity alone misleads", "10.2 Scoring answers against references",
                                "10.3 Calibration before and after fine-tuning",
                                "10.4 What an interval says about a small test set",
                                "10.5 Fairness and robustness, as measurements",
                                "10.6 Human evaluation, and a cheap proxy for it", "10.7 The report card"])
        #expect(result.stdout.contains("training a head on the base model for --quick"))
        #expect(result.stdout.contains("tok:13a|smooth:exp") && result.stdout.contains("tok:zh|smooth:exp"))
        // The stand-in's 64-token context leaves no room for the attack's suffix here; the course model's has.
        #expect(result.stdout.contains("attack success rate")
                || result.stdout.contains("no topic request leaves room for the attack"))
        #expect(result.stdout.contains("chat − base, paired") && result.stdout.contains("classifier as judge"))
        #expect(result.stdout.contains("not there yet: base (Chapter 04) — make it with `swift run -c release ch04`"))
        expectFiles(runs, ["eval/report.md", "eval/report.json", "10-evaluation/blind-sheet.md",
                           "10-evaluation/blind-sheet.key.json", "10-evaluation/blind-sheet.rubric.md"]
                    + ["reliability-next-token", "reliability-classifier", "accuracy-coverage", "interval-width",
                       "robustness"].map { "10-evaluation/\($0).gp" })
        // The blind sheet reads back with llm eval compare once filled; the scripted rubric's copy already is.
        let rated = try runProduct("llm", ["eval", "compare", "read", "--sheet",
                                           runs.appendingPathComponent("10-evaluation/blind-sheet.md").path])
        #expect(rated.status != 0 && rated.stderr.contains("verdict of item 1"), "\(rated.stderr)")
        // Without models on disk the card lists them as missing; Chapter 09's retrieval rows come from its report.
        let card = try String(contentsOf: runs.appendingPathComponent("eval/report.md"), encoding: .utf8)
        #expect(card.contains("| rag: chat model + top-3, choosing | — | — | — | — | — | 0.500 [")
                && !card.contains("no retrieval") && card.contains("chat (Chapter 05): make it with"), "\(card)")
        // Beside the card, a chart of each main column with two rows or more, linked from it.
        #expect(card.contains("![attribution exact match](attribution.png)") && !card.contains("bits-per-byte.png"))
        expectFiles(runs, ["eval/attribution.gp", "eval/attribution.dat"])
        try Data("{not json".utf8).write(to: rag.appendingPathComponent("report.json"))
        _ = try runProduct("llm", ["tokenizer", "train", "--corpus", corpus.path, "--vocab-size", "320", "--out",
                                   runs.appendingPathComponent("tokenizer").path])
        let damaged = try runProduct("llm", ["eval", "report", "--run-dir", runs.path, "--corpus", corpus.path])
        let again = try String(contentsOf: runs.appendingPathComponent("eval/report.md"), encoding: .utf8)
        #expect(damaged.status == 0 && again.contains("rag/report.json unreadable"), "\(damaged.stderr) \(again)")
        let bad = try runProduct("ch10", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path,
                                          "--max-entries", "-1"])
        #expect(bad.status != 0 && bad.stderr.contains("--max-entries"))
    }
}
