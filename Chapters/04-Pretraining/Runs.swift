//: ## Chapter 04, part two — the course run, choosing a recipe, overfitting, scaling

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension Lesson {
    /// What the course run leaves for the comparison in 4.5.
    struct CourseRun {
        let steps: Int
        let batchSize: Int
        let config: GPTConfig
        let heldOut: HeldOutScore
    }

    // MARK: - 4.4 The course run

    //: The course model is the one that predicts held-out text best after about five minutes of training
    //: on two cores — the experiments of 4.5 and 4.7 show why it is this one. The Llama recipe (RMSNorm,
    //: rotary positions, SwiGLU, an untied head), small: 4 layers of width 192, 3 query heads of 64 sharing
    //: one key/value head, context 256, 3.1 M parameters. A model this size costs 2.4× fewer FLOPs per token
    //: than the GPT-2 6 × 256 of earlier versions of this course, so in the same minutes it reads the
    //: training text more than twice instead of half of it once — and on a corpus this small, seeing the
    //: data again beats a wider model that sees it less. 950 steps of 8 × 256 tokens, AdamW at
    //: 3e-3 with warmup and a cosine decay that ends with the budget, clipping at norm 1. The progress line's
    //: validation loss is a cheap estimate on 8 batches; the figure that decides is computed at the end
    //: over the whole held-out split, every held-out token once, in bits per byte beside the compressors of
    //: 4.1 — for the English fortunes and the poems separately. The checkpoint in
    //: `runs/course/pretrain/checkpoint/` is what every later chapter starts from; `llm train --resume`
    //: continues it exactly.
    func courseRun(_ data: TokenDataset, _ bpe: BPETokenizer, _ corpus: Corpus, peak: Double, folder: URL,
                   steps: Int, compressors: [CompressorBaseline]) throws -> CourseRun {
        Console.section("4.4 The course run")
        let modelConfig = chapter.quick ? smallConfig(data, width: 64, layers: 2, context: 64)
                                        : courseConfig(data)
        let model = try GPT(modelConfig, seed: chapter.options.seed)
        var config = TrainingConfig(steps: steps, batchSize: 8)
        (config.learningRate, config.minimumLearningRate) = (3e-3, 3e-4)
        config.warmupSteps = max(1, steps / 10)
        config.evaluateEvery = max(1, steps / 8)
        config.sampleEvery = steps
        config.seed = chapter.options.seed
        print("  \(Format.integer(model.parameters.parameterCount)) parameters; \(steps) steps of " +
              "\(config.batchSize) × \(modelConfig.contextLength) tokens")
        let trainer = try Trainer(model: model, data: data, config: config,
                                  checkpointFolder: folder.appendingPathComponent("checkpoint"))
        print("  before training:")
        trainer.printSamples(bpe, count: 24)
        let start = Date()
        var minutes: [Int: Double] = [:]                            // wall-clock minutes when each step began
        try trainer.run(peakGFLOPs: peak, tokenizer: bpe) { step in
            minutes[step] = Date().timeIntervalSince(start) / 60
        }
        let seconds = Date().timeIntervalSince(start)
        let english = try HeldOut.score(model, tokenizer: bpe,
                                        entries: corpus.heldOut { !Corpus.chineseTopics.contains($0.topic) })
        let poems = try HeldOut.score(model, tokenizer: bpe,
                                      entries: corpus.heldOut { Corpus.chineseTopics.contains($0.topic) })
        let all = HeldOut.score(model, data)
        let xz = compressors.first { $0.name.hasPrefix("xz") }
        Console.keyValues([
            ("throughput", String(format: "%@ tokens in %@: %.0f tokens/s", Format.integer(trainer.state.tokensSeen),
                                  Format.duration(seconds), Double(trainer.state.tokensSeen) / seconds)),
            ("checkpoint", Chapter.relativePath(folder.appendingPathComponent("checkpoint").path)),
        ])
        print("  held-out text, every token once:")
        Console.printTable(["held out", "tokens", "bytes", "nats/token", "bits/byte"], [
            ("English fortunes", english), ("Tang and Song poems", poems), ("all", all),
        ].map { name, score in
            [name, Format.integer(score.tokens), Format.integer(score.bytes), Format.fixed(score.natsPerToken),
             Format.fixed(score.bitsPerByte, 3)]
        })
        if let xz {
            print("  xz -9e after the training text: \(Format.fixed(xz.primed, 3)) bits/byte on all of it (4.1)")
        }
        // The progress line's 8-batch estimates, in bits per byte, against the minutes they took.
        let bytesPerToken = Double(data.validationBytes) / Double(max(data.validation.count, 1))
        let estimates = trainer.state.validation.map { point in
            (minutes[point.step] ?? seconds / 60, point.loss / (log(2) * bytesPerToken))
        }
        var series = [Series("model (8-batch estimate)", x: estimates.map(\.0), y: estimates.map(\.1)),
                      Series("model, whole held-out split", x: [seconds / 60], y: [all.bitsPerByte])]
        for baseline in compressors {
            series.append(Series("\(baseline.name) after the training text", x: [0, seconds / 60],
                                 y: [baseline.primed, baseline.primed]))
        }
        try chapter.plot(.line(series, title: "The course run: held-out bits per byte against training minutes",
                               xLabel: "minutes of training on this machine", yLabel: "bits per byte",
                               points: true),
                         as: "course-run")
        return CourseRun(steps: steps, batchSize: config.batchSize, config: modelConfig, heldOut: all)
    }

    // MARK: - 4.5 Which recipe for a fixed budget

    //: The choice in 4.4 is an experiment, and here is a small copy of it: three models get the same
    //: compute — a tenth of the course run's FLOPs, counted with Chapter 03's accounting (6·N per token plus
    //: attention) — so a model twice as costly per token trains half as many steps. The GPT-2 recipe at
    //: 6 × 256 (the course model of earlier versions), the Llama recipe at the same shape, and the Llama
    //: recipe at the course's 4 × 192. Each is scored on the whole held-out split, every token once.
    //: At a budget of minutes on a corpus this size, the cheap model that reads more text wins; the recipe
    //: matters less than how many tokens each FLOP buys.
    func recipes(_ data: TokenDataset, peak: Double, against course: CourseRun) throws {
        Console.section("4.5 Which recipe for a fixed budget")
        let v = data.vocabularySize, t = course.config.contextLength
        let candidates: [(String, GPTConfig)] = chapter.quick
            ? [("GPT-2, 2 × 64", smallConfig(data, width: 64, layers: 2, context: t)),
               ("Llama, 2 × 64", .llamaStyle(vocabularySize: v, contextLength: t, layers: 2, heads: 2, kvHeads: 1,
                                             embeddingSize: 64))]
            : [("GPT-2 recipe, 6 × 256", .gpt2Style(vocabularySize: v, contextLength: t, layers: 6, heads: 4,
                                                    embeddingSize: 256)),
               ("Llama recipe, 6 × 256", .llamaStyle(vocabularySize: v, contextLength: t, layers: 6, heads: 4,
                                                     kvHeads: 2, embeddingSize: 256)),
               ("Llama recipe, 4 × 192 (the course's)", course.config)]
        func flopsPerToken(_ config: GPTConfig) -> Double {
            Double(6 * ModelAccounting(config).nonEmbeddingPositionParameters
                   + 12 * config.layers * config.heads * config.headSize * config.contextLength)
        }
        let budget = flopsPerToken(course.config) * Double(course.steps * course.batchSize * t) / 10
        var rows: [[String]] = [], curves: [Series] = []
        for (name, modelConfig) in candidates {
            let steps = max(2, Int((budget / (flopsPerToken(modelConfig) * Double(course.batchSize * t))).rounded()))
            let model = try GPT(modelConfig, seed: chapter.options.seed)
            var config = TrainingConfig(steps: steps, batchSize: course.batchSize)
            (config.learningRate, config.minimumLearningRate) = (3e-3, 3e-4)
            config.warmupSteps = max(1, steps / 10)
            config.evaluateEvery = max(1, steps / 4)
            config.seed = chapter.options.seed
            let trainer = try Trainer(model: model, data: data, config: config, checkpointFolder: nil)
            try trainer.run(peakGFLOPs: peak, label: "  \(name.prefix(21))", quiet: true)
            let score = HeldOut.score(model, data)
            rows.append([name, Format.integer(model.parameters.parameterCount),
                         String(format: "%.1f", flopsPerToken(modelConfig) / 1e6),
                         "\(steps)", Format.fixed(score.bitsPerByte, 3)])
            let tokens = trainer.state.validation.map { Double($0.step * course.batchSize * t) / 1e6 }
            curves.append(Series(name, x: tokens, y: trainer.state.validation.map(\.loss)))
        }
        Console.printTable(["model (same FLOPs)", "parameters", "MFLOP/token", "steps", "held-out bits/byte"], rows)
        try chapter.plot(.line(curves, title: "Same compute, three models: validation loss (8-batch estimate)",
                               xLabel: "million training tokens", yLabel: "validation loss (nats/token)", points: true),
                         as: "recipes")
    }

    // MARK: - 4.6 What overfitting looks like

    //: Give a model far more capacity than data — here 40 fortunes — and it memorises them: training loss
    //: keeps falling while validation loss turns and rises. The gap between the curves is the signal to
    //: stop, regularise, or find more data.
    func overfitting(_ corpus: Corpus, _ bpe: BPETokenizer) throws {
        Console.section("4.6 What overfitting looks like")
        let small = Corpus(entries: Array(corpus.entries.prefix(44)) + Array(corpus.entries.dropFirst(44).prefix(20)),
                           source: "first fortunes")
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
