// `--seed` reaches every random choice of a chapter: the same seed gives the same output line for line
// (timings aside), another seed gives other samples.

import Foundation
import Testing

/// A chapter's output without the lines that carry wall-clock figures (times, rates, ETAs, paths) and
/// without table rules, whose width follows the widest cell (a "115.77 ms" under load widens a column).
func reproducibleLines(_ output: String) -> [String] {
    let clocks = ["llm-chapter-tests-", "ms", "GFLOP/s", "tok/s", "tokens/s", "ETA", " s)", "outputs in", "plot",
                  "MB/s", "×", "speed-up", "seconds", "GB/s"]
    return output.split(separator: "\n").map(String.init).filter { line in
        !clocks.contains { line.contains($0) } && !line.allSatisfy { $0 == "─" || $0 == " " }
    }
}

@Suite("Seeds", .serialized)
struct SeedTests {
    @Test("ch00 and ch08 --quick: same seed, same output; another seed, other samples", arguments: ["ch00", "ch08"])
    func seedReachesEverything(chapter: String) throws {
        func run(_ seed: String, _ name: String) throws -> RunResult {
            try runQuickChapter(chapter, ["--seed", seed, "--no-plots"], name: "seed-\(name)-\(chapter)").0
        }
        let (first, again, other) = (try run("7", "a"), try run("7", "b"), try run("8", "c"))
        #expect(first.status == 0 && again.status == 0 && other.status == 0, "\(first.stderr)\(other.stderr)")
        let (a, b, c) = (reproducibleLines(first.stdout), reproducibleLines(again.stdout), reproducibleLines(other.stdout))
        #expect(a.count > 20)
        for (lineA, lineB) in zip(a, b) where lineA != lineB {
            Issue.record("\(chapter): same seed, different line:\n\(lineA)\n\(lineB)")
        }
        #expect(a.count == b.count)
        let samples = { (lines: [String]) in
            lines.filter { $0.contains("sample") || $0.contains("training:") || $0.contains("T = ") }
        }
        #expect(!samples(a).isEmpty && samples(a) != samples(c), "\(chapter): seed 8 wrote the same samples as seed 7")
    }
}

@Suite("Seeds, Chapter 05", .serialized)
struct Chapter05SeedTests {
    @Test("ch05 --quick: same seed, same output line for line; another seed, other losses")
    func seedReachesFineTuning() throws {
        let folder = scratchFolder()
        let corpus = try writeInstructionCorpus(in: folder)
        func run(_ seed: String, _ name: String) throws -> RunResult {
            try runProduct("ch05", ["--quick", "--no-plots", "--seed", seed, "--corpus", corpus.path,
                                    "--run-dir", folder.appendingPathComponent(name).path])
        }
        let (first, again, other) = (try run("7", "a"), try run("7", "b"), try run("8", "c"))
        #expect(first.status == 0 && again.status == 0 && other.status == 0, "\(first.stderr)\(other.stderr)")
        let (a, b, c) = (reproducibleLines(first.stdout), reproducibleLines(again.stdout), reproducibleLines(other.stdout))
        #expect(a.count > 40)
        for (lineA, lineB) in zip(a, b) where lineA != lineB {
            Issue.record("ch05: same seed, different line:\n\(lineA)\n\(lineB)")
        }
        #expect(a.count == b.count)
        // The loss lines end with their wall time; compare what comes before it.
        let losses = { (output: String) in
            output.split(separator: "\n").filter { $0.contains("reply validation loss") }
                .map { $0.components(separatedBy: " in ").first ?? "" }
        }
        #expect(losses(first.stdout).count == 2 && losses(first.stdout) == losses(again.stdout))
        #expect(losses(first.stdout) != losses(other.stdout), "seed 8 trained the same as seed 7: \(losses(first.stdout))")
    }
}
