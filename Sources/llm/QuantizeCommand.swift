// `llm quantize`: Chapter 07's post-training quantization as a command — a checkpoint in, a quantized
// checkpoint (integers and fp16 scales in model.safetensors) out, with the error each layer took.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a checkpoint's linear layers to int8 or int4 (PTQ): a smaller, faster checkpoint " +
                  "every command loads.")

    @Option(help: "The checkpoint to quantize.")
    var checkpoint: String

    @Option(help: "8 or 4.")
    var bits: Int = 8

    @Option(help: ArgumentHelp("Numbers per scale: 32, 64, 128 (default 32: GGUF's Q8_0 / Q4_0 blocks); 0 for " +
                               "one scale per output channel (row)."))
    var group: Int = 32

    @Option(help: "sym (a grid centred on zero) or asym (a zero point per block).")
    var scheme: String = "sym"

    @Option(help: "Comma-separated layers to keep in Float32 (e.g. blocks.0.attn.qkv, or lm_head for the head).")
    var keep: String?

    @Option(help: "Where the quantized checkpoint goes (a new folder).")
    var out: String

    @Option(help: ArgumentHelp("The tokenizer folder to copy along (default: next to the checkpoint, or " +
                               "runs/course/tokenizer)."))
    var tokenizer: String?

    mutating func validate() throws {
        if bits != 8 && bits != 4 { throw flagError("--bits", "\(bits)", "8 or 4") }
        if group < 0 { throw flagError("--group", "\(group)", "32, 64, 128, or 0 for one scale per row") }
        if scheme != "sym" && scheme != "asym" { throw flagError("--scheme", scheme, "sym or asym") }
    }

    var quantization: QuantizationScheme {
        QuantizationScheme(bits: bits, symmetric: scheme == "sym", granularity: group == 0 ? .channel : .group(group))
    }

    func run() throws {
        let base = URL(fileURLWithPath: checkpoint), output = URL(fileURLWithPath: out)
        if base.standardizedFileURL == output.standardizedFileURL {
            throw flagError("--out", out, "another folder than --checkpoint (the original stays as it is)")
        }
        let model = try Checkpoint.load(from: base)
        let kept = Set((keep ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        if let unknown = kept.first(where: { name in
            name != GPT.headName && !model.linearLayers.contains { $0.name == name } }) {
            throw flagError("--keep", unknown, "linear layer names such as \(model.linearLayers[0].name), or " +
                                               "\(GPT.headName) for the LM head")
        }
        var originals = Dictionary(uniqueKeysWithValues: model.linearLayers.compactMap { layer in
            layer.denseMatrix.map { (layer.name, $0.value) }
        })
        originals[GPT.headName] = (model.lmHead ?? model.tokenEmbedding).value
        let done: [String]
        do { done = try model.quantize(quantization, keep: kept) } catch let error as CourseError {
            throw flagError("--group", "\(group)", "\(error)")
        }
        var worst = (name: "", snr: Double.infinity), bytes = (before: 0, after: 0)
        for (layer, weight) in model.quantizedMatrices {
            guard let original = originals[layer] else { continue }
            let error = QuantizationError(original: original, approximation: weight.matrix.dequantized())
            if error.snrDecibels < worst.snr { worst = (layer, error.snrDecibels) }
            bytes.before += 4 * original.count
            bytes.after += weight.matrix.byteCount
        }
        try Checkpoint.save(model, to: output, metadata: ["quantized_from": checkpoint])
        try copyTokenizer(tokenizer, near: base, to: output)
        print("\(quantization): \(done.count) matrices quantized (\(kept.count) kept in Float32), " +
              String(format: "%.2f MB → %.2f MB of weights (%.2f×); lowest SNR %.1f dB (%@)",
                     Double(bytes.before) / 1e6, Double(bytes.after) / 1e6,
                     Double(bytes.after) / Double(max(bytes.before, 1)), worst.snr, worst.name))
        print("checkpoint: \(Chapter.relativePath(output.path)) — try: llm generate --checkpoint " +
              "\(Chapter.relativePath(output.path)) --prompt \"The\"")
    }
}
