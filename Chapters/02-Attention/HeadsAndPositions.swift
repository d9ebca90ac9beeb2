//: ## Chapter 02, part two — heads, positions, grouped queries, and a model that learns to look back

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension Lesson {
    // MARK: - 2.4 Many heads at once

    //: One linear layer turns each position's C numbers into H queries, G keys and G values of D numbers
    //: each, packed in one row: (B, T, C) → (B, T, (H + 2G)·D). Every head attends on its own and the
    //: H outputs are laid side by side, (B, T, H·D), then mixed by one more linear layer. Our `attention`
    //: op does all heads in one call: two sgemms per head reading the packed row in place (no transposes),
    //: heads spread over the cores. A test checks it against a loop-by-loop implementation.
    func manyHeads() {
        Console.section("2.4 Many heads at once")
        let (b, t, h, d) = (2, 64, 6, 64)
        let qkv = Variable(Tensor.randomNormal([b, t, 3 * h * d], using: &chapter.random))   // (B, T, 3·H·D)
        let start = Date()
        let out = Tape.inference.attention(qkv, heads: h, kvHeads: h)                          // (B, T, H·D)
        let seconds = Date().timeIntervalSince(start)
        Console.keyValues([
            ("packed q|k|v", "\(qkv.shape)  (B, T, 3·H·D) with H = \(h), D = \(d)"),
            ("output", "\(out.shape)  (B, T, H·D)"),
            ("weights kept for backward", "\(b * h * t * t) floats  (B·H·T·T: the only buffer quadratic in T)"),
            ("time", String(format: "%.2f ms", seconds * 1000)),
        ])
    }

    // MARK: - 2.5 Where is each token? Three answers

    //: Attention by itself is blind to order: shuffle the positions and every output is shuffled the same
    //: way. GPT-2 adds a **learned** vector per position to the token embedding. The original Transformer
    //: adds fixed **sinusoids** of geometrically spaced frequencies (plotted). Llama **rotates** queries
    //: and keys instead (RoPE): pair i turns by position·θᵢ, so a query·key score depends only on how far
    //: apart the two positions are. The second plot computes one query·key score at distance Δ starting from
    //: three different absolute positions: the three curves lie on top of each other.
    func positions() throws {
        Console.section("2.5 Where is each token? Three answers")
        let table = GPT.sinusoidalTable(length: 64, size: 32)
        try chapter.plot(.heatmap((0..<64).map { t in (0..<32).map { Double(table[t, $0]) } },
                                  title: "Sinusoidal positions: PE[t, 2i] = sin(t/10000^{2i/C}), PE[t, 2i+1] = cos(…)",
                                  xLabel: "dimension", yLabel: "position t"),
                         as: "sinusoidal-positions")
        let d = 32
        let q = Tensor.randomNormal([1, 1, d], using: &chapter.random),
            k = Tensor.randomNormal([1, 1, d], using: &chapter.random)
        func rotated(_ x: Tensor, at position: Int) -> [Float] {
            Tape.inference.rotary(Variable(x), headSize: d, rotatedHeads: 1, positionOffset: position).value.scalars
        }
        var series: [Series] = []
        var worst: Float = 0
        let distances = Array(0...48)
        var reference: [Float] = []
        for start in [0, 100, 1000] {
            let scores = distances.map { delta in zip(rotated(q, at: start + delta),
                                                      rotated(k, at: start)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            if reference.isEmpty { reference = scores }
            worst = max(worst, zip(scores, reference).map { abs($0 - $1) }.max() ?? 0)
            series.append(Series("key at position \(start)", x: distances.map(Double.init), y: scores.map(Double.init)))
        }
        print("  RoPE: largest difference between the three curves = \(String(format: "%.1e", worst)) (Float rounding)")
        try chapter.plot(.line(series, title: "RoPE: q·k depends only on the distance Δ between query and key",
                               xLabel: "distance Δ = query position − key position", yLabel: "q·k score", points: true),
                         as: "rope-relative")
    }

    // MARK: - 2.6 Grouped-query attention and the KV cache

    //: When generating, a model keeps every past position's keys and values (the KV cache, Chapter 08)
    //: so it never recomputes them. The cache holds G key/value heads per layer, not H: grouped-query
    //: attention lets H/G query heads share one key/value head. G = H is multi-head attention, G = 1 is
    //: multi-query. A test checks that GQA equals MHA with each key/value head repeated.
    func groupedQuery() {
        Console.section("2.6 Grouped-query attention and the KV cache")
        let config = GPTConfig.llamaStyle(.small)
        let (l, h, d, t) = (config.layers, config.heads, config.headSize, config.contextLength)
        Console.printTable(["attention", "G (kv heads)", "KV cache per token", "at T = \(t)"],
            [1, 2, h].reversed().map { g in
            let perToken = 2 * l * g * d * 4        // keys and values, L layers, G heads, D floats, 4 bytes
            return [g == h ? "multi-head" : g == 1 ? "multi-query" : "grouped-query", "\(g)",
                    "\(Format.integer(perToken)) bytes", String(format: "%.2f MB", Double(perToken * t) / 1e6)]
        })
    }

    // MARK: - 2.7 Training attention to look back

    //: A task attention must solve by looking back: a row is n random tokens followed by the same n tokens
    //: again. In the second half the next token is always the one n − 1 positions back, so a position that
    //: learns to attend there can copy it; nothing else helps (the first half is random and not scored).
    //: A one-layer GPT (learned positions) trains with AdamW. Before training its attention is a blur;
    //: after, the heatmap shows a bright diagonal n − 1 steps below the main one.
    func learningToLookBack(steps: Int) throws {
        Console.section("2.7 Training attention to look back")
        let (vocabulary, half, batch) = (16, 8, 32)
        var config = GPTConfig.gpt2Style(vocabularySize: vocabulary, contextLength: 2 * half, layers: 1,
                                         heads: 2, embeddingSize: 32)
        config.mlpHiddenSize = 64
        let model = try GPT(config, seed: chapter.options.seed)
        let optimizer = AdamW(model.parameters, learningRate: 1e-2, weightDecay: 0)
        var probe = SeededGenerator(seed: chapter.options.seed &+ 7)
        let example = SyntheticTasks.repeatCopy(batch: 1, half: half, vocabularySize: vocabulary, generator: &probe)
        try plotAttention(model, example.ids, name: "attention-before", title: "before training")
        var losses: [Double] = []
        let progress = ProgressBar(total: steps, label: "  copy task")
        for step in 1...steps {
            let data = SyntheticTasks.repeatCopy(batch: batch, half: half, vocabularySize: vocabulary,
                                                 generator: &chapter.random)
            let tape = Tape()
            let loss = tape.crossEntropy(model(data.ids, tape), targets: data.targets)
            model.parameters.zeroGrad()
            tape.backward(loss)
            optimizer.update()
            losses.append(Double(loss.value.item))
            progress.update(step: step, metrics: [("loss", Format.fixed(loss.value.item))])
        }
        let test = SyntheticTasks.repeatCopy(batch: 256, half: half, vocabularySize: vocabulary, generator: &probe)
        let logits = model(test.ids, .inference).value                                         // (B, T, V)
        var correct = 0, scored = 0
        for (row, target) in test.targets.enumerated() where target >= 0 {
            let offset = row * vocabulary
            let best = (0..<vocabulary).max { logits[flat: offset + $0] < logits[flat: offset + $1] }!
            correct += best == target ? 1 : 0
            scored += 1
        }
        Console.keyValues([
            ("loss", "\(Format.fixed(losses.first ?? .nan)) → \(Format.fixed(losses.last ?? .nan))  (chance: ln " +
                     "\(vocabulary) = \(Format.fixed(log(Double(vocabulary)))))"),
            ("second-half accuracy",
             String(format: "%.1f%% of %d held-out predictions",
                    100 * Double(correct) / Double(max(scored, 1)), scored)),
        ])
        try chapter.plot(.line([Series("training loss", y: losses)], title: "Repeat-copy task: loss per step",
                               xLabel: "step", yLabel: "cross-entropy (nats)"), as: "copy-loss")
        try plotAttention(model, example.ids, name: "attention-after", title: "after \(steps) steps")
    }

    /// Heatmaps of both heads' attention weights on one example.
    func plotAttention(_ model: GPT, _ ids: [[Int]], name: String, title: String) throws {
        let tape = Tape.inference
        var x = tape.embedding(model.tokenEmbedding, ids: ids.flatMap { $0 }, shape: [1, ids[0].count])   // (1, T, C)
        if let positions = model.positionEmbedding { x = tape.add(x, tape.slice(positions, axis: 0, 0..<ids[0].count)) }
        let block = model.blocks[0]
        let qkv = block.attention.qkv(block.norm1(x, tape),
                                      tape).value                                     // (1, T, 3·H·D)
        let weights = attentionWeights(qkv, heads: model.config.heads,
                                       kvHeads: model.config.kvHeads)       // (1, H, T, T)
        let t = ids[0].count
        // Both heads side by side: columns 0..<T are head 0, T+1..<2T+1 head 1.
        let matrix = (0..<t).map { i in
            (0..<t).map { Double(weights[0, 0, i, $0]) } + [0] + (0..<t).map { Double(weights[0, 1, i, $0]) }
        }
        let labels = ids[0].map(String.init)
        try chapter.plot(.heatmap(matrix, title: "Attention weights \(title) (head 0 | head 1); rows: query position",
                                  xLabel: "key position (token id)", yLabel: "query position (token id)",
                                  rowLabels: labels, columnLabels: labels + [""] + labels), as: name)
    }
}
