// `llm sft`: Chapter 05's supervised fine-tuning on your own conversations (chat JSONL), from any
// checkpoint, through the same trainer as pretraining; `llm chat` talks to the result.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Fine-tune a checkpoint on conversations ({\"messages\": [...]} JSONL); only replies are scored.")

    @Option(help: "The checkpoint to start from (default: the course base model).")
    var checkpoint = RunArtifacts(runDirectory: "runs/course").url(.baseModel).path

    @Option(help: "Training conversations, one {\"messages\": [...]} per line.")
    var data: String

    @Option(help: "Validation conversations (default: every 10th line of --data, not trained on).")
    var validation: String?

    @Option(help: "The tokenizer folder (default: next to the checkpoint, or runs/course/tokenizer).")
    var tokenizer: String?

    @Option(name: .customLong("run-dir"), help: "Where the checkpoint (<run-dir>/checkpoint) and tokenizer go.")
    var runDirectory = "runs/sft"

    @Option(help: "Total optimizer steps.")
    var steps = 300

    @Option(name: .customLong("batch-size"), help: "Conversations per batch (each padded to the longest).")
    var batchSize = 16

    @Option(name: .customLong("learning-rate"), help: "Peak learning rate (AdamW), after warmup; decays to a tenth.")
    var learningRate: Float = 1e-3

    @Option(name: .customLong("length-grouping"),
            help: "Draw N batches' worth of conversations, sort by length, train on one chunk: less padding (1: off).")
    var grouping = 8

    @Flag(name: .customLong("no-mask"), help: "Score every token, not only the replies (the ablation of Chapter 05).")
    var noMask = false

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0: only at the end).")
    var checkpointEvery = 50

    @Option(help: "Seed for batches.")
    var seed: UInt64 = 1337

    @Option(help: "Threads (default: all cores, \(Parallel.defaultThreads) here).")
    var threads: Int?

    @Flag(help: "Continue from <run-dir>/checkpoint exactly where it stopped (up to --steps in total).")
    var resume = false

    @Option(help: ArgumentHelp("Train a LoRA adapter of this rank instead of every weight (Chapter 06); saved to " +
                               "<run-dir>/adapter. LoRA usually wants a higher --learning-rate (Chapter 06: 1e-2)."))
    var lora: Int?

    @Option(name: .customLong("lora-alpha"), help: "LoRA's α: the update is scaled by α/r.")
    var loraAlpha: Float = 16

    @Option(name: .customLong("lora-targets"),
            help: ArgumentHelp("Comma-separated layer names to adapt (default: all linear layers: " +
                               "\(LoRAConfig.allLinear.joined(separator: ",")))."))
    var loraTargets: String?

    @Option(name: .customLong("lora-dropout"), help: "Dropout on the adapters' input while training, in [0, 1).")
    var loraDropout: Float = 0

    @Option(name: .customLong("lora-tokens"),
            help: ArgumentHelp("Also train these tokens' rows of the embedding and the LM head (PEFT's trainable " +
                               "tokens): 'chat' for <|im_start|> and <|im_end|> — which a base model never learned " +
                               "to predict (Chapter 06) — or comma-separated ids or special tokens."))
    var loraTokens: String?

    /// The ids --lora-tokens names, for this tokenizer and chat template.
    func tokenIds(_ tokenizer: BPETokenizer, _ template: ChatTemplate) throws -> [Int] {
        guard let loraTokens else { return [] }
        if loraTokens == "chat" { return [template.start, template.end] }
        let ids = try loraTokens.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.map { item in
            if let id = Int(item), (0..<tokenizer.vocabularySize).contains(id) { return id }
            if let id = tokenizer.specialId(item) { return id }
            let specials = tokenizer.specialTokens.keys.sorted().joined(separator: ", ")
            throw flagError("--lora-tokens", item, "'chat', a token id below \(tokenizer.vocabularySize) or one of " +
                            "the tokenizer's special tokens (\(specials))")
        }
        return Array(NSOrderedSet(array: ids)).compactMap { $0 as? Int }
    }

    /// The adapter --lora asks for (nil: full fine-tuning).
    var loraConfig: LoRAConfig? {
        lora.map { rank in
            LoRAConfig(rank: rank, alpha: loraAlpha,
                       targets: loraTargets.map { list in
                           list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                               .filter { !$0.isEmpty }
                       } ?? LoRAConfig.allLinear,
                       dropout: loraDropout, baseModel: checkpoint)
        }
    }

    mutating func validate() throws {
        try ChapterOptions.validateThreads(threads)
        try requireFlag("--steps", steps, in: 1...10_000_000)
        try requireFlag("--batch-size", batchSize, in: 1...100_000)
        try requireFlag("--length-grouping", grouping, in: 1...1_000)
        try requireFlag("--checkpoint-every", checkpointEvery, in: 0...10_000_000)
        if !(learningRate > 0 && learningRate.isFinite) {
            throw flagError("--learning-rate", "\(learningRate)", "a positive number")
        }
        if let lora { try requireFlag("--lora", lora, in: 1...4_096) }
        if !(loraAlpha > 0 && loraAlpha.isFinite) {
            throw flagError("--lora-alpha", "\(loraAlpha)", "a positive number")
        }
        if !(0..<1).contains(loraDropout) { throw flagError("--lora-dropout", "\(loraDropout)", "a number in [0, 1)") }
        if loraTargets?.split(separator: ",").isEmpty == true {
            throw flagError("--lora-targets", loraTargets ?? "", "layer names such as attn.qkv,mlp.down")
        }
        if loraTokens?.split(separator: ",").isEmpty == true {
            throw flagError("--lora-tokens", loraTokens ?? "", "'chat', or token ids or special tokens")
        }
        if lora == nil && (loraTargets != nil || loraDropout != 0 || loraTokens != nil) {
            throw flagError("--lora-targets/--lora-dropout/--lora-tokens", "(without --lora)", "--lora RANK as well")
        }
    }

    func run() throws {
        Parallel.setThreads(threads ?? Parallel.defaultThreads)
        let folder = try RunFolder(runDirectory: runDirectory, chapter: ".").url.standardizedFileURL
        let output = folder.appendingPathComponent("checkpoint")
        let base = URL(fileURLWithPath: checkpoint)
        let bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: base))
        let template = try ChatTemplate(tokenizer: bpe)
        // Read every file completely before training on any of it.
        var train = try ChatJSONL.read(URL(fileURLWithPath: data))
        var held: [[ChatMessage]]
        if let validation { held = try ChatJSONL.read(URL(fileURLWithPath: validation)) } else {
            held = train.enumerated().filter { $0.offset % 10 == 9 }.map(\.element)
            train = train.enumerated().filter { $0.offset % 10 != 9 }.map(\.element)
            if held.isEmpty { held = Array(train.suffix(1)) }               // fewer than 10: validate on one of them
        }
        let context = try Checkpoint.config(in: resume ? output : base).contextLength
        let trainSet = SFTData.examples(train, template: template, length: context, masked: !noMask)
        let validationSet = SFTData.examples(held, template: template, length: context)   // replies only, always
        let padding = bpe.specialId("<|pad|>") ?? template.end
        var source = try MaskedExamples(train: trainSet.examples, validation: validationSet.examples,
                                        batchSize: batchSize, length: context, padding: padding)
        source.grouping = grouping
        let dropped = trainSet.dropped + validationSet.dropped
        print("\(Format.integer(trainSet.examples.count)) training and " +
              "\(Format.integer(validationSet.examples.count)) " +
              "validation conversations" + (trainSet.dropped + validationSet.dropped > 0
                ? " (\(dropped) longer than the \(context)-token context left out)" : "") +
              (noMask ? "; every token scored" : "; only the assistant's replies scored"))
        let trainer: Trainer<MaskedExamples>
        if resume {
            trainer = try Trainer.resume(from: output, loss: Losses.nextToken, steps: steps) { _, _ in source }
            print("resuming at step \(trainer.state.step) of \(trainer.config.steps)")
        } else {
            let model = try Checkpoint.load(from: base)
            try requireTokenizer(bpe, fits: model)
            if var loraConfig {
                loraConfig.trainableTokens = LoRAConfig.tokenRows(try tokenIds(bpe, template),
                                                                  tiedEmbeddings: model.config.tiedEmbeddings)
                let adapter = try LoRAAdapter.apply(to: model, config: loraConfig, seed: seed)
                let total = model.namedParameters.filter { !LoRAAdapter.isAdapterTensor($0.0) }
                    .reduce(0) { $0 + $1.1.value.count }
                print("LoRA r = \(loraConfig.rank), α = \(Format.fixed(loraConfig.alpha, 1)) (scale α/r = " +
                      "\(Format.fixed(loraConfig.scale, 3))) on \(adapter.layers.count) layers: " +
                      "\(Format.integer(adapter.parameterCount)) trainable numbers, " +
                      String(format: "%.2f %% of the base's %@", 100 * Double(adapter.parameterCount) / Double(total),
                             Format.integer(total)))
                if let ids = loraConfig.trainableTokens["tok_embeddings"] {
                    print("  including the rows of token ids \(ids.map(String.init).joined(separator: ", ")) in " +
                          loraConfig.trainableTokens.keys.sorted().joined(separator: " and "))
                }
            }
            var settings = TrainingConfig(steps: steps, batchSize: batchSize)
            (settings.learningRate, settings.minimumLearningRate) = (learningRate, learningRate / 10)
            settings.warmupSteps = max(1, steps / 20)
            settings.evaluateEvery = max(1, steps / 10)
            settings.checkpointEvery = checkpointEvery
            settings.seed = seed
            if loraConfig != nil { settings.weightDecay = 0 }
            trainer = try Trainer(model: model, source: source, loss: Losses.nextToken, config: settings,
                                  checkpointFolder: output)
        }
        try bpe.save(to: folder)
        try template.writeDescription(to: folder)
        try trainer.run(peakGFLOPs: SgemmPeak.measure())
        print("validation loss (replies only\(noMask ? ", though trained on every token" : "")): " +
              Format.fixed(trainer.validationLoss()))
        if let adapter = LoRAAdapter.attached(to: trainer.model) {
            let folder = folder.appendingPathComponent("adapter")
            try adapter.save(to: folder)
            print("adapter: \(Chapter.relativePath(folder.path)) (PEFT's layout) — talk to it with: llm chat " +
                  "--checkpoint \(adapter.config.baseModel.isEmpty ? "BASE" : adapter.config.baseModel) --adapter " +
                  Chapter.relativePath(folder.path))
        } else {
            print("checkpoint: \(Chapter.relativePath(output.path)) — talk to it with: llm chat --checkpoint " +
                  Chapter.relativePath(output.path))
        }
    }
}
