//: ## Chapter 03, part two — running it, two objectives, and a checkpoint

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension Lesson {
    // MARK: - 3.3 A forward pass on real tokens

    //: The course tokenizer turns a fortune into ids, and the 'small' GPT-2-style model (untrained)
    //: turns those into logits (B, T, V): one score per vocabulary entry at every position. Untrained, it
    //: predicts nearly uniformly, so its loss on the next tokens is close to ln V — a check worth making
    //: before every training run.
    func forwardOnTokens(_ bpe: BPETokenizer, _ corpus: Corpus) throws -> GPT {
        Console.section("3.3 A forward pass on real tokens")
        let config = chapter.quick ? GPTConfig.gpt2Style(.tiny, vocabularySize: bpe.vocabularySize)
                                   : GPTConfig.gpt2Style(.small, vocabularySize: bpe.vocabularySize)
        let model = try GPT(config, seed: chapter.options.seed)
        let text = corpus.entries.first { $0.text.count > 200 }?.text ?? corpus.entries[0].text
        let ids = Array(try bpe.encode(text, special: .asText).prefix(config.contextLength))
        let start = Date()
        let logits = model([ids], .inference)                                                        // (1, T, V)
        let seconds = Date().timeIntervalSince(start)
        let loss = Tape.inference.crossEntropy(Tape.inference.reshape(logits, [ids.count, config.vocabularySize]),
                                               targets: Array(ids.dropFirst()) + [-100]).value.item
        let last = (0..<config.vocabularySize).map { logits.value[0, ids.count - 1, $0] }
        let top = last.indices.sorted { last[$0] > last[$1] }.prefix(5)
        Console.keyValues([
            ("text", "\"\(text.prefix(60).replacingOccurrences(of: "\n", with: "⏎"))…\""),
            ("ids", "\(ids.count) tokens: \(ids.prefix(12).map(String.init).joined(separator: " ")) …"),
            ("logits", "\(logits.shape)  (B, T, V)"),
            ("loss of the untrained model",
             "\(Format.fixed(loss)) nats  (ln V = \(Format.fixed(log(Double(config.vocabularySize)))))"),
            ("its top-5 next tokens",
             top.map { "[\(bpe.display($0))]" }.joined(separator: " ") + "  (random: it has learned nothing yet)"),
            ("forward time", String(format: "%.1f ms for %d tokens", seconds * 1000, ids.count)),
        ])
        return model
    }

    // MARK: - 3.4 Decoder-only, encoder-only, encoder–decoder

    //: The literature names three families. **Decoder-only** (GPT, Llama): causal attention, trained to
    //: predict the next token — it can generate, one token after another. **Encoder-only** (BERT):
    //: bidirectional attention, trained to fill in masked tokens from both sides — good representations,
    //: no generation. **Encoder–decoder** (the original Transformer, T5): an encoder reads the input
    //: bidirectionally, a causal decoder writes the output and attends to the encoder through
    //: cross-attention. The same blocks serve the first two; only the mask and the objective change. Below,
    //: two tiny models train on the same text for the same steps: next-token prediction with the causal
    //: mask, and masked-token prediction (15% of tokens replaced by a mask id, here `<|pad|>`; loss on
    //: those only) with no mask. Which loss falls faster is a trade: a blank seen from both sides is
    //: easier to fill, but only 15% of positions give the masked model a training signal per batch,
    //: against every position for the next-token model — one reason decoder-only pretraining is efficient.
    func objectives(_ bpe: BPETokenizer, _ corpus: Corpus) throws {
        Console.section("3.4 Decoder-only, encoder-only, encoder–decoder")
        let endOfText = bpe.specialId("<|endoftext|>") ?? 0, maskId = bpe.specialId("<|pad|>") ?? 0
        let documents = Array(corpus.entries.prefix(chapter.quick ? 400 : 3000).map(\.text))
        let stream = try bpe.encode(documents: documents, special: .asText).flatMap { $0 + [endOfText] }
        let (batch, length, steps) = (16, 32, chapter.quick ? 30 : 120)
        var config = GPTConfig.gpt2Style(vocabularySize: bpe.vocabularySize, contextLength: length, layers: 2,
                                         heads: 4, embeddingSize: 64)
        config.mlpHiddenSize = 256
        var curves: [Series] = []
        for causal in [true, false] {
            let model = try GPT(config, seed: chapter.options.seed)
            let optimizer = AdamW(model.parameters, learningRate: 3e-3, weightDecay: 0)
            var generator = SeededGenerator(seed: chapter.options.seed &+ 3)   // the same windows for both
            var losses: [Double] = []
            for _ in 0..<steps {
                var inputs: [[Int]] = [], targets: [Int] = []
                for _ in 0..<batch {
                    let start = generator.integer(below: max(1, stream.count - length - 1))
                    let window = Array(stream[start..<min(stream.count, start + length + 1)])
                    if causal {
                        inputs.append(Array(window.prefix(length)))
                        targets += Array(window.dropFirst())
                    } else {
                        var row = Array(window.prefix(length))
                        for t in 0..<length {
                            if generator.uniform() < 0.15 {
                                targets.append(row[t])
                                row[t] = maskId
                            } else {
                                targets.append(-100)
                            }
                        }
                        inputs.append(row)
                    }
                }
                let tape = Tape()
                let loss = tape.crossEntropy(model(inputs, tape, causal: causal), targets: targets)
                model.parameters.zeroGrad()
                tape.backward(loss)
                optimizer.update()
                losses.append(Double(loss.value.item))
            }
            let tail = losses.suffix(10).reduce(0, +) / Double(min(10, losses.count))
            print("  \(causal ? "next token, causal mask     " : "masked tokens, bidirectional") loss " +
                  "\(Format.fixed(losses[0])) → \(Format.fixed(tail)) (mean of the last 10 steps)")
            curves.append(Series(causal ? "decoder-only: next token" : "encoder-only: masked tokens", y: losses))
        }
        try chapter.plot(.line(curves,
                               title: "Same blocks, two objectives (\(steps) steps, B = \(batch), T = \(length))",
                               xLabel: "step", yLabel: "cross-entropy (nats)"), as: "objectives")
    }

    // MARK: - 3.5 Saving and reloading a checkpoint

    //: A checkpoint is a folder: `model.safetensors` — an 8-byte header length, a JSON header naming every
    //: tensor with its dtype, shape and byte range, then the raw little-endian floats — and `config.json`.
    //: Python's `safetensors` reads it as is (tested). Reloading must give back the very same model:
    //: the logits are compared bit for bit.
    func checkpoint(_ model: GPT, _ bpe: BPETokenizer) throws {
        Console.section("3.5 Saving and reloading a checkpoint")
        let folder = chapter.folder.file("checkpoint")
        try Checkpoint.save(model, to: folder)
        let reloaded = try Checkpoint.load(from: folder)
        let ids = [Array(try bpe.encode("A checkpoint holds every weight.",
                                        special: .asText).prefix(model.config.contextLength))]
        let before = model(ids, .inference).value, after = reloaded(ids, .inference).value
        let weightsPath = folder.appendingPathComponent(Checkpoint.weightsFileName).path
        let bytes = (try? FileManager.default.attributesOfItem(atPath: weightsPath)[.size] as? Int) ?? 0
        Console.keyValues([
            ("saved", "\(Chapter.relativePath(folder.path))/ (\(Format.integer(bytes)) bytes of safetensors + " +
                      "config.json)"),
            ("tensors", "\(model.namedParameters.count), e.g. " +
                        "\(model.namedParameters.prefix(3).map(\.0).joined(separator: ", ")), …"),
            ("reloaded logits identical", before == after ? "yes, bit for bit" : "NO — a bug"),
            ("inspect it", "swift run -c release llm checkpoint inspect \(Chapter.relativePath(folder.path))"),
        ])
    }
}
