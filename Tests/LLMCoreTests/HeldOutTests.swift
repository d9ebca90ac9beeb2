// Bits per byte and the baselines it is compared with: the formula on a hand example, every held-out
// token scored exactly once, and the compressors run for real on a small text.

import Foundation
import Testing
@testable import LLMCore

@Suite("Held-out evaluation")
struct HeldOutTests {
    @Test("bits per byte from a loss and a byte count: 2 nats × 100 tokens over 250 bytes = 1.154")
    func formula() {
        // 200 nats = 200 / ln 2 = 288.54 bits, over 250 bytes.
        #expect(abs(bitsPerByte(nats: 200, bytes: 250) - 1.15416) < 1e-4)
        // A uniform guess over 256 byte values costs exactly 8 bits per byte: ln 256 nats per byte-token.
        #expect(abs(bitsPerByte(nats: log(256) * 1000, bytes: 1000) - 8) < 1e-12)
        #expect(bitsPerByte(nats: 1, bytes: 0).isNaN)
    }

    @Test("the whole held-out stream is scored, every token once, and equals a token-by-token reference")
    func everyTokenOnce() throws {
        let config = GPTConfig.gpt2Style(vocabularySize: 23, contextLength: 8, layers: 1, heads: 2, embeddingSize: 8)
        let model = try GPT(config, seed: 3)
        var g = SeededGenerator(seed: 2)
        let stream = (0..<45).map { _ in Int32(1 + g.integer(below: 22)) }      // 45 tokens: 5 full windows of 8 + 6
        let score = HeldOut.score(model, stream: stream, endOfText: 0, bytes: 90, batchSize: 2)
        #expect(score.tokens == 45, "every held-out token predicted once, the first after a leading <|endoftext|>")
        // Reference: the same windows one at a time, −ln softmax(logits)[target] summed in Double.
        let tokens = [0] + stream.map(Int.init)
        var nats = 0.0
        for start in stride(from: 0, to: 45, by: 8) {
            let end = min(start + 8, 45)
            let logits = model([Array(tokens[start..<end])], .inference).value            // (1, n, V)
            for (row, target) in tokens[(start + 1)...end].enumerated() {
                let values = (0..<23).map { Double(logits[0, row, $0]) }
                let top = values.max()!
                nats += top + log(values.map { exp($0 - top) }.reduce(0, +)) - values[target]
            }
        }
        #expect(abs(score.nats - nats) < 1e-4 * nats)
        #expect(abs(score.bitsPerByte - nats / (log(2) * 90)) < 1e-4)
    }

    @Test("gzip and xz run on a small text: repetitive text costs few bits, priming with it costs fewer (skips without the tools)")
    func compressors() throws {
        let train = Compressors.text((0..<200).map { "The cat sat on the mat, number \($0 % 7)." })
        let heldOut = Compressors.text((0..<20).map { "The cat sat on the mat, number \($0 % 7)." })
        #expect(heldOut.count == (0..<20).reduce(0) { total, i in total + "The cat sat on the mat, number \(i % 7).".utf8.count + 1 })
        let (baselines, missing) = Compressors.baselines(train: train, heldOut: heldOut)
        if !missing.isEmpty { print("skipped compressors not installed: \(missing)") }
        for baseline in baselines {
            #expect(baseline.alone > 0 && baseline.alone < 8, "\(baseline)")
            #expect(baseline.primed < baseline.alone, "\(baseline): having read the training text must help")
        }
        // Random bytes do not compress: about 8 bits per byte or a little more.
        var g = SeededGenerator(seed: 1)
        let noise = Data((0..<4000).map { _ in UInt8(g.integer(below: 256)) })
        if let size = Compressors.compressedSize(noise, command: "gzip", arguments: ["-9", "-c", "-n"]) {
            #expect(Double(size) * 8 / 4000 > 7.9)
        }
    }

    @Test("a dataset knows its held-out bytes: each entry's UTF-8 text plus one separator")
    func bytes() throws {
        let entries = (0..<20).map { CorpusEntry(text: "entry \($0) café", topic: "t", attribution: nil) }
        let tokenizer = try BPETrainer.train(documents: entries.map(\.text), vocabularySize: 270).tokenizer
        let data = try TokenDataset.make(corpus: Corpus(entries: entries, source: "test"), tokenizer: tokenizer, contextLength: 4)
        let heldOut = [9, 19].map { "entry \($0) café" }
        #expect(data.validationBytes == heldOut.reduce(0) { $0 + $1.utf8.count + 1 })
        #expect(data.validationBytes == Compressors.text(heldOut).count)
        #expect(Corpus(entries: entries, source: "test").split().heldOut == heldOut)
    }
}

@Suite("Bits per byte against numpy")
struct BitsPerByteOracleTests {
    @Test("held-out bits per byte equals numpy's from the same logits and the entries' UTF-8 (skips without numpy)")
    func sameFigure() throws {
        let entries = ["Never put off till tomorrow.", "春眠不覺曉，處處聞啼鳥。",
                       "Emoji 🙂 and é", "Short."]
        let tokenizer = try BPETrainer.train(documents: entries, vocabularySize: 280).tokenizer
        let config = GPTConfig.llamaStyle(vocabularySize: tokenizer.vocabularySize, contextLength: 8, layers: 1,
                                          heads: 2, kvHeads: 1, embeddingSize: 16)
        let model = try GPT(config, seed: 5)
        let ours = try HeldOut.score(model, tokenizer: tokenizer, entries: entries, batchSize: 3)
        // The same windows as the protocol (non-overlapping, T = 8, a leading <|endoftext|>), logits dumped.
        let end = tokenizer.specialId("<|endoftext|>") ?? 0
        let stream = try tokenizer.encode(documents: entries, special: .asText).flatMap { $0 + [end] }
        let tokens = [end] + stream
        var windows: [[String: Any]] = []
        for start in stride(from: 0, to: tokens.count - 1, by: 8) {
            let stop = min(start + 8, tokens.count - 1)
            let logits = model([Array(tokens[start..<stop])], .inference).value
            let rows = (0..<(stop - start)).map { r in (0..<config.vocabularySize).map { Double(logits[0, r, $0]) } }
            windows.append(["logits": rows, "targets": Array(tokens[(start + 1)...stop])])
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("bpb-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: input) }
        try JSONSerialization.data(withJSONObject: ["windows": windows, "entries": entries]).write(to: input)
        guard let out = try runPythonFixture("bits_per_byte_oracle.py", [input.path], needs: "numpy") else { return }
        let oracle = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Double])
        #expect(ours.bytes == Int(oracle["bytes"] ?? -1), "UTF-8 bytes: \(ours.bytes) vs \(oracle["bytes"] ?? -1)")
        #expect(ours.tokens == stream.count)
        let bpb = try #require(oracle["bits_per_byte"])
        #expect(abs(ours.bitsPerByte - bpb) < 1e-5 * bpb, "\(ours.bitsPerByte) vs numpy's \(bpb)")
    }
}

@Suite("Held-out entries as independent items")
struct PerEntryHeldOutTests {
    @Test("each entry scored alone equals the stream protocol run on that entry; the interval holds the figure")
    func perEntry() throws {
        let entries = ["Never put off till tomorrow what you can do today.", "春眠不覺曉，處處聞啼鳥。",
                       "A long entry " + String(repeating: "that goes on and on ", count: 4), "Short."]
        let tokenizer = try BPETrainer.train(documents: entries, vocabularySize: 300).tokenizer
        let model = try GPT(.gpt2Style(vocabularySize: tokenizer.vocabularySize, contextLength: 8, layers: 1,
                                       heads: 2, embeddingSize: 16), seed: 7)
        let scores = try HeldOut.perEntry(model, tokenizer: tokenizer, entries: entries, batchSize: 3)
        #expect(scores.count == entries.count)
        for (entry, score) in zip(entries, scores) {
            // The stream protocol on one entry is exactly "this entry alone", padding and batching aside.
            let alone = try HeldOut.score(model, tokenizer: tokenizer, entries: [entry], batchSize: 1)
            #expect(score.tokens == alone.tokens && score.bytes == alone.bytes)
            #expect(abs(score.nats - alone.nats) < 1e-4 * alone.nats, "\(entry): \(score.nats) vs \(alone.nats)")
        }
        let interval = HeldOut.bitsPerByteInterval(scores, resamples: 200)
        let total = bitsPerByte(nats: scores.reduce(0) { $0 + $1.nats }, bytes: scores.reduce(0) { $0 + $1.bytes })
        #expect(interval.value == total && interval.lower <= total && total <= interval.upper)
    }

    @Test("next-token confidences equal a naive softmax of each window run alone, unpadded; maxTokens cuts in order")
    func topTokenPredictions() throws {
        let entries = ["Never put off till tomorrow what you can do today.", "春眠不覺曉，處處聞啼鳥。",
                       "Short."]
        let tokenizer = try BPETrainer.train(documents: entries, vocabularySize: 300).tokenizer
        let model = try GPT(.gpt2Style(vocabularySize: tokenizer.vocabularySize, contextLength: 8, layers: 1,
                                       heads: 2, embeddingSize: 16), seed: 11)
        let got = try HeldOut.topTokenPredictions(model, tokenizer: tokenizer, entries: entries, batchSize: 2)
        let end = tokenizer.specialId("<|endoftext|>") ?? 0
        var confidences: [Double] = [], correct: [Bool] = []
        for entry in entries {
            let tokens = [end] + tokenizer.encode(bytes: Array(entry.utf8)) + [end]
            for start in stride(from: 0, to: tokens.count - 1, by: 8) {
                let stop = min(start + 8, tokens.count - 1)
                let logits = model([Array(tokens[start..<stop])], .inference).value
                let v = logits.shape[2]
                for position in 0..<(stop - start) {
                    let row = (0..<v).map { Double(logits.scalars[position * v + $0]) }
                    let top = row.indices.max { row[$0] < row[$1] } ?? 0
                    let z = row.reduce(0) { $0 + exp($1 - row[top]) }
                    confidences.append(1 / z)
                    correct.append(top == tokens[start + position + 1])
                }
            }
        }
        #expect(got.confidences.count == confidences.count && got.correct == correct)
        for (a, b) in zip(got.confidences, confidences) { #expect(abs(a - b) < 1e-5, "\(a) vs \(b)") }
        let cut = try HeldOut.topTokenPredictions(model, tokenizer: tokenizer, entries: entries, maxTokens: 5)
        // (another batch size: the same values up to the order of BLAS's sums)
        #expect(cut.confidences.count == 5 && cut.correct == Array(got.correct.prefix(5)))
        for (a, b) in zip(cut.confidences, got.confidences) { #expect(abs(a - b) < 1e-6) }
    }
}
