// Chapter 07 run as a learner would, and its quantized checkpoints used by `llm` as a practitioner would.

import Foundation
import Testing

@Suite("Chapter 07, quantization on the command line", .serialized)
struct Chapter07Tests {
    @Test("ch07 --quick runs every section, writes quantized checkpoints llm generate and llm chat load")
    func quickRunAndCheckpoints() throws {
        let folder = scratchFolder()
        let corpus = try writeInstructionCorpus(in: folder)
        let runs = folder.appendingPathComponent("runs")
        let ch05 = try runProduct("ch05", ["--quick", "--no-plots", "--corpus", corpus.path, "--run-dir", runs.path])
        #expect(ch05.status == 0, "\(ch05.stderr)")
        let chat = runs.appendingPathComponent("sft/checkpoint").path
        let tokenizer = runs.appendingPathComponent("sft").path
        let result = try runProduct("ch07", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path,
                                             "--checkpoint", chat, "--tokenizer", tokenizer])
        expectSections(result, ["7.1 A number format: the grid and its step", "7.2 What the weights look like",
                                "7.3 Outliers, and why groups beat one scale per tensor", "7.4 What stays in Float32",
                                "7.5 Quantization-aware training", "7.6 The table: size, quality, speed",
                                "7.7 Perplexity against bits", "7.8 The kernels: why fewer bytes are faster",
                                "7.9 A quantized drafter for speculative decoding"])
        #expect(result.stdout.contains("0.0e+00 (0.0e+00 of max |y|)"),
                "the Float32-activation kernel equals the dequantized product on the chapter's row")
        expectFiles(runs, ["quantized/int8-g32/model.safetensors", "quantized/int4-g32/model.safetensors",
                           "quantized/int8-channel/config.json", "quantized/base-qat-int4-g32/model.safetensors",
                           "quantized/base-control-int4-g32/config.json"]
                    + ["weights-histogram", "weights-int4", "granularity-snr", "qat", "perplexity-group",
                       "perplexity-bits"].map { "07-quantization/\($0).gp" })
        let int4 = runs.appendingPathComponent("quantized/int4-g32").path
        let generate = try runProduct("llm", ["generate", "--checkpoint", int4, "--tokenizer", tokenizer,
                                              "--prompt", "The", "--max-tokens", "6", "--temperature", "0", "--ids"])
        #expect(generate.status == 0 && !generate.stdout.isEmpty, "\(generate.stderr)")
        // runq.c's integer kernels on the same file: the same kind of output; a Float32 checkpoint is refused.
        let integer = try runProduct("llm", ["generate", "--checkpoint", int4, "--tokenizer", tokenizer, "--prompt",
                                             "The", "--max-tokens", "6", "--temperature", "0", "--int8-activations"])
        #expect(integer.status == 0 && integer.stderr.contains("int8 activations"), "\(integer.stderr)")
        let float = try runProduct("llm", ["generate", "--checkpoint", chat, "--tokenizer", tokenizer,
                                           "--prompt", "The", "--int8-activations"])
        #expect(float.status != 0 && float.stderr.contains("--int8-activations")
                && float.stderr.contains("this one is Float32"), "\(float.stderr)")
        let chatRun = try runProduct("llm", ["chat", "--checkpoint", int4, "--tokenizer", tokenizer,
                                             "--max-tokens", "4"], input: "hello\n")
        #expect(chatRun.status == 0, "\(chatRun.stderr)")
        // The quantized file names its format, and a file with a scale tensor cut short is a one-line error.
        let weights = runs.appendingPathComponent("quantized/int4-g32/model.safetensors")
        let header = try String(decoding: Data(contentsOf: weights).prefix(4096), as: UTF8.self)
        #expect(header.contains("\"quantization\":\"int4-g32\"") || header.contains("\"quantization\": \"int4-g32\""),
                "\(header.prefix(300))")
        let keep = try runProduct("llm", ["quantize", "--checkpoint", chat, "--bits", "4", "--keep", "lm_head",
                                          "--out", folder.appendingPathComponent("q4-head").path])
        #expect(keep.status == 0 && keep.stdout.contains("(1 kept in Float32)"), "\(keep.stdout) \(keep.stderr)")
        let unknown = try runProduct("llm", ["quantize", "--checkpoint", chat, "--keep", "lm_heads",
                                             "--out", folder.appendingPathComponent("q-bad").path])
        #expect(unknown.status != 0 && unknown.stderr.contains("lm_head for the LM head"), "\(unknown.stderr)")
    }
}
