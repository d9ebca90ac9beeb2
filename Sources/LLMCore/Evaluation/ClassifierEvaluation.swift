// Introduced in Chapter 10. One classifier, measured the way Chapter 10 asks: accuracy and macro-F1 with
// 95 % intervals against the majority-class floor, calibration (ECE, the reliability bins), the same
// accuracy per group with the fairness differences, and the accuracy drop under each perturbation.
// The classifier is a function from texts to class probabilities, so anything can be measured — Chapter
// 05's topic classifier, a stand-in in a test.

import Foundation

public struct ClassifierEvaluation: Sendable {
    public struct Item: Sendable {
        public let text: String, label: Int, group: String
        public init(text: String, label: Int, group: String) {
            (self.text, self.label, self.group) = (text, label, group)
        }
    }

    public struct Robustness: Sendable, Equatable {
        public let perturbation: Perturbation
        public let accuracy: Double
        public let dropRate: Double
    }

    public let items: Int
    public let accuracy: Bootstrap.Interval, macroF1: Bootstrap.Interval
    /// Accuracy of always answering the most common label of the test items (the floor; 1/k when balanced).
    public let majorityAccuracy: Double
    public let expectedCalibrationError: Bootstrap.Interval
    public let reliability: [ReliabilityBin]
    public let fairness: FairnessReport
    public let robustness: [Robustness]
    /// Per item: the top-1 probability and whether the top-1 class is the label (for accuracy–coverage).
    public let confidences: [Double], correct: [Bool]

    /// Throws when an item's label is outside 0..<classes or the classifier returns the wrong shape.
    public static func run(_ classify: ([String]) -> [[Float]], items: [Item], classes: Int,
                           perturbations: [Perturbation] = Perturbation.allCases, resamples: Int = 1000,
                           seed: UInt64 = 0) throws -> ClassifierEvaluation {
        let labels = items.map(\.label)
        func predictions(_ texts: [String]) throws -> (top: [Int], confidence: [Double]) {
            let p = classify(texts)
            guard p.count == texts.count, p.allSatisfy({ $0.count == classes }) else {
                throw CourseError.invalidValue(name: "classifier output", value: "\(p.count) rows",
                                               expected: "\(texts.count) rows of \(classes) probabilities")
            }
            let top = p.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
            return (top, zip(p, top).map { Double($0[$1]) })
        }
        let (top, confidence) = try predictions(items.map(\.text))
        let report = try ClassificationReport(predictions: top, labels: labels, classes: classes)
        let accuracy = Bootstrap.interval(count: items.count, resamples: resamples, seed: seed) { idx in
            idx.isEmpty ? .nan : Double(idx.filter { top[$0] == labels[$0] }.count) / Double(idx.count)
        }
        let macroF1 = Bootstrap.interval(count: items.count, resamples: resamples, seed: seed) { idx in
            (try? ClassificationReport(predictions: idx.map { top[$0] }, labels: idx.map { labels[$0] },
                                       classes: classes).macroF1) ?? .nan
        }
        let correct = zip(top, labels).map { $0 == $1 }
        let majority = majorityClass(labels)
        let robustness = try perturbations.map { perturbation -> Robustness in
            let (changed, _) = try predictions(items.enumerated().map {
                perturbation.apply($1.text, seed: seed &+ UInt64($0))
            })
            let a = Double(zip(changed, labels).filter { $0 == $1 }.count) / Double(max(items.count, 1))
            return Robustness(perturbation: perturbation, accuracy: a,
                              dropRate: Perturbation.dropRate(clean: report.accuracy, perturbed: a))
        }
        return ClassifierEvaluation(
            items: items.count, accuracy: accuracy, macroF1: macroF1,
            majorityAccuracy: Double(labels.filter { $0 == majority }.count) / Double(max(labels.count, 1)),
            expectedCalibrationError: Bootstrap.interval(count: items.count, resamples: resamples, seed: seed) { idx in
                (try? Calibration.expectedCalibrationError(confidences: idx.map { confidence[$0] },
                                                           correct: idx.map { correct[$0] })) ?? .nan
            },
            reliability: try Calibration.reliability(confidences: confidence, correct: correct),
            fairness: try FairnessReport(predictions: top, labels: labels, groups: items.map(\.group),
                                         classes: classes),
            robustness: robustness, confidences: confidence, correct: correct)
    }
}
