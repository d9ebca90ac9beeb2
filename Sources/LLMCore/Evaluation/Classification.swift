// Introduced in Chapter 05. Scoring a classifier, and the two baselines a transformer classifier must
// beat: always answering the most common class, and multinomial naive Bayes on word counts.
//
// Accuracy is the fraction right. Macro-F1 averages, over classes, F1 = 2·P·R / (P + R) of each class
// (P: precision, of the items predicted as the class, how many are; R: recall, of the items of the class,
// how many were found; a class never predicted and never present is left out of the average, one never
// predicted but present scores 0), so every class counts the same however many items it has. The
// confusion matrix counts items by (true class, predicted class). Chapter 10 adds precision and recall per
// class and their macro means (each class weighs the same) and micro means (each item weighs the same).

import Foundation

public struct ClassificationReport: Sendable, Equatable {
    public let classes: Int
    /// confusion[true][predicted]: how many items of class `true` were predicted as `predicted`.
    public let confusion: [[Int]]

    /// Throws when the two lists differ in length or hold a class outside 0..<classes.
    public init(predictions: [Int], labels: [Int], classes: Int) throws {
        guard predictions.count == labels.count else {
            throw CourseError.invalidValue(name: "predictions", value: "\(predictions.count)",
                                           expected: "one per label (\(labels.count))")
        }
        if let bad = (predictions + labels).first(where: { !(0..<classes).contains($0) }) {
            throw CourseError.invalidValue(name: "class", value: "\(bad)", expected: "a class in 0..<\(classes)")
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (p, y) in zip(predictions, labels) { confusion[y][p] += 1 }
        self.classes = classes
        self.confusion = confusion
    }

    public var count: Int { confusion.joined().reduce(0, +) }

    public var accuracy: Double {
        count == 0 ? .nan : Double((0..<classes).reduce(0) { $0 + confusion[$1][$1] }) / Double(count)
    }

    /// F1 of each class; nil for a class neither present nor predicted.
    public var f1: [Double?] {
        (0..<classes).map { c in
            let truePositives = Double(confusion[c][c])
            let predicted = Double((0..<classes).reduce(0) { $0 + confusion[$1][c] })
            let present = Double(confusion[c].reduce(0, +))
            if predicted == 0 && present == 0 { return nil }
            return predicted + present == 0 ? 0 : 2 * truePositives / (predicted + present)
        }
    }

    /// The unweighted mean of the classes' F1.
    public var macroF1: Double {
        let scores = f1.compactMap { $0 }
        return scores.isEmpty ? .nan : scores.reduce(0, +) / Double(scores.count)
    }

    /// Of the items predicted as each class, the fraction that are (0 for a class never predicted, as
    /// scikit-learn's `zero_division=0`); nil for a class neither present nor predicted.
    public var precision: [Double?] {
        (0..<classes).map { c in
            let predicted = (0..<classes).reduce(0) { $0 + confusion[$1][c] }
            if predicted == 0 && confusion[c].reduce(0, +) == 0 { return nil }
            return predicted == 0 ? 0 : Double(confusion[c][c]) / Double(predicted)
        }
    }

    /// Of the items of each class, the fraction found; nil for a class neither present nor predicted.
    public var recall: [Double?] {
        (0..<classes).map { c in
            let present = confusion[c].reduce(0, +)
            if present == 0 && (0..<classes).allSatisfy({ confusion[$0][c] == 0 }) { return nil }
            return present == 0 ? 0 : Double(confusion[c][c]) / Double(present)
        }
    }

    public var macroPrecision: Double { Self.mean(precision) }
    public var macroRecall: Double { Self.mean(recall) }

    /// Micro averages pool every item's decision before dividing: with one label per item each wrong item
    /// is one false positive and one false negative, so micro precision = recall = F1 = accuracy.
    public var microF1: Double { accuracy }

    static func mean(_ values: [Double?]) -> Double {
        let present = values.compactMap { $0 }
        return present.isEmpty ? .nan : present.reduce(0, +) / Double(present.count)
    }
}

/// The most common training label, predicted for everything: the floor any classifier must clear.
public func majorityClass(_ labels: [Int]) -> Int {
    var counts: [Int: Int] = [:]
    for label in labels { counts[label, default: 0] += 1 }
    return counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key ?? 0
}

/// Multinomial naive Bayes over word counts with add-one (Laplace) smoothing: the bag-of-words baseline.
/// A document's class is argmax_c  log P(c) + Σ_w count(w) · log P(w | c), over the words seen in training
/// (as scikit-learn's `MultinomialNB` on a `CountVectorizer`: a word no training document has is skipped).
public struct NaiveBayes: Sendable {
    public let classes: Int
    let logPrior: [Double]
    let logLikelihood: [[String: Double]]
    /// log P(w | c) of a word the class never saw (smoothing only).
    let logUnseen: [Double]
    let vocabulary: Set<String>

    /// Lower-cased runs of letters and digits: the "words" of a document.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    public init(documents: [String], labels: [Int], classes: Int) {
        var counts = [[String: Int]](repeating: [:], count: classes)
        var totals = [Int](repeating: 0, count: classes), documentsPerClass = [Int](repeating: 0, count: classes)
        var vocabulary = Set<String>()
        for (document, label) in zip(documents, labels) where (0..<classes).contains(label) {
            documentsPerClass[label] += 1
            for word in Self.words(document) {
                counts[label][word, default: 0] += 1
                totals[label] += 1
                vocabulary.insert(word)
            }
        }
        let v = Double(max(vocabulary.count, 1)), n = Double(max(documents.count, 1))
        self.classes = classes
        self.vocabulary = vocabulary
        logPrior = documentsPerClass.map { log(Double($0) / n) }        // −∞ for a class with no documents
        logUnseen = totals.map { log(1 / (Double($0) + v)) }
        logLikelihood = (0..<classes).map { c in
            counts[c].mapValues { log((Double($0) + 1) / (Double(totals[c]) + v)) }
        }
    }

    /// log P(c) + Σ log P(w | c) for every class.
    public func scores(_ document: String) -> [Double] {
        let words = Self.words(document).filter(vocabulary.contains)
        return (0..<classes).map { c in
            words.reduce(logPrior[c]) { $0 + (logLikelihood[c][$1] ?? logUnseen[c]) }
        }
    }

    public func predict(_ document: String) -> Int {
        let s = scores(document)
        return s.indices.max { s[$0] < s[$1] } ?? 0
    }
}
