// `llm lora`: Chapter 06's adapters as files — merge one into its base for an ordinary checkpoint, or
// describe one.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "LoRA adapters (PEFT's files): merge one into its base model, or describe one.",
        subcommands: [Merge.self, Inspect.self])

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "W ← W + (α/r)·B·A: write the adapted model as an ordinary checkpoint every command loads.")

        @Option(help: "The base checkpoint the adapter was trained on.")
        var checkpoint: String

        @Option(help: "The adapter folder (adapter_config.json + adapter_model.safetensors).")
        var adapter: String

        @Option(help: "Where the merged checkpoint goes (a new folder, or one to replace).")
        var out: String

        @Option(help: "The tokenizer folder (default: next to the checkpoint, or runs/course/tokenizer).")
        var tokenizer: String?

        func run() throws {
            let base = URL(fileURLWithPath: checkpoint), output = URL(fileURLWithPath: out)
            if base.standardizedFileURL == output.standardizedFileURL {
                throw flagError("--out", out, "another folder than --checkpoint (the base stays as it is)")
            }
            let model = try Checkpoint.load(from: base)
            let loaded = try LoRAAdapter.load(from: URL(fileURLWithPath: adapter), onto: model)
            try loaded.merge()
            try Checkpoint.save(model, to: output, metadata: ["merged_adapter": adapter])
            try copyTokenizer(tokenizer, near: base, to: output)     // as the chat model travels with its own
            print("merged \(loaded.layers.count) adapted layers (r = \(loaded.config.rank), α/r = " +
                  "\(Format.fixed(loaded.config.scale, 3))) into \(Chapter.relativePath(output.path)); " +
                  "try: llm chat --checkpoint \(Chapter.relativePath(output.path))")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an adapter's config and tensors.")

        @Argument(help: "The adapter folder.")
        var adapter: String

        func run() throws {
            let folder = URL(fileURLWithPath: adapter)
            let config = try LoRAAdapter.readConfig(in: folder)
            let file = try SafetensorsFile.read(folder.appendingPathComponent(LoRAAdapter.weightsFileName))
            print("r \(config.rank), lora_alpha \(Format.fixed(config.alpha, 2)) (scale α/r " +
                  "\(Format.fixed(config.scale, 3))), lora_dropout \(config.dropout), targets " +
                  "\(config.targets.joined(separator: ", ")), base " +
                  (config.baseModel.isEmpty ? "?" : config.baseModel))
            for (table, ids) in config.trainableTokens.sorted(by: { $0.key < $1.key }) {
                print("trainable rows of \(table): token ids \(ids.map(String.init).joined(separator: ", "))")
            }
            var numbers = 0
            for entry in file.entries {
                print("  \(entry.name)  \(entry.dtype.rawValue) \(entry.shape)")
                numbers += entry.shape.reduce(1, *)
            }
            print("\(file.entries.count) tensors, \(Format.integer(numbers)) numbers")
        }
    }
}
