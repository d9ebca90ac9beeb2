//: ## Chapter 04, part two — the course run, the Llama recipe, overfitting, scaling

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension Lesson {
    /// What the course run leaves for the comparison in 4.5.
    struct CourseRun {
        let tokens: Int
        let steps: Int
        let batchSize: Int
        let parameters: Int
        let validation: [TrainingState.ValidationPoint]
    }

    // MARK: - 4.4 The course run

    //: The course model: the GPT-2 recipe, 6 layers of width 256 (4 heads of 64), context 256, with the
    //: Chapter 01 vocabulary — 5.9 M parameters. Why not the 'small' preset (width 384) that `make bench`
    //: measures? On a fixed budget of minutes, a model half as costly per token sees twice the text, and
    //: here that wins: the narrower model sees 320 steps of 8 × 256 tokens (most of the English fortunes
    //: once) and ends lower than 'small' does on the half as many tokens it can afford in the same time.
    //: (Chapter 4.7 shows the same trade-off from the other side.)
    //: AdamW, warmup then cosine decay, clipping at norm 1, validation
    //: every few dozen steps, a checkpoint at the end in `runs/course/pretrain/checkpoint/` that every
    //: later chapter starts from. `llm train --resume` continues it exactly where it stopped. The
    //: progress line shows MFU: the model's FLOPs per second (6·N per token plus attention) over this
    //: machine's sgemm peak.
    func courseRun(_ data: TokenDataset, _ bpe: BPETokenizer, peak: Double,
                          folder: URL, steps: Int) throws -> CourseRun {
        Console.section("4.4 The course run")
        let modelConfig = chapter.quick ? smallConfig(data, width: 64, layers: 2, context: 64)
                                        : courseConfig(data)
        let model = try GPT(modelConfig, seed: chapter.options.seed)
        var config = TrainingConfig(steps: steps, batchSize: 8)
        config.learningRate = 2e-3
        config.minimumLearningRate = 2e-4
        config.warmupSteps = max(1, steps / 10)
        config.evaluateEvery = max(1, steps / 5)
        config.sampleEvery = steps
        config.seed = chapter.options.seed
        print("  \(Format.integer(model.parameters.parameterCount)) parameters; \(steps) steps of " +
              "\(config.batchSize) × \(modelConfig.contextLength) tokens")
        let trainer = try Trainer(model: model, data: data, config: config,
                                  checkpointFolder: folder.appendingPathComponent("checkpoint"))
        print("  before training:")
        trainer.printSamples(bpe, count: 24)
        let start = Date()
        try trainer.run(peakGFLOPs: peak, tokenizer: bpe)
        let seconds = Date().timeIntervalSince(start)
        let final = trainer.state.validation.last?.loss ?? .nan
        Console.keyValues([
            ("validation loss", "\(Format.fixed(final)) nats, perplexity \(Format.fixed(exp(final), 1))  (unigram " +
                                "baseline \(Format.fixed(data.unigramLoss)))"),
            ("throughput", String(format: "%@ tokens in %@: %.0f tokens/s", Format.integer(trainer.state.tokensSeen),
                                  Format.duration(seconds), Double(trainer.state.tokensSeen) / seconds)),
            ("checkpoint", Chapter.relativePath(folder.appendingPathComponent("checkpoint").path)),
        ])
        let validation = trainer.state.validation
        try chapter.plot(.line([Series("training (per step)", y: trainer.state.trainLosses),
                                Series("validation", x: validation.map { Double($0.step) }, y: validation.map(\.loss)),
                                Series("unigram baseline", x: [1, Double(steps)],
                                       y: [data.unigramLoss, data.unigramLoss])],
                               title: "The course run: \(modelConfig.layers) layers × \(modelConfig.embeddingSize), " +
                                      "GPT-2 recipe",
                               xLabel: "step", yLabel: "cross-entropy (nats/token)"),
                         as: "course-run")
        return CourseRun(tokens: trainer.state.tokensSeen, steps: steps, batchSize: config.batchSize,
                         parameters: model.parameters.parameterCount, validation: validation)
    }

    // MARK: - 4.5 The Llama recipe on the same budget

    //: Same data, same number of tokens, same shape (6 layers, width 256, 4 query heads), same optimizer
    //: settings; the Llama recipe instead: RMSNorm, rotary positions, SwiGLU, grouped-query attention
    //: (2 key/value heads for 4 query heads), untied head. At this size and budget the two land close
    //: together; the plot shows both validation curves.
    func llamaRecipe(_ data: TokenDataset, peak: Double, against course: CourseRun) throws {
        Console.section("4.5 The Llama recipe on the same budget")
        let modelConfig = chapter.quick
            ? GPTConfig.llamaStyle(vocabularySize: data.vocabularySize, contextLength: 64, layers: 2, heads: 2,
                                   kvHeads: 1, embeddingSize: 64)
            : GPTConfig.llamaStyle(vocabularySize: data.vocabularySize, contextLength: 256, layers: 6, heads: 4,
                                   kvHeads: 2, embeddingSize: 256)
        let model = try GPT(modelConfig, seed: chapter.options.seed)
        var config = TrainingConfig(steps: course.steps, batchSize: course.batchSize)
        config.learningRate = 2e-3
        config.minimumLearningRate = 2e-4
        config.warmupSteps = max(1, course.steps / 10)
        config.evaluateEvery = max(1, course.steps / 5)
        config.seed = chapter.options.seed
        let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: nil)
        try trainer.run(peakGFLOPs: peak, label: "  llama", quiet: false)
        let llama = trainer.state.validation
        Console.printTable(["recipe", "parameters", "final validation loss"], [
            ["GPT-2 (LayerNorm, learned positions, GELU, tied)", Format.integer(course.parameters),
                Format.fixed(course.validation.last?.loss ?? .nan)],
            ["Llama (RMSNorm, RoPE, SwiGLU, GQA, untied)", Format.integer(model.parameters.parameterCount),
                Format.fixed(llama.last?.loss ?? .nan)],
        ])
        try chapter.plot(.line([Series("GPT-2 recipe", x: course.validation.map { Double($0.step) },
                                       y: course.validation.map(\.loss)),
                                Series("Llama recipe", x: llama.map { Double($0.step) }, y: llama.map(\.loss))],
                               title: "Two recipes, same tokens: validation loss", xLabel: "step",
                               yLabel: "validation loss (nats/token)",
                               points: true),
                         as: "recipes")
    }

    // MARK: - 4.6 What overfitting looks like

    //: Give a model far more capacity than data — here 40 fortunes — and it memorises them: training loss
    //: keeps falling while validation loss turns and rises. The gap between the curves is the signal to
    //: stop, regularise, or find more data.
    func overfitting(_ corpus: Corpus, _ bpe: BPETokenizer) throws {
        Console.section("4.6 What overfitting looks like")
        let small = Corpus(entries: Array(corpus.entries.prefix(44)) + Array(corpus.entries.dropFirst(44).prefix(20)), source: "first fortunes")
        let data = try TokenDataset.make(corpus: small, tokenizer: bpe, contextLength: 32)
        let model = try GPT(smallConfig(data, width: 64, layers: 2, context: 32), seed: chapter.options.seed)
        let steps = chapter.quick ? 60 : 300
        var config = TrainingConfig(steps: steps, batchSize: 8)
        (config.learningRate, config.minimumLearningRate, config.warmupSteps, config.weightDecay) = (3e-3, 3e-3, 5, 0)
        config.evaluateEvery = max(1, steps / 15)
        config.seed = chapter.options.seed
        let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: nil)
        try trainer.run(label: "  overfit", quiet: true)
        let validation = trainer.state.validation
        let best = validation.min { $0.loss < $1.loss }
        print("  \(Format.integer(data.train.count)) training tokens; training loss " +
              "\(Format.fixed(trainer.state.trainLosses.first ?? .nan)) → " +
              "\(Format.fixed(trainer.state.trainLosses.last ?? .nan))")
        print("  validation loss: best \(Format.fixed(best?.loss ?? .nan)) at step \(best?.step ?? 0), " +
              "\(Format.fixed(validation.last?.loss ?? .nan)) at the end")
        try chapter.plot(.line([Series("training", y: trainer.state.trainLosses),
                                Series("validation", x: validation.map { Double($0.step) }, y: validation.map(\.loss))],
                               title: "Overfitting: \(Format.integer(data.train.count)) training tokens, " +
                                      "\(Format.integer(model.parameters.parameterCount)) parameters",
                               xLabel: "step", yLabel: "cross-entropy (nats/token)"),
                         as: "overfitting")
    }

    // MARK: - 4.7 A glimpse of scaling

    //: With the data and the token budget fixed, bigger models reach lower loss — until the budget is too
    //: small to train them. Four widths, the same tokens for each; the final validation loss against the
    //: parameter count (log scale) is the first point of every scaling-law plot.
    func scaling(_ data: TokenDataset) throws {
        Console.section("4.7 A glimpse of scaling")
        let widths = chapter.quick ? [32, 64, 96] : [32, 64, 128, 192]
        // 400 steps of 16 × 64 tokens each (≈ 410 K): with 150 × 8 × 64 every width stopped near the
        // unigram baseline and the plot showed noise, not a trend.
        let (steps, batch) = chapter.quick ? (20, 8) : (400, 16)
        var rows: [[String]] = [], points: [(Double, Double)] = []
        for width in widths {
            let model = try GPT(smallConfig(data, width: width, layers: 2, context: 64), seed: chapter.options.seed)
            var config = TrainingConfig(steps: steps, batchSize: batch)
            (config.learningRate, config.minimumLearningRate, config.warmupSteps) = (3e-3, 3e-4, max(1, steps / 10))
            config.evaluateEvery = steps
            config.seed = chapter.options.seed
            let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: nil)
            try trainer.run(label: "  width \(width)", quiet: true)
            let n = Double(ModelAccounting(model.config).nonEmbeddingPositionParameters)
            let loss = trainer.state.validation.last?.loss ?? .nan
            points.append((n, loss))
            rows.append(["\(width)", Format.integer(Int(n)), Format.fixed(loss)])
        }
        Console.printTable(["width C", "parameters N", "validation loss"], rows)
        try chapter.plot(.line([Series("\(steps) steps × \(batch) × 64 tokens each",
                               x: points.map(\.0), y: points.map(\.1))],
                               title: "Validation loss against model size at a fixed token budget",
                               xLabel: "parameters N", yLabel: "validation loss (nats/token)",
                               logX: true, points: true),
                         as: "scaling")
    }
}
