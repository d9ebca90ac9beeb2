//: # Chapter 03 — The Transformer
//:
//: What we build: the whole decoder-only GPT — blocks of attention and MLP on a residual stream, with
//: normalisation before each — in the two recipes the field keeps returning to: GPT-2's (LayerNorm,
//: learned positions, GELU, tied embeddings) and Llama's (RMSNorm, RoPE, SwiGLU, grouped-query
//: attention). We count where its parameters and FLOPs go, run it on real tokens from the Chapter 01
//: tokenizer, contrast it with the bidirectional masked-LM objective of encoder models, and save and
//: reload it as safetensors, the format Python tools read.
//:
//: What we leave out: encoder–decoder cross-attention (described, not built), mixture-of-experts.
//:
//: Run it: `swift run -c release ch03` (about 10 seconds; `--quick` a few). Needs the Chapter 01
//: tokenizer in `runs/course/tokenizer/` (`swift run -c release ch01`); with `--quick` it trains a small
//: one itself if it is missing.
//: Outputs: `runs/course/03-transformer/` — `objectives.png`, and the checkpoint `checkpoint/`
//: (model.safetensors + config.json; tensor names in docs/checkpoints.md).
//:
//: Legend: B batch, T sequence length, C embedding size, V vocabulary, L layers, H heads, D head size.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

@main
struct TransformerChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch03",
        abstract: "Chapter 03 — The Transformer: blocks, the GPT-2 and Llama recipes, accounting, objectives, " +
                  "checkpoints.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var tokenizer: TokenizerOption
    @OptionGroup var corpus: CorpusOption   // default: the English fortunes

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "03-transformer")
        let lesson = Lesson(chapter: chapter)
        let text = try corpus.load(default: .english)
        let bpe = try tokenizer.load(options, corpus: text)
        chapter.banner("Chapter 03 — The Transformer")
        lesson.theBlock()                                  // 3.1
        try lesson.accounting()                            // 3.2
        let model = try lesson.forwardOnTokens(bpe, text)  // 3.3
        try lesson.objectives(bpe, text)                   // 3.4
        try lesson.checkpoint(model, bpe)                  // 3.5
    }
}

/// What the sections share: the chapter's run folder, plotter, options and seed.
struct Lesson {
    let chapter: ChapterContext
    var quick: Bool { chapter.quick }

    // MARK: - 3.1 The block: attention, then MLP, on a residual stream

    //: A transformer block reads the residual stream x (B, T, C) and adds two things to it:
    //:
    //:     x = x + Attention(Norm(x))      positions exchange information
    //:     x = x + MLP(Norm(x))            each position thinks on its own (4·C wide with GELU)
    //:
    //: "Pre-norm": the norm sits inside each branch, so the stream itself is never normalised and
    //: gradients flow straight down the additions — deep stacks train without warm-up tricks. A GPT is
    //: token embeddings (+ positions), L such blocks, a final norm, and the LM head: a (V, C) matrix
    //: that scores every vocabulary entry at every position (GPT-2 reuses the embedding matrix for it).
    func theBlock() {
        Console.section("3.1 The block: attention, then MLP, on a residual stream")
        let config = GPTConfig.gpt2Style(.tiny)
        var generator = SeededGenerator(seed: chapter.options.seed)
        let block = Block("blocks.0", config: config, generator: &generator)
        let x = Variable(Tensor.randomNormal([2, 16, config.embeddingSize], using: &chapter.random))  // (B, T, C)
        let tape = Tape()
        let y = block(x, tape)                                                                         // (B, T, C)
        print("  x \(x.shape) → block → \(y.shape); ops recorded on the tape:")
        print("  " + tape.operations.joined(separator: " → "))
        let names = block.namedParameters.map { name, parameter in
            "\(name.replacingOccurrences(of: "blocks.0.", with: "")) \(parameter.shape)"
        }
        print("  parameters: " + names.joined(separator: ", "))
    }

    // MARK: - 3.2 Where the parameters and the FLOPs go

    //: Each block holds 12·C² weights in the GPT-2 recipe (qkv 3C², projection C², MLP 8C²); the
    //: embedding matrix V·C is a large share of a small model. A forward pass costs about 2 FLOPs per
    //: weight used in a matrix product, per token, plus attention's two T-long products per layer
    //: (4·L·C·T). The table is computed from each config alone and checked against the real tensors.
    func accounting() throws {
        Console.section("3.2 Where the parameters and the FLOPs go")
        var rows: [[String]] = []
        for name in GPTConfig.presetNames {
            let config = GPTConfig.preset(name)!
            let accounting = ModelAccounting(config)
            let actual = try GPT(config, seed: 0).parameters.parameterCount
            rows.append([name, "\(config.layers)×\(config.embeddingSize), H \(config.heads)/G \(config.kvHeads)",
                Format.integer(accounting.total),
                         actual == accounting.total ? "✓" : "✗ \(actual)",
                         String(format: "%.1f M", Double(accounting.forwardFLOPsPerToken()) / 1e6)])
        }
        Console.printTable(["preset", "L×C, heads", "parameters", "= tensors", "forward FLOPs/token"], rows)
        let small = ModelAccounting(.gpt2Style(.small))
        print("  gpt2-small by component:")
        Console.printTable(["component", "parameters", "share"], small.components.map {
            [$0.component, Format.integer($0.count),
             String(format: "%.1f%%", 100 * Double($0.count) / Double(small.total))]
        })
    }
}
