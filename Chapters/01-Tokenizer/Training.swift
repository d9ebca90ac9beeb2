//: ## Chapter 01, part two — learning the merges, and using them

import ChapterSupport
import Foundation
import LLMCore

extension Lesson {
    /// The documents the naive and fast trainers race on: a slice of the corpus, small enough for the naive loop.
    struct Sample {
        let documents: [String]
        let vocabularySize: Int
        let naiveMerges: [Merge]
        let naiveSeconds: Double
    }

    // MARK: - 1.3 The naive merge loop

    //: The algorithm fits in four lines: count every adjacent pair (weighted by how often each piece
    //: occurs), take the most frequent, give it the next id, replace it everywhere. Then start over.
    //: Recounting the whole corpus after every merge is what makes it slow — but it is obviously right,
    //: so it is the reference the fast version must match merge for merge.
    func naiveMerges(_ documents: [String]) -> Sample {
        Console.section("1.3 The naive merge loop")
        // Every k-th document, so the sample has the corpus's mix of topics and languages.
        let wanted = chapter.quick ? 300 : 1500
        let stride = max(1, documents.count / wanted)
        let sample = documents.indices.filter { $0 % stride == 0 }.prefix(wanted).map { documents[$0] }
        let size = chapter.quick ? 320 : 512
        let start = Date()
        let merges = (try? BPETrainer.trainNaive(documents: sample, vocabularySize: size)) ?? []
        let seconds = Date().timeIntervalSince(start)
        let bytes = sample.reduce(0) { $0 + $1.utf8.count }
        print("  \(merges.count) merges on \(Format.integer(bytes)) bytes in \(Format.duration(seconds)); the first " +
              "ten:")
        var names: [Int: [UInt8]] = [:]
        for b in 0..<256 { names[b] = [UInt8(b)] }
        for merge in merges { names[merge.result] = (names[merge.left] ?? []) + (names[merge.right] ?? []) }
        func show(_ id: Int) -> String { BPETokenizer.display(bytes: names[id] ?? []) }
        Console.printTable(["#", "left", "right", "→ token", "count"], merges.prefix(10).enumerated().map { i, m in
            ["\(i + 1)", show(m.left), show(m.right), show(m.result), Format.integer(m.count)]
        })
        return Sample(documents: sample, vocabularySize: size, naiveMerges: merges, naiveSeconds: seconds)
    }

    // MARK: - 1.4 The fast merge loop

    //: A merge only changes the words that contain the merged pair, and only the pairs next to it. So
    //: the fast trainer (`BPETrainer.swift`) keeps the pair counts, an index from each pair to the words
    //: holding it, and a max-heap of pairs by count. A merge rewrites just those words and adjusts just
    //: those counts; heap entries that went stale are fixed when they surface. Ties are broken the same
    //: way in both (higher count, then smaller ids), so the two must agree exactly.
    func fastMerges(_ sample: Sample) {
        Console.section("1.4 The fast merge loop")
        let fast = (try? BPETrainer.train(documents: sample.documents, vocabularySize: sample.vocabularySize))
        let merges = fast?.merges ?? []
        let seconds = fast?.seconds ?? .nan
        Console.printTable(["trainer", "merges", "time", "speed-up"], [
            ["naive (recount everything)", "\(sample.naiveMerges.count)", Format.duration(sample.naiveSeconds), "1×"],
            ["incremental (heap + index)", "\(merges.count)", Format.duration(seconds),
                String(format: "%.0f×", sample.naiveSeconds / max(seconds, 1e-9))],
        ])
        print("  same merges, in the same order: \(merges == sample.naiveMerges ? "yes" : "NO — a bug")")
    }

    // MARK: - 1.5 Training the course tokenizer

    //: Now the whole default corpus — English fortunes and the Chinese poems — to the course's vocabulary
    //: of 4096 ids: 256 bytes, 3836 merges, and 4 special tokens at the end. The first merges are the
    //: commonest pairs of English (" t", "he", " a", …); Chinese characters, three bytes each, get merged
    //: into whole characters once they are frequent enough.
    func trainCourseTokenizer(_ documents: [String], _ vocabularySize: Int) throws -> BPETrainingResult {
        Console.section("1.5 Training the course tokenizer")
        let result = try BPETrainer.train(documents: documents, vocabularySize: vocabularySize)
        let bytes = documents.reduce(0) { $0 + $1.utf8.count }
        Console.keyValues([
            ("corpus", "\(Format.integer(documents.count)) documents, \(Format.integer(bytes)) bytes"),
            ("distinct pieces", Format.integer(result.distinctPieces)),
            ("vocabulary", "\(result.tokenizer.vocabularySize) ids: 256 bytes + \(result.merges.count) merges + " +
                           "\(result.tokenizer.specialTokens.count) special"),
            ("training time", "\(Format.duration(result.seconds)) on \(Parallel.threads) threads"),
        ])
        let tokenizer = result.tokenizer
        let longest = tokenizer.tokens.indices.max { tokenizer.tokens[$0].count < tokenizer.tokens[$1].count } ?? 0
        print("  longest token: \"\(tokenizer.display(longest))\" (\(tokenizer.tokens[longest].count) bytes)")
        let top = result.merges.prefix(25)
        try chapter.plot(.bars(labels: top.map { tokenizer.display($0.result) }, values: top.map { Double($0.count) },
                               title: "The first 25 merges and how often their pair occurred", yLabel: "pair count"),
                         as: "bpe-top-merges")
        return result
    }

    // MARK: - 1.6 Encoding and decoding, round trip

    //: Encoding a piece follows tiktoken: start from its bytes and keep merging the adjacent pair whose
    //: merged bytes have the lowest rank (= id), until no adjacent pair is a token. Decoding concatenates
    //: the tokens' bytes. Every byte string survives the round trip; but a slice of ids can end in the
    //: middle of a character, and then the text shows "�" for the incomplete bytes — never a crash.
    func roundTrips(_ tokenizer: BPETokenizer) throws {
        Console.section("1.6 Encoding and decoding, round trip")
        let text = "The quick brown fox can't jump 12345 times. 床前明月光"
        let ids = try tokenizer.encode(text)
        print("  \(text.utf8.count) bytes → \(ids.count) tokens:")
        print("  " + ids.map { "[\(tokenizer.display($0))]" }.joined())
        print("  decode(encode(text)) == text: \(try tokenizer.decode(ids) == text)")
        var checked = 0
        for _ in 0..<(chapter.quick ? 200 : 2000) {
            let bytes = (0..<chapter.random.integer(below: 64)).map { _ in UInt8(chapter.random.integer(below: 256)) }
            if try tokenizer.decodeBytes(tokenizer.encode(bytes: bytes)) == bytes { checked += 1 }
        }
        print("  random byte strings (invalid UTF-8 included) that round-trip: \(checked) of " +
              "\(chapter.quick ? 200 : 2000)")
        let chinese = tokenizer.encode(bytes: Array("月光".utf8))
        let cut = Array(try tokenizer.decodeBytes(chinese).prefix(4))
        print("  the first 4 bytes of \"月光\" decode to \"\(String(decoding: cut, as: UTF8.self))\" (the 4th byte " +
              "starts 光)")
    }
}
