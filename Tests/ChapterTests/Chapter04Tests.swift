// Chapter 04 and `llm train`, run as a learner and a practitioner would.

import Foundation
import Testing

@Suite("Chapter 04 and llm train", .serialized)
struct Chapter04Tests {
    @Test("ch04 --quick runs every section and leaves a checkpoint for later chapters")
    func quickRun() throws {
        let (result, runs, _) = try runQuickChapter("ch04")
        expectSections(result, ["4.1 The objective", "4.2 SGD against AdamW", "4.3 Learning-rate schedules",
                                "4.4 The course run", "4.5 Which recipe for a fixed budget", "4.6 What overfitting looks like",
                                "4.7 A glimpse of scaling"])
        #expect(result.stdout.contains("sample (greedy)") && result.stdout.contains("MFU"))
        // Bits per byte of the whole held-out split, per language, beside compressors measured in the run.
        #expect(result.stdout.contains("held-out text, every token once") && result.stdout.contains("English fortunes")
                && result.stdout.contains("bits/byte"), "\(result.stdout)")
        #expect(result.stdout.contains("gzip -9") || result.stdout.contains("not installed, so not measured"))
        #expect(FileManager.default.fileExists(atPath: runs.appendingPathComponent("pretrain/checkpoint/model.safetensors").path))
        expectFiles(runs, ["optimizers", "schedules", "course-run", "recipes", "overfitting", "scaling"].map { "04-pretraining/\($0).gp" })
    }

    @Test("llm train: start, stop, resume to more steps; bad inputs are one-line errors")
    func commandLine() throws {
        let (folder, corpus, tokenizer) = try corpusAndTokenizer()
        let run = folder.appendingPathComponent("run")
        let common = ["--corpus", corpus.path, "--tokenizer", tokenizer.path, "--run-dir", run.path, "--batch-size", "2"]
        let first = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--context", "32", "--steps", "4"] + common)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("validation loss") && first.stdout.contains("checkpoint"))
        #expect(first.stdout.contains("bits/byte") && first.stdout.contains("every held-out token once"), "\(first.stdout)")
        let resumed = try runProduct("llm", ["train", "--resume", "--steps", "6"] + common)
        #expect(resumed.status == 0 && resumed.stdout.contains("resuming at step 4 of 6"), "\(resumed.stderr)")
        let inspect = try runProduct("llm", ["checkpoint", "inspect", run.appendingPathComponent("checkpoint").path])
        #expect(inspect.status == 0)

        let badPreset = try runProduct("llm", ["train", "--preset", "gpt5", "--steps", "1"] + common)
        #expect(badPreset.status != 0 && badPreset.stderr.contains("gpt5") && badPreset.stderr.split(separator: "\n").count == 1)
        let empty = folder.appendingPathComponent("empty.txt")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        let emptyCorpus = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--corpus", empty.path, "--tokenizer", tokenizer.path,
                                                "--run-dir", run.path])
        #expect(emptyCorpus.status == 1 && emptyCorpus.stderr.contains("no text"))
        let short = folder.appendingPathComponent("short.txt")
        try "one short line\n%\nand another".write(to: short, atomically: true, encoding: .utf8)
        let tooShort = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--corpus", short.path, "--tokenizer", tokenizer.path,
                                             "--run-dir", run.path])
        #expect(tooShort.status == 1 && tooShort.stderr.contains("context window"), "\(tooShort.stderr)")
        let huge = try runProduct("llm", ["train", "--preset", "gpt2-small", "--batch-size", "100000"] + common.dropLast(2))
        #expect(huge.status == 1 && huge.stderr.contains("GB") && huge.stderr.contains("--batch-size"), "\(huge.stderr)")
        let file = folder.appendingPathComponent("a-file")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let unwritable = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--corpus", corpus.path, "--tokenizer", tokenizer.path,
                                               "--run-dir", file.appendingPathComponent("sub").path])
        #expect(unwritable.status == 1 && unwritable.stderr.contains("cannot write"), "\(unwritable.stderr)")
    }
}
