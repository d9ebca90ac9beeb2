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
}
