// Introduced in Chapter 03. What later chapters read from earlier ones, with the message that says
// which command makes it when it is missing.

import ArgumentParser
import Foundation
import LLMCore

public enum ChapterInputs {
    /// The error for a model a chapter needs that is not in `folder`: which command makes it, or which flag
    /// points elsewhere.
    static func missing(_ artifact: Artifact, at folder: URL, flag: String) -> CourseError {
        RunArtifacts(runDirectory: folder.path).missing(artifact, at: folder, flag: flag)
    }

    /// The Chapter 01 tokenizer in `folder`. With `quick` and no tokenizer there, a small one is trained
    /// on `corpus` instead (so `--quick` runs stand alone); otherwise a missing tokenizer is an error
    /// that names the command to run.
    public static func tokenizer(_ folder: URL, corpus: Corpus, quick: Bool) throws -> BPETokenizer {
        let file = folder.appendingPathComponent(BPETokenizer.rankFileName)
        let exists = FileManager.default.fileExists(atPath: file.path)
        if exists || !quick {
            do {
                return try BPETokenizer.load(from: folder)
            } catch TokenizerError.corruptFile(_, 0, "the file does not exist") {
                throw RunArtifacts(runDirectory: folder.deletingLastPathComponent().path)
                    .missing(.tokenizer, at: folder, flag: "--tokenizer DIR")
            }
        }
        print("(no tokenizer in \(folder.path): training a small one for --quick; run ch01 for the course tokenizer)")
        return try BPETrainer.train(documents: corpus.entries.prefix(2000).map(\.text), vocabularySize: 1024).tokenizer
    }
}

extension ChapterInputs {
    /// The Chapter 04 base model in `folder` (`Artifact.baseModel`: `<run-dir>/pretrain/checkpoint`). With
    /// `quick` and no checkpoint there, a tiny model is trained on `corpus` for a few seconds instead (so
    /// `--quick` runs stand alone); otherwise a missing checkpoint is an error that names the command to run.
    public static func baseModel(_ folder: URL, corpus: Corpus, tokenizer: BPETokenizer, quick: Bool,
                                 seed: UInt64 = 1337) throws -> GPT {
        let exists = FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path)
        if exists || !quick {
            guard exists else {
                throw missing(.baseModel, at: folder, flag: "--checkpoint DIR")
            }
            let model = try Checkpoint.load(from: folder)
            if model.config.vocabularySize < tokenizer.vocabularySize {
                throw CourseError.invalidValue(name: "base model",
                                               value: "\(folder.path) (vocabulary \(model.config.vocabularySize))",
                                               expected: "a model trained with this tokenizer " +
                                                         "(\(tokenizer.vocabularySize) ids)")
            }
            return model
        }
        print("(no base model in \(folder.path): training a tiny one for --quick; run ch04 for the course model)")
        let slice = Corpus(entries: Array(corpus.entries.prefix(3000)), source: corpus.source)
        let data = try TokenDataset.make(corpus: slice, tokenizer: tokenizer, contextLength: 64)
        let model = try GPT(.gpt2Style(vocabularySize: data.vocabularySize, contextLength: 64, layers: 2, heads: 2,
                                       embeddingSize: 64), seed: seed)
        var config = TrainingConfig(steps: 60, batchSize: 8)
        (config.learningRate, config.warmupSteps, config.evaluateEvery, config.seed) = (3e-3, 5, 60, seed)
        try Trainer(model: model, data: data, config: config, checkpointFolder: nil).run(quiet: true)
        return model
    }
}

extension ChapterInputs {
    /// The Chapter 05 chat model in `folder` (`Artifact.chatModel`). With `quick` and no checkpoint there, a copy
    /// of `base` stands in (a copy: a chapter may fine-tune it); otherwise a missing checkpoint is an error that
    /// names the command to run.
    public static func chatModel(_ folder: URL, base: GPT, corpus: Corpus, tokenizer: BPETokenizer,
                                 quick: Bool) throws -> GPT {
        let exists = FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path)
        if exists || !quick {
            guard exists else {
                throw missing(.chatModel, at: folder, flag: "--checkpoint DIR")
            }
            return try baseModel(folder, corpus: corpus, tokenizer: tokenizer, quick: false)  // the same checks
        }
        print("(no chat model in \(folder.path): a copy of the base model stands in for --quick; run ch05 for it)")
        let copy = try GPT(base.config, seed: 0)
        for (parameter, weights) in zip(copy.parameters, base.parameters) { parameter.value = weights.value }
        return copy
    }
}

/// `--corpus PATH`, shared by the chapters that read text.
public struct CorpusOption: ParsableArguments {
    @Option(help: ArgumentHelp("A UTF-8 text file or folder to learn from (default: the fortune collections in "
                               + "\(Corpus.fortunesDirectory))."))
    public var corpus: String?

    public init() {}

    /// The corpus at `--corpus`, or the default fortunes in `language`.
    public func load(default language: Corpus.Language) throws -> Corpus {
        try corpus.map { try Corpus.load(path: $0) } ?? Corpus.fortunes(language)
    }
}

/// `--tokenizer DIR`, shared by the chapters that read the Chapter 01 tokenizer.
public struct TokenizerOption: ParsableArguments {
    @Option(help: "The tokenizer folder (default: <run-dir>/tokenizer, written by Chapter 01).")
    public var tokenizer: String?

    public init() {}

    /// The tokenizer at `--tokenizer` or in `<run-dir>/tokenizer` (see `ChapterInputs.tokenizer`).
    public func load(_ options: ChapterOptions, corpus: Corpus) throws -> BPETokenizer {
        try ChapterInputs.tokenizer(tokenizer.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.tokenizer),
                                    corpus: corpus, quick: options.quick)
    }
}

extension ChapterInputs {
    /// The Chapter 05 topic classifier in `folder` (`Artifact.classifier`). With `quick` and no classifier there,
    /// a head is trained on a copy of `base` for a few steps instead (Chapter 05's "head only"); otherwise a
    /// missing classifier is an error that names the command to run.
    public static func classifier(_ folder: URL, base: GPT, corpus: Corpus, tokenizer: BPETokenizer, quick: Bool,
                                  seed: UInt64 = 1337) throws -> TopicClassifier {
        let exists = FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path)
        if exists || !quick {
            guard exists else {
                throw missing(.classifier, at: folder, flag: "--classifier DIR")
            }
            return try TopicClassifier.load(from: folder, tokenizer: tokenizer)
        }
        print("(no classifier in \(folder.path): training a head on the base model for --quick; run ch05 for it)")
        let topics = try CourseTasks.topics(in: corpus)
        let data = try TopicClassification(corpus, topics: topics)
        let model = try GPT(base.config, seed: 0)
        for (parameter, weights) in zip(model.parameters, base.parameters) { parameter.value = weights.value }
        let classifier = TopicClassifier(model: model, topics: topics, tokenizer: tokenizer, seed: seed)
        model.freeze()
        let source = try LabelledExamples(train: classifier.examples(data.train),
                                          validation: classifier.examples(data.validation),
                                          batchSize: 16, length: model.config.contextLength,
                                          padding: classifier.padding)
        var config = TrainingConfig(steps: 15, batchSize: 16)
        (config.learningRate, config.minimumLearningRate, config.warmupSteps) = (1e-2, 1e-3, 2)
        (config.evaluateEvery, config.seed) = (15, seed)
        let trainer = try Trainer(model: model, source: source, loss: Losses.classification(head: classifier.head),
                                  extras: classifier.head.namedParameters, config: config, checkpointFolder: nil)
        try trainer.run(quiet: true)
        return classifier
    }
}
