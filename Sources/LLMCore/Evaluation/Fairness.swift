// Introduced in Chapter 10. Fairness as a measurement: the same classifier's behaviour on groups of inputs
// (English and Chinese requests; topics grouped), in fairlearn's terms.
//
// Accuracy per group is the first look. For one class c treated as "positive":
//
//     selection rate of group g  = P(ŷ = c | g)
//     demographic-parity difference = max_g − min_g of the selection rates
//     true-positive rate of g    = P(ŷ = c | y = c, g),   false-positive rate = P(ŷ = c | y ≠ c, g)
//     equalized-odds difference  = the larger of (max − min of the TPRs) and (max − min of the FPRs)
//
// 0 means the groups are treated alike. With several classes each class is "positive" in turn and the
// largest difference is reported (one-vs-rest). A group with no item of the needed kind is skipped for
// that rate, not counted as 0.

import Foundation

public struct GroupReport: Sendable, Equatable {
    public let group: String
    public let count: Int
    public let accuracy: Double
}

public struct FairnessReport: Sendable, Equatable {
    public let groups: [GroupReport]
    public let demographicParityDifference: Double
    public let equalizedOddsDifference: Double

    /// Throws when the three lists differ in length.
    public init(predictions: [Int], labels: [Int], groups: [String], classes: Int) throws {
        guard predictions.count == labels.count, labels.count == groups.count else {
            throw CourseError.invalidValue(name: "groups", value: "\(groups.count) items",
                                           expected: "one per prediction and label (\(predictions.count), " +
                                               "\(labels.count))")
        }
        let names = Array(Set(groups)).sorted()
        let members = names.map { name in groups.indices.filter { groups[$0] == name } }
        self.groups = zip(names, members).map { name, items in
            GroupReport(group: name, count: items.count,
                        accuracy: Double(items.filter { predictions[$0] == labels[$0] }.count) / Double(items.count))
        }
        func spread(_ rates: [Double?]) -> Double {
            let present = rates.compactMap { $0 }
            guard let high = present.max(), let low = present.min() else { return 0 }
            return high - low
        }
        func rate(_ items: [Int], where condition: (Int) -> Bool, _ c: Int) -> Double? {
            let chosen = items.filter(condition)
            return chosen.isEmpty ? nil : Double(chosen.filter { predictions[$0] == c }.count) / Double(chosen.count)
        }
        var parity = 0.0, odds = 0.0
        for c in 0..<classes {
            parity = max(parity, spread(members.map { rate($0, where: { _ in true }, c) }))
            let tpr = spread(members.map { rate($0, where: { labels[$0] == c }, c) })
            let fpr = spread(members.map { rate($0, where: { labels[$0] != c }, c) })
            odds = max(odds, tpr, fpr)
        }
        demographicParityDifference = parity
        equalizedOddsDifference = odds
    }
}
