//: ## Chapter 05, part two — a topic classifier

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension Lesson {
    /// The course topics the corpus has (`CourseTasks.topics`).
    func classifierTopics() throws -> [String] { try CourseTasks.topics(in: corpus) }

    // MARK: - 5.3 A classifier: fine-tuning for a label

    //: The smallest change that turns a language model into something else: keep the network, throw away
    //: the next-token head, and put a new linear head (k topics ← C) on the hidden state of the **last real
    //: token** — the text is followed by `<|endoftext|>`, and that position has read all of it. In a padded
    //: batch the last position of a short row is padding; reading it there is the classic bug (the tests
    //: check that padding does not move the answer). Three regimes, same data and steps: (a) train the head
    //: only, the model frozen — a linear probe of what pretraining learned; (b) also the last block;
    //: (c) everything. Next to them, two baselines a reader trusts: always answering the most common class,
    //: and multinomial naive Bayes on word counts — the bag-of-words model the transformer must beat to be
    //: worth its FLOPs. The topics are balanced, split by entry like 5.1, scored on the held-out split.
    func classifier() throws -> (TopicClassifier, NaiveBayes) {
        Console.section("5.3 A classifier: fine-tuning for a label")
        let topics = try classifierTopics()
        let data = try TopicClassification(corpus, topics: topics)
        Console.keyValues([
            ("topics (k)", "\(topics.count): \(topics.joined(separator: ", "))"),
            ("items", "\(data.train.count) train, \(data.validation.count) validation, \(data.test.count) test " +
                      "(balanced: the same number per topic)"),
        ])
        let labels = data.test.map(\.label)
        let majority = majorityClass(data.train.map(\.label))
        let majorityReport = try ClassificationReport(predictions: labels.map { _ in majority }, labels: labels,
                                                      classes: topics.count)
        let bayes = NaiveBayes(documents: data.train.map(\.text), labels: data.train.map(\.label),
                               classes: topics.count)
        let bayesReport = try ClassificationReport(predictions: data.test.map { bayes.predict($0.text) },
                                                   labels: labels,
                                                   classes: topics.count)
        var rows: [[String]] = [["majority class", "—", Format.fixed(majorityReport.accuracy, 3),
                                 Format.fixed(majorityReport.macroF1, 3)],
                                ["naive Bayes, word counts", "—", Format.fixed(bayesReport.accuracy, 3),
                                 Format.fixed(bayesReport.macroF1, 3)]]
        var best: (classifier: TopicClassifier, validation: Double, report: ClassificationReport)?
        var bars: [(String, Double)] = [("majority", majorityReport.accuracy), ("naive Bayes", bayesReport.accuracy)]
        let steps = quick ? 15 : 120
        for (name, regime, rate) in [("(a) head only", 0, Float(1e-2)), ("(b) last block + head", 1, 2e-3),
                                     ("(c) all layers + head", 2, 1e-3)] {
            let model = try freshBase()
            let classifier = TopicClassifier(model: model, topics: topics, tokenizer: bpe, seed: seed)
            model.freeze()
            if regime == 1 {
                model.blocks[model.blocks.count - 1].unfreeze()
                model.finalNorm.unfreeze()
            } else if regime == 2 {
                model.unfreeze()
            }
            let source = try LabelledExamples(train: classifier.examples(data.train),
                                              validation: classifier.examples(data.validation),
                                              batchSize: 16, length: context, padding: classifier.padding)
            var config = TrainingConfig(steps: steps, batchSize: 16)
            (config.learningRate, config.minimumLearningRate) = (rate, rate / 10)
            config.warmupSteps = max(1, steps / 10)
            (config.evaluateEvery, config.weightDecay, config.seed) = (steps, 0.01, seed)
            let trainer = try Trainer(model: model, source: source, loss: Losses.classification(head: classifier.head),
                                      extras: classifier.head.namedParameters, config: config, checkpointFolder: nil)
            try trainer.run(label: "  \(name.prefix(9))", quiet: true)
            let validation = try ClassificationReport(predictions: classifier.predict(data.validation.map(\.text)),
                                                      labels: data.validation.map(\.label), classes: topics.count)
            let report = try ClassificationReport(predictions: classifier.predict(data.test.map(\.text)),
                                                  labels: labels,
                                                  classes: topics.count)
            let trained = trainer.trainable.reduce(0) { $0 + $1.value.count }
            rows.append([name, Format.integer(trained), Format.fixed(report.accuracy, 3),
                         Format.fixed(report.macroF1, 3)])
            bars.append((String(name.prefix(3)) + " " + ["head", "block+head", "all"][regime], report.accuracy))
            if best == nil || validation.accuracy > best!.validation {
                best = (classifier, validation.accuracy, report)
            }
        }
        Console.printTable(["classifier (\(data.test.count) test items)", "trained parameters", "accuracy", "macro-F1"],
                           rows)
        print("  chance: \(Format.fixed(1 / Double(topics.count), 3))")
        guard let chosen = best else {
            throw CourseError.invalidValue(name: "classifier", value: "none", expected: "one")
        }
        let folder = chapter.options.artifacts.url(.classifier)
        try chosen.classifier.save(to: folder)
        print("  saved the regime with the best validation accuracy (\(Format.fixed(chosen.validation, 3))): " +
              Chapter.relativePath(folder.path))
        try chapter.plot(.bars(labels: bars.map(\.0), values: bars.map(\.1),
                               title: "Topic classification, \(data.test.count) held-out fortunes, k = \(topics.count)",
                               yLabel: "accuracy"),
                         as: "classifier-regimes")
        let confusion = chosen.report.confusion.map { row -> [Double] in
            let total = Double(max(row.reduce(0, +), 1))
            return row.map { Double($0) / total }
        }
        try chapter.plot(.heatmap(confusion, title: "Confusion matrix of the saved classifier (rows: true topic)",
                                  xLabel: "predicted topic", yLabel: "true topic", rowLabels: topics,
                                  columnLabels: topics),
                         as: "confusion")
        return (chosen.classifier, bayes)
    }
}
