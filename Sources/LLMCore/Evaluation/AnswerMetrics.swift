// Introduced in Chapter 10. Scoring a short answer against a reference the way SQuAD's official script
// does, and the text helpers every reference-based metric here shares.
//
// SQuAD normalisation: lower-case, drop ASCII punctuation, drop the articles a / an / the as whole words,
// collapse white space. Exact match (EM) is 1 when the normalised strings are equal. Token F1 counts the
// tokens both share (as multisets): P = shared / |prediction|, R = shared / |reference|,
// F1 = 2·P·R / (P + R); 0 when nothing is shared, and, as SQuAD 2.0, 1 when both are empty.
//
//     prediction "The Eiffel tower!"   reference "eiffel tower in Paris"
//     normalised  eiffel tower          eiffel tower in paris        shared 2: P = 2/2, R = 2/4, F1 = 0.667
//
// Chinese has no spaces between words, so SQuAD's split would make a whole answer one token. Here a
// CJK character is a token by itself (as the CMRC 2018 script does) and Chinese punctuation is dropped
// with the ASCII punctuation: "巴黎铁塔。" against "铁塔" shares 2 of 4 and 2 of 2 characters, F1 = 0.667.
//
// Not `TaskEvaluation.exactMatch` (Chapter 05), which only trims case, quotes and end punctuation from a
// short answer: SQuAD's is the field's protocol for comparing with published figures, so it stands apart.

import Foundation

public enum AnswerMetrics {
    static let asciiPunctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)
    static let chinesePunctuation = Set("。，、；：？！“”‘’（）《》〈〉".unicodeScalars)
        .union("【】「」『』…—～·．".unicodeScalars)

    /// SQuAD's normalisation (lower case, no punctuation, no articles, single spaces), with each CJK
    /// character set apart by spaces so that it is a token of its own.
    public static func normalized(_ text: String) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in text.lowercased().unicodeScalars {
            if asciiPunctuation.contains(scalar) || chinesePunctuation.contains(scalar) { continue }
            if TextSegments.isCJK(scalar) {
                kept.append(" "); kept.append(scalar); kept.append(" ")
            } else {
                kept.append(scalar)
            }
        }
        let articles: Set<Substring> = ["a", "an", "the"]
        return TextSegments.pythonSplit(String(kept)).filter { !articles.contains($0) }.joined(separator: " ")
    }

    public static func tokens(_ text: String) -> [Substring] {
        TextSegments.pythonSplit(normalized(text))
    }

    /// 1 when the normalised prediction equals the normalised reference, else 0.
    public static func exactMatch(_ prediction: String, _ reference: String) -> Double {
        normalized(prediction).unicodeScalars.elementsEqual(normalized(reference).unicodeScalars) ? 1 : 0
    }

    /// SQuAD's token F1 (see the top of the file); with several references, the best one counts.
    public static func tokenF1(_ prediction: String, _ references: [String]) -> Double {
        references.map { tokenF1(prediction, $0) }.max() ?? 0
    }

    public static func tokenF1(_ prediction: String, _ reference: String) -> Double {
        let predicted = tokens(prediction), expected = tokens(reference)
        if predicted.isEmpty || expected.isEmpty { return predicted.isEmpty && expected.isEmpty ? 1 : 0 }
        var counts: [[UInt32]: Int] = [:]
        for token in expected { counts[TextSegments.key([token]), default: 0] += 1 }
        var shared = 0
        for token in predicted.map({ TextSegments.key([$0]) }) where counts[token, default: 0] > 0 {
            counts[token]! -= 1
            shared += 1
        }
        if shared == 0 { return 0 }
        let precision = Double(shared) / Double(predicted.count), recall = Double(shared) / Double(expected.count)
        return 2 * precision * recall / (precision + recall)
    }
}

/// Text helpers that behave as Python's do, so that the metrics agree with the Python tools to the last
/// digit: `str.split()` splits on Python's white space (which includes the separators U+001C…U+001F
/// that Swift's `isWhitespace` leaves out), and characters are Unicode scalars (Python's `len`), not
/// Swift's grapheme clusters.
public enum TextSegments {
    static let pythonWhitespace: Set<Unicode.Scalar> = {
        var set = Set("\t\n\u{0B}\u{0C}\r\u{1C}\u{1D}\u{1E}\u{1F} \u{85}\u{A0}\u{1680}".unicodeScalars)
        set.formUnion("\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}".unicodeScalars)
        for v in 0x2000...0x200A { set.insert(Unicode.Scalar(UInt32(v))!) }
        return set
    }()

    public static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool { pythonWhitespace.contains(scalar) }

    /// Python's `text.split()`: runs of white space separate, none at either end.
    public static func pythonSplit(_ text: String) -> [Substring] {
        var out: [Substring] = []
        let scalars = text.unicodeScalars
        var start: String.UnicodeScalarView.Index? = nil
        var i = scalars.startIndex
        while i != scalars.endIndex {
            if isPythonWhitespace(scalars[i]) {
                if let s = start { out.append(Substring(text.unicodeScalars[s..<i])); start = nil }
            } else if start == nil {
                start = i
            }
            i = scalars.index(after: i)
        }
        if let s = start { out.append(Substring(text.unicodeScalars[s..<scalars.endIndex])) }
        return out
    }

    /// Not a Unicode scalar: the separator between the tokens of an n-gram's key.
    static let separator: UInt32 = 0xFFFF_FFFF

    /// Tokens as one hashable key of code points. Swift's `String` and `Substring` compare canonically
    /// ("é" equals "e" + U+0301), Python's strings by code point; the scores must count as Python does.
    static func key<C: Collection>(_ tokens: C) -> [UInt32] where C.Element == Substring {
        var out: [UInt32] = []
        for (i, token) in tokens.enumerated() {
            if i > 0 { out.append(separator) }
            out += token.unicodeScalars.map(\.value)
        }
        return out
    }

    /// Python's `text.strip()` / `rstrip()`.
    public static func pythonStrip(_ text: String, leading: Bool = true) -> String {
        var scalars = Array(text.unicodeScalars)
        while let last = scalars.last, isPythonWhitespace(last) { scalars.removeLast() }
        if leading { scalars = Array(scalars.drop(while: isPythonWhitespace)) }
        return String(String.UnicodeScalarView(scalars))
    }

    /// CJK ideographs (the unified block, extension A and the compatibility block, extensions B…F):
    /// the characters that count as one token each in the Chinese scores.
    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true
        default: return false
        }
    }
}
