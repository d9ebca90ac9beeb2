// Introduced in Chapter 01. Pre-tokenization: cutting text into pieces that BPE never merges across.
//
// This is the regular expression of OpenAI's `cl100k_base` (GPT-4), as tiktoken 0.7+ ships it,
// written out by hand as a scanner over UTF-8 bytes and Unicode general categories:
//
//   '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
//
// and, as an option, GPT-2's (`r50k_base`):
//
//   '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
//
// \p{L} is a letter (Lu Ll Lt Lm Lo: Latin, accented, CJK), \p{N} a number (Nd Nl No), \s the Unicode
// White_Space property. A combining mark (Mn) or an emoji (So) is none of these, so it is
// "punctuation-like". Bytes that are not valid UTF-8 count as punctuation-like too, one byte each, so
// any byte string can be pre-tokenized (and round-trips). The alternatives are tried in order at each
// position, as a regex engine does; a test compares the result with Python's `tiktoken` on tricky text.

public enum PreTokenizerPattern: String, Codable, Sendable, CaseIterable {
    case cl100k
    case gpt2

    /// The regular expression this scanner implements, as `tiktoken` writes it (stored in tokenizer files).
    public var regex: String {
        switch self {
        case .cl100k:
            return #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
        case .gpt2:
            return #"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"#
        }
    }
}

/// What the scanner needs to know about one character.
enum CharacterClass: UInt8 {
    case letter, number, newline, space, other
}

public struct PreTokenizer: Sendable {
    public let pattern: PreTokenizerPattern

    public init(pattern: PreTokenizerPattern = .cl100k) {
        self.pattern = pattern
    }

    /// The pieces of `text`, as strings (for lessons and tests).
    public func pieces(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var out: [String] = []
        bytes.withUnsafeBufferPointer { buffer in
            split(buffer) { range in out.append(String(decoding: buffer[range], as: UTF8.self)) }
        }
        return out
    }

    /// Calls `emit` with the byte range of each piece of `bytes`, in order; the ranges cover every byte.
    public func split(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Range<Int>) -> Void) {
        let scanner = Scanner(bytes: bytes)
        var i = 0
        while i < bytes.count {
            let end = pattern == .cl100k ? scanner.cl100kPiece(at: i) : scanner.gpt2Piece(at: i)
            emit(i..<end)
            i = end
        }
    }
}

/// Decodes characters from UTF-8 and applies the pattern's alternatives at one position.
struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>

    /// The class and byte length of the character starting at `i` (`i < count`).
    @inline(__always)
    func character(at i: Int) -> (CharacterClass, Int) {
        let b = bytes[i]
        if b < 0x80 { return (Scanner.asciiClass[Int(b)], 1) }
        guard let (scalar, length) = decode(at: i) else { return (.other, 1) }
        return (Scanner.classify(scalar), length)
    }

    /// The class at `i`, or nil at the end.
    @inline(__always)
    func classAt(_ i: Int) -> CharacterClass? {
        i < bytes.count ? character(at: i).0 : nil
    }

    /// A strict UTF-8 decoder: nil for anything malformed (overlong, surrogate, truncated, > U+10FFFF).
    func decode(at i: Int) -> (Unicode.Scalar, Int)? {
        let b0 = UInt32(bytes[i])
        let (length, initial): (Int, UInt32)
        switch b0 {
        case 0xC2...0xDF: (length, initial) = (2, b0 & 0x1F)
        case 0xE0...0xEF: (length, initial) = (3, b0 & 0x0F)
        case 0xF0...0xF4: (length, initial) = (4, b0 & 0x07)
        default: return nil
        }
        if i + length > bytes.count { return nil }
        var value = initial
        for k in 1..<length {
            let continuation = UInt32(bytes[i + k])
            if continuation & 0xC0 != 0x80 { return nil }
            value = value << 6 | (continuation & 0x3F)
        }
        let minimum: UInt32 = length == 3 ? 0x800 : (length == 4 ? 0x10000 : 0x80)
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    static let asciiClass: [CharacterClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func classify(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar == "\n" || scalar == "\r" { return .newline }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    // MARK: Shared alternatives

    /// `'(?i:[sdmt]|ll|ve|re)` (or case-sensitive): the end of a contraction at `i`, if one starts there.
    func contraction(at i: Int, ignoreCase: Bool) -> Int? {
        guard bytes[i] == UInt8(ascii: "'"), i + 1 < bytes.count else { return nil }
        func letter(_ k: Int) -> UInt8? {
            guard k < bytes.count else { return nil }
            let b = bytes[k]
            if ignoreCase && b >= 0x41 && b <= 0x5A { return b | 0x20 }
            // ſ (U+017F, C5 BF) folds to s under Unicode case-insensitive matching.
            if ignoreCase && b == 0xC5 && k + 1 < bytes.count && bytes[k + 1] == 0xBF { return 0xFF }
            return b
        }
        switch letter(i + 1) {
        case UInt8(ascii: "s"), UInt8(ascii: "d"), UInt8(ascii: "m"), UInt8(ascii: "t"): return i + 2
        case 0xFF: return i + 3  // the two-byte ſ
        case UInt8(ascii: "l"): return letter(i + 2) == UInt8(ascii: "l") ? i + 3 : nil
        case UInt8(ascii: "v"), UInt8(ascii: "r"): return letter(i + 2) == UInt8(ascii: "e") ? i + 3 : nil
        default: return nil
        }
    }

    /// The end of the run of characters of class `kind` starting at `i` (at most `limit` characters).
    @inline(__always)
    func run(of kind: CharacterClass, from i: Int, limit: Int = .max) -> Int {
        var j = i, n = 0
        while j < bytes.count && n < limit {
            let (c, length) = character(at: j)
            if c != kind { break }
            j += length
            n += 1
        }
        return j
    }

    /// The end of the run of characters that are not whitespace, letters or numbers (`[^\s\p{L}\p{N}]+`).
    @inline(__always)
    func otherRun(from i: Int) -> Int { run(of: .other, from: i) }

    /// The end of the run of whitespace (`\s`, newlines included) from `i`, and the position just after
    /// the last newline in it (if any).
    func whitespaceRun(from i: Int) -> (end: Int, afterLastNewline: Int?, lastStart: Int) {
        var j = i, afterNewline: Int?, lastStart = i
        while j < bytes.count {
            let (c, length) = character(at: j)
            if c != .space && c != .newline { break }
            lastStart = j
            j += length
            if c == .newline { afterNewline = j }
        }
        return (j, afterNewline, lastStart)
    }

    /// `\s++$|\s*[\r\n]|\s+(?!\S)|\s` at a whitespace character `i` (the same tail in both patterns,
    /// without the newline alternative for GPT-2).
    func whitespacePiece(at i: Int, newlineRule: Bool) -> Int {
        let (end, afterNewline, lastStart) = whitespaceRun(from: i)
        if end == bytes.count { return end }                                 // \s++$
        if newlineRule, let afterNewline { return afterNewline }             // \s*[\r\n]: up to the last newline
        if lastStart > i { return lastStart }                                // \s+(?!\S): all but the last
        return end                                                           // \s: one character
    }

    // MARK: The two patterns

    /// One cl100k piece starting at `i`; returns its end.
    func cl100kPiece(at i: Int) -> Int {
        if let end = contraction(at: i, ignoreCase: true) { return end }
        let (first, firstLength) = character(at: i)
        // [^\r\n\p{L}\p{N}]?+\p{L}++ : an optional non-letter/number/newline, then letters.
        if first == .letter { return run(of: .letter, from: i) }
        if first != .number && first != .newline, classAt(i + firstLength) == .letter {
            return run(of: .letter, from: i + firstLength)
        }
        // \p{N}{1,3}+
        if first == .number { return run(of: .number, from: i, limit: 3) }
        // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
        var start = i
        if bytes[i] == 0x20, classAt(i + 1) == .other { start = i + 1 }
        if start != i || first == .other {
            return run(of: .newline, from: otherRun(from: start))
        }
        return whitespacePiece(at: i, newlineRule: true)
    }

    /// One GPT-2 piece starting at `i`; returns its end.
    func gpt2Piece(at i: Int) -> Int {
        if let end = contraction(at: i, ignoreCase: false) { return end }
        let (first, _) = character(at: i)
        // ' ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++'
        let start = (bytes[i] == 0x20 && i + 1 < bytes.count && classAt(i + 1) != .space && classAt(i + 1) != .newline) ? i + 1 : i
        let kind = start == i ? first : character(at: start).0
        switch kind {
        case .letter, .number, .other: return run(of: kind, from: start)
        default: return whitespacePiece(at: i, newlineRule: false)
        }
    }
}
