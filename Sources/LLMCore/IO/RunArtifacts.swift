// Introduced with the core issue. The map of the run folder: every artifact a chapter reads or writes,
// where it lives under `<run-dir>/` (default `runs/course/`), which chapter makes it and the command to
// run when it is missing. Chapters, `llm` and the tests ask this type for paths; none spells them.
//
//   tokenizer/                  01   tokenizer.tiktoken + tokenizer.json
//   pretrain/checkpoint/        04   the base model (model.safetensors + config.json)
//   sft/checkpoint/             05   the chat model
//   sft/classifier/             05   the topic classifier (base model + head)
//   lora/<name>/                06   adapters in PEFT's layout
//   quantized/<format>/         07   int8 / int4 models
//   rag/index.sqlite            09   the retrieval store (BM25 + dense)
//   eval/report.md              10   every model on every held-out task

import Foundation

/// One thing a chapter writes for later chapters.
public enum Artifact: String, CaseIterable, Sendable {
    case tokenizer, baseModel, chatModel, classifier, adapters, quantizedModels, retrievalIndex, evaluationReport

    /// The path under the run folder.
    public var relativePath: String {
        switch self {
        case .tokenizer: return "tokenizer"
        case .baseModel: return "pretrain/checkpoint"
        case .chatModel: return "sft/checkpoint"
        case .classifier: return "sft/classifier"
        case .adapters: return "lora"
        case .quantizedModels: return "quantized"
        case .retrievalIndex: return "rag/index.sqlite"
        case .evaluationReport: return "eval/report.md"
        }
    }

    /// The chapter that makes it ("01").
    public var chapter: String {
        switch self {
        case .tokenizer: return "01"
        case .baseModel: return "04"
        case .chatModel, .classifier: return "05"
        case .adapters: return "06"
        case .quantizedModels: return "07"
        case .retrievalIndex: return "09"
        case .evaluationReport: return "10"
        }
    }

    /// What it is, for messages ("the Chapter 04 base model").
    public var title: String {
        let what: String
        switch self {
        case .tokenizer: what = "tokenizer"
        case .baseModel: what = "base model"
        case .chatModel: what = "chat model"
        case .classifier: what = "classifier"
        case .adapters: what = "LoRA adapters"
        case .quantizedModels: what = "quantized models"
        case .retrievalIndex: what = "retrieval index"
        case .evaluationReport: what = "evaluation report"
        }
        return "the Chapter \(chapter) \(what)"
    }

    /// The file whose presence says the artifact is there.
    public var marker: String {
        switch self {
        case .tokenizer: return "tokenizer.tiktoken"
        case .baseModel, .chatModel, .classifier: return "model.safetensors"
        case .adapters, .quantizedModels, .retrievalIndex, .evaluationReport: return ""
        }
    }

    /// The command that makes it.
    public var command: String { "swift run -c release ch\(chapter)" }
}

/// Where a run's artifacts are: `<run-dir>/<artifact path>`.
public struct RunArtifacts: Sendable {
    public let root: URL

    public init(runDirectory: String) { root = URL(fileURLWithPath: runDirectory, isDirectory: true) }

    /// The artifact's location (whether or not it exists yet).
    public func url(_ artifact: Artifact) -> URL { root.appendingPathComponent(artifact.relativePath) }

    /// Whether the artifact has been made.
    public func exists(_ artifact: Artifact) -> Bool {
        FileManager.default.fileExists(atPath: url(artifact).appendingPathComponent(artifact.marker).path)
    }

    /// The artifact's location, or the error that says which command makes it.
    public func require(_ artifact: Artifact, flag: String? = nil) throws -> URL {
        guard exists(artifact) else { throw missing(artifact, flag: flag) }
        return url(artifact)
    }

    /// The one-line error for a missing artifact: where it was looked for (`at`, default its place in
    /// this run folder) and what makes it.
    public func missing(_ artifact: Artifact, at place: URL? = nil, flag: String? = nil) -> CourseError {
        CourseError.invalidValue(name: artifact.title, value: (place ?? url(artifact)).path,
                                 expected: "\(artifact.title): run '\(artifact.command)' (or 'make course') first"
                                     + (flag.map { ", or pass \($0)" } ?? ""))
    }
}
