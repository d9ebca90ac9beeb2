// Introduced in Chapter 00 (the warm-up tokenizer of Chapter 01). One token per Unicode scalar.
//
// Ids are given in order of frequency (most frequent first, ties by code point), so that id 0 is the
// commonest character. With `maxSize`, the vocabulary ends with an "unknown" id shown as "�": only the
// most frequent `maxSize − 1` characters get their own id, and every other character — including
// ones that only appear in text encoded later — maps to the unknown id.

public struct CharacterVocabulary: Sendable, Equatable {
    /// id → character. The last one is "�" when the vocabulary was built with `maxSize`.
    public let symbols: [Unicode.Scalar]
    private let ids: [Unicode.Scalar: Int]
    /// The id that rare and unseen characters map to, when the vocabulary was built with `maxSize`.
    public let unknownId: Int?

    public static let unknownSymbol: Unicode.Scalar = "\u{FFFD}"

    /// Builds the vocabulary of `text`. With `maxSize` (≥ 2), at most that many ids, the last one unknown.
    public init(text: String, maxSize: Int? = nil) {
        var counts: [Unicode.Scalar: Int] = [:]
        for scalar in text.unicodeScalars { counts[scalar, default: 0] += 1 }
        var ordered = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }.map(\.key)
        var unknown: Int?
        if let maxSize {
            ordered = Array(ordered.prefix(max(maxSize, 2) - 1)) + [CharacterVocabulary.unknownSymbol]
            unknown = ordered.count - 1
        }
        symbols = ordered
        unknownId = unknown
        var map: [Unicode.Scalar: Int] = [:]
        for (i, s) in ordered.enumerated() where i != unknown { map[s] = i }
        ids = map
    }

    /// The number of ids.
    public var count: Int { symbols.count }

    /// The id of each character; a character the vocabulary has never seen gets `unknownId`, or nil
    /// when the vocabulary has no unknown id.
    public func encode(_ text: String) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let id = ids[scalar] ?? unknownId else { return nil }
            out.append(id)
        }
        return out
    }

    /// The text of a sequence of ids (ids outside the vocabulary become "�").
    public func decode(_ ids: [Int]) -> String {
        var view = String.UnicodeScalarView()
        for id in ids { view.append(symbols.indices.contains(id) ? symbols[id] : CharacterVocabulary.unknownSymbol) }
        return String(view)
    }

    /// A printable name for a character: "␣" for space, "⏎" for newline.
    public func display(_ id: Int) -> String {
        guard symbols.indices.contains(id) else { return "?" }
        switch symbols[id] {
        case " ": return "␣"
        case "\n": return "⏎"
        case "\t": return "⇥"
        default: return String(symbols[id])
        }
    }
}
