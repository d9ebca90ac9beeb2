// Introduced in Chapter 10. Corpus BLEU as sacrebleu computes it (its defaults: the 13a tokenizer, or `zh`
// for Chinese; exponential smoothing; one or more references per segment), and its signature.
//
// Each segment is tokenized, then for n = 1…4 its n-grams are counted; a hypothesis n-gram is "correct"
// up to the number of times it occurs in the segment's references (the most in any one of them —
// "clipping", so "the the the" does not score against "the cat"). The counts are summed over the corpus
// before anything is divided (corpus BLEU is not the mean of sentence BLEUs):
//
//     p_n  = Σ correct_n / Σ total_n                     (modified n-gram precision)
//     BP   = 1 if c ≥ r, else exp(1 − r / c)             (c: hypothesis tokens, r: the closest reference's)
//     BLEU = 100 · BP · exp(¼ Σ_n log p_n)
//
// Smoothing decides what a p_n of 0 becomes (the geometric mean would be 0): `exp`, sacrebleu's default
// and mteval's, replaces the k-th zero precision by 1 / (2^k · total_n); `floor` by ε / total_n; `add-k`
// adds k to the counts of n ≥ 2; `none` leaves 0 (BLEU 0).
//
// Tokenizers. `13a` (mteval-v13a, what WMT reports): drop "<skipped>", join "-⏎", unescape &quot; &amp;
// &lt; &gt;, put spaces around every ASCII punctuation mark except ' , - . ; around . and , unless both
// neighbours are digits (3.14 and 1,000 stay whole); after a digit, split a -. `zh` first sets every
// character of sacrebleu's "Chinese" ranges apart, then applies the same rules. Those ranges have a
// quirk this file copies on purpose: two of them are written in Python as "\u20000"…"\u2a6d6" and
// "\u2f800"…"\u2fa1d", which Python reads as two-character strings, so they select U+2001…U+2A6D (general
// punctuation such as — “ ” …, arrows, maths) and U+2F81…U+2FA1, not the supplementary ideographs meant.
// Matching the tool people report numbers with matters more here than matching its intent.

import Foundation

public enum BLEUTokenizer: String, Sendable, CaseIterable {
    case thirteenA = "13a", zh, none

    public func callAsFunction(_ line: String) -> String {
        switch self {
        case .none: return line
        case .thirteenA:
            var s = line.replacingOccurrences(of: "<skipped>", with: "")
                .replacingOccurrences(of: "-\n", with: "").replacingOccurrences(of: "\n", with: " ")
            if s.contains("&") {
                s = s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
                    .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            }
            return Self.mteval(" \(s) ")
        case .zh:
            var spaced = String.UnicodeScalarView()
            for scalar in TextSegments.pythonStrip(line).unicodeScalars {
                if Self.isSacrebleuChinese(scalar) {
                    spaced.append(" "); spaced.append(scalar); spaced.append(" ")
                } else {
                    spaced.append(scalar)
                }
            }
            return Self.mteval(String(spaced))
        }
    }

    /// sacrebleu's `_UCODE_RANGES`, as Python actually compares them (see the top of the file).
    static let sacrebleuChineseRanges: [ClosedRange<UInt32>] = [
        0x3400...0x4DB5, 0x4E00...0x9FA5, 0x9FA6...0x9FBB, 0xF900...0xFA2D, 0xFA30...0xFA6A, 0xFA70...0xFAD9,
        0x2001...0x2A6D, 0x2F81...0x2FA1, 0xFF00...0xFFEF, 0x2E80...0x2EFF, 0x3000...0x303F, 0x31C0...0x31EF,
        0x2F00...0x2FDF, 0x2FF0...0x2FFF, 0x3100...0x312F, 0x31A0...0x31BF, 0xFE10...0xFE1F, 0xFE30...0xFE4F,
        0x2600...0x26FF, 0x2700...0x27BF, 0x3200...0x32FF, 0x3300...0x33FF,
    ]

    static func isSacrebleuChinese(_ scalar: Unicode.Scalar) -> Bool {
        sacrebleuChineseRanges.contains { $0.contains(scalar.value) }
    }

    /// The language-dependent rules of mteval-v13a, each a left-to-right pass as Python's `re.sub`
    /// makes it, then single spaces.
    static func mteval(_ line: String) -> String {
        func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }
        func isPeriodOrComma(_ s: Unicode.Scalar) -> Bool { s == "." || s == "," }
        // 1. [{-~[-` -&(-+:-@/] gets spaces around it: ASCII punctuation but ' , - . (and digits, letters).
        var a: [Unicode.Scalar] = []
        for s in line.unicodeScalars {
            let v = s.value
            let split = (0x7B...0x7E).contains(v) || (0x5B...0x60).contains(v) || (0x20...0x26).contains(v)
                || (0x28...0x2B).contains(v) || (0x3A...0x40).contains(v) || v == 0x2F
            if split { a += [" ", s, " "] } else { a.append(s) }
        }
        // 2. ([^0-9])([\.,]) → "\1 \2 "    3. ([\.,])([^0-9]) → " \1 \2"    4. ([0-9])(-) → "\1 \2 "
        func pass(_ input: [Unicode.Scalar], _ first: (Unicode.Scalar) -> Bool, _ second: (Unicode.Scalar) -> Bool,
                  _ replace: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]) -> [Unicode.Scalar] {
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(input.count + 8)
            var i = 0
            while i < input.count {
                if i + 1 < input.count && first(input[i]) && second(input[i + 1]) {
                    out += replace(input[i], input[i + 1])
                    i += 2
                } else {
                    out.append(input[i])
                    i += 1
                }
            }
            return out
        }
        let b = pass(a, { !isDigit($0) }, isPeriodOrComma) { [$0, " ", $1, " "] }
        let c = pass(b, isPeriodOrComma, { !isDigit($0) }) { [" ", $0, " ", $1] }
        let d = pass(c, isDigit, { $0 == "-" }) { [$0, " ", $1, " "] }
        return TextSegments.pythonSplit(String(String.UnicodeScalarView(d))).joined(separator: " ")
    }
}

public enum BLEUSmoothing: String, Sendable, CaseIterable {
    case exp, floor, addK = "add-k", none
}

/// A corpus BLEU score and the statistics it came from.
public struct BLEUScore: Sendable, Equatable {
    public let score: Double
    /// p_n in percent, n = 1…4 (after smoothing).
    public let precisions: [Double]
    public let correct: [Int], total: [Int]
    public let brevityPenalty: Double
    public let hypothesisLength: Int, referenceLength: Int
    public let signature: String

    /// "BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)", as sacrebleu.
    public var description: String {
        let ratio = referenceLength == 0 ? 0 : Double(hypothesisLength) / Double(referenceLength)
        return String(format: "BLEU = %.2f %@ (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)", score,
                      precisions.map { String(format: "%.1f", $0) }.joined(separator: "/"), brevityPenalty, ratio,
                      hypothesisLength, referenceLength)
    }
}

public enum BLEU {
    public static let maxOrder = 4

    /// Corpus BLEU of `hypotheses` against `references` (references[i]: segment i's references, at least
    /// one). Throws when the counts differ or a segment has no reference.
    public static func corpus(_ hypotheses: [String], references: [[String]], tokenizer: BLEUTokenizer = .thirteenA,
                              smoothing: BLEUSmoothing = .exp, smoothingValue: Double? = nil,
                              lowercase: Bool = false) throws -> BLEUScore {
        let segments = try statistics(hypotheses, references: references, tokenizer: tokenizer, lowercase: lowercase)
        return score(summing: segments, smoothing: smoothing, smoothingValue: smoothingValue,
                     signature: signature(references: references, tokenizer: tokenizer, smoothing: smoothing,
                                          smoothingValue: smoothingValue, lowercase: lowercase))
    }

    /// Per segment: [hypothesis length, closest reference length, correct 1…4, total 1…4] — what corpus
    /// BLEU sums, and what a bootstrap resamples.
    public static func statistics(_ hypotheses: [String], references: [[String]], tokenizer: BLEUTokenizer = .thirteenA,
                                  lowercase: Bool = false) throws -> [[Int]] {
        try ReferenceCheck.validate(hypotheses: hypotheses, references: references)
        let prepare = { (s: String) in
            tokenizer(TextSegments.pythonStrip(lowercase ? s.lowercased() : s, leading: false))
        }
        return zip(hypotheses, references).map { hypothesis, refs in
            var best: [[UInt32]: Int] = [:]
            var lengths: [Int] = []
            for ref in refs {
                let (counts, length) = ngrams(prepare(ref))
                lengths.append(length)
                for (gram, count) in counts { best[gram] = max(best[gram] ?? 0, count) }
            }
            let (counts, length) = ngrams(prepare(hypothesis))
            var correct = [Int](repeating: 0, count: maxOrder), total = correct
            for (gram, count) in counts {
                let n = gram.count(where: { $0 == TextSegments.separator }) + 1
                total[n - 1] += count
                correct[n - 1] += min(count, best[gram] ?? 0)
            }
            // The closest reference length; a tie goes to the shorter.
            let closest = lengths.min { (abs($0 - length), $0) < (abs($1 - length), $1) } ?? 0
            return [length, closest] + correct + total
        }
    }

    /// BLEU of the sum of some segments' statistics (all of them: corpus BLEU).
    public static func score(summing segments: [[Int]], smoothing: BLEUSmoothing = .exp,
                             smoothingValue: Double? = nil, signature: String = "") -> BLEUScore {
        var sum = [Int](repeating: 0, count: 2 + 2 * maxOrder)
        for segment in segments { for i in sum.indices { sum[i] += segment[i] } }
        return score(correct: Array(sum[2..<2 + maxOrder]), total: Array(sum[(2 + maxOrder)...]),
                     hypothesisLength: sum[0], referenceLength: sum[1], smoothing: smoothing,
                     smoothingValue: smoothingValue, signature: signature)
    }

    /// sacrebleu's signature for these settings ("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:…"),
    /// with this course in place of sacrebleu's version number.
    public static func signature(references: [[String]], tokenizer: BLEUTokenizer, smoothing: BLEUSmoothing,
                                 smoothingValue: Double?, lowercase: Bool) -> String {
        "nrefs:\(references.map(\.count).max() ?? 0)|case:\(lowercase ? "lc" : "mixed")|eff:no|" +
            "tok:\(tokenizer.rawValue)|smooth:\(smoothingSignature(smoothing, smoothingValue))|version:llm-course"
    }

    static func smoothingSignature(_ smoothing: BLEUSmoothing, _ value: Double?) -> String {
        switch smoothing {
        case .floor: return String(format: "floor[%.2f]", value ?? 0.1)
        case .addK: return String(format: "add-k[%.2f]", value ?? 1)
        case .exp, .none: return smoothing.rawValue
        }
    }

    /// BLEU from summed statistics (sacrebleu's `compute_bleu`, without effective order).
    public static func score(correct: [Int], total: [Int], hypothesisLength: Int, referenceLength: Int,
                             smoothing: BLEUSmoothing = .exp, smoothingValue: Double? = nil,
                             signature: String = "") -> BLEUScore {
        var brevity = 1.0
        if hypothesisLength < referenceLength {
            brevity = hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
        }
        var precisions = [Double](repeating: 0, count: maxOrder)
        let make = { (score: Double) in
            BLEUScore(score: score, precisions: precisions, correct: correct, total: total, brevityPenalty: brevity,
                      hypothesisLength: hypothesisLength, referenceLength: referenceLength, signature: signature)
        }
        if correct.allSatisfy({ $0 == 0 }) { return make(0) }
        var matched = correct.map(Double.init), counted = total.map(Double.init)
        var doubling = 1.0
        for n in 0..<maxOrder {
            if smoothing == .addK && n > 0 {
                matched[n] += smoothingValue ?? 1
                counted[n] += smoothingValue ?? 1
            }
            if counted[n] == 0 { break }
            if matched[n] == 0 {
                if smoothing == .exp {
                    doubling *= 2
                    precisions[n] = 100 / (doubling * counted[n])
                } else if smoothing == .floor {
                    precisions[n] = 100 * (smoothingValue ?? 0.1) / counted[n]
                }
            } else {
                precisions[n] = 100 * matched[n] / counted[n]
            }
        }
        // log 0 is sacrebleu's −9 999 999 999: a zero precision sends BLEU to 0.
        let logs = precisions.map { $0 == 0 ? -9_999_999_999 : log($0) }
        return make(brevity * exp(logs.reduce(0, +) / Double(maxOrder)))
    }

    /// Counts of the 1…4-grams of a tokenized line, and its length in tokens. An n-gram's key is its
    /// tokens' code points with a separator between them (`TextSegments.key`).
    static func ngrams(_ line: String) -> (counts: [[UInt32]: Int], length: Int) {
        let tokens = TextSegments.pythonSplit(line)
        var counts: [[UInt32]: Int] = [:]
        for n in 1...maxOrder where tokens.count >= n {
            for i in 0...(tokens.count - n) { counts[TextSegments.key(tokens[i..<i + n]), default: 0] += 1 }
        }
        return (counts, tokens.count)
    }
}

enum ReferenceCheck {
    static func validate(hypotheses: [String], references: [[String]]) throws {
        guard hypotheses.count == references.count else {
            throw CourseError.invalidValue(name: "references", value: "\(references.count) segments",
                                           expected: "one per hypothesis (\(hypotheses.count))")
        }
        if let empty = references.firstIndex(where: \.isEmpty) {
            throw CourseError.invalidValue(name: "references of segment \(empty + 1)", value: "none",
                                           expected: "at least one reference")
        }
    }
}
