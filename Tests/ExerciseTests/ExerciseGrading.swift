// What every exercise test asserts, for any chapter: the reference solution passes, a plausible wrong
// answer (the decoy) fails, and the stub as committed is unsolved — so no check passes vacuously.

import ExerciseKit
import Foundation
import Testing

enum ExerciseGrading {
    static func expectSolutionPasses<I>(_ exercise: Exercise<I>, _ solution: I) {
        let outcome = exercise.grade(solution)
        #expect(outcome == .passed, "reference solution for \(exercise.id) was graded \(outcome)")
    }

    static func expectDecoyFails<I>(_ exercise: Exercise<I>, _ decoy: I) {
        let outcome = exercise.grade(decoy)
        guard case .failed = outcome else {
            Issue.record("decoy for \(exercise.id) was graded \(outcome)")
            return
        }
    }

    /// In CI (a fresh clone) the stub must be unsolved. On a learner's machine a solved stub is theirs to
    /// grade with `make exercises`, and this check steps aside.
    static func expectStubUnsolved<I>(_ exercise: Exercise<I>, _ stub: I) {
        let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
        let outcome = exercise.grade(stub)
        if !inCI && outcome != .unsolved { return }
        #expect(outcome == .unsolved, "stub for \(exercise.id) must throw ExerciseUnsolved as committed")
    }
}
