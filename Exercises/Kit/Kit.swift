// The exercise harness (Chapter 00): what an exercise is, the error a stub throws, and the
// scoreboard. Each chapter's checks live beside this file (`Chapter00Checks.swift`, …) and take the
// implementation as a parameter, so one check body grades the stub, the reference solution and a
// deliberately wrong "decoy" (minbpe's one-test-many-implementations).

import LLMCore

/// Thrown by an exercise stub the student has not solved yet. Fails only its own exercise.
public struct ExerciseUnsolved: Error, CustomStringConvertible {
    public let hint: String
    public init(_ hint: String) { self.hint = hint }
    public var description: String { "not solved yet — \(hint)" }
}

/// Thrown by a check when an implementation gives a wrong answer: says what was expected.
public struct ExerciseFailure: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One graded exercise: a number, a title, a hint, and the check that grades an implementation.
public struct Exercise<Implementation>: Sendable {
    public let id: String
    public let title: String
    public let hint: String
    public let check: @Sendable (Implementation) throws -> Void

    public init(id: String, title: String, hint: String, check: @escaping @Sendable (Implementation) throws -> Void) {
        self.id = id
        self.title = title
        self.hint = hint
        self.check = check
    }
}

/// How one exercise went for one implementation.
public enum ExerciseOutcome: Equatable, Sendable {
    case passed
    case unsolved
    case failed(String)
}

extension Exercise {
    /// Runs the check and classifies the result.
    public func grade(_ implementation: Implementation) -> ExerciseOutcome {
        do {
            try check(implementation)
            return .passed
        } catch is ExerciseUnsolved {
            return .unsolved
        } catch {
            return .failed("\(error)")
        }
    }
}

/// Throws `ExerciseFailure(message)` unless `condition` holds.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ExerciseFailure(message()) }
}

/// Throws unless `actual` and `expected` agree element by element within `tolerance`
/// (|a − e| ≤ tolerance · max(1, |e|)).
public func requireClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ what: String) throws {
    try require(actual.count == expected.count, "\(what): expected \(expected.count) values, got \(actual.count)")
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        try require(abs(a - e) <= tolerance * max(1, abs(e)) && a.isFinite == e.isFinite,
                    "\(what)[\(i)]: expected \(e), got \(a)")
    }
}
