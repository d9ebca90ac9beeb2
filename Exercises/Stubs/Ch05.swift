// Chapter 05 exercises — your file. Steps and hints: Exercises/Ch05.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter05: Chapter05Exercises {
    public init() {}

    /// 05.1 — ChatML: <|im_start|>role⏎content<|im_end|>⏎ per message, then the open assistant header.
    public func renderChatML(_ messages: [(role: String, content: String)], generationPrompt: Bool) throws -> String {
        throw ExerciseUnsolved("one line of markers per message (Exercises/Ch05.md, step 1)")
    }

    /// 05.2 — Inputs and next-token targets of one SFT row, −100 where not scored, padded to length.
    public func maskedRow(tokens: [Int], scored: [Bool], length: Int,
                          padding: Int) throws -> (inputs: [Int], targets: [Int]) {
        throw ExerciseUnsolved("targets are shifted by one (Exercises/Ch05.md, step 2)")
    }

    /// 05.3 — The hidden vector of each row's last real token.
    public func lastRealToken(_ hidden: [[[Float]]], lengths: [Int]) throws -> [[Float]] {
        throw ExerciseUnsolved("not the last position: the last real one (Exercises/Ch05.md, step 3)")
    }

    /// 05.4 — The unweighted mean of the classes' F1.
    public func macroF1(predictions: [Int], labels: [Int], classes: Int) throws -> Double {
        throw ExerciseUnsolved("per-class F1, then a plain mean (Exercises/Ch05.md, step 4)")
    }
}
