// Chapter 05's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter05Exercises: Sendable {
    /// 05.1 — The ChatML text of a conversation (roles "system", "user", "assistant"); with
    /// `generationPrompt`, ending in the open assistant header.
    func renderChatML(_ messages: [(role: String, content: String)], generationPrompt: Bool) throws -> String

    /// 05.2 — One SFT row: `tokens` cut to `length` + 1, inputs = all but the last, targets = the next token
    /// where it is scored and −100 elsewhere; both right-padded to `length` (inputs with `padding`, targets
    /// with −100).
    func maskedRow(tokens: [Int], scored: [Bool], length: Int, padding: Int) throws -> (inputs: [Int], targets: [Int])

    /// 05.3 — Last-real-token pooling: for each row b of hidden states (B, T, C) whose real length is
    /// lengths[b] (the rest is padding), the hidden vector of its last real token.
    func lastRealToken(_ hidden: [[[Float]]], lengths: [Int]) throws -> [[Float]]

    /// 05.4 — Macro-F1: the unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), leaving out
    /// classes neither present in the labels nor predicted.
    func macroF1(predictions: [Int], labels: [Int], classes: Int) throws -> Double
}

public enum Chapter05Checks {
    public static let chapter = "05 — Supervised fine-tuning"

    public static let all: [Exercise<any Chapter05Exercises>] = [
        Exercise(id: "05.1", title: "the ChatML renderer",
                 hint: "<|im_start|>role⏎content<|im_end|>⏎ for each message; the prompt ends with " +
                       "<|im_start|>assistant⏎") {
            solution in
            let conversations: [[ChatMessage]] = [
                [ChatMessage(.user, "Hi")],
                [ChatMessage(.system, "Be brief."), ChatMessage(.user, "Who said it?"), ChatMessage(.assistant, "Me.")],
                [ChatMessage(.user, "a\nb"), ChatMessage(.assistant, ""), ChatMessage(.user, "静夜思")],
            ]
            for messages in conversations {
                for prompt in [false, true] {
                    let answer = try solution.renderChatML(messages.map { ($0.role.rawValue, $0.content) },
                                                           generationPrompt: prompt)
                    let expected = ChatTemplate.render(messages, generationPrompt: prompt)
                    try require(answer == expected,
                                "expected \(expected.debugDescription), got \(answer.debugDescription)")
                }
            }
        },
        Exercise(id: "05.2", title: "the loss mask of one row",
                 hint: "position i reads tokens[i] and predicts tokens[i + 1]: its target is " +
                       "scored[i + 1] ? tokens[i + 1] : −100") {
            solution in
            // The documented example: prompt 5 6, response 7 8.
            let row = try solution.maskedRow(tokens: [5, 6, 7, 8], scored: [false, false, true, true], length: 4,
                                             padding: 0)
            try require(row.inputs == [5, 6, 7, 0] && row.targets == [-100, 7, 8, -100],
                        "[5, 6 | 7, 8], length 4: expected inputs [5, 6, 7, 0] and targets [-100, 7, 8, -100], got " +
                        "\(row.inputs) and \(row.targets)")
            // Against the core on random examples, cut and padded.
            var generator = SeededGenerator(seed: 51)
            for _ in 0..<50 {
                let n = 2 + generator.integer(below: 12), length = 1 + generator.integer(below: 10)
                let tokens = (0..<n).map { _ in generator.integer(below: 100) }
                var scored = (0..<n).map { _ in generator.integer(below: 2) == 1 }
                scored[min(1, n - 1)] = true
                let example = MaskedExample(tokens: tokens, scored: scored)
                let answer = try solution.maskedRow(tokens: tokens, scored: scored, length: length, padding: 99)
                let reference = MaskedExamples.row(example, length: length, padding: 99)
                try require(answer.inputs == reference.inputs && answer.targets == reference.targets,
                            "tokens \(tokens), scored \(scored), length \(length): expected \(reference), " +
                            "got \(answer)")
            }
        },
        Exercise(id: "05.3", title: "last-real-token pooling",
                 hint: "row b's last real token is at lengths[b] − 1, not at T − 1 (that is padding for short rows)") {
            solution in
            var generator = SeededGenerator(seed: 52)
            let (b, t, c) = (4, 6, 3)
            let hidden = (0..<b).map { _ in
                (0..<t).map { _ in (0..<c).map { _ in Float(generator.integer(below: 100)) } }
            }
            let lengths = [6, 1, 3, 5]
            let answer = try solution.lastRealToken(hidden, lengths: lengths)
            let expected = (0..<b).map { hidden[$0][lengths[$0] - 1] }
            try require(answer == expected, "lengths \(lengths): expected \(expected), got \(answer)")
        },
        Exercise(id: "05.4", title: "macro-F1",
                 hint: "per class: TP, FP, FN; F1 = 2TP/(2TP+FP+FN); average over classes, each weighing the same") {
            solution in
            let cases: [([Int], [Int], Int)] = [([0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 2], 3),
                                                ([0, 0, 0, 0], [0, 0, 0, 1], 2),
                                                ([1, 2, 2, 2], [1, 2, 2, 2], 4)]
            for (predictions, labels, classes) in cases {
                let reference = try ClassificationReport(predictions: predictions, labels: labels,
                                                         classes: classes).macroF1
                let answer = try solution.macroF1(predictions: predictions, labels: labels, classes: classes)
                try require(abs(answer - reference) < 1e-9,
                            "predictions \(predictions), labels \(labels): expected \(reference), got \(answer)")
            }
        },
    ]
}
