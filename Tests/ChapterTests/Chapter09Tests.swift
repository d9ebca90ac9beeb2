// Chapter 09 and `llm rag`, run as a learner and a practitioner would.

import Foundation
import Testing

/// A corpus with authors to ask about and poems in the tang300 layout (title, author, lines).
func writeLibraryCorpus(in folder: URL) throws -> URL {
    let corpus = folder.appendingPathComponent("library")
    try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
    let authors = ["Mark Twain", "Oscar Wilde", "Dorothy Parker", "Groucho Marx", "Yogi Berra"]
    let words = ["cat", "river", "money", "bread", "train", "winter", "music", "garden", "window", "letter"]
    let english = (0..<120).map { i in
        "The \(words[i % 10]) and the \(words[(i / 10) % 10]) met \(i) times before the \(words[(i * 7) % 10]) " +
        "came home.\n\t\t-- \(authors[i % 5])"
    }
    try english.joined(separator: "\n%\n").write(to: corpus.appendingPathComponent("wisdom"), atomically: true,
                                                 encoding: .utf8)
    let poets = ["李白", "杜甫", "王维"], titles = ["静夜思", "春望", "鹿柴", "江雪", "登高", "山居", "月下", "秋思"]
    let poems = (0..<40).map { i in
        "《\(titles[i % 8])\(i)》\n作者：\(poets[i % 3])\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    }
    try poems.joined(separator: "\n%\n").write(to: corpus.appendingPathComponent("tang300"), atomically: true,
                                               encoding: .utf8)
    return corpus
}

@Suite("Chapter 09 and llm rag", .serialized)
struct Chapter09Tests {
    @Test("ch09 --quick runs every section on stand-in models and writes the store and the report")
    func quickRun() throws {
        let folder = scratchFolder(#function)
        let corpus = try writeLibraryCorpus(in: folder), runs = folder.appendingPathComponent("runs")
        let result = try runProduct("ch09", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path])
        expectSections(result, ["9.1 Chunks", "9.2 Sparse retrieval: BM25", "9.3 Dense retrieval",
                                "9.4 Measuring retrieval", "9.5 The store", "9.6 Reading", "9.7 The report"])
        #expect(result.stdout.contains("build again, same inputs  left as it was (fingerprint matches)"))
        #expect(result.stdout.contains("same top 5 as in memory"))
        expectFiles(runs, ["rag/index.sqlite", "09-rag/bm25-only.sqlite", "rag/report.json",
                           "rag/reader/model.safetensors",
                           "09-rag/recall-at-k.gp", "09-rag/contrastive-loss.gp", "09-rag/answers.gp"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent(
            "rag/report.json"))) as? [String: Any]
        #expect((report?["retrieval"] as? [Any])?.count == 5 && (report?["answers"] as? [Any])?.count == 7)
        let bad = try runProduct("ch09", ["--quick", "--corpus", corpus.path, "--run-dir", runs.path,
                                          "--reader-steps", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--reader-steps"))
    }

    @Test("llm rag index, query and ask; damaged index and bad flags are one-line errors")
    func commandLine() throws {
        let (folder, _, tokenizer) = try corpusAndTokenizer()
        let corpus = try writeLibraryCorpus(in: folder), run = folder.appendingPathComponent("run")
        let trained = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--context", "128", "--steps", "3",
                                             "--batch-size", "2", "--corpus", corpus.path, "--tokenizer",
                                             tokenizer.path, "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let checkpoint = run.appendingPathComponent("checkpoint").path
        let db = folder.appendingPathComponent("index.sqlite").path
        let index = ["rag", "index", "--corpus", corpus.path, "--checkpoint", checkpoint, "--tokenizer", tokenizer.path,
                     "--out", db, "--tune-steps", "5"]
        let built = try runProduct("llm", index)
        #expect(built.status == 0 && built.stdout.contains("written") && built.stdout.contains("vectors of"),
                "\(built.stdout) \(built.stderr)")
        let again = try runProduct("llm", index)
        #expect(again.status == 0 && again.stdout.contains("unchanged"), "\(again.stdout)")
        for method in ["bm25", "dense", "hybrid"] {
            let query = try runProduct("llm", ["rag", "query", "--index", db, "--query", "《春望1》的作者是谁？",
                                               "--method", method, "--k", "3", "--tokenizer", tokenizer.path])
            #expect(query.status == 0 && query.stdout.hasPrefix("1. ") && query.stdout.contains("tang300 #"),
                    "\(method): \(query.stdout) \(query.stderr)")
        }
        let bm25 = try runProduct("llm", ["rag", "query", "--index", db, "--query", "《春望1》的作者是谁？", "--method",
                                          "bm25", "--k", "1"])
        #expect(bm25.stdout.contains("春望1》"), "the Chinese title finds its poem: \(bm25.stdout)")
        let ask = try runProduct("llm", ["rag", "ask", "--index", db, "--checkpoint", checkpoint, "--question",
                                         "Who said: “the cat and the river”?", "--method", "bm25",
                                         "--tokenizer", tokenizer.path])
        #expect(ask.status == 0 && ask.stdout.contains("sources:\n  [1] wisdom #"), "\(ask.stdout) \(ask.stderr)")
        let chosen = try runProduct("llm", ["rag", "ask", "--index", db, "--checkpoint", checkpoint, "--question",
                                            "Who said: “the cat and the river”?", "--method", "bm25", "--choose",
                                            "--tokenizer", tokenizer.path])
        let answer = chosen.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(chosen.status == 0 && ["Mark Twain", "Oscar Wilde", "Dorothy Parker", "Groucho Marx", "Yogi Berra"]
                    .contains(answer), "--choose answers with a name from the sources: \(chosen.stdout)")
        // A damaged file, a sparse-only index asked for vectors, a bad --chunk: one line each, exit 1.
        let damaged = folder.appendingPathComponent("damaged.sqlite")
        try Data(try Data(contentsOf: URL(fileURLWithPath: db)).prefix(3000)).write(to: damaged)
        let broken = try runProduct("llm", ["rag", "query", "--index", damaged.path, "--query", "cat"])
        #expect(broken.status == 1 && broken.stderr.contains(damaged.path) && broken.stderr.contains("llm rag index"),
                "\(broken.stderr)")
        let sparse = folder.appendingPathComponent("sparse.sqlite").path
        let onlyWords = try runProduct("llm", ["rag", "index", "--corpus", corpus.path, "--no-vectors",
                                               "--out", sparse])
        #expect(onlyWords.status == 0 && onlyWords.stdout.contains("BM25 only"), "\(onlyWords.stderr)")
        let noVectors = try runProduct("llm", ["rag", "query", "--index", sparse, "--query", "cat",
                                               "--method", "dense"])
        #expect(noVectors.status == 1 && noVectors.stderr.contains("no vectors"), "\(noVectors.stderr)")
        let badChunk = try runProduct("llm", ["rag", "index", "--corpus", corpus.path, "--chunk", "tokens:4:9",
                                              "--out", sparse, "--no-vectors"])
        #expect(badChunk.status == 1 && badChunk.stderr.contains("tokens:4:9"), "\(badChunk.stderr)")
        for result in [broken, noVectors, badChunk] {
            #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1,
                    "one line: \(result.stderr)")
        }
    }
}
