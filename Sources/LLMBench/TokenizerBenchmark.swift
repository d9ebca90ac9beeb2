// Introduced in Chapter 01. BPE training time and encoding throughput on 5 MB of the default corpus.

import Foundation
import LLMCore

extension Benchmarks {
    /// The benchmark text: every fortune file (English and Chinese) concatenated in name order, repeated
    /// and cut to `bytes` bytes, split into its `%`-separated entries. Nil when the corpus is missing.
    public static func fortuneDocuments(bytes: Int = 5_000_000,
                                        directory: String = Corpus.fortunesDirectory) -> [String]? {
        guard let corpus = try? Corpus.load(path: directory) else { return nil }
        var documents: [String] = [], total = 0
        while total < bytes {
            for entry in corpus.entries {
                let size = entry.text.utf8.count + 1
                if total + size > bytes { total = bytes; break }
                documents.append(entry.text + "\n")
                total += size
            }
        }
        return documents
    }

    /// Chapter 01's figures: training 4096 ids on the 5 MB text, then encoding it on 1 and all threads.
    public static func tokenizer(into report: inout BenchmarkReport, vocabularySize: Int = 4096) throws {
        guard let documents = fortuneDocuments() else {
            report.add("BPE (skipped)", 0, "", "the fortunes corpus is missing: make deps")
            return
        }
        let megabytes = Double(documents.reduce(0) { $0 + $1.utf8.count }) / 1e6
        let threads = Parallel.threads
        let trained = try BPETrainer.train(documents: documents, vocabularySize: vocabularySize)
        report.add("BPE train \(vocabularySize) ids, \(String(format: "%.1f", megabytes)) MB", trained.seconds, "s",
                   "\(threads) threads; \(trained.merges.count) merges, \(Format.integer(trained.distinctPieces)) " +
                   "distinct pieces")
        let tokenizer = trained.tokenizer
        for workers in Set([1, threads]).sorted() {
            var tokens = 0
            let seconds = Parallel.withThreads(workers) {
                medianSeconds(repeats: 3) {
                    tokens = ((try? tokenizer.encode(documents: documents,
                                                     special: .asText)) ?? []).reduce(0) { $0 + $1.count }
                }
            }
            report.add("BPE encode, \(workers) thread\(workers == 1 ? "" : "s")", megabytes / seconds, "MB/s",
                       String(format: "%.2f bytes/token", megabytes * 1e6 / Double(max(tokens, 1))))
        }
    }
}
