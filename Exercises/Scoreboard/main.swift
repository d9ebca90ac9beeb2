// `make exercises`: grades the exercises in Exercises/Stubs (your solutions) and prints a scoreboard.

import ExerciseKit
import Exercises
import Foundation

func scoreboard<Implementation>(_ chapter: String, _ exercises: [Exercise<Implementation>],
                                _ implementation: Implementation) -> (solved: Int, total: Int) {
    print("\nChapter \(chapter)")
    var solved = 0
    for exercise in exercises {
        switch exercise.grade(implementation) {
        case .passed:
            solved += 1
            print("  ✓ \(exercise.id) \(exercise.title)")
        case .unsolved:
            print("  · \(exercise.id) \(exercise.title) — not started")
            print("      hint: \(exercise.hint)")
        case .failed(let message):
            print("  ✗ \(exercise.id) \(exercise.title) — \(message)")
            print("      hint: \(exercise.hint)")
        }
    }
    print("  \(solved)/\(exercises.count) solved")
    return (solved, exercises.count)
}

print("Exercises scoreboard (edit Exercises/Stubs/ChNN.swift; steps in Exercises/ChNN.md)")
let totals = [
    scoreboard(Chapter00Checks.chapter, Chapter00Checks.all, Chapter00()),
    scoreboard(Chapter01Checks.chapter, Chapter01Checks.all, Chapter01()),
    scoreboard(Chapter02Checks.chapter, Chapter02Checks.all, Chapter02()),
    scoreboard(Chapter03Checks.chapter, Chapter03Checks.all, Chapter03()),
    scoreboard(Chapter04Checks.chapter, Chapter04Checks.all, Chapter04()),
    scoreboard(Chapter05Checks.chapter, Chapter05Checks.all, Chapter05()),
    scoreboard(Chapter06Checks.chapter, Chapter06Checks.all, Chapter06()),
    scoreboard(Chapter07Checks.chapter, Chapter07Checks.all, Chapter07()),
    scoreboard(Chapter08Checks.chapter, Chapter08Checks.all, Chapter08()),
    scoreboard(Chapter09Checks.chapter, Chapter09Checks.all, Chapter09()),
    scoreboard(Chapter10Checks.chapter, Chapter10Checks.all, Chapter10()),
    scoreboard(Chapter12Checks.chapter, Chapter12Checks.all, Chapter12()),
]
let solved = totals.reduce(0) { $0 + $1.solved }, total = totals.reduce(0) { $0 + $1.total }
print("\nTotal: \(solved)/\(total) exercises solved")
