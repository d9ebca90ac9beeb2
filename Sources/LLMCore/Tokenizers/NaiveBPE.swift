// Introduced in Chapter 01. The textbook BPE training loop, kept as the reference the fast trainer is
// tested against (and timed against in the chapter): after every merge, recount every pair of every
// word from scratch. Same counting of pieces, same tie-breaking, same duplicate-bytes rule as
// `BPETrainer`, so both must learn exactly the same merges.

extension BPETrainer {
    /// The recount-everything loop: O(merges × corpus) instead of O(merges × changed words).
    public static func trainNaive(documents: [String], vocabularySize: Int, pattern: PreTokenizerPattern = .cl100k,
                                  specialTokens: [String] = BPETokenizer.defaultSpecialTokens) throws -> [Merge] {
        let minimum = 256 + specialTokens.count
        if vocabularySize < minimum { throw TokenizerError.vocabularyTooSmall(requested: vocabularySize, minimum: minimum) }
        var (words, counts) = countPieces(documents, pattern: pattern)
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var ids: [[UInt8]: Int] = [:]
        for (id, bytes) in tokens.enumerated() { ids[bytes] = id }
        var merges: [Merge] = []
        while tokens.count < vocabularySize - specialTokens.count {
            var pairs: [UInt64: Int] = [:]                               // recount everything
            for (w, word) in words.enumerated() where word.count > 1 {
                for k in 0..<(word.count - 1) { pairs[BPETokenizer.key(word[k], word[k + 1]), default: 0] += counts[w] }
            }
            guard let (pair, count) = pairs.min(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) else { break }
            let (a, b) = (Int32(pair >> 32), Int32(pair & 0xFFFF_FFFF))
            let bytes = tokens[Int(a)] + tokens[Int(b)]
            let result = ids[bytes] ?? tokens.count
            if result == tokens.count { tokens.append(bytes); ids[bytes] = result }
            for w in words.indices { words[w] = mergePair(words[w], a, b, Int32(result)) }
            merges.append(Merge(left: Int(a), right: Int(b), result: result, count: count))
        }
        return merges
    }

    /// Replaces each non-overlapping occurrence of (a, b), left to right, with `result`.
    public static func mergePair(_ word: [Int32], _ a: Int32, _ b: Int32, _ result: Int32) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(word.count)
        var i = 0
        while i < word.count {
            if i + 1 < word.count && word[i] == a && word[i + 1] == b { out.append(result); i += 2 } else { out.append(word[i]); i += 1 }
        }
        return out
    }
}

extension BPETokenizer {
    /// The same tokenizer with only its first `count` ordinary tokens (the first `count − 256` merges)
    /// and the special tokens renumbered after them: BPE is sequential, so a smaller vocabulary is a
    /// prefix of a larger one.
    public func truncated(to count: Int) throws -> BPETokenizer {
        let kept = Array(tokens.prefix(max(256, count)))
        var special: [String: Int] = [:]
        for (k, text) in specialTokens.sorted(by: { $0.value < $1.value }).map(\.key).enumerated() { special[text] = kept.count + k }
        return try BPETokenizer(tokens: kept, specialTokens: special, pattern: pattern)
    }
}
