// Introduced in Chapter 10. Does a model's confidence mean what it says?
//
// Expected calibration error (Guo et al. 2017): put each prediction in one of 15 equal-width bins by its
// top-1 confidence c (bin k holds (k/15, (k+1)/15]; a confidence of exactly 0 goes to the first), and
//
//     ECE = Σ_bins (n_bin / N) · |accuracy(bin) − mean confidence(bin)|
//
// 0 is perfect; a model that says 90 % and is right 60 % of the time has ECE 0.3. The reliability
// diagram plots accuracy against confidence per bin; the diagonal is perfect calibration.
//
// Selective prediction: answer only when confident. Sorting by confidence, the model keeps the top
// fraction (coverage) and its accuracy on those is the curve's height; a calibrated, useful confidence
// makes the curve fall as coverage grows.

import Foundation

public struct ReliabilityBin: Sendable, Equatable {
    public let lower: Double, upper: Double
    public let count: Int
    public let accuracy: Double, confidence: Double
}

public enum Calibration {
    public static let bins = 15

    /// The reliability bins of (confidence, correct) pairs; empty bins have count 0 and NaN figures.
    public static func reliability(confidences: [Double], correct: [Bool],
                                   bins: Int = bins) throws -> [ReliabilityBin] {
        guard confidences.count == correct.count else {
            throw CourseError.invalidValue(name: "confidences", value: "\(confidences.count)",
                                           expected: "one per prediction (\(correct.count))")
        }
        if let bad = confidences.first(where: { !(0...1).contains($0) }) {
            throw CourseError.invalidValue(name: "confidence", value: "\(bad)", expected: "a probability in [0, 1]")
        }
        var count = [Int](repeating: 0, count: bins), right = count
        var sum = [Double](repeating: 0, count: bins)
        for (c, ok) in zip(confidences, correct) {
            let k = min(bins - 1, max(0, Int((c * Double(bins)).rounded(.up)) - 1))
            count[k] += 1
            sum[k] += c
            if ok { right[k] += 1 }
        }
        return (0..<bins).map { k in
            ReliabilityBin(lower: Double(k) / Double(bins), upper: Double(k + 1) / Double(bins), count: count[k],
                           accuracy: count[k] == 0 ? .nan : Double(right[k]) / Double(count[k]),
                           confidence: count[k] == 0 ? .nan : sum[k] / Double(count[k]))
        }
    }

    public static func expectedCalibrationError(confidences: [Double], correct: [Bool],
                                                bins: Int = bins) throws -> Double {
        let table = try reliability(confidences: confidences, correct: correct, bins: bins)
        let n = Double(confidences.count)
        guard n > 0 else { return .nan }
        return table.filter { $0.count > 0 }.reduce(0) { $0 + Double($1.count) / n * abs($1.accuracy - $1.confidence) }
    }

    /// (coverage, accuracy) when only the k most confident predictions are kept, k = 1…N (ties in
    /// confidence keep their input order).
    public static func accuracyCoverage(confidences: [Double],
                                        correct: [Bool]) -> [(coverage: Double, accuracy: Double)] {
        let order = confidences.indices.sorted { (confidences[$0], -$0) > (confidences[$1], -$1) }
        var right = 0
        return order.enumerated().map { k, i in
            if correct[i] { right += 1 }
            return (Double(k + 1) / Double(order.count), Double(right) / Double(k + 1))
        }
    }
}

/// Percentile bootstrap confidence intervals: resample the test items with replacement, recompute the
/// figure, and read the 2.5th and 97.5th percentiles of the resampled figures. It says how much the figure
/// would move on another test set of the same size from the same source — not whether the test set is
/// the right one.
public enum Bootstrap {
    public struct Interval: Sendable, Equatable, Codable {
        public let value: Double, lower: Double, upper: Double
        public init(value: Double, lower: Double, upper: Double) {
            (self.value, self.lower, self.upper) = (value, lower, upper)
        }
        public var formatted: String { String(format: "%.3f [%.3f, %.3f]", value, lower, upper) }
    }

    /// `statistic` of the full list, with a 95 % interval from `resamples` resamplings of item indices.
    public static func interval(count: Int, resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0,
                                _ statistic: ([Int]) -> Double) -> Interval {
        let value = statistic(Array(0..<count))
        guard count > 0 else { return Interval(value: value, lower: .nan, upper: .nan) }
        var random = SeededGenerator(seed: seed)
        var figures: [Double] = []
        figures.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let sample = (0..<count).map { _ in Int(random.next() % UInt64(count)) }
            figures.append(statistic(sample))
        }
        figures.sort()
        let alpha = (1 - level) / 2
        return Interval(value: value, lower: percentile(figures, alpha), upper: percentile(figures, 1 - alpha))
    }

    /// The mean of per-item scores, with its interval.
    public static func mean(_ scores: [Double], resamples: Int = 1000, seed: UInt64 = 0) -> Interval {
        interval(count: scores.count, resamples: resamples, seed: seed) { idx in
            idx.isEmpty ? .nan : idx.reduce(0) { $0 + scores[$1] } / Double(idx.count)
        }
    }

    /// A proportion, hits of items, with the interval of the mean of that many 0/1 item scores (what
    /// resampling the items themselves gives when each is simply right or wrong).
    public static func proportion(hits: Int, items: Int, resamples: Int = 1000, seed: UInt64 = 0) -> Interval {
        mean((0..<items).map { $0 < hits ? 1 : 0 }, resamples: resamples, seed: seed)
    }

    /// Linear interpolation between the closest ranks (numpy's default `percentile`).
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}
