// Chapters 02 and 03 and `llm checkpoint inspect`, run as a learner and a practitioner would.

import Foundation
import Testing

@Suite("Chapters 02 and 03, llm checkpoint", .serialized)
struct Chapter02And03Tests {
    @Test("ch02 --quick runs every section and the model learns to look back")
    func attention() throws {
        let runs = scratchFolder().appendingPathComponent("runs")
        let result = try runProduct("ch02", ["--quick", "--run-dir", runs.path])
        expectSections(result, ["2.1 One query", "2.2 Why divide", "2.3 The causal mask", "2.4 Many heads", "2.5 Where is each token",
                       "2.6 Grouped-query", "2.7 Training attention"])
        let accuracy = result.stdout.split(separator: "\n").first { $0.contains("second-half accuracy") }
        let percent = accuracy.flatMap { line in line.split(separator: " ").compactMap { Double($0.replacingOccurrences(of: "%", with: "")) }.first }
        #expect((percent ?? 0) > 90, "the copy task should be learned: \(accuracy ?? "no accuracy line")")
        expectFiles(runs, ["attention-before", "attention-after", "rope-relative", "sinusoidal-positions", "copy-loss"].map { "02-attention/\($0).gp" })
    }

    @Test("ch03 --quick runs every section, saves a checkpoint that llm inspects and reloads bit for bit")
    func transformer() throws {
        let (result, runs, _) = try runQuickChapter("ch03")
        expectSections(result, ["3.1 The block", "3.2 Where the parameters", "3.3 A forward pass", "3.4 Decoder-only", "3.5 Saving and reloading"])
        #expect(result.stdout.contains("reloaded logits identical  yes, bit for bit"))
        #expect(!result.stdout.contains("✗"), "accounting must match the tensors")
        let checkpoint = runs.appendingPathComponent("03-transformer/checkpoint")
        let inspect = try runProduct("llm", ["checkpoint", "inspect", checkpoint.path])
        #expect(inspect.status == 0 && inspect.stdout.contains("blocks.0.attn.qkv.weight") && inspect.stdout.contains("valid"), "\(inspect.stderr)")

        // Corrupt it: cut the weights file short; inspect must say so in one line and exit 1.
        let weights = checkpoint.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count - 100).write(to: weights)
        let bad = try runProduct("llm", ["checkpoint", "inspect", checkpoint.path])
        #expect(bad.status == 1 && bad.stderr.contains("truncated") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
    }

    @Test("ch03 without a tokenizer (full run) says which command makes it")
    func missingTokenizer() throws {
        let folder = scratchFolder()
        let corpus = try writeBilingualCorpus(in: folder)
        let result = try runProduct("ch03", ["--corpus", corpus.path, "--run-dir", folder.appendingPathComponent("empty").path, "--no-plots"])
        #expect(result.status == 1 && result.stderr.contains("ch01") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
