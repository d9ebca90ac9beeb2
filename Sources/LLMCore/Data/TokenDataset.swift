// Introduced in Chapter 04. A corpus as two token streams (training, validation), cached on disk,
// and the samplers that cut batches from them.
//
// Split: by entry, deterministically — every 10th entry (index % 10 == 9) is validation, so no fortune
// is in both. Each stream is the entries' tokens joined by <|endoftext|>. The cache file
// (tokens-<key>.bin) holds both streams as little-endian UInt32 behind a small header; its key hashes
// the corpus text and the tokenizer's files, so a different corpus or tokenizer never reads a stale cache.

import Foundation

public struct TokenDataset: Sendable {
    public let train: [Int32]
    public let validation: [Int32]
    public let vocabularySize: Int
    /// UTF-8 bytes of the text behind each stream: every entry's text plus one separator byte (the
    /// `<|endoftext|>` after it stands for that byte). Bits per byte divide by these (0 when unknown).
    public var trainBytes = 0, validationBytes = 0
    /// The id that ends every entry in the streams.
    public var endOfText: Int32 = 0

    public init(train: [Int32], validation: [Int32], vocabularySize: Int) {
        self.train = train
        self.validation = validation
        self.vocabularySize = vocabularySize
    }

    /// Tokenizes `corpus` with `tokenizer` (or reads the cache in `cacheFolder`), split by entry.
    /// Throws when either stream is too short for one window of `contextLength` + 1 tokens.
    public static func make(corpus: Corpus, tokenizer: BPETokenizer, contextLength: Int,
                            cacheFolder: URL? = nil) throws -> TokenDataset {
        let key = cacheKey(corpus, tokenizer)
        let cacheURL = cacheFolder?.appendingPathComponent("tokens-\(String(key, radix: 16)).bin")
        var dataset: TokenDataset
        let (trainDocuments, validationDocuments) = corpus.split()
        let end = Int32(tokenizer.specialId("<|endoftext|>") ?? 0)
        if let cacheURL, let cached = read(cacheURL, vocabularySize: tokenizer.vocabularySize) {
            dataset = cached
        } else {
            func stream(_ documents: [String]) throws -> [Int32] {
                try tokenizer.encode(documents: documents, special: .asText).flatMap { $0.map(Int32.init) + [end] }
            }
            dataset = TokenDataset(train: try stream(trainDocuments), validation: try stream(validationDocuments),
                                   vocabularySize: tokenizer.vocabularySize)
            if let cacheURL { try? dataset.write(cacheURL) }
        }
        dataset.trainBytes = trainDocuments.reduce(0) { $0 + $1.utf8.count + 1 }
        dataset.validationBytes = validationDocuments.reduce(0) { $0 + $1.utf8.count + 1 }
        dataset.endOfText = end
        for (name, tokens) in [("training", dataset.train),
                               ("validation", dataset.validation)] where tokens.count < contextLength + 1 {
            throw CourseError.invalidValue(name: "corpus \(corpus.source)", value: "(\(tokens.count) \(name) tokens)",
                                           expected: "at least one context window of \(contextLength + 1) tokens in " +
                                                     "its \(name) split; use a larger corpus or a smaller --context")
        }
        return dataset
    }

    /// FNV-1a over the corpus text and the tokenizer's ranks and pattern.
    static func cacheKey(_ corpus: Corpus, _ tokenizer: BPETokenizer) -> UInt64 {
        var h = FNV1a()
        for entry in corpus.entries { h.mix(entry.text) }
        Fingerprint.mix(tokenizer, into: &h)
        return h.value
    }

    private static let magic: [UInt8] = Array("LLMTOK1\n".utf8)

    func write(_ url: URL) throws {
        var data = Data(TokenDataset.magic)
        for value in [UInt64(vocabularySize), UInt64(train.count), UInt64(validation.count)] {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        for stream in [train, validation] { stream.withUnsafeBytes { data.append(contentsOf: $0) } }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }

    /// The cached dataset, or nil when the file is missing, damaged or for another vocabulary.
    static func read(_ url: URL, vocabularySize: Int) -> TokenDataset? {
        guard let data = FileManager.default.contents(atPath: url.path), data.count >= 32,
              Array(data.prefix(8)) == magic else { return nil }
        let header = (0..<3).map { k in
            data.subdata(in: (8 + 8 * k)..<(16 + 8 * k))
                .withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        }
        let (vocabulary, trainCount, validationCount) = (Int(header[0]), Int(header[1]), Int(header[2]))
        guard vocabulary == vocabularySize, data.count == 32 + 4 * (trainCount + validationCount) else { return nil }
        func stream(_ start: Int, _ count: Int) -> [Int32] {
            data.subdata(in: start..<(start + 4 * count)).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        }
        let dataset = TokenDataset(train: stream(32, trainCount),
                                   validation: stream(32 + 4 * trainCount, validationCount),
                                   vocabularySize: vocabulary)
        let inVocabulary = { (id: Int32) in id >= 0 && Int(id) < vocabulary }
        let valid = dataset.train.allSatisfy(inVocabulary) && dataset.validation.allSatisfy(inVocabulary)
        return valid ? dataset : nil
    }

    /// The unigram baseline in bits per byte of the held-out text.
    public var unigramBitsPerByte: Double {
        bitsPerByte(nats: unigramLoss * Double(validation.count), bytes: validationBytes)
    }

    /// The unigram baseline: the cross-entropy (nats/token) of the validation stream under the training
    /// stream's token frequencies (add-one smoothed) — what a model that ignores context can reach.
    public var unigramLoss: Double {
        var counts = [Double](repeating: 1, count: vocabularySize)
        for t in train { counts[Int(t)] += 1 }
        let total = counts.reduce(0, +)
        return -validation.reduce(0.0) { $0 + log(counts[Int($1)] / total) } / Double(max(validation.count, 1))
    }
}

/// Random windows of the training stream: seeded, and resumable (its generator is its whole state).
public struct BatchSampler: Codable, Sendable, Equatable {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// `batch` windows of `length` + 1 tokens at random offsets: inputs (B, T) and next-token targets (B·T).
    public mutating func next(_ tokens: [Int32], batch: Int, length: Int) -> (inputs: [[Int]], targets: [Int]) {
        randomWindows(tokens, batch: batch, length: length, using: &generator)
    }
}

/// `batch` windows of `length` + 1 tokens at offsets drawn from `random`: inputs (B, T) and next-token
/// targets (B·T).
public func randomWindows(_ tokens: [Int32], batch: Int, length: Int,
                          using random: inout SeededGenerator) -> (inputs: [[Int]], targets: [Int]) {
    var inputs: [[Int]] = [], targets: [Int] = []
    targets.reserveCapacity(batch * length)
    for _ in 0..<batch {
        let start = random.integer(below: tokens.count - length)
        inputs.append(tokens[start..<(start + length)].map(Int.init))
        targets += tokens[(start + 1)...(start + length)].map(Int.init)
    }
    return (inputs, targets)
}

/// The validation stream cut into consecutive, non-overlapping windows, in order (the same every time).
public func validationBatches(_ tokens: [Int32], batch: Int, length: Int,
                              maxBatches: Int) -> [(inputs: [[Int]], targets: [Int])] {
    var batches: [(inputs: [[Int]], targets: [Int])] = []
    var start = 0
    while batches.count < maxBatches && start + length < tokens.count {
        var inputs: [[Int]] = [], targets: [Int] = []
        while inputs.count < batch && start + length < tokens.count {
            inputs.append(tokens[start..<(start + length)].map(Int.init))
            targets += tokens[(start + 1)...(start + length)].map(Int.init)
            start += length
        }
        batches.append((inputs, targets))
    }
    return batches
}
