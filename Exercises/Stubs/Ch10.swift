// Chapter 10 exercises — your file. Steps and hints: Exercises/Ch10.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter10: Chapter10Exercises {
    public init() {}

    /// 10.1 — SQuAD's token F1 of an English answer against its reference.
    public func tokenF1(prediction: String, reference: String) throws -> Double {
        throw ExerciseUnsolved("normalise, count shared tokens, 2·P·R/(P + R) (Exercises/Ch10.md, step 1)")
    }

    /// 10.2 — BLEU's modified (clipped) n-gram precision for one hypothesis.
    public func modifiedPrecision(hypothesis: [String], references: [[String]],
                                  n: Int) throws -> (matched: Int, total: Int) {
        throw ExerciseUnsolved("count n-grams, clip by the references' counts (Exercises/Ch10.md, step 2)")
    }

    /// 10.3 — Expected calibration error over equal-width bins.
    public func expectedCalibrationError(confidences: [Double], correct: [Bool], bins: Int) throws -> Double {
        throw ExerciseUnsolved("bin by confidence, weigh each bin's gap by its size (Exercises/Ch10.md, step 3)")
    }
}
