// Introduced in Chapter 04. Model FLOPs utilisation — achieved FLOP/s over the machine's peak — printed so
// that it can never claim more than 100 %.
//
// MFU divides by an sgemm peak timed on this machine. On a shared machine that timing can land in a
// busy moment, so the peak comes out low and the MFU high: a course run once printed "MFU 177 %". An MFU
// above 100 % is a measurement bug, never a result. So the meter re-times the peak whenever a figure
// would pass 100 % (keeping the highest peak seen), says that it did, and when even the new peak is
// exceeded it prints no number at all, only the flag.

/// Turns achieved FLOP/s into an MFU label against a peak it re-measures when needed.
public struct MFUMeter {
    /// The highest sgemm peak measured so far (GFLOP/s).
    public private(set) var peakGFLOPs: Double
    /// How many times the peak was re-measured because a figure would have exceeded 100 %.
    public private(set) var remeasurements = 0
    /// The most re-measurements before the meter only flags (each costs a few hundred milliseconds).
    public let maximumRemeasurements: Int
    private let measure: () -> Double

    /// - Parameters:
    ///   - peakGFLOPs: the first measurement.
    ///   - measure: times the peak again (`SgemmPeak.measure` in the training loop).
    public init(peakGFLOPs: Double, maximumRemeasurements: Int = 3, measure: @escaping () -> Double) {
        self.peakGFLOPs = peakGFLOPs
        self.maximumRemeasurements = maximumRemeasurements
        self.measure = measure
    }

    /// The MFU for `flopsPerSecond`, at most 100 %: "41%", "41% (peak re-measured)", or, when the
    /// achieved rate still exceeds every peak measured, "n/a (faster than the measured peak; machine busy?)".
    public mutating func label(flopsPerSecond: Double) -> String {
        var fraction = flopsPerSecond / (peakGFLOPs * 1e9)
        while fraction > 1 && remeasurements < maximumRemeasurements {
            remeasurements += 1
            peakGFLOPs = max(peakGFLOPs, measure())
            fraction = flopsPerSecond / (peakGFLOPs * 1e9)
        }
        if fraction > 1 || !fraction.isFinite { return "n/a (faster than the measured peak; machine busy?)" }
        let percent = Swift.min(100, (100 * fraction).rounded())
        return "\(Int(percent))%" + (remeasurements > 0 ? " (peak re-measured)" : "")
    }
}

/// MFU as a percentage for reports that time the peak beside the work (`llm bench`): the figure when it
/// is at most 100 %, otherwise a flag instead of a number.
public func mfuText(flopsPerSecond: Double, peakGFLOPs: Double, decimals: Int = 1) -> String {
    let fraction = flopsPerSecond / (peakGFLOPs * 1e9)
    guard fraction.isFinite, fraction <= 1 else { return "MFU n/a (above the peak timed in this run; machine busy?)" }
    return "MFU " + String(format: "%.\(decimals)f%%", 100 * fraction)
}
