// Introduced in Chapter 01. Byte-level BPE: encoding by merge rank, decoding, special tokens.
//
// Follows tiktoken: a token is a byte string, its id is its rank, and a pre-token is encoded by
// starting from single bytes and repeatedly merging the adjacent pair whose concatenation has the
// lowest rank, until no adjacent pair is a token. Because ranks are looked up by the concatenated
// bytes (not by the pair that made the token in training), the ids equal what Python's
// `tiktoken.Encoding` gives with the same files. Special tokens (`<|endoftext|>`, …) are matched as
// whole strings before pre-tokenization and never split.
//
// Left out: tiktoken's "unstable token" completion API and byte fallback beyond the 256 byte tokens.

import Foundation

/// What `encode` does when the text contains a special token's text, e.g. "<|endoftext|>".
public enum SpecialTokenPolicy: Sendable {
    /// Encode it as the special token (for text you control: chat templates, document joins).
    case allow
    /// Encode it as ordinary text, byte by byte (for user text that merely mentions it).
    case asText
    /// Throw `TokenizerError.disallowedSpecial` (the safe default for untrusted text).
    case reject
}

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case disallowedSpecial(String)
    case unknownId(Int, vocabularySize: Int)
    case vocabularyTooSmall(requested: Int, minimum: Int)
    case emptyCorpus
    case corruptFile(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .disallowedSpecial(let text):
            return "the text contains the special token \(text); pass --allow-special (or .allow) to encode it as " +
                   "one token, or .asText to encode it as plain text"
        case .unknownId(let id, let size):
            return "token id \(id) is not in the vocabulary (ids are 0..<\(size)); was it made by another tokenizer?"
        case .vocabularyTooSmall(let requested, let minimum):
            return "vocabulary size \(requested) is too small: it needs at least \(minimum) (256 byte tokens plus " +
                   "the special tokens)"
        case .emptyCorpus:
            return "the corpus has no text to train on; pass a non-empty UTF-8 corpus"
        case .corruptFile(let path, let line, let reason):
            return "tokenizer file '\(path)' line \(line): \(reason); re-create it with 'llm tokenizer train'"
        }
    }
}

public struct BPETokenizer: Sendable {
    /// The chat and document markers every course tokenizer has, in id order after the merges.
    public static let defaultSpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

    public let pattern: PreTokenizerPattern
    /// id → bytes for the ordinary (mergeable) tokens; the id is the token's rank.
    public let tokens: [[UInt8]]
    /// Special token text → id.
    public let specialTokens: [String: Int]
    /// (left id, right id) → the id of their concatenation, for every way a token splits into two tokens.
    let pairToken: [UInt64: Int32]
    /// The id of each single byte.
    let byteToken: [Int32]
    let preTokenizer: PreTokenizer

    /// Builds a tokenizer from its ranked tokens. Every single byte must be a token; ranks are indices.
    public init(tokens: [[UInt8]], specialTokens: [String: Int], pattern: PreTokenizerPattern) throws {
        self.tokens = tokens
        self.specialTokens = specialTokens
        self.pattern = pattern
        preTokenizer = PreTokenizer(pattern: pattern)
        var rank: [[UInt8]: Int32] = [:]
        for (id, bytes) in tokens.enumerated() where rank[bytes] == nil { rank[bytes] = Int32(id) }
        var singles = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { singles[b] = rank[[UInt8(b)]] ?? -1 }
        if let missing = singles.firstIndex(of: -1) {
            throw TokenizerError.corruptFile(path: "(tokens)", line: 0,
                reason: "byte \(missing) has no token; every byte needs one")
        }
        byteToken = singles
        var pairs: [UInt64: Int32] = [:]
        for (id, bytes) in tokens.enumerated() where bytes.count > 1 {
            for split in 1..<bytes.count {
                if let left = rank[Array(bytes[..<split])], let right = rank[Array(bytes[split...])] {
                    pairs[BPETokenizer.key(left, right)] = Int32(id)
                }
            }
        }
        pairToken = pairs
    }

    @inline(__always)
    static func key(_ a: Int32,
                    _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    /// Ordinary tokens plus special tokens: ids are 0..<vocabularySize.
    public var vocabularySize: Int { max(tokens.count, (specialTokens.values.max() ?? -1) + 1) }

    /// The id of a special token's text, e.g. "<|endoftext|>".
    public func specialId(_ text: String) -> Int? { specialTokens[text] }

    // MARK: Encoding

    /// The ids of `text`. Special-token text is handled by `special` (default: rejected).
    public func encode(_ text: String, special: SpecialTokenPolicy = .reject) throws -> [Int] {
        var ids: [Int] = []
        var cache = PieceCache()
        try encode(Array(text.utf8), special: special, cache: &cache, into: &ids)
        return ids
    }

    /// The ids of any byte string (invalid UTF-8 included), with no special tokens.
    public func encode(bytes: [UInt8]) -> [Int] {
        var ids: [Int] = []
        var cache = PieceCache()
        encodeOrdinary(bytes[...], cache: &cache, into: &ids)
        return ids
    }

    /// Encodes independent documents in parallel (one piece cache per worker).
    public func encode(documents: [String], special: SpecialTokenPolicy = .reject) throws -> [[Int]] {
        var results = [[Int]](repeating: [], count: documents.count)
        var failure: Error?
        results.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendable(out)
            let slots = max(Parallel.threads, 1)
            let failures = UncheckedSendable(UnsafeMutablePointer<Error?>.allocate(capacity: slots))
            failures.value.initialize(repeating: nil, count: slots)
            let used = Parallel.forEachWorker(documents.count, partials: slots) { worker, range in
                var cache = PieceCache()
                for d in range {
                    var ids: [Int] = []
                    do { try encode(Array(documents[d].utf8), special: special, cache: &cache, into: &ids) } catch {
                        failures.value[worker] = error
                        return
                    }
                    box.value[d] = ids
                }
            }
            failure = (0..<used).compactMap { failures.value[$0] }.first
            failures.value.deinitialize(count: slots)
            failures.value.deallocate()
        }
        if let failure { throw failure }
        return results
    }

    func encode(_ bytes: [UInt8], special: SpecialTokenPolicy, cache: inout PieceCache, into ids: inout [Int]) throws {
        if special == .asText || specialTokens.isEmpty {
            encodeOrdinary(bytes[...], cache: &cache, into: &ids)
            return
        }
        var start = 0, i = 0
        let lt = UInt8(ascii: "<"), bar = UInt8(ascii: "|")
        while i + 1 < bytes.count {
            if bytes[i] == lt && bytes[i + 1] == bar, let (text, id) = specialMatch(bytes, at: i) {
                if special == .reject { throw TokenizerError.disallowedSpecial(text) }
                encodeOrdinary(bytes[start..<i], cache: &cache, into: &ids)
                ids.append(id)
                i += text.utf8.count
                start = i
            } else {
                i += 1
            }
        }
        encodeOrdinary(bytes[start...], cache: &cache, into: &ids)
    }

    /// The longest special token whose text starts at `i`.
    private func specialMatch(_ bytes: [UInt8], at i: Int) -> (String, Int)? {
        var best: (String, Int)?
        for (text, id) in specialTokens {
            let utf8 = text.utf8
            if utf8.count <= bytes.count - i, (best == nil || utf8.count > best!.0.utf8.count),
               zip(utf8, bytes[i...]).allSatisfy({ $0 == $1 }) {
                best = (text, id)
            }
        }
        return best
    }

    /// Pre-tokenizes and encodes text that holds no special tokens.
    func encodeOrdinary(_ bytes: ArraySlice<UInt8>, cache: inout PieceCache, into ids: inout [Int]) {
        bytes.withUnsafeBufferPointer { buffer in
            preTokenizer.split(buffer) { range in
                let piece = UnsafeBufferPointer(rebasing: buffer[range])
                if piece.count == 1 {
                    ids.append(Int(byteToken[Int(piece[0])]))
                } else if let cached = cache.lookup(piece) {
                    ids.append(contentsOf: cached)
                } else {
                    let start = ids.count
                    mergeByRank(piece, into: &ids)
                    cache.insert(piece, ids[start...])
                }
            }
        }
    }

    /// The BPE loop on one piece: start from bytes, merge the lowest-rank adjacent pair until none is a token.
    func mergeByRank(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        var parts = piece.map { byteToken[Int($0)] }
        // ranks[k]: the rank (id) of parts[k] + parts[k + 1] as a token, or Int32.max
        var ranks = [Int32](repeating: .max, count: max(parts.count - 1, 0))
        for k in ranks.indices { ranks[k] = pairToken[BPETokenizer.key(parts[k], parts[k + 1])] ?? .max }
        while !ranks.isEmpty {
            var best = 0
            for k in 1..<ranks.count where ranks[k] < ranks[best] { best = k }
            let merged = ranks[best]
            if merged == .max { break }
            parts[best] = merged
            parts.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 { ranks[best - 1] = pairToken[BPETokenizer.key(parts[best - 1], merged)] ?? .max }
            if best < ranks.count { ranks[best] = pairToken[BPETokenizer.key(merged, parts[best + 1])] ?? .max }
        }
        ids.append(contentsOf: parts.lazy.map { Int($0) })
    }

    // MARK: Decoding

    /// The bytes of `ids` (special tokens as their text). Throws for an id outside the vocabulary.
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var specialText: [Int: String] = [:]
        for (text, id) in specialTokens { specialText[id] = text }
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            if let text = specialText[id] { out.append(contentsOf: text.utf8) }
            else if id >= 0 && id < tokens.count { out.append(contentsOf: tokens[id]) }
            else { throw TokenizerError.unknownId(id, vocabularySize: vocabularySize) }
        }
        return out
    }

    /// The text of `ids`; byte sequences that are not valid UTF-8 become "�" (never a crash).
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }

    /// A readable form of one token: its text, or its bytes in hex when they are not valid UTF-8 alone.
    public func display(_ id: Int) -> String {
        if let (text, _) = specialTokens.first(where: { $0.value == id }) { return text }
        guard id >= 0 && id < tokens.count else { return "<\(id)?>" }
        return BPETokenizer.display(bytes: tokens[id])
    }

    /// Bytes as readable text: spaces as "␣", newlines as "⏎", and hex (`\xE5`) when not valid UTF-8.
    public static func display(bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) {
            return text.replacingOccurrences(of: " ", with: "␣").replacingOccurrences(of: "\n", with: "⏎")
        }
        return bytes.map { String(format: "\\x%02X", $0) }.joined()
    }
}
