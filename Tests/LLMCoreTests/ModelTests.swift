// The GPT: causality, gradient checks of a block and of a whole small model, parameter accounting,
// and checkpoints (safetensors round trips, a Python-written fixture, corrupt files).

import Foundation
import Testing
@testable import LLMCore

/// Small configs of every family, for checks that run a whole model.
func microConfigs() -> [GPTConfig] {
    var gpt2 = GPTConfig.gpt2Style(vocabularySize: 11, contextLength: 6, layers: 2, heads: 2, embeddingSize: 8)
    gpt2.mlpHiddenSize = 12
    var llama = GPTConfig.llamaStyle(vocabularySize: 11, contextLength: 6, layers: 2, heads: 4, kvHeads: 2, embeddingSize: 8)
    llama.mlpHiddenSize = 12
    var sinusoidal = gpt2
    sinusoidal.positions = .sinusoidal
    sinusoidal.tiedEmbeddings = false
    return [gpt2, llama, sinusoidal]
}

@Suite("GPT model")
struct ModelTests {
    @Test("changing a future token never changes earlier positions' logits", arguments: microConfigs())
    func causal(config: GPTConfig) throws {
        let model = try GPT(config, seed: 1)
        let a = model([[1, 2, 3, 4, 5, 6]], .inference).value
        let b = model([[1, 2, 3, 9, 5, 6]], .inference).value
        let v = config.vocabularySize
        #expect(Array(a.scalars[..<(3 * v)]) == Array(b.scalars[..<(3 * v)]))
        #expect(Array(a.scalars[(3 * v)..<(4 * v)]) != Array(b.scalars[(3 * v)..<(4 * v)]))
        // Bidirectional: now earlier positions do see the change.
        let c = model([[1, 2, 3, 4, 5, 6]], .inference, causal: false).value, d = model([[1, 2, 3, 9, 5, 6]], .inference, causal: false).value
        #expect(Array(c.scalars[..<v]) != Array(d.scalars[..<v]))
    }

    @Test("a whole small GPT passes the gradient check (loss through every parameter)", arguments: microConfigs())
    func gradientCheck(config: GPTConfig) throws {
        let model = try GPT(config, seed: 2)
        // Larger weights than GPT-2's 0.02 so every path carries gradient well above rounding noise.
        var g = SeededGenerator(seed: 3)
        for p in model.parameters where p.shape.count == 2 { p.value = .randomNormal(p.shape, standardDeviation: 0.3, using: &g) }
        let ids = [[1, 5, 2, 7], [3, 3, 0, 10]], targets = [5, 2, 7, 1, 3, 0, 10, 4]
        let report = GradientCheck.run(model.parameters) { tape, _ in
            tape.crossEntropy(model(ids, tape), targets: targets)
        }
        #expect(report.passed, "\(report)")
    }

    @Test("a block passes the gradient check with respect to its input")
    func block() throws {
        for config in microConfigs() {
            var generator = SeededGenerator(seed: 4)
            let block = Block("b", config: config, generator: &generator)
            for p in block.parameters where p.shape.count == 2 { p.value = .randomNormal(p.shape, standardDeviation: 0.3, using: &generator) }
            let x = Variable.parameter(.randomNormal([2, 3, config.embeddingSize], using: &generator), name: "x")
            let report = GradientCheck.run([x] + block.parameters) { tape, v in block(v[0], tape) }
            #expect(report.passed, "\(config.norm) \(config.mlp): \(report)")
        }
    }

    @Test("accounting from the config equals the model's parameter tensors",
          arguments: [GPTConfig.gpt2Style(.tiny), .gpt2Style(.small), .llamaStyle(.tiny), .llamaStyle(.small)] + microConfigs())
    func accounting(config: GPTConfig) throws {
        let model = try GPT(config, seed: 0)
        #expect(ModelAccounting(config).total == model.parameters.parameterCount)
    }

    @Test("the 'small' GPT-2-style model has the size the benchmark reference quotes")
    func smallSize() {
        // nanoGPT-style at V 4096, T 256, L 6, H 6, C 384: 12·L·C² + 13·L·C + V·C + T·C + 2·C
        let c = 384, l = 6
        let expected = 12 * l * c * c + 13 * l * c + 4096 * c + 256 * c + 2 * c
        #expect(ModelAccounting(.gpt2Style(.small)).total == expected)
        #expect(GPTConfig.llamaStyle(.small).mlpHiddenSize == 1024)
    }

    @Test("config problems are reported in words")
    func badConfig() {
        var config = GPTConfig.gpt2Style(.tiny)
        config.heads = 3
        #expect(config.problems.contains("n_embd 128 is not divisible by n_head 3"))
        #expect(throws: CourseError.self) { try GPT(config, seed: 0) }
        #expect(GPTConfig.preset("llama-small") == .llamaStyle(.small) && GPTConfig.preset("bert-base") == nil)
    }
}

@Suite("Checkpoints")
struct CheckpointTests {
    @Test("save, load: identical logits, bit-exact weights", arguments: microConfigs())
    func roundTrip(config: GPTConfig) throws {
        let folder = temporaryFolder("roundTrip\(config.norm)\(config.positions)")
        let model = try GPT(config, seed: 5)
        try Checkpoint.save(model, to: folder)
        let loaded = try Checkpoint.load(from: folder)
        #expect(loaded.config == config)
        for ((name, a), (_, b)) in zip(model.namedParameters, loaded.namedParameters) { #expect(a.value == b.value, "\(name)") }
        #expect(model([[1, 2, 3]], .inference).value == loaded([[1, 2, 3]], .inference).value)
    }

    @Test("F16, BF16 and I8: known conversions and round trips")
    func dtypes() throws {
        #expect(HalfFloat.half(fromFloat: 1) == 0x3C00 && HalfFloat.half(fromFloat: -2) == 0xC000)
        #expect(HalfFloat.half(fromFloat: 65504) == 0x7BFF && HalfFloat.half(fromFloat: 1e6) == 0x7C00)
        #expect(HalfFloat.float(fromHalf: 0x0001) == 0x1p-24 && HalfFloat.float(fromHalf: 0x3555) == 0.333251953125)
        #expect(HalfFloat.half(fromFloat: 1 + 0x1p-11) == 0x3C00)          // a tie rounds to even
        #expect(HalfFloat.half(fromFloat: 1 + 3 * 0x1p-11) == 0x3C02)
        #expect(HalfFloat.bfloat16(fromFloat: 1) == 0x3F80 && HalfFloat.bfloat16(fromFloat: 3.140625) == 0x4049)
        for h in UInt16(0)...UInt16.max where (h >> 10) & 0x1F != 0x1F {   // every finite half survives half → float → half
            #expect(HalfFloat.half(fromFloat: HalfFloat.float(fromHalf: h)) == h)
        }
        let folder = temporaryFolder()
        let values = Tensor(shape: [2, 3], values: [0.5, -1.25, 3, 100, -7, 0])     // exact in F32, F16 and BF16
        let integers = Tensor(shape: [2, 3], values: [-128, -1, 0, 1, 100, 127])   // exact in I8
        for dtype in DType.allCases {
            let url = folder.appendingPathComponent("\(dtype).safetensors")
            let written = dtype == .I8 || dtype == .I32 || dtype == .I64 ? integers : dtype == .U8 ? Tensor(shape: [1], values: [255]) : values
            try SafetensorsFile.write([("t", written)], dtype: dtype, to: url)
            #expect(try SafetensorsFile.read(url).tensor("t") == written, "\(dtype)")
        }
    }

    @Test("a file written by Python's safetensors loads with the right values")
    func pythonFixture() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/python-written.safetensors")
        let file = try SafetensorsFile.read(url)
        #expect(file.metadata["made_by"] == "make_safetensors_fixture.py")
        #expect(try file.tensor("weights.f32") == Tensor(shape: [3, 4], values: (0..<12).map { Float($0) / 4 - 1 }))
        #expect(try file.tensor("weights.f16") == Tensor(shape: [2, 3], values: [0, 0.5, 1, 1.5, 2, 2.5]))
        #expect(try file.tensor("counts.i8").scalars == [-128, -1, 0, 1, 127])
        #expect(try file.tensor("scalar.f32").shape == [] && file.tensor("scalar.f32").item == 3.5)
        #expect(try file.tensor("empty.f32").shape == [0, 4])
    }

    @Test("a checkpoint written here loads in Python (skips when python3 or safetensors is missing)")
    func loadsInPython() throws {
        let folder = temporaryFolder()
        let model = try GPT(microConfigs()[1], seed: 6)
        try Checkpoint.save(model, to: folder)
        guard let data = try runPythonFixture("safetensors_check.py", [folder.appendingPathComponent(Checkpoint.weightsFileName).path],
                                               needs: "safetensors") else { return }
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [Any]])
        #expect(summary.count == model.namedParameters.count)
        for (name, parameter) in model.namedParameters {
            let entry = try #require(summary[name])
            #expect(entry[0] as? [Int] == parameter.shape && entry[1] as? String == "float32")
            let sum = parameter.value.scalars.reduce(0.0) { $0 + Double($1) }
            #expect(abs((entry[2] as? Double ?? .nan) - sum) < 1e-4 * max(1, abs(sum)), "\(name)")
        }
    }
}
