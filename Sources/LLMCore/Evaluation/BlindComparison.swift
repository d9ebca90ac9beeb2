// Introduced in Chapter 10. Human evaluation done properly: two models' answers to the same prompts, side by
// side, in an order the rater cannot guess, read back into a win rate with its confidence interval.
//
// `BlindComparison.sheet` writes a Markdown sheet — per item the prompt and "Answer 1" / "Answer 2", which
// model is which decided by a seeded coin per item — and a key (JSON) that says which was which; the rater
// gets only the sheet and writes 1, 2 or = (a tie) after each "Verdict:". `BlindComparison.read` joins
// the filled sheet with its key:
//
//     win rate of A = (wins of A + ½ · ties) / items       with a 95 % bootstrap interval over items
//
// A win rate whose interval holds 0.5 has not shown that either model is better. Why blind and shuffled:
// raters favour whichever answer comes first, and whichever model they believe is the new one.

import Foundation

public struct ComparisonKey: Codable, Sendable, Equatable {
    /// The two models' names: A and B.
    public let a: String, b: String
    /// Per item, whether A's answer is "Answer 1".
    public let aFirst: [Bool]
}

public struct ComparisonResult: Sendable, Equatable {
    public let winsA: Int, winsB: Int, ties: Int
    public let winRateA: Bootstrap.Interval

    public var summary: String {
        String(format: "A wins %d, B wins %d, ties %d of %d: win rate of A %.3f, 95 %% interval [%.3f, %.3f]",
               winsA, winsB, ties, winsA + winsB + ties, winRateA.value, winRateA.lower, winRateA.upper)
    }
}

public enum BlindComparison {
    /// The sheet (Markdown) and its key. Throws when the three lists differ in length or are empty.
    public static func sheet(prompts: [String], answersA: [String], answersB: [String], names: (String, String),
                             seed: UInt64 = 0) throws -> (sheet: String, key: ComparisonKey) {
        guard !prompts.isEmpty, prompts.count == answersA.count, prompts.count == answersB.count else {
            throw CourseError.invalidValue(name: "answers", value: "\(answersA.count) and \(answersB.count)",
                                           expected: "one per prompt from each model (\(prompts.count) prompts, " +
                                               "at least one)")
        }
        var random = SeededGenerator(seed: seed)
        let aFirst = prompts.map { _ in random.next() >> 63 == 0 }
        func quoted(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { "> \($0)" }.joined(separator: "\n")
        }
        var lines = ["# Blind comparison: \(prompts.count) prompts", "",
                     "For each item read the prompt and both answers, then write 1, 2 or = (a tie) after",
                     "\"Verdict:\". Which model wrote which answer is in the key file, not here; the order",
                     "changes from item to item. Change nothing else.", ""]
        for i in prompts.indices {
            let (first, second) = aFirst[i] ? (answersA[i], answersB[i]) : (answersB[i], answersA[i])
            lines += ["## Item \(i + 1)", "", "**Prompt**", "", quoted(prompts[i]), "", "**Answer 1**", "",
                      quoted(first), "", "**Answer 2**", "", quoted(second), "", "Verdict: ", ""]
        }
        return (lines.joined(separator: "\n"), ComparisonKey(a: names.0, b: names.1, aFirst: aFirst))
    }

    /// The verdicts of a filled sheet, in item order: 1, 2 or 0 (a tie). Throws, naming the item and the
    /// line, for a missing or unreadable verdict, or a sheet whose items do not match the key.
    public static func verdicts(_ sheet: String, items: Int) throws -> [Int] {
        var verdicts: [Int] = []
        for (number, raw) in sheet.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("Verdict:") else { continue }
            let answer = line.dropFirst("Verdict:".count).trimmingCharacters(in: .whitespaces).lowercased()
            switch answer {
            case "1": verdicts.append(1)
            case "2": verdicts.append(2)
            case "=", "tie": verdicts.append(0)
            default:
                throw CourseError.invalidValue(
                    name: "verdict of item \(verdicts.count + 1) (line \(number + 1))",
                    value: answer.isEmpty ? "(empty)" : "'\(answer)'", expected: "1, 2 or = (a tie)")
            }
        }
        guard verdicts.count == items else {
            throw CourseError.invalidValue(name: "sheet", value: "\(verdicts.count) verdicts",
                                           expected: "one per item of its key (\(items))")
        }
        return verdicts
    }

    /// `sheet` with verdicts written in, item by item (1, 2, or 0 for a tie) — what a rater's pen does, for a
    /// scripted rater or a test. Throws when there is not one verdict per "Verdict:" line.
    public static func filled(_ sheet: String, verdicts: [Int]) throws -> String {
        var lines = sheet.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let slots = lines.indices.filter { lines[$0].trimmingCharacters(in: .whitespaces).hasPrefix("Verdict:") }
        guard slots.count == verdicts.count else {
            throw CourseError.invalidValue(name: "verdicts", value: "\(verdicts.count)",
                                           expected: "one per item of the sheet (\(slots.count))")
        }
        for (slot, verdict) in zip(slots, verdicts) {
            guard (0...2).contains(verdict) else {
                throw CourseError.invalidValue(name: "verdict", value: "\(verdict)", expected: "1, 2 or 0 (a tie)")
            }
            lines[slot] = "Verdict: " + (verdict == 0 ? "=" : "\(verdict)")
        }
        return lines.joined(separator: "\n")
    }

    public static func read(_ sheet: String, key: ComparisonKey, resamples: Int = 1000,
                            seed: UInt64 = 0) throws -> ComparisonResult {
        let verdicts = try verdicts(sheet, items: key.aFirst.count)
        // A's score per item: 1 for a win, ½ for a tie, 0 for a loss.
        let scores = zip(verdicts, key.aFirst).map { verdict, aFirst -> Double in
            verdict == 0 ? 0.5 : ((verdict == 1) == aFirst ? 1 : 0)
        }
        return ComparisonResult(winsA: scores.filter { $0 == 1 }.count, winsB: scores.filter { $0 == 0 }.count,
                                ties: scores.filter { $0 == 0.5 }.count,
                                winRateA: Bootstrap.mean(scores, resamples: resamples, seed: seed))
    }
}
