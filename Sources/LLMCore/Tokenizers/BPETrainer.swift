// Introduced in Chapter 01. Training byte-level BPE, incrementally.
//
// 1. Pre-tokenize every document and count each distinct piece ("word"): BPE never merges across
//    pieces, so a word that occurs 10,000 times is one entry with count 10,000 (parallel over workers).
// 2. Count every adjacent pair of symbols, weighted by word counts, and remember which words hold it.
// 3. Repeat: take the most frequent pair from a max-heap, give its concatenation the next id, and
//    rewrite only the words that contain it, adjusting the counts of the pairs that changed there.
//    Heap entries go stale when counts fall; a popped entry whose count is out of date is re-pushed
//    with the current count (lazy deletion), so each step costs O(changed pairs · log pairs), not a
//    recount of the corpus (the naive loop Chapter 01 shows first).
//
// Tie-breaking (deterministic, documented): the highest count wins; among equal counts, the pair with
// the smaller first id, then the smaller second id. If a merge's bytes already exist as a token (two
// different pairs can spell the same bytes), the existing id is reused and no new token is added.

import Foundation

/// One learned merge: `left` + `right` → `result` (ids), seen `count` times when it was chosen.
public struct Merge: Sendable, Equatable {
    public let left: Int
    public let right: Int
    public let result: Int
    public let count: Int
}

public struct BPETrainingResult: Sendable {
    public let tokenizer: BPETokenizer
    public let merges: [Merge]
    /// Distinct pre-tokenized pieces the corpus had.
    public let distinctPieces: Int
    public let seconds: Double
}

public enum BPETrainer {
    /// Trains a tokenizer with `vocabularySize` ids in all: 256 bytes, the merges, then `specialTokens`.
    /// Stops early (with fewer merges) if the corpus runs out of pairs.
    public static func train(documents: [String], vocabularySize: Int, pattern: PreTokenizerPattern = .cl100k,
                             specialTokens: [String] = BPETokenizer.defaultSpecialTokens) throws -> BPETrainingResult {
        let minimum = 256 + specialTokens.count
        if vocabularySize < minimum { throw TokenizerError.vocabularyTooSmall(requested: vocabularySize, minimum: minimum) }
        if !documents.contains(where: { !$0.isEmpty }) { throw TokenizerError.emptyCorpus }
        let start = Date()
        let counted = countPieces(documents, pattern: pattern)
        var state = MergeState(words: counted.words, counts: counted.counts)
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var ids: [[UInt8]: Int] = [:]
        for (id, bytes) in tokens.enumerated() { ids[bytes] = id }
        var merges: [Merge] = []
        while tokens.count < vocabularySize - specialTokens.count, let (pair, count) = state.popBest() {
            let (left, right) = (Int(pair >> 32), Int(pair & 0xFFFF_FFFF))
            let bytes = tokens[left] + tokens[right]
            let result: Int
            if let existing = ids[bytes] {
                result = existing
            } else {
                result = tokens.count
                tokens.append(bytes)
                ids[bytes] = result
            }
            state.apply(pair: pair, result: Int32(result))
            merges.append(Merge(left: left, right: right, result: result, count: count))
        }
        var special: [String: Int] = [:]
        for (k, text) in specialTokens.enumerated() { special[text] = tokens.count + k }
        let tokenizer = try BPETokenizer(tokens: tokens, specialTokens: special, pattern: pattern)
        return BPETrainingResult(tokenizer: tokenizer, merges: merges, distinctPieces: counted.words.count,
                                 seconds: Date().timeIntervalSince(start))
    }

    /// Distinct pieces of all documents with their counts, counted in parallel and merged in a fixed order.
    static func countPieces(_ documents: [String], pattern: PreTokenizerPattern) -> (words: [[Int32]], counts: [Int]) {
        let splitter = PreTokenizer(pattern: pattern)
        let workers = max(1, min(Parallel.threads, documents.count))
        var partial = [[[UInt8]: Int]](repeating: [:], count: workers)
        partial.withUnsafeMutableBufferPointer { partial in
            let box = UncheckedSendable(partial)
            Parallel.forEachWorker(documents.count, partials: workers) { worker, range in
                var counts: [[UInt8]: Int] = [:]
                for d in range {
                    let bytes = Array(documents[d].utf8)
                    bytes.withUnsafeBufferPointer { buffer in
                        splitter.split(buffer) { piece in counts[Array(buffer[piece]), default: 0] += 1 }
                    }
                }
                box.value[worker] = counts
            }
        }
        var total = partial[0]
        for more in partial.dropFirst() { total.merge(more, uniquingKeysWith: +) }
        // A fixed order (by bytes) so that training is the same for any thread count.
        let sorted = total.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        return (sorted.map { $0.key.map(Int32.init) }, sorted.map(\.value))
    }
}

/// The words being merged, the pair counts, and the heap of candidate pairs.
struct MergeState {
    var words: [[Int32]]
    let counts: [Int]
    var pairCounts: [UInt64: Int] = [:]
    var pairWords: [UInt64: [Int32]] = [:]
    var heap = PairHeap()
    var lastVisit: [Int32]
    var step: Int32 = 0

    init(words: [[Int32]], counts: [Int]) {
        self.words = words
        self.counts = counts
        lastVisit = [Int32](repeating: -1, count: words.count)
        for (w, word) in words.enumerated() where word.count > 1 {
            for k in 0..<(word.count - 1) {
                let pair = BPETokenizer.key(word[k], word[k + 1])
                pairCounts[pair, default: 0] += counts[w]
                if pairWords[pair]?.last != Int32(w) { pairWords[pair, default: []].append(Int32(w)) }
            }
        }
        for (pair, count) in pairCounts { heap.push(count, pair) }
    }

    /// The most frequent pair with its current count (stale heap entries are refreshed on the way).
    mutating func popBest() -> (UInt64, Int)? {
        while let (count, pair) = heap.pop() {
            let current = pairCounts[pair] ?? 0
            if current == count && count > 0 { return (pair, count) }
            if current > 0 && current != count { heap.push(current, pair) }
        }
        return nil
    }

    /// Rewrites every word holding `pair` with `result` and updates the counts of the pairs that changed.
    mutating func apply(pair: UInt64, result: Int32) {
        let (a, b) = (Int32(truncatingIfNeeded: pair >> 32), Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF))
        step += 1
        var increased: [UInt64] = []
        for w in pairWords.removeValue(forKey: pair) ?? [] where lastVisit[Int(w)] != step {
            lastVisit[Int(w)] = step
            let old = words[Int(w)]
            let new = BPETrainer.mergePair(old, a, b, result)
            if new.count == old.count { continue }  // a stale entry: the word no longer holds the pair
            let count = counts[Int(w)]
            for k in 0..<(old.count - 1) { pairCounts[BPETokenizer.key(old[k], old[k + 1]), default: 0] -= count }
            for k in 0..<max(new.count - 1, 0) {
                let p = BPETokenizer.key(new[k], new[k + 1])
                pairCounts[p, default: 0] += count
                if new[k] == result || new[k + 1] == result {
                    if pairWords[p]?.last != w { pairWords[p, default: []].append(w) }
                    increased.append(p)
                }
            }
            words[Int(w)] = new
        }
        pairCounts[pair] = nil
        for p in Set(increased) { if let c = pairCounts[p], c > 0 { heap.push(c, p) } }
    }
}

/// A binary max-heap of (count, pair): higher count first, then the smaller pair key.
struct PairHeap {
    private var items: [(count: Int, pair: UInt64)] = []

    @inline(__always)
    private func before(_ i: Int, _ j: Int) -> Bool {
        items[i].count != items[j].count ? items[i].count > items[j].count : items[i].pair < items[j].pair
    }

    mutating func push(_ count: Int, _ pair: UInt64) {
        items.append((count, pair))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !before(i, parent) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int, UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && before(l, best) { best = l }
                if r < items.count && before(r, best) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return (top.count, top.pair)
    }
}
