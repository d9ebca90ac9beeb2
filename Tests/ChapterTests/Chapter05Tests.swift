// Chapter 05, `llm chat` and `llm sft`, run as a learner and a practitioner would.

import Foundation
import Testing

/// A corpus with what Chapter 05 needs: three topic files (with attributions) and Tang poems with titles
/// and authors.
func writeInstructionCorpus(in folder: URL) throws -> URL {
    let corpus = folder.appendingPathComponent("corpus")
    try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
    let words = ["computers": ["program", "bug", "disk", "memory"], "food": ["bread", "cheese", "soup", "apple"],
                 "science": ["atom", "theory", "experiment", "star"]]
    for (topic, vocabulary) in words {
        let entries = (0..<30).map { i in
            "The \(vocabulary[i % 4]) of \(topic) number \(i) is a \(vocabulary[(i + 1) % 4]) and a " +
            "\(vocabulary[(i + 2) % 4]).\n\t\t-- Writer \(i % 4)"
        }
        try entries.joined(separator: "\n%\n").write(to: corpus.appendingPathComponent(topic), atomically: true,
                                                     encoding: .utf8)
    }
    let poems = (0..<20).map { i in "《静夜思\(i)》\n作者：李白\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。" }
    try poems.joined(separator: "\n%\n").write(to: corpus.appendingPathComponent("tang300"), atomically: true,
                                               encoding: .utf8)
    return corpus
}

@Suite("Chapter 05, llm chat and llm sft", .serialized)
struct Chapter05Tests {
    @Test("ch05 --quick runs every section on stand-ins and writes the chat model, classifier and data; llm chat answers")
    func quickRunAndChat() throws {
        let folder = scratchFolder()
        let corpus = try writeInstructionCorpus(in: folder)
        let runs = folder.appendingPathComponent("runs")
        let result = try runProduct("ch05", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path])
        expectSections(result, ["5.1 Instruction data from the corpus", "5.2 The chat template and the loss mask",
                                "5.3 A classifier: fine-tuning for a label", "5.4 Prompting before fine-tuning",
                                "5.5 Fine-tuning, with and without the loss mask", "5.6 What fine-tuning bought"])
        #expect(result.stdout.contains("training a tiny one for --quick"))
        #expect(result.stdout.contains("[") && result.stdout.contains("<|im_end|>]"), "the mask is shown on the tokens")
        #expect(result.stdout.contains("naive Bayes, word counts") && result.stdout.contains("(c) all layers + head"))
        expectFiles(runs, ["05-sft/sft-train.jsonl", "05-sft/sft-validation.jsonl", "05-sft/sft-test.jsonl",
                           "sft/checkpoint/model.safetensors", "sft/checkpoint/chat_template.json",
                           "sft/checkpoint/tasks.json", "sft/classifier/head.safetensors", "sft/classifier/topics.json"]
                    + ["classifier-regimes", "confusion", "few-shot", "masking", "task-loss"].map { "05-sft/\($0).gp" })
        // The written training data is valid chat JSONL: llm sft reads it (and trains two steps on it).
        let checkpoint = runs.appendingPathComponent("sft/checkpoint").path
        let tokenizer = runs.appendingPathComponent("sft").path              // saved beside the chat model
        // Chapter 10's measurements of the classifier just written: intervals, calibration, groups, perturbations.
        let measured = try runProduct("llm", ["eval", "--checkpoint", checkpoint, "--corpus", corpus.path, "--tasks",
                                              "classifier", "--classifier",
                                              runs.appendingPathComponent("sft/classifier").path])
        #expect(measured.status == 0 && measured.stdout.contains("ECE (15 bins)")
                && measured.stdout.contains("upper-case: accuracy") && measured.stdout.contains("attributed: accuracy"),
                "\(measured.stdout) \(measured.stderr)")
        // The chat model on Chapter 05's held-out requests, judged by that classifier: the figures 5.6 prints.
        // (This small corpus has no topic request in its test split: those rows say so.)
        let tasks = try runProduct("llm", ["eval", "--checkpoint", checkpoint, "--corpus", corpus.path,
                                           "--tasks", "tasks",
                                           "--classifier", runs.appendingPathComponent("sft/classifier").path])
        #expect(tasks.status == 0 && tasks.stdout.contains("attribution EM") && tasks.stdout.contains("of 9")
                && tasks.stdout.contains("no held-out topic requests"), "\(tasks.stdout) \(tasks.stderr)")
        // The report card over what this run folder holds: measured rows, and the later chapters' models
        // listed with the commands that make them.
        let report = try runProduct("llm", ["eval", "report", "--run-dir", runs.path, "--corpus", corpus.path,
                                            "--max-entries", "20"])
        #expect(report.status == 0, "\(report.stdout) \(report.stderr)")
        let card = (try? String(contentsOf: runs.appendingPathComponent("eval/report.md"), encoding: .utf8)) ?? ""
        #expect(card.contains("| chat (Chapter 05) |") && card.contains("| classifier (Chapter 05) |")
                && card.contains("make it with `swift run -c release ch07`"), "\(card)")
        #expect(FileManager.default.fileExists(atPath: runs.appendingPathComponent("eval/report.json").path))
        let noClassifier = try runProduct("llm", ["eval", "--checkpoint", checkpoint, "--corpus", corpus.path,
                                                  "--tasks", "classifier", "--classifier", folder.path])
        #expect(noClassifier.status != 0 && noClassifier.stderr.contains("ch05"), "\(noClassifier.stderr)")
        // llm chat without a terminal: one reply per stdin line, and a JSON conversation.
        let common = ["chat", "--checkpoint", checkpoint, "--max-tokens", "8"]   // the tokenizer is found beside it
        let lines = try runProduct("llm", common + ["--temperature", "0"], input: "Tell me a fortune about food.\nAgain?\n")
        #expect(lines.status == 0, "\(lines.stderr)")
        #expect(lines.stdout.split(separator: "\n", omittingEmptySubsequences: false).count == 3, "two replies: \(lines.stdout)")
        #expect(lines.stderr.contains("tokens/s"))
        let json = "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}]}"
        let reply = try runProduct("llm", common + ["--temperature", "0"], input: json)
        let again = try runProduct("llm", common + ["--temperature", "0"], input: json)
        #expect(reply.status == 0 && reply.stdout == again.stdout, "greedy is deterministic: \(reply.stderr)")
        let bad = try runProduct("llm", common, input: "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}")
        #expect(bad.status == 1 && bad.stderr.contains("no role") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        let notUser = try runProduct("llm", common, input: "{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}")
        #expect(notUser.status == 1 && notUser.stderr.contains("user"), "\(notUser.stderr)")

        // llm sft on the chapter's JSONL, from the chapter's stand-in base... then a corrupt file.
        let data = runs.appendingPathComponent("05-sft/sft-train.jsonl")
        let sftRun = folder.appendingPathComponent("sft-run")
        let base = runs.appendingPathComponent("sft/checkpoint").path       // any checkpoint can be fine-tuned
        let sft = try runProduct("llm", ["sft", "--checkpoint", base, "--tokenizer", tokenizer, "--data", data.path,
                                         "--steps", "2", "--batch-size", "2", "--run-dir", sftRun.path])
        #expect(sft.status == 0, "\(sft.stderr)")
        #expect(sft.stdout.contains("only the assistant's replies scored") && sft.stdout.contains("validation loss"))
        expectFiles(sftRun, ["checkpoint/model.safetensors", "checkpoint/trainer.json", "chat_template.json",
                             "tokenizer.tiktoken"])
        let corrupt = folder.appendingPathComponent("corrupt.jsonl")
        var text = try String(contentsOf: data, encoding: .utf8).split(separator: "\n").prefix(4).map(String.init)
        text.insert("{\"messages\": [{\"role\": \"user\", \"content\": \"no closing brace\"}]", at: 2)
        try text.joined(separator: "\n").write(to: corrupt, atomically: true, encoding: .utf8)
        let corruptRun = folder.appendingPathComponent("corrupt-run")
        let failed = try runProduct("llm", ["sft", "--checkpoint", base, "--tokenizer", tokenizer, "--data", corrupt.path,
                                            "--steps", "2", "--run-dir", corruptRun.path])
        #expect(failed.status == 1 && failed.stderr.contains("line 3") && failed.stderr.contains("not valid JSON")
                && failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: corruptRun.appendingPathComponent("checkpoint").path),
                "nothing trained on a half-read file")
        // A full run without Chapter 04's model names the command that makes it.
        let full = try runProduct("ch05", ["--corpus", corpus.path, "--tokenizer", tokenizer,
                                           "--run-dir", folder.appendingPathComponent("empty").path])
        #expect(full.status == 1 && full.stderr.contains("ch04"), "\(full.stderr)")
    }
}
