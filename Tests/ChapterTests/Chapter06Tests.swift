// Chapter 06, `llm sft --lora`, `llm chat --adapter` and `llm lora`, run as a learner and a practitioner
// would.

import Foundation
import Testing

@Suite("Chapter 06, LoRA on the command line", .serialized)
struct Chapter06Tests {
    @Test("ch06 --quick runs every section and writes three adapters; chat switches them; merge = unmerged")
    func quickRunAdaptersAndMerge() throws {
        let folder = scratchFolder()
        let corpus = try writeInstructionCorpus(in: folder)
        let runs = folder.appendingPathComponent("runs")
        // Chapter 05's stand-ins give a checkpoint and tokenizer on disk to put adapters on.
        let ch05 = try runProduct("ch05", ["--quick", "--no-plots", "--corpus", corpus.path, "--run-dir", runs.path])
        #expect(ch05.status == 0, "\(ch05.stderr)")
        let base = runs.appendingPathComponent("sft/checkpoint").path
        let tokenizer = runs.appendingPathComponent("sft").path
        let result = try runProduct("ch06", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path,
                                             "--checkpoint", base, "--tokenizer", tokenizer])
        expectSections(result, ["6.1 Why low rank: the update full fine-tuning makes", "6.2 The LoRA layer",
                                "6.3 LoRA against full fine-tuning", "6.4 The rank", "6.5 Which layers to adapt",
                                "6.6 Merging the update into W", "6.7 One base, many skills: swapping adapters",
                                "6.8 A note on QLoRA"])
        #expect(result.stdout.contains("max |logit difference| from the base model: 0.0"),
                "a fresh adapter is the base")
        #expect(result.stdout.contains("LoRA r = 8 + rows against full"), "6.3 compares LoRA with the chat rows")
        let saved = try String(contentsOf: runs.appendingPathComponent("lora/sft-r8/adapter_config.json"),
                               encoding: .utf8)
        #expect(saved.contains("trainable_token_indices") && !saved.contains("\"trainable_token_indices\" : null"),
                "the saved adapter carries the chat tokens' rows: \(saved)")
        expectFiles(runs, ["lora/sft-r8/adapter_config.json", "lora/sft-r8/adapter_model.safetensors",
                           "lora/english/adapter_model.safetensors", "lora/poems/adapter_model.safetensors"]
                    + ["update-spectrum", "lora-vs-full", "rank-sweep", "rank-sweep-topic", "targets"]
                        .map { "06-lora/\($0).gp" })
        let english = runs.appendingPathComponent("lora/english").path
        let poems = runs.appendingPathComponent("lora/poems").path

        // llm chat with two adapters, switched between replies (stdin lines, as a script would).
        let chat = ["chat", "--checkpoint", base, "--tokenizer", tokenizer, "--max-tokens", "6", "--temperature", "0",
                    "--adapter", english, "--adapter", poems]
        let switched = try runProduct("llm", chat, input: "hello\n/adapter poems\nhello\n/adapter none\nhello\n" +
                                                          "/adapter chinese\n")
        #expect(switched.status == 0, "\(switched.stderr)")
        #expect(switched.stdout.split(separator: "\n", omittingEmptySubsequences: false).count == 4,
                "\(switched.stdout)")
        #expect(switched.stderr.contains("(using poems)") && switched.stderr.contains("(using the base model"))
        #expect(switched.stderr.contains("one of: none, english, poems"), "an unknown name lists the adapters")

        // llm generate with the adapter equals llm generate on the merged checkpoint (greedy ids).
        let merged = folder.appendingPathComponent("merged").path
        let merge = try runProduct("llm", ["lora", "merge", "--checkpoint", base, "--adapter", english, "--out", merged,
                                           "--tokenizer", tokenizer])
        #expect(merge.status == 0 && merge.stdout.contains("merged"), "\(merge.stderr)")
        let generate = ["generate", "--prompt", "The", "--max-tokens", "8", "--temperature", "0", "--ids"]
        let adapted = try runProduct("llm", generate + ["--checkpoint", base, "--tokenizer", tokenizer,
                                                        "--adapter", english])
        let dense = try runProduct("llm", generate + ["--checkpoint", merged])
        #expect(adapted.status == 0 && dense.status == 0, "\(adapted.stderr) \(dense.stderr)")
        #expect(adapted.stdout == dense.stdout && !dense.stdout.isEmpty)
        let inspect = try runProduct("llm", ["lora", "inspect", english])
        #expect(inspect.status == 0 && inspect.stdout.contains("base_model.model.blocks.0.attn.qkv.lora_A.weight"))
        let same = try runProduct("llm", ["lora", "merge", "--checkpoint", base, "--adapter", english, "--out", base])
        #expect(same.status == 64 && same.stderr.contains("--out"), "the base is never overwritten: \(same.stderr)")
        #expect(inspect.stdout.contains("trainable rows of tok_embeddings"), "\(inspect.stdout)")

        // llm quantize (Chapter 07's PTQ) on the merged model: a checkpoint generate loads like any other, greedy
        // ids close to the Float32 model's; a group size that does not divide the rows is named.
        let q8 = folder.appendingPathComponent("q8").path
        let quantize = try runProduct("llm", ["quantize", "--checkpoint", merged, "--bits", "8", "--out", q8])
        #expect(quantize.status == 0 && quantize.stdout.contains("int8-g32") && quantize.stdout.contains("SNR"),
                "\(quantize.stderr)")
        let fromQ8 = try runProduct("llm", generate + ["--checkpoint", q8])
        #expect(fromQ8.status == 0 && !fromQ8.stdout.isEmpty, "\(fromQ8.stderr)")
        let badGroup = try runProduct("llm", ["quantize", "--checkpoint", merged, "--bits", "4", "--group", "128",
                                              "--out", folder.appendingPathComponent("q-bad").path])
        #expect(badGroup.status != 0 && badGroup.stderr.contains("128"), "\(badGroup.stderr)")

        // llm sft --lora trains an adapter only, saves it in PEFT's files; bad LoRA flags are named.
        let data = runs.appendingPathComponent("05-sft/sft-train.jsonl").path
        let sftRun = folder.appendingPathComponent("sft-lora")
        let sft = try runProduct("llm", ["sft", "--checkpoint", base, "--tokenizer", tokenizer, "--data", data,
                                         "--steps", "2", "--batch-size", "2", "--run-dir", sftRun.path, "--lora", "2",
                                         "--lora-targets", "attn.qkv,mlp.down", "--lora-tokens", "chat"])
        #expect(sft.status == 0 && sft.stdout.contains("LoRA r = 2") && sft.stdout.contains("--adapter"),
                "\(sft.stderr)")
        expectFiles(sftRun, ["adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                             "checkpoint/adapter_config.json", "checkpoint/trainer.json"])
        let config = try String(contentsOf: sftRun.appendingPathComponent("adapter/adapter_config.json"),
                                encoding: .utf8)
        #expect(config.contains("\"r\" : 2") && config.contains("attn.qkv") && !config.contains("mlp.gate"))
        // The stand-in base ties its head to the embedding, so the rows are a list: the embedding's (PEFT's form).
        let object = try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any]
        #expect((object?["trainable_token_indices"] as? [Int])?.count == 2
                && sft.stdout.contains("including the rows of token ids"),
                "--lora-tokens chat trains the two ChatML tokens' rows: \(config)")
        // The training checkpoint carries its adapter: chat applies it and says so.
        let fromRun = try runProduct("llm", ["chat", "--checkpoint", sftRun.appendingPathComponent("checkpoint").path,
                                             "--tokenizer", tokenizer, "--max-tokens", "4"], input: "hi\n")
        #expect(fromRun.status == 0 && fromRun.stderr.contains("its adapter is applied"), "\(fromRun.stderr)")
        for (flags, words) in [(["--lora", "0"], "--lora"), (["--lora", "2", "--lora-targets", "nope"], "LoRA targets"),
                               (["--lora-dropout", "0.1"], "--lora RANK"),
                               (["--lora", "2", "--lora-tokens", "<|nope|>"], "--lora-tokens")] {
            let bad = try runProduct("llm", ["sft", "--checkpoint", base, "--tokenizer", tokenizer, "--data", data,
                                             "--steps", "1", "--run-dir", folder.appendingPathComponent("bad").path]
                                            + flags)
            #expect(bad.status != 0 && bad.stderr.contains(words), "\(flags): \(bad.stderr)")
        }
    }
}
