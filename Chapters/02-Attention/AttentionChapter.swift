//: # Chapter 02 — Attention
//:
//: What we build: scaled dot-product attention (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762),
//: the one operation that lets a position read from other positions. From one query to many, with the
//: √D scaling and the causal mask; many heads at once; three ways to tell the model where a token is
//: (learned, sinusoidal, rotary); grouped-query attention, which shrinks the KV cache. Then we train a
//: one-layer model on a task it can only solve by looking back, and watch its attention pattern form.
//:
//: What we leave out: FlashAttention's tiling (our T×T scores fit in memory at course sizes), sliding
//: windows, ALiBi.
//:
//: Run it: `swift run -c release ch02` (about 10 seconds; `--quick` a few).
//: Outputs: `runs/course/02-attention/` — `rope-relative.png`, `sinusoidal-positions.png`,
//: `copy-loss.png`, `attention-before.png`, `attention-after.png`.
//:
//: Legend: B batch, T sequence length, C embedding size, H query heads, G key/value heads, D head size.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

@main
struct AttentionChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch02",
        abstract: "Chapter 02 — Attention: dot products, the causal mask, heads, positions, GQA, and a model that " +
                  "learns to look back.")

    @OptionGroup var options: ChapterOptions

    @Option(help: "Training steps for the copy task (default: 400, or 150 with --quick).")
    var steps: Int?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        if let steps { try requireFlag("--steps", steps, in: 1...100_000) }
    }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "02-attention")
        let lesson = Lesson(chapter: chapter)
        chapter.banner("Chapter 02 — Attention")
        lesson.oneQuery()                                                           // 2.1
        lesson.whyScale()                                                           // 2.2
        lesson.causalMask()                                                         // 2.3
        lesson.manyHeads()                                                          // 2.4
        try lesson.positions()                                                      // 2.5
        lesson.groupedQuery()                                                       // 2.6
        try lesson.learningToLookBack(steps: steps ?? (options.quick ? 150 : 400))  // 2.7
    }
}

/// What the sections share: the chapter's run folder, plotter, options and seed.
struct Lesson {
    let chapter: ChapterContext
    var quick: Bool { chapter.quick }

    // MARK: - 2.1 One query, many keys

    //: A query q asks a question; every position offers a key kⱼ (what it contains) and a value vⱼ (what
    //: it hands over). The answer is a weighted average of the values, weighted by how well each key
    //: matches the query: wⱼ = softmax(q·kⱼ/√D), output = Σⱼ wⱼ·vⱼ.
    func oneQuery() {
        Console.section("2.1 One query, many keys")
        let q: [Float] = [1, 0, 1, 0]
        let keys: [[Float]] = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0], [-1, 0, -1, 0]]
        let values: [[Float]] = [[10, 0], [0, 10], [5, 5], [-10, -10]]
        let scores = keys.map { k in zip(q, k).reduce(0) { $0 + $1.0 * $1.1 } / Float(2) }   // √D = √4 = 2
        let maximum = scores.max()!, e = scores.map { exp($0 - maximum) }, z = e.reduce(0, +)
        let weights = e.map { $0 / z }
        let output = (0..<2).map { c in zip(weights, values).reduce(0) { $0 + $1.0 * $1.1[c] } }
        Console.printTable(["key", "q·k/√D", "weight", "value"], keys.indices.map { j in
            ["k\(j) \(keys[j])", Format.fixed(scores[j], 2), Format.fixed(weights[j], 3), "\(values[j])"]
        })
        print("  output = Σ weight·value = [\(output.map { Format.fixed($0, 3) }.joined(separator: ", "))] — mostly " +
              "v0, whose key matches q best")
    }

    // MARK: - 2.2 Why divide by √D

    //: If q and k have D independent entries of variance 1, q·k has variance D. Large scores push softmax
    //: towards a one-hot vector, whose gradient is nearly zero everywhere — learning stalls. Dividing by
    //: √D keeps the scores' variance at 1 whatever the head size.
    func whyScale() {
        Console.section("2.2 Why divide by √D")
        var rows: [[String]] = []
        for d in [4, 64, 512] {
            var unscaledMax = 0.0, scaledMax = 0.0
            let trials = 200
            for _ in 0..<trials {
                let q = (0..<d).map { _ in chapter.random.normal() }
                let scores = (0..<16).map { _ in
                    zip(q, (0..<d).map { _ in chapter.random.normal() }).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                }
                for (divisor, total) in [(Float(1), 0), (Float(d).squareRoot(), 1)] {
                    let s = scores.map { $0 / divisor }, m = s.max()!, e = s.map { exp(Double($0 - m)) }
                    let top = e.max()! / e.reduce(0, +)
                    if total == 0 { unscaledMax += top } else { scaledMax += top }
                }
            }
            rows.append(["\(d)", Format.fixed(unscaledMax / Double(trials), 3),
                        Format.fixed(scaledMax / Double(trials), 3)])
        }
        Console.printTable(["D", "largest weight, q·k", "largest weight, q·k/√D"], rows)
        print("  (16 random keys; 1/16 = 0.063 would be uniform, 1.0 one-hot)")
    }

    // MARK: - 2.3 The causal mask

    //: A language model predicts token t + 1 from tokens 0…t, so position t must not see later ones.
    //: Scores above the diagonal are set to −∞ before the softmax, so their weights are exactly 0: each
    //: row of the weight matrix is a distribution over the past only.
    func causalMask() {
        Console.section("2.3 The causal mask")
        let (t, d) = (5, 4)
        let qkv = Tensor.randomNormal([1, t, 3 * d], using: &chapter.random)   // one head: (B, T, 3D)
        let weights = attentionWeights(qkv, heads: 1, kvHeads: 1)              // (B, H, T, T)
        print("  attention weights, row i = query position i:")
        for i in 0..<t {
            print("   " + (0..<t).map { j in j > i ? "   ·  " : String(format: " %5.3f",
                                                                       weights[0, 0, i, j]) }.joined())
        }
    }
}
