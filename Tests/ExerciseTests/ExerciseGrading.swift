// Every exercise of every chapter, graded three ways: the reference solution must pass, a plausible
// wrong answer (the chapter's decoy, beside this file) must fail, and the stub as committed must be
// unsolved — so no check can pass vacuously. One parameterized test body serves all chapters.

import ExerciseKit
import ExerciseSolutions
import Exercises
import Foundation
import Testing

/// One exercise with its three gradings, type-erased so that all chapters share the tests below.
struct GradedExercise: Sendable, CustomTestStringConvertible {
    let chapter: String
    let id: String
    let solution: @Sendable () -> ExerciseOutcome
    let decoy: @Sendable () -> ExerciseOutcome
    let stub: @Sendable () -> ExerciseOutcome
    var testDescription: String { id }
}

func graded<Implementation: Sendable>(_ chapter: String, _ exercises: [Exercise<Implementation>],
                                      solution: Implementation, decoy: Implementation,
                                      stub: Implementation) -> [GradedExercise] {
    exercises.map { exercise in
        GradedExercise(chapter: chapter, id: exercise.id,
                       solution: { exercise.grade(solution) }, decoy: { exercise.grade(decoy) }, stub: { exercise.grade(stub) })
    }
}

let allExercises: [GradedExercise] =
    graded(Chapter00Checks.chapter, Chapter00Checks.all, solution: Chapter00Solution(), decoy: Chapter00Decoy(), stub: Chapter00())
    + graded(Chapter01Checks.chapter, Chapter01Checks.all, solution: Chapter01Solution(), decoy: Chapter01Decoy(), stub: Chapter01())
    + graded(Chapter02Checks.chapter, Chapter02Checks.all, solution: Chapter02Solution(), decoy: Chapter02Decoy(), stub: Chapter02())
    + graded(Chapter03Checks.chapter, Chapter03Checks.all, solution: Chapter03Solution(), decoy: Chapter03Decoy(), stub: Chapter03())
    + graded(Chapter04Checks.chapter, Chapter04Checks.all, solution: Chapter04Solution(), decoy: Chapter04Decoy(), stub: Chapter04())
    + graded(Chapter05Checks.chapter, Chapter05Checks.all, solution: Chapter05Solution(), decoy: Chapter05Decoy(), stub: Chapter05())
    + graded(Chapter06Checks.chapter, Chapter06Checks.all, solution: Chapter06Solution(), decoy: Chapter06Decoy(), stub: Chapter06())
    + graded(Chapter07Checks.chapter, Chapter07Checks.all, solution: Chapter07Solution(), decoy: Chapter07Decoy(), stub: Chapter07())
    + graded(Chapter08Checks.chapter, Chapter08Checks.all, solution: Chapter08Solution(), decoy: Chapter08Decoy(), stub: Chapter08())
    + graded(Chapter09Checks.chapter, Chapter09Checks.all, solution: Chapter09Solution(), decoy: Chapter09Decoy(),
             stub: Chapter09())
    + graded(Chapter10Checks.chapter, Chapter10Checks.all, solution: Chapter10Solution(), decoy: Chapter10Decoy(),
             stub: Chapter10())
    + graded(Chapter12Checks.chapter, Chapter12Checks.all, solution: Chapter12Solution(), decoy: Chapter12Decoy(),
             stub: Chapter12())

@Suite("Exercises")
struct ExerciseTests {
    @Test("the reference solution passes", arguments: allExercises)
    func solutionPasses(_ exercise: GradedExercise) {
        let outcome = exercise.solution()
        #expect(outcome == .passed, "reference solution for \(exercise.id) was graded \(outcome)")
    }

    @Test("a plausible wrong answer fails", arguments: allExercises)
    func decoyFails(_ exercise: GradedExercise) {
        guard case .failed = exercise.decoy() else {
            Issue.record("decoy for \(exercise.id) was graded \(exercise.decoy())")
            return
        }
    }

    /// In CI (a fresh clone) the stub must be unsolved. On a learner's machine a solved stub is theirs to
    /// grade with `make exercises`, and this check steps aside.
    @Test("the committed stub fails", arguments: allExercises)
    func stubFails(_ exercise: GradedExercise) {
        let outcome = exercise.stub()
        if ProcessInfo.processInfo.environment["CI"] != "true" && outcome != .unsolved { return }
        #expect(outcome == .unsolved, "stub for \(exercise.id) must throw ExerciseUnsolved as committed")
    }

    @Test("every chapter has at least three exercises, with unique ids")
    func atLeastThree() {
        for chapter in Set(allExercises.map(\.chapter)) {
            #expect(allExercises.filter { $0.chapter == chapter }.count >= 3, "\(chapter)")
        }
        #expect(Set(allExercises.map(\.id)).count == allExercises.count)
    }
}
