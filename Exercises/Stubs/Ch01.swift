// Chapter 01 exercises — your file. Replace each `throw ExerciseUnsolved(...)` with a solution,
// then run `make exercises`. Steps and hints: Exercises/Ch01.md.

import ExerciseKit

public struct Chapter01: Chapter01Exercises {
    public init() {}

    /// 01.1 — Count adjacent pairs, overlapping: [1, 2, 3, 1, 2] → {(1, 2): 2, (2, 3): 1, (3, 1): 1}.
    public func countPairs(_ ids: [Int]) throws -> [Pair: Int] {
        throw ExerciseUnsolved("count each adjacent pair (Exercises/Ch01.md, step 1)")
    }

    /// 01.2 — [1, 2, 3, 1, 2] with (1, 2) → 4 gives [4, 3, 4].
    public func merge(_ ids: [Int], pair: Pair, newId: Int) throws -> [Int] {
        throw ExerciseUnsolved("replace the pair left to right (Exercises/Ch01.md, step 2)")
    }

    /// 01.3 — Merge the lowest-rank adjacent pair until no adjacent pair is a token.
    public func encodeByRank(_ piece: [UInt8], ranks: [[UInt8]: Int]) throws -> [Int] {
        throw ExerciseUnsolved("the tiktoken merge loop (Exercises/Ch01.md, step 3)")
    }
}
