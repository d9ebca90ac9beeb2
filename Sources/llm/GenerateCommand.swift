// `llm generate`: Chapter 08's sampler on any checkpoint, streaming tokens as they come.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a trained model, printing tokens as they are chosen (KV cache on).")

    @Option(help: "The checkpoint folder (config.json + model.safetensors).")
    var checkpoint: String

    @Option(help: "The text to continue. <|endoftext|> is read as the special token; other <|…|> text is an error.")
    var prompt: String

    @OptionGroup var common: ModelRunFlags

    @OptionGroup var sampling: SamplingFlags

    @Flag(help: "Print the generated token ids instead of text (to compare with other tools).")
    var ids = false

    @Flag(name: .customLong("no-cache"), help: "Recompute the whole window for every token (the slow baseline).")
    var noCache = false

    @Flag(help: "Refuse a prompt longer than the context instead of keeping its last tokens.")
    var strict = false

    var settings: SamplingSettings { sampling.settings }

    mutating func validate() throws {
        try common.validate()
        try sampling.validate()
        if prompt.isEmpty { throw flagError("--prompt", "\"\"", "some text to continue") }
        if common.adapters.count > 1 {
            throw flagError("--adapter", common.adapters.joined(separator: ", "), "one adapter (llm chat can switch)")
        }
    }

    func run() throws {
        let (model, bpe, _) = try common.load(checkpoint)
        if let unknown = Self.unknownSpecialTokens(in: prompt, known: Set(bpe.specialTokens.keys)).first {
            let known = bpe.specialTokens.keys.sorted().joined(separator: ", ")
            throw CourseError.invalidValue(name: "--prompt", value: "special token \(unknown)",
                                           expected: "one of \(known) (write it differently to mean plain text)")
        }
        let promptIDs = try bpe.encode(prompt, special: .allow)
        let generator = Generator(model: model)
        generator.usesCache = !noCache
        var random = SeededGenerator(seed: common.seed)
        let stop = bpe.specialId("<|endoftext|>").map { Set([$0]) } ?? []
        let out = FileHandle.standardOutput
        if !ids { out.write(Data(prompt.utf8)) }
        var first = true
        let result = try generator.generate(prompt: promptIDs, maxTokens: common.maxTokens,
                                            settings: settings, stopTokens: stop,
                                            strict: strict, generator: &random) { token in
            if ids {
                out.write(Data(((first ? "" : " ") + String(token)).utf8))
            } else if let bytes = try? bpe.decodeBytes([token]) {
                out.write(Data(bytes))        // raw bytes: a character split over two tokens completes on the terminal
            }
            first = false
            return true
        }
        out.write(Data("\n".utf8))
        var report = "\(result.tokens.count) tokens in \(Format.duration(result.decodeSeconds)) " +
                     "(\(String(format: "%.0f", result.tokensPerSecond)) tokens/s"
        report += noCache ? ", no cache" : String(format: ", cache %.1f MB", Double(generator.cache.bytes) / 1e6)
        if common.int8Activations { report += ", int8 activations" }
        report += "; prompt \(promptIDs.count) tokens in \(Format.duration(result.prefillSeconds))); stopped: " +
                  "\(result.finishReason.rawValue)"
        if result.truncatedPrompt > 0 { report += "; the prompt's first \(result.truncatedPrompt) tokens did not fit " +
                                                  "the context and were dropped" }
        FileHandle.standardError.write(Data((report + "\n").utf8))
    }

    /// `<|…|>` spans in `text` that are not special tokens of the tokenizer.
    static func unknownSpecialTokens(in text: String, known: Set<String>) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<|"), let close = rest[open.upperBound...].range(of: "|>") {
            let token = String(rest[open.lowerBound..<close.upperBound])
            if !known.contains(token) { found.append(token) }
            rest = rest[close.upperBound...]
        }
        return found
    }
}

/// The sampling flags `llm generate` and `llm chat` share (Chapter 08).
struct SamplingFlags: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens.")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Keep the smallest most-likely set with probability ≥ p, p in (0, 1].")
    var topP: Float?

    @Option(name: .customLong("min-p"), help: "Keep tokens at least this fraction as likely as the top one.")
    var minP: Float?

    @Option(name: .customLong("repetition-penalty"), help: "> 1 discourages repeating tokens already in the text.")
    var repetitionPenalty: Float = 1

    var settings: SamplingSettings {
        SamplingSettings(temperature: temperature, topK: topK, topP: topP, minP: minP,
                         repetitionPenalty: repetitionPenalty)
    }

    func validate() throws {
        do { try settings.validate() } catch let error as CourseError {
            guard case .invalidValue(let name, let value, let expected) = error else { throw error }
            throw flagError("--\(name.replacingOccurrences(of: " ", with: "-"))", value, expected)
        }
    }
}

/// Writes the tokenizer found for `checkpoint` (and its chat template, if it has the ChatML tokens) into
/// `output`, so a derived checkpoint (merged, quantized) travels with them; nothing when none is found.
func copyTokenizer(_ explicit: String?, near checkpoint: URL, to output: URL) throws {
    guard let folder = try? findTokenizerFolder(explicit, near: checkpoint),
          let bpe = try? BPETokenizer.load(from: folder) else { return }
    try bpe.save(to: output)
    if let template = try? ChatTemplate(tokenizer: bpe) { try template.writeDescription(to: output) }
}

/// The tokenizer folder: `explicit` (--tokenizer), else the first of the checkpoint folder, its parent, its
/// grandparent's tokenizer/ and runs/course/tokenizer that holds a tokenizer.
func findTokenizerFolder(_ explicit: String?, near checkpoint: URL) throws -> URL {
    if let explicit { return URL(fileURLWithPath: explicit) }
    let parent = checkpoint.deletingLastPathComponent()
    let candidates = [checkpoint, parent, parent.deletingLastPathComponent().appendingPathComponent("tokenizer"),
                      RunArtifacts(runDirectory: "runs/course").url(.tokenizer)]
    let file = BPETokenizer.rankFileName
    let exists = { (folder: URL) in FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) }
    if let found = candidates.first(where: exists) {
        return found
    }
    throw CourseError.invalidValue(name: "--tokenizer", value: "(not given)",
                                   expected: "a folder with \(file); none found next to \(checkpoint.path) or in " +
                                             "runs/course/tokenizer")
}

/// The flags `llm generate` and `llm chat` share besides sampling, and loading the model with its tokenizer.
struct ModelRunFlags: ParsableArguments {
    @Option(help: ArgumentHelp("The tokenizer folder (default: the checkpoint folder, its parent, or " +
                               "runs/course/tokenizer — the first that has one)."))
    var tokenizer: String?

    @Option(name: .customLong("max-tokens"), help: "The most new tokens (in chat: per reply).")
    var maxTokens = 200

    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 1337

    @Option(help: "Threads (default: all cores, \(Parallel.defaultThreads) here).")
    var threads: Int?

    @Option(name: .customLong("adapter"),
            help: ArgumentHelp("A LoRA adapter folder (adapter_config.json + adapter_model.safetensors) to " +
                               "use on the checkpoint; in chat, repeat it and switch with /adapter NAME."))
    var adapters: [String] = []

    @Flag(name: .customLong("int8-activations"),
          help: ArgumentHelp("Quantize each activation row to int8 too and multiply in integers (llama2.c's " +
                             "runq.c): faster decoding on a quantized checkpoint, at a little more error."))
    var int8Activations = false

    func validate() throws {
        try ChapterOptions.validateThreads(threads)
        try requireFlag("--max-tokens", maxTokens, in: 1...1_000_000)
    }

    /// Sets the thread count, loads the checkpoint and its tokenizer, checks that they fit, and loads the
    /// adapters (the first one in use). A checkpoint folder that holds an adapter itself (what
    /// `llm sft --lora` checkpoints) gets it applied, and says so.
    func load(_ checkpoint: String) throws -> (GPT, BPETokenizer, AdapterLibrary) {
        Parallel.setThreads(threads ?? Parallel.defaultThreads)
        let folder = URL(fileURLWithPath: checkpoint)
        let model = try Checkpoint.load(from: folder)
        if int8Activations {
            if !model.quantizedMatrices.contains(where: { $0.weight.matrix.supportsInt8Activations }) {
                let why = model.quantizedMatrices.isEmpty ? "this one is Float32"
                                                           : "this one's scheme has no integer kernel"
                throw CourseError.invalidValue(name: "--int8-activations", value: checkpoint,
                    expected: "a checkpoint quantized with a symmetric scheme in groups of 32·k " +
                              "(llm quantize --bits 8|4 --group 32); \(why)")
            }
            model.useInt8Activations(true)
        }
        let bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: folder))
        try requireTokenizer(bpe, fits: model)
        if LoRAAdapter.exists(in: folder) {
            if !adapters.isEmpty {
                throw CourseError.invalidValue(name: "--adapter", value: adapters.joined(separator: ", "),
                    expected: "a plain base checkpoint to put it on; \(checkpoint) carries its own adapter " +
                              "(use its base model with --checkpoint, or this folder without --adapter)")
            }
            _ = try LoRAAdapter.load(from: folder, onto: model)
            Console.warn("(\(checkpoint) is a LoRA training checkpoint: its adapter is applied)")
        }
        let library = AdapterLibrary(model: model)
        for path in adapters { try library.load(URL(fileURLWithPath: path)) }
        try library.use(library.names.first)
        return (model, bpe, library)
    }
}

/// Throws, naming `--tokenizer`, when the tokenizer has ids the model has no embedding for.
func requireTokenizer(_ bpe: BPETokenizer, fits model: GPT) throws {
    if model.config.vocabularySize < bpe.vocabularySize {
        throw CourseError.invalidValue(name: "--tokenizer", value: "(\(bpe.vocabularySize) ids)",
            expected: "the tokenizer the model was trained with (\(model.config.vocabularySize) ids)")
    }
}
