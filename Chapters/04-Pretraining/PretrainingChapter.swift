//: # Chapter 04 — Pretraining
//:
//: What we build: the loop that turns a random transformer into a language model, and the habits that
//: keep it honest — a validation split, a baseline to beat, learning-rate warmup and decay, gradient
//: clipping, checkpoints you can resume from exactly, and a guard that stops a diverging run — and one
//: honest measure of how good a model is: bits per byte of held-out text, next to gzip and xz. We compare
//: SGD with AdamW, train the course model (Llama recipe, 4 × 192) on the English fortunes and the Chinese
//: poems for about five minutes, compare recipes on equal compute, watch a model memorise a tiny corpus,
//: and glance at scaling.
//:
//: What we leave out: mixed precision, data parallelism, μP. The course run is minutes, not days: its
//: samples read like fortunes only in their rhythm.
//:
//: Run it: `swift run -c release ch04` (about 10 minutes on 2 cores; `--quick` under 30 seconds).
//: Needs the Chapter 01 tokenizer (`runs/course/tokenizer/`); with `--quick` it trains a small one if
//: missing. Writes the base model to `runs/course/pretrain/checkpoint/` for Chapters 05–10, and plots to
//: `runs/course/04-pretraining/`: `optimizers.png`, `schedules.png`, `course-run.png`,
//: `recipes.png`, `overfitting.png`, `scaling.png`.
//:
//: Legend: B batch, T context length, C embedding size, V vocabulary, L layers, N parameters.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct PretrainingChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch04",
        abstract: "Chapter 04 — Pretraining: a fast, resumable, honest training loop and the course base model.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the English fortunes
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "Steps of the course run (default: 950, or 30 with --quick).")
    var steps: Int?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        if let steps { try requireFlag("--steps", steps, in: 1...1_000_000) }
    }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "04-pretraining")
        let lesson = Lesson(chapter: chapter)
        let pretrainFolder = options.artifacts.url(.baseModel).deletingLastPathComponent()  // checkpoint + token cache
        let text = try corpus.load(default: .pretraining)
        let bpe = try tokenizer.load(options, corpus: text)
        chapter.banner("Chapter 04 — Pretraining")
        let peak = SgemmPeak.measure()
        let context = options.quick ? 64 : 256
        let data = try TokenDataset.make(corpus: text, tokenizer: bpe, contextLength: context,
                                         cacheFolder: pretrainFolder)
        let compressors = lesson.objective(data, text, peak: peak)                    // 4.1
        try lesson.optimizers(data)                                                   // 4.2
        try lesson.schedules()                                                        // 4.3
        let course = try lesson.courseRun(data, bpe, text, peak: peak, folder: pretrainFolder,
                                          steps: steps ?? (options.quick ? 30 : 950),
                                          compressors: compressors)                   // 4.4
        try lesson.recipes(data, peak: peak, against: course)                         // 4.5
        try lesson.overfitting(text, bpe)                                             // 4.6
        try lesson.scaling(data)                                                      // 4.7
    }
}

/// What the sections share: the chapter's run folder, plotter, options and seed.
struct Lesson {
    let chapter: ChapterContext
    var quick: Bool { chapter.quick }

    // MARK: - 4.1 The objective, and the baselines to beat

    //: Pretraining asks one thing at every position: the next token. The loss is the cross-entropy
    //: −ln p(next), averaged over positions — the number of nats the model needs to encode the text, so
    //: lower means it predicts better; e^loss, the perplexity, is how many tokens it is "choosing between".
    //: Before training anything, two baselines: a model that knows nothing scores ln V; one that knows
    //: only how frequent each token is (unigram) scores the entropy of those frequencies. A model that
    //: does not beat the unigram baseline has learned nothing about context.
    //:
    //: Compression is prediction. A model that gives the next token probability p can store it in −log₂ p
    //: bits (an arithmetic coder gets within a hair of that), so the loss summed over the held-out text and
    //: divided by its UTF-8 bytes is the size the model could compress it to: **bits per byte**. That unit
    //: does not depend on the tokenizer, and it puts the model next to the compressors everyone has: gzip
    //: and xz at their best settings, run right here on the same held-out bytes — alone, and "primed" with
    //: the training text first (only the extra bytes counted), which is the fair comparison: the model has
    //: read the training text too. A language model that cannot beat xz has not learned much.
    func objective(_ data: TokenDataset, _ corpus: Corpus, peak: Double) -> [CompressorBaseline] {
        Console.section("4.1 The objective, and the baselines to beat")
        Console.keyValues([
            ("training tokens", Format.integer(data.train.count)),
            ("held-out tokens", "\(Format.integer(data.validation.count)) (every 10th fortune, never trained on), " +
                                "\(Format.integer(data.validationBytes)) bytes"),
            ("knows nothing: ln V",
             "\(Format.fixed(log(Double(data.vocabularySize)))) nats  (perplexity \(data.vocabularySize))"),
            ("unigram baseline", "\(Format.fixed(data.unigramLoss)) nats  (perplexity " +
                                 "\(Format.fixed(exp(data.unigramLoss), 0))), " +
                                 "\(Format.fixed(data.unigramBitsPerByte, 2)) bits/byte"),
            ("sgemm peak for MFU", String(format: "%.0f GFLOP/s on %d threads", peak, Parallel.threads)),
        ])
        let (train, heldOut) = corpus.split()
        let (baselines, missing) = Compressors.baselines(train: Compressors.text(train),
                                                         heldOut: Compressors.text(heldOut))
        if !missing.isEmpty { print("  (not installed, so not measured: \(missing.joined(separator: ", ")))") }
        Console.printTable(["held-out text compressed by", "alone (bits/byte)", "after the training text (bits/byte)"],
                           baselines.map { [$0.name, Format.fixed($0.alone, 2), Format.fixed($0.primed, 2)] }
                           + [["unigram model (above)", "", Format.fixed(data.unigramBitsPerByte, 2)]])
        return baselines
    }

    // MARK: - 4.2 SGD against AdamW

    //: SGD moves every weight by the same multiple of its gradient. Adam divides each weight's step by a
    //: running estimate of its gradient's size, so rarely-updated embeddings and busy attention weights
    //: both move at a sensible pace; AdamW adds weight decay applied to the weights directly. Same model,
    //: same batches, same steps, each optimizer at a learning rate that suits it.
    func optimizers(_ data: TokenDataset) throws {
        Console.section("4.2 SGD against AdamW")
        let steps = chapter.quick ? 20 : 120
        var curves: [Series] = []
        for (name, rate) in [(OptimizerKind.sgd, Float(0.1)), (.adamw, Float(3e-3))] {
            let model = try GPT(smallConfig(data, width: 64, layers: 2, context: 64), seed: chapter.options.seed)
            var config = TrainingConfig(steps: steps, batchSize: 8)
            (config.optimizer, config.learningRate, config.minimumLearningRate,
             config.warmupSteps) = (name, rate, rate, 0)
            config.evaluateEvery = steps
            config.seed = chapter.options.seed
            let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: nil)
            try trainer.run(label: "  \(name)", quiet: true)
            print("  \(name.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) (η = \(rate)): loss " +
                  "\(Format.fixed(trainer.state.trainLosses[0])) → " +
                  "\(Format.fixed(trainer.state.trainLosses.suffix(10).reduce(0, +) / 10)), validation " +
                  "\(Format.fixed(trainer.state.validation.last?.loss ?? .nan))")
            curves.append(Series(name == .sgd ? "SGD + momentum 0.9, η = 0.1" : "AdamW, η = 3e-3",
                                 y: trainer.state.trainLosses))
        }
        try chapter.plot(.line(curves, title: "Same model, same batches: SGD against AdamW", xLabel: "step",
                               yLabel: "training loss (nats)"),
                         as: "optimizers")
    }

    /// The course model's shape (4.4): Llama recipe, 4 layers × 192, 3 query heads sharing 1 key/value
    /// head, context 256.
    func courseConfig(_ data: TokenDataset) -> GPTConfig {
        GPTConfig.llamaStyle(vocabularySize: data.vocabularySize, contextLength: 256, layers: 4, heads: 3,
                             kvHeads: 1, embeddingSize: 192)
    }

    /// A GPT-2-recipe config sized for quick experiments, with the dataset's vocabulary.
    func smallConfig(_ data: TokenDataset, width: Int, layers: Int, context: Int) -> GPTConfig {
        GPTConfig.gpt2Style(vocabularySize: data.vocabularySize, contextLength: context, layers: layers,
                            heads: max(1, width / 32), embeddingSize: width)
    }

    // MARK: - 4.3 Learning-rate schedules

    //: Early on, gradients are large and Adam's size estimates are poor: a short linear **warmup** keeps
    //: the first steps small. Later, a smaller learning rate lets the weights settle into a minimum
    //: instead of bouncing around it: **cosine decay** lowers it smoothly to a floor. Our runs use both.
    func schedules() throws {
        Console.section("4.3 Learning-rate schedules")
        let total = 200
        let cosine = CosineSchedule(peak: 3e-3, minimum: 3e-4, warmup: 20, total: total)
        let steps = Array(1...total)
        try chapter.plot(.line([Series("warmup 20 + cosine to 3e-4", x: steps.map(Double.init),
                                       y: steps.map { Double(cosine.rate(at: $0)) }),
                                Series("constant 3e-3", x: [1, Double(total)], y: [3e-3, 3e-3]),
                                Series("no warmup, cosine", x: steps.map(Double.init),
                                       y: steps.map { Double(CosineSchedule(peak: 3e-3, minimum: 3e-4, warmup: 0,
                                                                            total: total).rate(at: $0)) })],
                               title: "Learning-rate schedules", xLabel: "step", yLabel: "learning rate"),
                         as: "schedules")
        print("  warmup + cosine: step 1 → \(String(format: "%.1e", cosine.rate(at: 1))), step 20 → " +
              "\(String(format: "%.1e", cosine.rate(at: 20))), step 110 → " +
              "\(String(format: "%.1e", cosine.rate(at: 110))), step 200 → " +
              "\(String(format: "%.1e", cosine.rate(at: 200)))")
    }
}
