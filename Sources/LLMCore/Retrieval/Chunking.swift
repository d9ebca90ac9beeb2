// Introduced in Chapter 09. What a retriever searches: chunks of the corpus, each remembering where it came from,
// and the terms a sparse index counts.
//
// Chunking. A fortune or a poem is already a unit of meaning, so the course's default is one chunk per entry.
// Long documents want windows instead: N tokens at a time, starting every STRIDE tokens, so that neighbouring
// windows overlap by N − STRIDE tokens and a sentence cut at one window's edge is whole in the next. Offsets are
// UTF-8 byte offsets into the entry's text, snapped to character boundaries (a BPE token may end inside a
// multi-byte character), so `entry.text.utf8[start..<end]` is the chunk.
//
// Terms. English is split into lower-cased runs of letters and digits. Unspaced Chinese has no words to
// split on: each run of CJK characters gives its character bigrams (静夜思 → 静夜 夜思; a lone character
// stays itself), the usual trick of Chinese full-text search without a dictionary. SQLite's FTS5
// `unicode61` tokenizer would keep a whole unspaced run as one token, so the store indexes these terms,
// joined by spaces, rather than the raw text.

import Foundation

/// A piece of the corpus a retriever can return, with its source.
public struct Chunk: Sendable, Equatable, Codable {
    public let text: String
    /// The corpus file (a fortunes topic such as `science`, or `tang300`).
    public let source: String
    /// The entry's index in the corpus.
    public let entry: Int
    /// UTF-8 byte offsets of the chunk in the entry's text.
    public let start: Int, end: Int

    public init(text: String, source: String, entry: Int, start: Int, end: Int) {
        (self.text, self.source, self.entry, self.start, self.end) = (text, source, entry, start, end)
    }

    /// "science #1234 [0, 87)": where to find it.
    public var location: String { "\(source) #\(entry) [\(start), \(end))" }
}

/// How a corpus is cut into chunks: `entry`, or `tokens:N:STRIDE`.
public enum ChunkingScheme: Sendable, Equatable, CustomStringConvertible {
    case entry
    /// Windows of `size` tokens starting every `stride` tokens (1 ≤ stride ≤ size).
    case tokens(size: Int, stride: Int)

    /// Reads `entry` or `tokens:N:STRIDE`; anything else is an error naming the value and the two forms.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts == ["entry"] {
            self = .entry
            return
        }
        guard parts.count == 3, parts[0] == "tokens", let size = Int(parts[1]), let stride = Int(parts[2]),
              size >= 1, stride >= 1, stride <= size else {
            throw CourseError.invalidValue(name: "--chunk", value: text,
                                           expected: "entry, or tokens:N:STRIDE with 1 <= STRIDE <= N "
                                                     + "(e.g. tokens:64:48)")
        }
        self = .tokens(size: size, stride: stride)
    }

    public var description: String {
        switch self {
        case .entry: "entry"
        case .tokens(let size, let stride): "tokens:\(size):\(stride)"
        }
    }
}

public enum Chunker {
    /// The chunks of `corpus` (entries in order, each entry's windows in order). `.tokens` needs `tokenizer`.
    public static func chunks(_ corpus: Corpus, scheme: ChunkingScheme, tokenizer: BPETokenizer? = nil) throws
        -> [Chunk] {
        switch scheme {
        case .entry:
            return corpus.entries.enumerated().map { index, entry in
                Chunk(text: entry.text, source: entry.topic, entry: index, start: 0, end: entry.text.utf8.count)
            }
        case .tokens(let size, let stride):
            guard let tokenizer else {
                throw CourseError.invalidValue(name: "--chunk", value: scheme.description,
                                               expected: "a tokenizer to count tokens with (or --chunk entry)")
            }
            return try corpus.entries.enumerated().flatMap { index, entry in
                try windows(entry.text, size: size, stride: stride, tokenizer: tokenizer).map { range in
                    let bytes = Array(entry.text.utf8)[range]
                    return Chunk(text: String(decoding: bytes, as: UTF8.self), source: entry.topic, entry: index,
                                 start: range.lowerBound, end: range.upperBound)
                }
            }
        }
    }

    /// The byte ranges of `text`'s token windows: `size` tokens every `stride`, the last window ending at the end
    /// of the text; each range snapped to UTF-8 character boundaries (start back, end forward).
    public static func windows(_ text: String, size: Int, stride: Int, tokenizer: BPETokenizer) throws
        -> [Range<Int>] {
        let bytes = Array(text.utf8)
        let ids = tokenizer.encode(bytes: bytes)
        guard !ids.isEmpty else { return [] }
        var offsets = [0]   // offsets[i]: where token i starts; offsets[ids.count] == bytes.count
        for id in ids { offsets.append(offsets[offsets.count - 1] + (try tokenizer.decodeBytes([id])).count) }
        func boundary(_ offset: Int, forward: Bool) -> Int {
            var o = offset
            while o > 0 && o < bytes.count && bytes[o] & 0xC0 == 0x80 { o += forward ? 1 : -1 }
            return o
        }
        var ranges: [Range<Int>] = []
        var first = 0
        while true {
            let last = min(first + size, ids.count)
            ranges.append(boundary(offsets[first], forward: false)..<boundary(offsets[last], forward: true))
            if last == ids.count { break }
            first += stride
        }
        return ranges
    }
}

/// The terms sparse retrieval counts: lower-cased words for alphabetic scripts, character bigrams for Chinese.
public enum RetrievalTerms {
    /// Whether `scalar` is a CJK ideograph (the unified blocks and their extension A, and compatibility forms).
    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F: true
        default: false
        }
    }

    /// The terms of `text`, in order: "Who said it?" → who, said, it; "静夜思" → 静夜, 夜思.
    public static func terms(_ text: String) -> [String] {
        var terms: [String] = []
        var word = String.UnicodeScalarView(), han: [Unicode.Scalar] = []
        func flushWord() {
            if !word.isEmpty { terms.append(String(word).lowercased()) }
            word = String.UnicodeScalarView()
        }
        func flushHan() {
            if han.count == 1 { terms.append(String(han[0])) }
            for i in 0..<max(han.count - 1, 0) { terms.append(String(han[i]) + String(han[i + 1])) }
            han = []
        }
        for scalar in text.unicodeScalars {
            if isCJK(scalar) {
                flushWord()
                han.append(scalar)
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                flushHan()
                word.append(scalar)
            } else {
                flushWord()
                flushHan()
            }
        }
        flushWord()
        flushHan()
        return terms
    }
}
