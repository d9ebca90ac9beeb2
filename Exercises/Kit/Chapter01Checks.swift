// Chapter 01's exercises: the interface a solution implements, and the checks that grade it.
// The student's file is Exercises/Stubs/Ch01.swift; the steps are in Exercises/Ch01.md.

import LLMCore

/// What Chapter 01's exercises ask for. Each function may throw `ExerciseUnsolved` until solved.
public protocol Chapter01Exercises: Sendable {
    /// 01.1 — How often each adjacent pair occurs in `ids` (overlapping: [1, 1, 1] has (1, 1) twice).
    func countPairs(_ ids: [Int]) throws -> [Pair: Int]

    /// 01.2 — Replace each occurrence of `pair` in `ids`, left to right without overlaps, by `newId`.
    func merge(_ ids: [Int], pair: Pair, newId: Int) throws -> [Int]

    /// 01.3 — Encode one piece the tiktoken way: from single bytes, repeatedly merge the adjacent pair
    /// whose concatenated bytes have the lowest rank in `ranks`, until no adjacent pair is in `ranks`.
    func encodeByRank(_ piece: [UInt8], ranks: [[UInt8]: Int]) throws -> [Int]
}

/// Two adjacent token ids.
public struct Pair: Hashable, Sendable, CustomStringConvertible {
    public let left: Int
    public let right: Int
    public init(_ left: Int, _ right: Int) { self.left = left; self.right = right }
    public var description: String { "(\(left), \(right))" }
}

public enum Chapter01Checks {
    public static let chapter = "01 — Tokenizer"

    public static let all: [Exercise<any Chapter01Exercises>] = [
        Exercise(id: "01.1", title: "count pairs",
                 hint: "zip(ids, ids.dropFirst()) walks the adjacent pairs; add one to counts[Pair(a, b)] for each") { solution in
            // minbpe's example: [1, 2, 3, 1, 2] → {(1, 2): 2, (2, 3): 1, (3, 1): 1}
            let counts = try solution.countPairs([1, 2, 3, 1, 2])
            try require(counts == [Pair(1, 2): 2, Pair(2, 3): 1, Pair(3, 1): 1], "[1, 2, 3, 1, 2] should give {(1, 2): 2, (2, 3): 1, (3, 1): 1}, got \(counts)")
            try require(try solution.countPairs([7, 7, 7]) == [Pair(7, 7): 2], "[7, 7, 7] has (7, 7) twice (overlapping)")
            try require(try solution.countPairs([5]).isEmpty && solution.countPairs([]).isEmpty, "one id or none has no pairs")
        },
        Exercise(id: "01.2", title: "apply one merge",
                 hint: "walk with an index i: if ids[i], ids[i+1] is the pair, append newId and skip two; else append ids[i]") { solution in
            let merged = try solution.merge([1, 2, 3, 1, 2], pair: Pair(1, 2), newId: 4)
            try require(merged == [4, 3, 4], "merging (1, 2) → 4 in [1, 2, 3, 1, 2] should give [4, 3, 4], got \(merged)")
            let run = try solution.merge([7, 7, 7], pair: Pair(7, 7), newId: 9)
            try require(run == [9, 7], "merging (7, 7) → 9 in [7, 7, 7] goes left to right: [9, 7], got \(run)")
            try require(try solution.merge([1, 3, 2], pair: Pair(1, 2), newId: 4) == [1, 3, 2], "no occurrence, no change")
            // Against the core on random sequences.
            var generator = SeededGenerator(seed: 3)
            for _ in 0..<200 {
                let ids = (0..<generator.integer(below: 12)).map { _ in generator.integer(below: 3) }
                let expected = BPETrainer.mergePair(ids.map(Int32.init), 1, 2, 9).map(Int.init)
                try require(try solution.merge(ids, pair: Pair(1, 2), newId: 9) == expected, "merging (1, 2) in \(ids) should give \(expected)")
            }
        },
        Exercise(id: "01.3", title: "encode a piece by merge rank",
                 hint: "ids = bytes' ranks; loop: find the adjacent pair whose joined bytes have the smallest rank; stop when none is a token") { solution in
            // The textbook tokenizer: aa = 256, ab = 257, aaab = 258 (see TokenizerTests.textbook).
            let trained = try BPETrainer.train(documents: ["aaabdaaabac"], vocabularySize: 259, specialTokens: [])
            var ranks: [[UInt8]: Int] = [:]
            for (id, bytes) in trained.tokenizer.tokens.enumerated() { ranks[bytes] = id }
            let ids = try solution.encodeByRank(Array("aaabdaaabac".utf8), ranks: ranks)
            try require(ids == [258, 100, 258, 97, 99], "aaabdaaabac should encode to [258, 100, 258, 97, 99], got \(ids)")
            // Against the core's encoder on pieces of real text, with a tokenizer trained here.
            var generator = SeededGenerator(seed: 4)
            let words = ["the", " there", " other", " brother", " bother", " theatre", " thermal", " hearth", " ethereal"]
            let documents = (0..<300).map { _ in (0..<8).map { _ in words[generator.integer(below: words.count)] }.joined() }
            let tokenizer = try BPETrainer.train(documents: documents, vocabularySize: 300, specialTokens: []).tokenizer
            ranks = [:]
            for (id, bytes) in tokenizer.tokens.enumerated() { ranks[bytes] = id }
            for word in words + [" thee", " heather", "ethereal"] {
                let expected = tokenizer.encode(bytes: Array(word.utf8))
                let got = try solution.encodeByRank(Array(word.utf8), ranks: ranks)
                try require(got == expected, "'\(word)' should encode to \(expected), got \(got)")
            }
        },
    ]
}
