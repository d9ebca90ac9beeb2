//: # Chapter 06 — LoRA: fine-tuning a fraction of the weights
//:
//: What we build: Chapter 05's fine-tuning again, with every weight of the base model frozen and, beside
//: each linear layer's W, a low-rank update (α/r)·B·A that is the only thing trained — low-rank
//: adaptation (LoRA, Hu et al. 2021). First the evidence that the update full fine-tuning makes is close to
//: low-rank; then LoRA against full fine-tuning on the same data and steps (parameters, optimizer memory,
//: step time, loss, the Chapter 05 task scores), a sweep over the rank, which layers to adapt, merging the
//: update into W, and one base model in memory carrying two adapters — an English-fortune one and a
//: Tang-poem one — switched between requests.
//:
//: What we leave out: other parameter-efficient methods (prefix and prompt tuning, IA³, DoRA), rsLoRA's
//: α/√r scaling, LoRA on the embeddings (6.3 trains two of their rows instead). Adapters over a quantized
//: base (QLoRA) need Chapter 07's weights; the note at the end says how they fit.
//:
//: Run it: `swift run -c release ch06` (about 5 minutes on 2 cores; `--quick` under 30 seconds). Needs the
//: Chapter 01 tokenizer and the Chapter 04 base model; with `--quick` it trains tiny stand-ins when they
//: are missing. Writes three adapters in Hugging Face PEFT's layout to `runs/course/lora/` (`sft-r8`,
//: `english`, `poems`), for `llm chat --adapter` and Chapters 07 and 12, and plots in
//: `runs/course/06-lora/`: `update-spectrum.png`, `lora-vs-full.png`, `rank-sweep.png`, `targets.png`.
//:
//: Legend: W (out, in) a frozen weight, A (r, in), B (out, r), r the rank, α the scale numerator (the
//: update is multiplied by α/r), ΔW a weight's change in fine-tuning, σ a singular value, EM exact match.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct LoRAChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch06",
        abstract: "Chapter 06 — LoRA: low-rank adapters against full fine-tuning, ranks, targets, merging, swapping.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the pretraining corpus (English fortunes + poems)
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The base model (default: <run-dir>/pretrain/checkpoint, written by Chapter 04).")
    var checkpoint: String?

    @Option(name: .customLong("lora-learning-rate"), help: "Peak learning rate of the LoRA runs (full: 2e-3).")
    var loraLearningRate: Float = 1e-2

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        if !(loraLearningRate > 0 && loraLearningRate.isFinite) {
            throw flagError("--lora-learning-rate", "\(loraLearningRate)", "a positive number")
        }
    }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "06-lora")
        let text = try corpus.load(default: .pretraining)
        let bpe = try tokenizer.load(options, corpus: text)
        let baseFolder = checkpoint.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.baseModel)
        let base = try ChapterInputs.baseModel(baseFolder, corpus: text, tokenizer: bpe, quick: options.quick,
                                               seed: options.seed)
        chapter.banner("Chapter 06 — LoRA: fine-tuning a fraction of the weights")
        let lesson = try LoRALesson(chapter: chapter, bpe: bpe, corpus: text, base: base, baseFolder: baseFolder,
                                    loraLearningRate: loraLearningRate)
        let full = try lesson.whyLowRank()                                         // 6.1
        try lesson.theLayer()                                                      // 6.2
        let lora = try lesson.againstFull(full)                                    // 6.3
        let eight = try lesson.rankSweep()                                         // 6.4
        try lesson.targets(both: eight)                                            // 6.5
        try lesson.merging(lora)                                                   // 6.6
        try lesson.swapping()                                                      // 6.7
        lesson.qloraNote()                                                         // 6.8
    }
}

/// One fine-tuning run: the model, its trainer, and what it cost.
struct Run {
    let name: String
    let model: GPT
    let trainer: Trainer<MaskedExamples>
    let seconds: Double
    /// The validation loss before the first step.
    let before: Double
    var adapter: LoRAAdapter? { LoRAAdapter.attached(to: model) }
    var validation: Double { trainer.state.validation.last?.loss ?? .nan }
    var trainableCount: Int { trainer.trainable.reduce(0) { $0 + $1.value.count } }
    /// Bytes of AdamW's two moment buffers.
    var optimizerBytes: Int { trainer.optimizer.state().reduce(0) { $0 + 4 * $1.1.count } }
    var curve: Series {
        Series(name, x: [0] + trainer.state.validation.map { Double($0.step) },
               y: [before] + trainer.state.validation.map(\.loss))
    }
}

/// What the sections share: the base weights (each run starts from a fresh copy), the tokenizer and
/// template, the instruction data of Chapter 05, its held-out items and the naive Bayes topic judge.
struct LoRALesson {
    let chapter: ChapterContext
    let bpe: BPETokenizer
    let template: ChatTemplate
    let baseConfig: GPTConfig
    let baseWeights: [Tensor]
    let baseFolder: URL
    let loraLearningRate: Float
    let data: InstructionSplits
    let topics: [String]
    let items: HeldOutTasks
    let bayes: NaiveBayes
    var quick: Bool { chapter.quick }
    var seed: UInt64 { chapter.options.seed }
    var context: Int { baseConfig.contextLength }
    /// Chapter 05's budget for the main comparison; the sweeps get two fifths of it.
    var steps: Int { quick ? 12 : 200 }
    var sweepSteps: Int { quick ? 6 : 80 }

    init(chapter: ChapterContext, bpe: BPETokenizer, corpus: Corpus, base: GPT, baseFolder: URL,
         loraLearningRate: Float) throws {
        self.chapter = chapter
        self.bpe = bpe
        template = try ChatTemplate(tokenizer: bpe)
        baseConfig = base.config
        baseWeights = base.parameters.map(\.value)
        self.baseFolder = baseFolder
        self.loraLearningRate = loraLearningRate
        topics = try CourseTasks.topics(in: corpus)
        data = CourseTasks.splits(corpus, topics: topics, quick: chapter.quick).used
        items = HeldOutTasks(data, topics: topics, template: template, context: base.config.contextLength,
                             quick: chapter.quick)
        let labelled = try TopicClassification(corpus, topics: topics)
        bayes = NaiveBayes(documents: labelled.train.map(\.text), labels: labelled.train.map(\.label),
                           classes: topics.count)
    }

    /// A fresh copy of the base model.
    func freshBase() throws -> GPT {
        let model = try GPT(baseConfig, seed: seed)
        for (parameter, weights) in zip(model.parameters, baseWeights) { parameter.value = weights }
        return model
    }

    /// Padded, length-grouped batches of 16 conversations (Chapter 05's), from `train` (default: all tasks).
    func source(_ train: [InstructionExample]? = nil, validation: [InstructionExample]? = nil) throws
        -> MaskedExamples {
        let examples = SFTData.examples((train ?? data.train).map(\.messages), template: template,
                                        length: context).examples
        let held = SFTData.examples((validation ?? data.validation).map(\.messages), template: template,
                                    length: context).examples
        var source = try MaskedExamples(train: examples, validation: held, batchSize: 16, length: context,
                                        padding: bpe.specialId("<|pad|>") ?? template.end)
        source.grouping = 8
        return source
    }

    /// Chapter 05's recipe: AdamW, warmup then cosine to a tenth. Full fine-tuning at 2e-3 with weight decay
    /// 0.1; LoRA at `loraLearningRate` without weight decay (decaying A and B pulls the update to zero).
    func trainingConfig(steps: Int, lora: Bool, curve: Bool = true) -> TrainingConfig {
        var config = TrainingConfig(steps: steps, batchSize: 16)
        let rate = lora ? loraLearningRate : 2e-3
        (config.learningRate, config.minimumLearningRate, config.warmupSteps) = (rate, rate / 10, max(1, steps / 20))
        (config.evaluateEvery, config.seed) = (curve ? max(1, steps / 8) : steps, seed)
        if lora { config.weightDecay = 0 }
        return config
    }

    /// Trains a fresh base model: fully (`lora` nil) or with the adapter `lora` describes; validation every
    /// eighth of the run for a `curve`, else only at the end.
    func train(_ name: String, lora: LoRAConfig?, steps: Int, source: MaskedExamples? = nil,
               curve: Bool = true) throws -> Run {
        let model = try freshBase()
        if let lora { _ = try LoRAAdapter.apply(to: model, config: lora, seed: seed) }
        let trainer = try Trainer(model: model, source: try source ?? self.source(), loss: Losses.nextToken,
                                  config: trainingConfig(steps: steps, lora: lora != nil, curve: curve),
                                  checkpointFolder: nil)
        let before = trainer.validationLoss()
        let start = Date()
        try trainer.run(label: "  \(name.prefix(9))", quiet: true)
        return Run(name: name, model: model, trainer: trainer, seconds: Date().timeIntervalSince(start),
                   before: before)
    }

    /// r = `rank` on every linear layer, α = 16 (PEFT's common default), the base's path recorded; with
    /// `chatRows`, the rows of `<|im_start|>` and `<|im_end|>` in the embedding and the head train too (6.3).
    func loraConfig(rank: Int, targets: [String] = LoRAConfig.allLinear, chatRows: Bool = true) -> LoRAConfig {
        LoRAConfig(rank: rank, alpha: 16, targets: targets, baseModel: Chapter.relativePath(baseFolder.path),
                   trainableTokens: chatRows ? LoRAConfig.tokenRows([template.start, template.end],
                                                                    tiedEmbeddings: baseConfig.tiedEmbeddings) : [:])
    }

    /// The Chapter 05 task scores of a chat model (topic judged by naive Bayes). An adapter is merged while the
    /// replies are generated — the same model up to rounding (6.6), and several times faster at batch 1.
    func scores(_ model: GPT, only tasks: Set<InstructionTask>? = nil) throws -> TaskScores {
        let adapter = LoRAAdapter.attached(to: model)
        try adapter?.merge()
        let result = try items.restricted(to: tasks).score(chat: model, template: template, judge: nil, bayes: bayes,
                                                           topics: topics, seed: seed)
        try adapter?.unmerge()
        return result
    }

    func shown(_ text: String, _ limit: Int = 90) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }

    // MARK: - 6.1 Why low rank: the update full fine-tuning makes

    //: Fine-tune every weight as Chapter 05 did (same data, 200 steps, same recipe), then look at what
    //: changed: ΔW = W_after − W_before for each linear layer. A matrix's singular values σ₁ ≥ σ₂ ≥ … say how
    //: much of it lies along each direction; if a handful of them hold most of ‖ΔW‖² (the sum of all σ²),
    //: the update is close to a low-rank matrix, and a rank-r product B·A could have made nearly the same
    //: change with r·(in + out) numbers instead of in·out. The plot shows the spectrum of each kind of
    //: layer in the middle block, normalised by σ₁; the table, how many directions hold half and 90 % of
    //: each update, against the 192 the matrix could have. The answer on this run is "partly": the top
    //: few directions stand out (the spectra fall steeply at first), half of ‖ΔW‖² lies in 5–28 of them,
    //: but 90 % needs 21–105. Two things spread an update over every direction: weight decay, which
    //: shrinks each W a little — a full-rank −λ·W term in ΔW — and the noise of 200 small-batch steps. So
    //: a low rank cannot copy this update; whether it can copy the part that matters is what 6.3 and 6.4
    //: measure.
    func whyLowRank() throws -> Run {
        Console.section("6.1 Why low rank: the update full fine-tuning makes")
        let full = try train("full fine-tuning", lora: nil, steps: steps)
        print("  full fine-tuning, \(steps) steps of 16 conversations: reply validation loss " +
              "\(Format.fixed(full.before)) → \(Format.fixed(full.validation)) (\(Format.duration(full.seconds)))")
        let before = try freshBase()
        let middle = baseConfig.layers / 2
        var rows: [[String]] = [], curves: [Series] = []
        for (layer, original) in zip(full.model.linearLayers, before.linearLayers) {
            guard let after = layer.denseMatrix?.value, let start = original.denseMatrix?.value else { continue }
            let delta = Tensor(shape: after.shape, values: zip(after.scalars, start.scalars).map { $0 - $1 })
            let sigma = SingularValues.of(delta)
            let possible = min(after.shape[0], after.shape[1])
            let relative = delta.scalars.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
                / max(start.scalars.map { Double($0) * Double($0) }.reduce(0, +).squareRoot(), 1e-30)
            rows.append([layer.name, "\(after.shape[0]) × \(after.shape[1])", Format.fixed(relative, 3),
                         "\(SingularValues.rank(holding: 0.5, of: sigma))",
                         "\(SingularValues.rank(holding: 0.9, of: sigma)) of \(possible)"])
            if layer.name.hasPrefix("blocks.\(middle).") {
                let top = Double(sigma.first ?? 1)
                curves.append(Series(String(layer.name.dropFirst("blocks.\(middle).".count)),
                                     x: sigma.indices.map { Double($0 + 1) },
                                     y: sigma.map { Double($0) / max(top, 1e-30) }))
            }
        }
        Console.printTable(["layer", "W (out × in)", "‖ΔW‖ / ‖W‖", "σ for 50 % of ‖ΔW‖²", "σ for 90 %"], rows)
        try chapter.plot(.line(curves, title: "Singular values of the full fine-tuning update ΔW (block \(middle))",
                               xLabel: "index k", yLabel: "σ_k / σ_1", logX: true, logY: true),
                         as: "update-spectrum")
        return full
    }

    // MARK: - 6.2 The LoRA layer

    //: LoRA keeps W frozen and learns the update as a product: y = x·Wᵀ + b + (α/r)·(x·Aᵀ)·Bᵀ, with A (r, in)
    //: drawn small and random and B (out, r) zero — so at step 0 the adapted model *is* the base model,
    //: bit for bit, and training starts from there. Only A and B get gradients and optimizer state. The
    //: update is scaled by α/r, not by α: with α fixed, a larger rank does not make a larger update, so
    //: the learning rate found for one rank works for another (PEFT's `lora_alpha` means exactly this; some
    //: courses multiply by α and then wonder why every rank needs its own learning rate). In the code,
    //: `LoRAWeight` is one more kind of `LinearWeight` (Chapter 03's extension point): the layers, the
    //: model and the KV cache do not know it is there. Per layer of the course model, what r = 8 trains:
    func theLayer() throws {
        Console.section("6.2 The LoRA layer")
        let model = try freshBase()
        let ids = [Array(bpe.encode(bytes: Array("Whenever you find yourself on the side of the majority".utf8))
            .prefix(context))]
        let before = model(ids, .inference).value.scalars
        let config = loraConfig(rank: 8, chatRows: false)
        let adapter = try LoRAAdapter.apply(to: model, config: config, seed: seed)
        let after = model(ids, .inference).value.scalars
        let worst = zip(before, after).map { abs($0 - $1) }.max() ?? .nan
        var rows: [[String]] = []
        for (name, weight) in adapter.layers where name.hasPrefix("blocks.0.") {
            let dense = weight.outputs * weight.inputs, low = weight.rank * (weight.outputs + weight.inputs)
            rows.append([name.replacingOccurrences(of: "blocks.0.", with: "blocks.N."),
                         "\(weight.outputs) × \(weight.inputs)", Format.integer(dense),
                         "\(weight.rank) × (\(weight.inputs) + \(weight.outputs)) = \(Format.integer(low))",
                         String(format: "%.1f %%", 100 * Double(low) / Double(dense))])
        }
        Console.printTable(["layer", "W (out × in)", "W's numbers", "A and B at r = 8", "share"], rows)
        let total = baseWeights.reduce(0) { $0 + $1.count }
        Console.keyValues([
            ("scale", "α/r = \(Format.fixed(config.alpha, 0))/\(config.rank) = \(Format.fixed(config.scale, 2))"),
            ("trainable", "\(Format.integer(adapter.parameterCount)) numbers, beside the base's " +
                          "\(Format.integer(total)) " +
                          String(format: "(%.2f %%)", 100 * Double(adapter.parameterCount) / Double(total)) +
                          "; the embeddings, norms and output head stay frozen too"),
            ("fresh adapter", "max |logit difference| from the base model: \(worst) (B = 0)"),
        ])
    }
}
