// `llm eval metric` as a practitioner uses it from a shell: figures in sacrebleu's format, JSON, and a
// one-line error for every bad input.

import Foundation
import Testing

@Suite("llm eval metric")
struct EvalCommandTests {
    @Test("scores files line by line, writes JSON; mismatched, missing, non-UTF-8 files, bad flags: one-line errors")
    func metric() throws {
        let folder = scratchFolder()
        let hypotheses = folder.appendingPathComponent("hyp.txt"), references = folder.appendingPathComponent("ref.txt")
        try "the cat sat on the mat\n李白是诗人\n".write(to: hypotheses, atomically: true, encoding: .utf8)
        try "the cat is on the mat\n李白是唐代诗人\n".write(to: references, atomically: true, encoding: .utf8)
        let json = folder.appendingPathComponent("bleu.json")
        let bleu = try runProduct("llm", ["eval", "metric", "bleu", "--hypotheses", hypotheses.path,
                                          "--references", references.path, "--tokenize", "zh", "--json", json.path])
        #expect(bleu.status == 0 && bleu.stdout.hasPrefix("BLEU = ") && bleu.stdout.contains("tok:zh|smooth:exp"),
                "\(bleu.stdout) \(bleu.stderr)")
        let figures = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: [String: Double]]
        let value = try #require(figures?["bleu"]?["value"])
        #expect(value > 0 && value <= 100 && figures?["bleu"]?["lower"] ?? 101 <= value)
        let rouge = try runProduct("llm", ["eval", "metric", "rouge", "--hypotheses", hypotheses.path,
                                           "--references", references.path, "--rouge-tokens", "chinese"])
        #expect(rouge.status == 0 && rouge.stdout.contains("rougeL") && rouge.stdout.contains("tokens: chinese"))

        func failure(_ arguments: [String], _ expected: String) throws {
            let run = try runProduct("llm", ["eval", "metric"] + arguments)
            // The message is the first line (a flag's error is followed by the usage, as ArgumentParser does).
            let first = run.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(run.status != 0 && first.contains(expected), "\(arguments): \(run.stderr)")
        }
        let short = folder.appendingPathComponent("short.txt")
        try "one line\n".write(to: short, atomically: true, encoding: .utf8)
        try failure(["bleu", "--hypotheses", hypotheses.path, "--references", short.path], "(1 lines)")
        try failure(["bleu", "--hypotheses", hypotheses.path, "--references", folder.appendingPathComponent("no").path],
                    "cannot be read")
        let latin1 = folder.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x66, 0xE9, 0x0A, 0x78, 0x0A]).write(to: latin1)
        try failure(["chrf", "--hypotheses", hypotheses.path, "--references", latin1.path], "not UTF-8")
        try failure(["bleu", "--hypotheses", hypotheses.path, "--references", references.path, "--tokenize", "intl"],
                    "13a, zh, none")
        try failure(["bleu", "--hypotheses", hypotheses.path], "at least one references file")
        try failure(["rouge", "--hypotheses", hypotheses.path, "--references", references.path,
                     "--rouge-tokens", "french"], "english or chinese")
        try failure(["bleu", "--hypotheses", hypotheses.path, "--references", references.path, "--resamples=-1"],
                    "0 or more")
    }

    @Test("compare write → a rater fills the sheet → compare read gives the win rate; a bad verdict names its item")
    func compare() throws {
        let folder = scratchFolder()
        func file(_ name: String, _ text: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let prompts = try file("p.txt", "p1\np2\np3\np4\n"), a = try file("a.txt", "a1\na2\na3\na4\n")
        let b = try file("b.txt", "b1\nb2\nb3\nb4\n"), sheet = folder.appendingPathComponent("sheet.md")
        let write = try runProduct("llm", ["eval", "compare", "write", "--prompts", prompts, "--answers-a", a,
                                           "--answers-b", b, "--names", "base,sft", "--out", sheet.path])
        #expect(write.status == 0 && write.stdout.contains("4 items"), "\(write.stderr)")
        let text = try String(contentsOf: sheet, encoding: .utf8)
        #expect(!text.contains("base") && text.contains("Verdict: "))
        try text.replacingOccurrences(of: "Verdict: \n", with: "Verdict: =\n").write(to: sheet, atomically: true,
                                                                                   encoding: .utf8)
        let read = try runProduct("llm", ["eval", "compare", "read", "--sheet", sheet.path])
        #expect(read.status == 0 && read.stdout.contains("A = base, B = sft") && read.stdout.contains("ties 4 of 4"),
                "\(read.stdout) \(read.stderr)")
        try text.replacingOccurrences(of: "Verdict: \n", with: "Verdict: 3\n").write(to: sheet, atomically: true,
                                                                                   encoding: .utf8)
        let bad = try runProduct("llm", ["eval", "compare", "read", "--sheet", sheet.path])
        #expect(bad.status != 0 && bad.stderr.contains("verdict of item 1") && bad.stderr.contains("1, 2 or ="))
        let names = try runProduct("llm", ["eval", "compare", "write", "--prompts", prompts, "--answers-a", a,
                                           "--answers-b", b, "--names", "base", "--out", sheet.path])
        #expect(names.status != 0 && names.stderr.contains("two names"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("sheet.key.json"))
        let noKey = try runProduct("llm", ["eval", "compare", "read", "--sheet", sheet.path])
        #expect(noKey.status != 0 && noKey.stderr.contains("sheet.key.json"))
    }

    @Test("llm eval --checkpoint: held-out bits per byte with intervals, as text and JSON; bad tasks are errors")
    func checkpoint() throws {
        let (folder, corpus, tokenizer) = try corpusAndTokenizer()
        let run = folder.appendingPathComponent("run")
        let train = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--context", "32", "--steps", "2",
                                           "--corpus", corpus.path, "--tokenizer", tokenizer.path,
                                           "--run-dir", run.path, "--batch-size", "2"])
        try #require(train.status == 0, "\(train.stderr)")
        let checkpoint = run.appendingPathComponent("checkpoint").path
        let json = folder.appendingPathComponent("eval.json")
        let common = ["--checkpoint", checkpoint, "--tokenizer", tokenizer.path, "--corpus", corpus.path]
        let eval = try runProduct("llm", ["eval"] + common + ["--json", json.path])
        #expect(eval.status == 0 && eval.stdout.contains("held-out bits per byte") && eval.stdout.contains("all: ")
                && eval.stdout.contains("entries"),
                "\(eval.stdout) \(eval.stderr)")
        let card = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let rows = card?["rows"] as? [[String: Any]]
        #expect(rows?.count == 1 && (rows?.first?["figures"] as? [String: Any])?["bits/byte (all)"] != nil)
        let bad = try runProduct("llm", ["eval"] + common + ["--tasks", "heldout,trivia"])
        #expect(bad.status != 0 && bad.stderr.contains("trivia"), "\(bad.stderr)")
        let negative = try runProduct("llm", ["eval"] + common + ["--max-entries=-1"])
        #expect(negative.status != 0 && negative.stderr.contains("--max-entries"), "\(negative.stderr)")
    }
}
