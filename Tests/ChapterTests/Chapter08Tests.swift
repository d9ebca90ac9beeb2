// Chapter 08 and `llm generate`, run as a learner and a practitioner would.

import Foundation
import Testing

@Suite("Chapter 08 and llm generate", .serialized)
struct Chapter08Tests {
    @Test("ch08 --quick runs every section on stand-in models when Chapter 04 has not run")
    func quickRun() throws {
        let (result, runs, folder) = try runQuickChapter("ch08")
        expectSections(result, ["8.1 From logits to probabilities", "8.2 Cutting the tail", "8.3 Greedy, beam search, sampling",
                                "8.4 Repetition", "8.5 The KV cache", "8.6 Speculative decoding", "8.7 Prompt lookup"])
        #expect(result.stdout.contains("training a tiny one for --quick"))
        #expect(!result.stdout.contains("│ NO") && !result.stdout.contains("  NO"), "speculative greedy must reproduce plain greedy")
        expectFiles(runs, ["temperature", "cutoffs", "kv-cache", "speculative-acceptance"].map { "08-sampling/\($0).gp" })
        let full = try runProduct("ch08", ["--corpus", folder.appendingPathComponent("corpus").path, "--run-dir", folder.appendingPathComponent("empty").path])
        #expect(full.status == 1 && (full.stderr.contains("ch01") || full.stderr.contains("ch04")),
                "a full run names the chapter to run first: \(full.stderr)")
        let missing = folder.appendingPathComponent("no-such-tokenizer").path
        let custom = try runProduct("ch08", ["--corpus", folder.appendingPathComponent("corpus").path, "--tokenizer", missing])
        #expect(custom.status == 1 && custom.stderr.contains(missing) && custom.stderr.contains("ch01"),
                "a missing --tokenizer is named as given: \(custom.stderr)")
    }

    @Test("llm generate streams a continuation; --ids, greedy determinism and bad input")
    func commandLine() throws {
        let (folder, corpus, tokenizer) = try corpusAndTokenizer()
        let run = folder.appendingPathComponent("run")
        let trained = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--context", "32", "--steps", "3", "--batch-size", "2",
                                            "--corpus", corpus.path, "--tokenizer", tokenizer.path, "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let checkpoint = run.appendingPathComponent("checkpoint").path
        let common = ["generate", "--checkpoint", checkpoint, "--tokenizer", tokenizer.path]
        let text = try runProduct("llm", common + ["--prompt", "The cat", "--max-tokens", "12", "--temperature", "0"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("The cat") && text.stderr.contains("tokens/s") && text.stderr.contains("cache"))
        let ids = try runProduct("llm", common + ["--prompt", "The cat", "--max-tokens", "12", "--temperature", "0", "--ids"])
        let again = try runProduct("llm", common + ["--prompt", "The cat", "--max-tokens", "12", "--temperature", "0", "--ids", "--no-cache"])
        #expect(ids.status == 0 && !ids.stdout.isEmpty && ids.stdout.split(separator: " ").allSatisfy { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        #expect(ids.stdout == again.stdout, "greedy with and without the cache must agree")
        let sampled = try runProduct("llm", common + ["--prompt", "The", "--max-tokens", "8", "--top-k", "5", "--top-p", "0.9", "--min-p", "0.05", "--seed", "3"])
        #expect(sampled.status == 0, "\(sampled.stderr)")

        for (arguments, mentions) in [(["--top-p", "1.5"], "--top-p 1.5"), (["--top-k", "0"], "--top-k 0"), (["--temperature=-1"], "--temperature -1"),
                                      (["--max-tokens", "0"], "--max-tokens 0")] {
            let bad = try runProduct("llm", common + ["--prompt", "The"] + arguments)
            #expect(bad.status != 0 && bad.stderr.contains(mentions) && bad.stderr.split(separator: "\n").count == 1, "\(arguments): \(bad.stderr)")
        }
        let empty = try runProduct("llm", common + ["--prompt", ""])
        #expect(empty.status != 0 && empty.stderr.contains("--prompt"), "\(empty.stderr)")
        let special = try runProduct("llm", common + ["--prompt", "hello <|bogus|> there"])
        #expect(special.status == 1 && special.stderr.contains("<|bogus|>") && special.stderr.contains("<|endoftext|>"), "\(special.stderr)")
        let missing = try runProduct("llm", ["generate", "--checkpoint", folder.appendingPathComponent("nope").path, "--prompt", "x"])
        #expect(missing.status == 1 && missing.stderr.contains("nope") && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
    }
}
