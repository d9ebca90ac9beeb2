//: # Chapter 07 — Quantization: int8 and int4 weights
//:
//: What we build: the course models stored as small integers and a scale per block of numbers instead of
//: Float32 — int8 and int4, per tensor, per output channel and in groups of 32, 64 or 128 — in the very
//: byte layout of GGUF's Q8_0 and Q4_0 (what llama.cpp reads); kernels that multiply by those integers
//: directly, so that decoding, which reads every weight once per token, reads a quarter or an eighth of
//: the bytes; post-training quantization (PTQ) of the base and the chat model with what it costs in
//: perplexity, in KL divergence from the Float32 model and on Chapter 05's tasks; quantization-aware
//: training (QAT), which fine-tunes through the rounding; and an int4 copy of a model as the drafter of
//: Chapter 08's speculative decoding.
//:
//: What we leave out: k-quants and importance matrices (llama.cpp's Q4_K, imatrix), GPTQ and AWQ (which
//: choose the rounding with calibration data), fp8 and NF4 grids, and quantized activations beyond the
//: int8 dot products of 7.8. The formats here are the two every tool reads.
//:
//: Run it: `swift run -c release ch07` (about 4 minutes on 2 cores; `--quick` under 30 seconds). Needs the
//: Chapter 01 tokenizer, the Chapter 04 base model and the Chapter 05 chat model; with `--quick` it trains
//: tiny stand-ins when they are missing. Writes the quantized chat models to `runs/course/quantized/<format>/`
//: (ordinary checkpoints: `llm generate --checkpoint runs/course/quantized/int4-g32`), the int4 base models of
//: 7.5 (PTQ, the control's PTQ, QAT) to `quantized/base-int4-g32`, `base-control-int4-g32` and
//: `base-qat-int4-g32` (Chapter 10's report card compares them), and plots in
//: `runs/course/07-quantization/`: `weights-histogram.png`, `weights-int4.png`, `granularity-snr.png`,
//: `perplexity-bits.png`, `perplexity-group.png`, `qat.png`.
//:
//: Legend: w a weight, q its integer level, d a block's step (scale), z its zero point, g the group size,
//: PTQ post-training quantization, QAT quantization-aware training, KL the Kullback–Leibler divergence
//: of the next-token distributions from the Float32 model's, SNR signal-to-noise ratio in dB.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct QuantizationChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch07",
        abstract: "Chapter 07 — Quantization: int8 and int4 formats, PTQ and QAT, kernels, a quantized drafter.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the pretraining corpus (English fortunes + poems)
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The base model (default: <run-dir>/pretrain/checkpoint, written by Chapter 04).")
    var base: String?

    @Option(help: "The chat model (default: <run-dir>/sft/checkpoint, written by Chapter 05).")
    var checkpoint: String?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "07-quantization")
        let text = try corpus.load(default: .pretraining)
        let bpe = try tokenizer.load(options, corpus: text)
        let baseFolder = base.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.baseModel)
        let baseModel = try ChapterInputs.baseModel(baseFolder, corpus: text, tokenizer: bpe, quick: options.quick,
                                                    seed: options.seed)
        let chatFolder = checkpoint.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.chatModel)
        let chat = try ChapterInputs.chatModel(chatFolder, base: baseModel, corpus: text, tokenizer: bpe,
                                               quick: options.quick)
        chapter.banner("Chapter 07 — Quantization: int8 and int4 weights")
        let lesson = try QuantizationLesson(chapter: chapter, bpe: bpe, corpus: text, base: baseModel, chat: chat)
        try lesson.numberFormats()                       // 7.1
        try lesson.histograms()                          // 7.2
        try lesson.granularity()                         // 7.3
        try lesson.whatStaysFloat()                      // 7.4
        try lesson.quantizationAwareTraining()           // 7.5
        let table = try lesson.theTable()                // 7.6
        try lesson.bits()                                // 7.7
        try lesson.kernels(table)                        // 7.8
        try lesson.drafter()                             // 7.9
    }
}

/// What the sections share: the two models (never modified: each format quantizes a copy), the tokenizer,
/// the base model's validation windows and the chat model's validation replies and held-out tasks.
struct QuantizationLesson {
    let chapter: ChapterContext
    let bpe: BPETokenizer
    let base: GPT
    let chat: GPT
    let template: ChatTemplate
    let baseData: TokenDataset
    let baseBatches: [TokenBatch]
    let replies: MaskedExamples
    let topics: [String]
    let items: HeldOutTasks
    let bayes: NaiveBayes
    var quick: Bool { chapter.quick }
    var seed: UInt64 { chapter.options.seed }

    init(chapter: ChapterContext, bpe: BPETokenizer, corpus: Corpus, base: GPT, chat: GPT) throws {
        (self.chapter, self.bpe, self.base, self.chat) = (chapter, bpe, base, chat)
        let chatTemplate = try ChatTemplate(tokenizer: bpe)
        template = chatTemplate
        let context = base.config.contextLength
        let data = try TokenDataset.make(corpus: corpus, tokenizer: bpe, contextLength: context)
        baseData = data
        baseBatches = TokenWindows(data, batchSize: 8, length: context)
            .validationBatches(maxBatches: chapter.quick ? 2 : 24)
        let topicList = try CourseTasks.topics(in: corpus)
        topics = topicList
        let splits = CourseTasks.splits(corpus, topics: topicList, quick: chapter.quick).used
        let length = chat.config.contextLength
        let examples = { (items: [InstructionExample]) in
            SFTData.examples(items.map(\.messages), template: chatTemplate, length: length).examples
        }
        var source = try MaskedExamples(train: examples(splits.train), validation: examples(splits.validation),
                                        batchSize: 16, length: length,
                                        padding: bpe.specialId("<|pad|>") ?? chatTemplate.end)
        source.grouping = 8
        replies = source
        items = HeldOutTasks(splits, topics: topicList, template: chatTemplate, context: chat.config.contextLength,
                             quick: chapter.quick)
        let labelled = try TopicClassification(corpus, topics: topics)
        bayes = NaiveBayes(documents: labelled.train.map(\.text), labels: labelled.train.map(\.label),
                           classes: topicList.count)
    }

    /// The base model's validation loss (nats/token) and perplexity.
    func baseLoss(_ model: GPT) -> Double { Losses.meanNextToken(model, baseBatches) }

    /// The chat model's reply validation batches (Chapter 05's held-out conversations).
    var replyBatches: [TokenBatch] { replies.validationBatches(maxBatches: quick ? 2 : 40) }

    /// A quantized copy of `model`.
    func quantized(_ model: GPT, _ scheme: QuantizationScheme, keep: Set<String> = [],
                   int8Activations: Bool = false) throws -> GPT {
        let copy = try model.copy()
        try copy.quantize(scheme, keep: keep, int8Activations: int8Activations)
        return copy
    }

    /// Whether `scheme`'s blocks divide every row of `model`'s matrices (the --quick stand-ins are narrow).
    func fits(_ scheme: QuantizationScheme, _ model: GPT) -> Bool {
        model.linearLayers.allSatisfy { (try? scheme.blockSize(columns: $0.weight.inputs)) != nil }
            && (try? scheme.blockSize(columns: model.config.embeddingSize)) != nil
    }

    /// Bytes one decoded token reads (`GPT.bytesReadPerToken`).
    func weightBytes(_ model: GPT) -> Int { model.bytesReadPerToken }

    /// Tokens per second decoding greedily after `prompt` at `threads` (the better of two tries).
    func decodeSpeed(_ model: GPT, threads: Int, tokens: Int? = nil) throws -> Double {
        let prompt = template.encode([ChatMessage(.user, "Tell me a fortune about science.")],
                                     generationPrompt: true).ids
        return try Parallel.withThreads(threads) {
            let generator = Generator(model: model)
            var best = 0.0
            for _ in 0..<2 {
                var random = SeededGenerator(seed: seed)
                let result = try generator.generate(prompt: prompt, maxTokens: tokens ?? (quick ? 8 : 64),
                                                    settings: .greedy, generator: &random)
                best = max(best, result.tokensPerSecond)
            }
            return best
        }
    }

    // MARK: - 7.1 A number format: the grid and its step

    //: Float32 spends 32 bits on every weight: a sign, 8 bits of exponent, 23 of mantissa — about seven
    //: significant digits anywhere from 10⁻³⁸ to 10³⁸. A trained weight matrix uses a sliver of that range.
    //: Quantization replaces each number by the nearest point of a short, evenly spaced grid: with b bits
    //: there are 2^b points, and for a block of numbers we choose the step d so the grid covers the block.
    //: Symmetric absmax int8: d = max|w| / 127 and q = round(w / d), an integer in −127…127; the weight
    //: is read back as q·d, and no element is further than d/2 from where it was. int4 has only 16 levels,
    //: so its step is 16 times coarser for the same block. The asymmetric variant fits the grid to
    //: [min, max] with a zero point z, w ≈ (q − z)·d, and wastes no levels when a block is lopsided.
    //: Below, one row of eight numbers through each: the levels, the step, the numbers read back, the error.
    func numberFormats() throws {
        Console.section("7.1 A number format: the grid and its step")
        let row: [Float] = [0.31, -0.07, 0.12, -0.52, 0.02, 0.44, -0.19, 0.08]
        let w = Tensor(shape: [1, row.count], values: row)
        var rows: [[String]] = [["w (Float32)", "—", row.map { String(format: "%+.3f", $0) }.joined(separator: " "),
                                 "—"]]
        for scheme in [QuantizationScheme(bits: 8, granularity: .channel),
                       QuantizationScheme(bits: 4, granularity: .channel),
                       QuantizationScheme(bits: 4, symmetric: false, granularity: .channel)] {
            let m = try QuantizedMatrix(quantizing: w, scheme: scheme)
            let back = m.dequantized().scalars
            let step = HalfFloat.float(fromHalf: m.scales[0])
            let worst = zip(row, back).map { abs($0 - $1) }.max() ?? 0
            rows.append(["\(scheme) levels q", String(format: "d = %.4f", abs(step)) +
                            (scheme.symmetric ? "" : ", z = \(m.zeros[0])"),
                         m.levels(row: 0).map { String(format: "%4d", $0) }.joined(separator: " "),
                         "—"])
            rows.append(["  read back", "", back.map { String(format: "%+.3f", $0) }.joined(separator: " "),
                         String(format: "%.4f (d/2 = %.4f)", worst, abs(step) / 2)])
        }
        Console.printTable(["", "step", "the row", "max |error|"], rows)
        print("  int4 symmetric is Q4_0's rule: d = m / −8 for the value m of largest magnitude, q − 8 stored as " +
              "0…15, so the grid reaches −8·d on m's side and only 7·d on the other.")
    }

    // MARK: - 7.2 What the weights look like

    //: A weight matrix of the base model: bell-shaped around zero, with a few weights far out in the
    //: tails. The first plot is its histogram in Float32, the second the same weights after int4 with groups
    //: of 32 — sixteen levels per group, but every group has its own step, so over the whole matrix the
    //: values still spread out instead of piling onto 16 spikes. Except at zero: every weight within half a
    //: step of it becomes exactly 0 (the tall middle bar, with holes beside it) — int4 erases the smallest
    //: weights of each group. The table gives the numbers a
    //: grid cares about: the largest |w| against the typical one (the ratio is what absmax wastes: a grid
    //: stretched to the largest weight has few levels left for the bulk).
    func histograms() throws {
        Console.section("7.2 What the weights look like")
        let layers = base.linearLayers
        let middle = layers[layers.count / 2]
        guard let w = middle.denseMatrix?.value else { return }
        let int4 = try QuantizedMatrix(quantizing: w, scheme: .q4_0).dequantized()
        try chapter.plot(.histogram(w.scalars.map(Double.init), bins: 80,
                                    title: "Weights of \(middle.name) (Float32)", xLabel: "w"),
                         as: "weights-histogram")
        try chapter.plot(.histogram(int4.scalars.map(Double.init), bins: 80,
                                    title: "The same weights after int4-g32, read back", xLabel: "w"),
                         as: "weights-int4")
        var rows: [[String]] = []
        for layer in layers.prefix(min(layers.count, 5)) {
            guard let m = layer.denseMatrix?.value else { continue }
            let values = m.scalars.map { Double($0) }
            let rms = (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
            let largest = values.map(abs).max() ?? 0
            rows.append([layer.name, "\(m.shape[0]) × \(m.shape[1])", String(format: "%.4f", rms),
                         String(format: "%.4f", largest), String(format: "%.1f", largest / max(rms, 1e-12))])
        }
        Console.printTable(["layer", "shape", "rms |w|", "max |w|", "max / rms"], rows)
    }
}
