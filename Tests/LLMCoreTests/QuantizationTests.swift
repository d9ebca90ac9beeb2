// Chapter 07's formats and kernels: error bounds per scheme, GGUF's Q8_0 / Q4_0 bytes written out by hand,
// the int4 packing, each kernel against the dequantized Float32 product, quantized checkpoints and their
// errors.

import Foundation
import Testing
@testable import LLMCore

@Suite("Quantization")
struct QuantizationTests {
    static let schemes: [QuantizationScheme] = [
        .q8_0, .q4_0, QuantizationScheme(bits: 8, granularity: .channel),
        QuantizationScheme(bits: 8, granularity: .tensor),
        QuantizationScheme(bits: 8, granularity: .group(64)), QuantizationScheme(bits: 4, granularity: .group(128)),
        QuantizationScheme(bits: 4, granularity: .group(64)), QuantizationScheme(bits: 8, symmetric: false,
                                                                                 granularity: .group(32)),
        QuantizationScheme(bits: 4, symmetric: false, granularity: .group(32)),
    ]

    func matrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        var w = Tensor.randomNormal([rows, columns], standardDeviation: 0.05, using: &g)
        w.withUnsafeMutableBufferPointer { $0[5] = 0.4; $0[columns + 7] = -0.3 }   // outliers
        return w
    }

    @Test("names parse back; a group size that does not divide the row is a clear error")
    func names() throws {
        for scheme in Self.schemes { #expect(QuantizationScheme(name: scheme.description) == scheme) }
        #expect(QuantizationScheme.q4_0.description == "int4-g32")
        #expect(QuantizationScheme(name: "int3-g32") == nil && QuantizationScheme(name: "int8-x") == nil)
        #expect { try QuantizedMatrix(quantizing: matrix(2, 96, seed: 1),
                                      scheme: QuantizationScheme(bits: 8, granularity: .group(64))) }
            throws: { "\($0)".contains("64") && "\($0)".contains("96") }
    }

    @Test("every element is within half a step of the original, up to d's fp16 rounding (clipped outside)")
    func errorBounds() throws {
        let w = matrix(6, 128, seed: 2)
        for scheme in Self.schemes {
            let q = try QuantizedMatrix(quantizing: w, scheme: scheme)
            let back = q.dequantized().scalars
            for (i, (original, approx)) in zip(w.scalars, back).enumerated() {
                let block = (i / 128) * q.blocksPerRow + (i % 128) / q.blockSize
                let signed = HalfFloat.float(fromHalf: q.scales[block]), d = abs(signed)
                let z = Float(q.zero(block)), top = Float(q.scheme.levels)
                // The grid's ends: (0 − z)·d and (levels − z)·d (Q4_0's d may be negative), or ±127·d for int8.
                let ends = q.scheme.symmetric && q.scheme.bits == 8 ? [-127 * d, 127 * d]
                    : [(0 - z) * signed, (top - z) * signed]
                let (low, high) = (ends.min()!, ends.max()!)
                let clipped = min(max(original, low), high)
                // Half a step — plus, for the symmetric (GGUF) schemes, which round with d in Float32 and store
                // it in fp16 as llama.cpp does, |q − z| times the fp16 rounding of d (at most 2⁻¹¹·d).
                let levelsAway = q.scheme.symmetric ? Float(q.scheme.bits == 8 ? 127 : 8) : 0
                let bound = d / 2 * 1.0001 + levelsAway * d / 2048 + 1e-7
                #expect(abs(clipped - approx) <= bound && abs(original - clipped) <= d,
                        "\(scheme) element \(i): \(original) → \(approx), step \(d)")
            }
            let stats = QuantizationError(original: w, approximation: q.dequantized())
            #expect(stats.snrDecibels > (scheme.bits == 8 ? 30 : 12), "\(scheme): SNR \(stats.snrDecibels) dB")
        }
        // Finer groups follow outliers less: int4-g32 beats int4-g128 in RMS error.
        let fine = QuantizationError(original: w, approximation: try QuantizedMatrix(quantizing: w, scheme: .q4_0)
            .dequantized())
        let coarse = QuantizationError(original: w, approximation: try QuantizedMatrix(
            quantizing: w, scheme: QuantizationScheme(bits: 4, granularity: .group(128))).dequantized())
        #expect(fine.rms < coarse.rms)
    }

    @Test("Q8_0 and Q4_0 blocks of a fixed row are the bytes GGUF writes (written out by hand)")
    func ggufBytes() throws {
        // Q8_0: levels chosen by hand, d = 1/64 (fp16 0x2400), w = q·d.
        let q8: [Int8] = [127, -127, 0, 1, -1, 2, -2, 64, -64, 3, 5, 7, 11, 13, 17, 19,
                          23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, -89]
        let w8 = Tensor(shape: [1, 32], values: q8.map { Float($0) / 64 })
        let block8 = try QuantizedMatrix(quantizing: w8, scheme: .q8_0).ggufBlocks()
        #expect(block8 == [0x00, 0x24] + q8.map { UInt8(bitPattern: $0) })
        // Q4_0: the largest magnitude is −2 → d = −2/−8 = 0.25 (fp16 0x3400), w = (q − 8)·d, q in 0…15;
        // byte j holds element j (low nibble) and element j + 16 (high nibble).
        let q4: [UInt8] = [0, 15, 8, 9, 7, 1, 14, 2, 13, 3, 12, 4, 11, 5, 10, 6,
                           8, 8, 9, 10, 11, 12, 13, 14, 15, 7, 6, 5, 4, 3, 2, 1]
        let w4 = Tensor(shape: [1, 32], values: q4.map { (Float($0) - 8) * 0.25 })
        let block4 = try QuantizedMatrix(quantizing: w4, scheme: .q4_0).ggufBlocks()
        let nibbles: [UInt8] = [0x80, 0x8F, 0x98, 0xA9, 0xB7, 0xC1, 0xDE, 0xE2,
                                0xFD, 0x73, 0x6C, 0x54, 0x4B, 0x35, 0x2A, 0x16]
        #expect(block4 == [0x00, 0x34] + nibbles)
        #expect(try QuantizedMatrix(quantizing: w4, scheme: .q4_0).dequantized().scalars == w4.scalars,
                "values on the grid come back exactly")
    }

    @Test("int4 packing round-trips: unpacked levels equal the levels of each element")
    func packing() throws {
        let w = matrix(3, 128, seed: 3)
        for scheme in Self.schemes where scheme.bits == 4 {
            let q = try QuantizedMatrix(quantizing: w, scheme: scheme)
            for row in 0..<3 {
                let unpacked = q.levels(row: row)
                for c in 0..<128 {
                    let block = row * q.blocksPerRow + c / q.blockSize
                    let d = HalfFloat.float(fromHalf: q.scales[block])
                    let level = QuantizedMatrix.level(w.scalars[row * 128 + c], inverse: d == 0 ? 0 : 1 / d,
                                                      zero: q.zero(block), scheme)
                    #expect(unpacked[c] == level, "\(scheme) row \(row) column \(c)")
                }
            }
            #expect(q.quants.count == 3 * 64, "two numbers per byte")
        }
    }

    /// x·Ŵᵀ in Double with Ŵ the dequantized matrix: the reference every kernel is held to.
    func reference(_ x: [Float], _ w: Tensor, m: Int) -> [Double] {
        let (rows, columns) = (w.shape[0], w.shape[1])
        let ws = w.scalars
        return (0..<m).flatMap { r in
            (0..<rows).map { o in
                (0..<columns).reduce(0.0) { $0 + Double(x[r * columns + $1]) * Double(ws[o * columns + $1]) }
            }
        }
    }

    // 192 columns: 6 blocks of 32 (Q4_0 runs two blocks at a time); 160: 5, so the last one goes alone.
    // 64 rows × 2048 columns: enough rows of W for both cores to take a share.
    @Test("each kernel equals the dequantized Float32 product (float activations: 1e-5 relative; int8: its rounding)",
          arguments: [(24, 192), (24, 160), (64, 2048)])
    func kernels(rows: Int, columns: Int) throws {
        let w = matrix(rows, columns, seed: 4)
        var g = SeededGenerator(seed: 5)
        for scheme in Self.schemes + [QuantizationScheme(bits: 8, granularity: .group(96))] {
            guard let q = try? QuantizedMatrix(quantizing: w, scheme: scheme) else { continue }
            let dequantized = q.dequantized()
            for m in [1, 3] {
                let x = Tensor.randomNormal([m, columns], using: &g).scalars
                let expected = reference(x, dequantized, m: m)
                let scale = expected.map(abs).max() ?? 1
                var y = [Float](repeating: 0, count: m * rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { q.multiply(xp.baseAddress!, m: m, into: $0.baseAddress!) }
                }
                let worst = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst <= 1e-5 * scale,
                        "\(scheme), \(rows)×\(columns), m = \(m): max |Δ| \(worst) of \(scale)")
                guard q.supportsInt8Activations else { continue }
                // Integer path: exact against the reference on the int8-rounded activations.
                var rounded = x
                for r in 0..<m {
                    for b in 0..<q.blocksPerRow {
                        let range = (r * columns + b * q.blockSize)..<(r * columns + (b + 1) * q.blockSize)
                        let largest = rounded[range].map(abs).max() ?? 0
                        for i in range where largest > 0 {
                            rounded[i] = (x[i] * (127 / largest)).rounded() * (largest / 127)
                        }
                    }
                }
                let expectedInt8 = reference(rounded, dequantized, m: m)
                var y8 = [Float](repeating: 0, count: m * rows)
                x.withUnsafeBufferPointer { xp in y8.withUnsafeMutableBufferPointer {
                    q.multiplyInt8(xp.baseAddress!, m: m, into: $0.baseAddress!) } }
                let worst8 = zip(y8, expectedInt8).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst8 <= 1e-4 * scale,
                        "\(scheme) int8 activations, \(rows)×\(columns), m = \(m): max |Δ| \(worst8)")
            }
        }
    }
}

extension QuantizationTests {
    @Test("int8 activations on a long per-channel block of equal signs: the integer sums never outgrow Float's")
    func longBlocks() throws {
        // Every level 127 against every activation level 127: 127² per product, 8192 of them per row —
        // 1.3 · 10⁸ in all, far past the 2²² a lane may carry before it is moved to Float.
        let columns = 8192
        let w = Tensor(shape: [2, columns], repeating: 0.05)
        let q = try QuantizedMatrix(quantizing: w, scheme: QuantizationScheme(bits: 8, granularity: .channel))
        let x = [Float](repeating: 1, count: columns)
        var y = [Float](repeating: 0, count: 2)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer {
            q.multiplyInt8(xp.baseAddress!, m: 1, into: $0.baseAddress!) } }
        let expected = Double(q.dequantized().scalars[0]) * Double(columns)
        for v in y { #expect(abs(Double(v) - expected) <= 1e-5 * expected, "\(v) vs \(expected)") }
    }
}

@Suite("Quantization against llama.cpp's gguf package")
struct GGUFOracleTests {
    @Test("our Q8_0 and Q4_0 blocks are the bytes gguf.quants writes for the same matrix (skips without gguf)")
    func sameBytes() throws {
        var g = SeededGenerator(seed: 15)
        var w = Tensor.randomNormal([6, 128], standardDeviation: 0.05, using: &g)
        w.withUnsafeMutableBufferPointer { v in v[7] = 0.9; v[200] = -1.2; for i in 256..<288 { v[i] = 0 } }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).f32")
        defer { try? FileManager.default.removeItem(at: file) }
        try w.scalars.withUnsafeBytes { try Data($0).write(to: file) }
        guard let out = try runPythonFixture("gguf_quantize.py", [file.path, "6", "128"], needs: "gguf") else { return }
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        try #require(lines.count == 2)
        for (line, scheme) in zip(lines, [QuantizationScheme.q8_0, .q4_0]) {
            let ours = try #require(try QuantizedMatrix(quantizing: w, scheme: scheme).ggufBlocks())
            let hex = ours.map { String(format: "%02x", $0) }.joined()
            #expect(hex == line, "\(scheme): first difference at byte \(zip(hex, line).prefix { $0 == $1 }.count / 2)")
        }
    }
}

@Suite("Quantized models", .serialized)
struct QuantizedModelTests {
    func model() throws -> GPT {
        try GPT(.llamaStyle(vocabularySize: 64, contextLength: 16, layers: 2, heads: 2, kvHeads: 1, embeddingSize: 64),
                seed: 3)
    }

    @Test("a quantized model computes what its dequantized twin does (kernel and sgemm paths); x gets gradients")
    func sameFunction() throws {
        let quantized = try model()
        let names = try quantized.quantize(.q4_0, keep: [GPT.headName])
        #expect(names.count == quantized.linearLayers.count && quantized.quantizedHead == nil)
        #expect(quantized.namedParameters.allSatisfy { !$0.0.hasPrefix("blocks.") || $0.0.contains("norm") },
                "what is left of the blocks in Float32 is their norms")
        let twin = try model()
        for (layer, q) in zip(twin.linearLayers, quantized.linearLayers) {
            layer.denseMatrix!.value = (q.weight as! QuantizedWeight).matrix.dequantized()
        }
        for ids in [[[1, 2, 3]], [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]] {          // few rows, many rows
            let a = quantized(ids, .inference).value.scalars, b = twin(ids, .inference).value.scalars
            let scale = b.map(abs).max() ?? 1
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "T = \(ids[0].count): max |Δ| \(worst) of \(scale)")
        }
        // Through a frozen quantized W, x still gets its gradient (what LoRA over a quantized base needs).
        let layer = quantized.linearLayers[0]
        var g = SeededGenerator(seed: 9)
        let x = Variable.parameter(.randomNormal([2, 64], using: &g), name: "x")
        let report = GradientCheck.run([x]) { tape, v in layer(v[0], tape) }
        #expect(report.passed, "\(report)")
    }

    @Test("the LM head quantizes too, tied or not: logits = hidden · dequantized headᵀ; save → load keeps it")
    func head() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qhead-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for tied in [true, false] {
            var config = GPTConfig.llamaStyle(vocabularySize: 64, contextLength: 16, layers: 2, heads: 2, kvHeads: 1,
                                              embeddingSize: 64)
            config.tiedEmbeddings = tied
            let m = try GPT(config, seed: 4)
            let table = (m.lmHead ?? m.tokenEmbedding).value
            let names = try m.quantize(.q8_0)
            #expect(names.last == GPT.headName)
            let head = try #require(m.quantizedHead)
            #expect(head.matrix == (try QuantizedMatrix(quantizing: table, scheme: .q8_0)))
            #expect(!m.namedParameters.contains { $0.0 == "lm_head.weight" }, "no Float32 copy of the head is kept")
            for ids in [[[1, 2, 3]], [Array(1...12)]] {                                // kernel path, sgemm path
                let logits = m(ids, .inference).value.scalars
                let hidden = m.hiddenStates(ids, .inference)
                let reference = Tape.inference.matmul(hidden, Variable(head.matrix.dequantized()),
                                                      transposeB: true).value.scalars
                let scale = reference.map(abs).max() ?? 1
                let worst = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst <= 1e-4 * scale, "tied \(tied), T = \(ids[0].count): max |Δ| \(worst)")
            }
            try Checkpoint.save(m, to: folder)
            let file = try SafetensorsFile.read(folder.appendingPathComponent(Checkpoint.weightsFileName))
            #expect(file.entry("lm_head.weight")?.dtype == .I8 && file.entry("lm_head.weight_scale")?.dtype == .F16)
            #expect(file.entry("tok_embeddings.weight")?.dtype == .F32, "the lookups keep the Float32 table")
            let loaded = try Checkpoint.load(from: folder)
            #expect(loaded.quantizedHead?.matrix == head.matrix)
            #expect(loaded([[3, 1, 4]], .inference).value.scalars == m([[3, 1, 4]], .inference).value.scalars)
        }
        let kept = try model()
        try kept.quantize(.q4_0, keep: [GPT.headName])
        #expect(kept.quantizedHead == nil && !kept.quantizedLayers.isEmpty)
    }

    @Test("save → load keeps the integers and scales bit for bit; corrupt quantized files are one-line errors")
    func files() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quant-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for scheme in [QuantizationScheme.q8_0, .q4_0, QuantizationScheme(bits: 8, symmetric: false,
                                                                         granularity: .channel)] {
            let m = try model()
            try m.quantize(scheme, keep: ["blocks.1.mlp.down"])
            try Checkpoint.save(m, to: folder)
            let file = try SafetensorsFile.read(folder.appendingPathComponent(Checkpoint.weightsFileName))
            #expect(file.metadata["quantization"] == scheme.description)
            #expect(file.entry("blocks.0.attn.qkv.weight")?.dtype == (scheme.symmetric && scheme.bits == 8 ? .I8 : .U8))
            #expect(file.entry("blocks.1.mlp.down.weight")?.dtype == .F32, "kept layers stay F32")
            let loaded = try Checkpoint.load(from: folder)
            #expect(loaded.quantizedLayers.map(\.1.matrix) == m.quantizedLayers.map(\.1.matrix))
            let ids = [[1, 5, 9, 2]]
            #expect(loaded(ids, .inference).value.scalars == m(ids, .inference).value.scalars)
        }
        // Corrupt files: a scale tensor with one block too few; an unknown scheme; a group that does not divide.
        let m = try model()
        try m.quantize(.q8_0)
        let (stored, metadata) = try QuantizedCheckpoint.tensors(of: m)
        let url = folder.appendingPathComponent(Checkpoint.weightsFileName)
        func write(_ tensors: [StoredTensor], _ meta: [String: String]) throws {
            try SafetensorsFile.write(tensors, metadata: meta, to: url)
        }
        let short = try stored.map { t in
            t.name == "blocks.0.attn.qkv.weight_scale"
                ? try StoredTensor(name: t.name, dtype: .F16, shape: [t.shape[0], t.shape[1] - 1],
                                   bytes: Array(t.bytes.prefix(2 * t.shape[0] * (t.shape[1] - 1)))) : t
        }
        try write(short, metadata)
        #expect { try Checkpoint.load(from: folder) } throws: { error in
            (error as? CheckpointError)?.tensor == "blocks.0.attn.qkv.weight" && "\(error)".contains("scale count")
                && !"\(error)".contains("\n")
        }
        try write(stored, metadata.merging(["quantization": "int8-g48"]) { _, b in b })
        #expect { try Checkpoint.load(from: folder) } throws: { "\($0)".contains("48") && "\($0)".contains("divides") }
        try write(stored, metadata.merging(["quantization": "int5-g32"]) { _, b in b })
        #expect { try Checkpoint.load(from: folder) } throws: { "\($0)".contains("int5-g32") }
    }
}

@Suite("Fake quantization (QAT)")
struct FakeQuantizationTests {
    @Test("forward is dequantize(quantize(w)); the STE passes the gradient inside the grid and zeroes it outside")
    func straightThrough() throws {
        // One Q4_0 block: −8 sets d = 1, so the grid is −8…7; 7.9 is clipped to 7, 7.4 rounds onto 7 (inside).
        var values = (0..<32).map { Float($0 % 7) * 0.3 - 0.9 }
        (values[0], values[1], values[2]) = (-8, 7.9, 7.4)
        let w = Variable.parameter(Tensor(shape: [1, 32], values: values), name: "w")
        let tape = Tape()
        let out = tape.fakeQuantize(w, scheme: .q4_0)
        #expect(out.value == (try QuantizedMatrix(quantizing: w.value, scheme: .q4_0)).dequantized())
        #expect(out.value.scalars[1] == 7 && out.value.scalars[2] == 7)
        var g = SeededGenerator(seed: 3)
        let seed = Tensor.randomNormal([1, 32], using: &g)
        tape.backward(out, seed: seed)
        let grad = try #require(w.grad).scalars
        for i in 0..<32 { #expect(grad[i] == (i == 1 ? 0 : seed.scalars[i]), "element \(i)") }
    }

    @Test("after QAT steps, real quantization computes what the fake-quantized forward pass did")
    func qatThenQuantize() throws {
        try Parallel.withThreads(2) {
            let (tied, data, _) = try trainingFixture()
            var config = tied.config
            config.embeddingSize = 32
            config.mlpHiddenSize = 64
            let m = try GPT(config, seed: 2)
            let names = try m.fakeQuantize(.q4_0)
            #expect(names.count == m.linearLayers.count + 1 && names.last == GPT.headName)
            let trainer = try Trainer(model: m, data: data, config: loopConfig(steps: 4), checkpointFolder: nil)
            try trainer.run(quiet: true)
            let ids = [[1, 2, 3, 4, 5]]
            let fake = m(ids, .inference).value.scalars
            m.removeFakeQuantization()
            try m.quantize(.q4_0)
            let real = m(ids, .inference).value.scalars
            let scale = fake.map(abs).max() ?? 1
            #expect(zip(fake, real).allSatisfy { abs($0 - $1) <= 1e-4 * scale })
        }
    }
}

@Suite("Quantization quality")
struct QuantizationQualityTests {
    @Test("KL is 0 for a model against itself, positive against its int4 copy, and equals a hand computation")
    func kl() throws {
        let m = try GPT(.llamaStyle(vocabularySize: 32, contextLength: 8, layers: 1, heads: 2, kvHeads: 1,
                                    embeddingSize: 32), seed: 5)
        let batch = TokenBatch(inputs: [[1, 2, 3, 4]], targets: [2, 3, TokenBatch.ignoreIndex, 5])
        #expect(QuantizationQuality.meanKL(reference: m, model: m, batches: [batch]) == 0)
        let q = try m.copy()
        try q.quantize(.q4_0)
        let measured = QuantizationQuality.meanKL(reference: m, model: q, batches: [batch])
        let p = m(batch.inputs, .inference).value.scalars, r = q(batch.inputs, .inference).value.scalars
        var expected = 0.0
        for row in [0, 1, 3] {                                           // position 2 is not scored
            let a = Array(p[(row * 32)..<((row + 1) * 32)]).map(Double.init)
            let b = Array(r[(row * 32)..<((row + 1) * 32)]).map(Double.init)
            let za = log(a.map(exp).reduce(0, +)), zb = log(b.map(exp).reduce(0, +))
            expected += zip(a, b).map { exp($0 - za) * (($0 - za) - ($1 - zb)) }.reduce(0, +)
        }
        expected /= 3
        #expect(measured > 0 && abs(measured - expected) <= 1e-6 * max(expected, 1e-12) + 1e-9,
                "\(measured) vs \(expected)")
    }

    @Test("roundToGrid at 8 bits per channel is int8-channel but for the fp16 step; every width stays within d/2")
    func grid() throws {
        var g = SeededGenerator(seed: 8)
        let w = Tensor.randomNormal([4, 64], using: &g)
        let rounded = try QuantizationQuality.roundToGrid(w, bits: 8, group: 64)
        let core = try QuantizedMatrix(quantizing: w, scheme: QuantizationScheme(bits: 8, granularity: .channel))
        // The core stores d in fp16 (a relative change below 2⁻¹¹), which moves a value sitting near a rounding
        // boundary to the next level: at most one step apart, and rarely.
        var differing = 0
        for row in 0..<4 {
            let step = w.scalars[(row * 64)..<((row + 1) * 64)].map(abs).max()! / 127
            let levels = core.levels(row: row)
            for c in 0..<64 {
                let mine = Int((rounded.scalars[row * 64 + c] / step).rounded())
                #expect(abs(mine - levels[c]) <= 1, "row \(row), column \(c): level \(mine) vs \(levels[c])")
                if mine != levels[c] { differing += 1 }
            }
        }
        #expect(differing <= 8, "\(differing) of 256 levels differ")
        for bits in [2, 3, 5] {
            let r = try QuantizationQuality.roundToGrid(w, bits: bits, group: 32)
            let top = Float((1 << (bits - 1)) - 1)
            for start in stride(from: 0, to: 256, by: 32) {
                let step = w.scalars[start..<(start + 32)].map(abs).max()! / top
                for i in start..<(start + 32) { #expect(abs(r.scalars[i] - w.scalars[i]) <= step / 2 + 1e-6) }
            }
        }
        #expect(throws: CourseError.self) { try QuantizationQuality.roundToGrid(w, bits: 4, group: 48) }
    }
}
