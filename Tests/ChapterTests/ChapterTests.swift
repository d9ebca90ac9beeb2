// Smoke tests: run the built chapter and `llm` executables as a learner would, check key lines (not
// transcripts), and check that bad input gives one clear line and a non-zero exit, never a trap.

import Foundation
import Testing

/// The folder holding the built executables (the test bundle's own folder).
func productsFolder() -> URL {
    if let override = ProcessInfo.processInfo.environment["LLM_PRODUCTS_DIR"] { return URL(fileURLWithPath: override) }
    var url = Bundle.main.bundleURL
    if url.pathExtension == "xctest" { url = url.deletingLastPathComponent() }
    // Swift Testing on Linux runs inside the .xctest executable: its folder holds the products.
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return FileManager.default.fileExists(atPath: url.appendingPathComponent("ch00").path) ? url : executable
}

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

func runProduct(_ name: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> RunResult {
    let process = Process()
    process.executableURL = productsFolder().appendingPathComponent(name)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus,
                     stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

func scratchFolder(_ name: String = #function) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("llm-chapter-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name.filter(\.isLetter))-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `chapter --quick` on the small bilingual test corpus in a fresh scratch folder; returns the run,
/// the run folder and the scratch folder.
func runQuickChapter(_ chapter: String, _ extra: [String] = [], name: String = #function) throws -> (RunResult, runs: URL, folder: URL) {
    let folder = scratchFolder(name)
    let corpus = try writeBilingualCorpus(in: folder)
    let runs = folder.appendingPathComponent("runs")
    return (try runProduct(chapter, ["--quick", "--corpus", corpus.path, "--run-dir", runs.path] + extra), runs, folder)
}

/// A scratch folder with the bilingual test corpus and a 320-id tokenizer trained on it by `llm`.
func corpusAndTokenizer(name: String = #function) throws -> (folder: URL, corpus: URL, tokenizer: URL) {
    let folder = scratchFolder(name)
    let corpus = try writeBilingualCorpus(in: folder)
    let tokenizer = folder.appendingPathComponent("tok")
    _ = try runProduct("llm", ["tokenizer", "train", "--corpus", corpus.path, "--vocab-size", "320", "--out", tokenizer.path])
    return (folder, corpus, tokenizer)
}

/// Every section header printed, each as "── N.M Title".
func expectSections(_ result: RunResult, _ headers: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 0, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
    for header in headers {
        #expect(result.stdout.contains("── \(header)"), "missing section \(header)", sourceLocation: sourceLocation)
    }
}

/// Every file exists under `folder`.
func expectFiles(_ folder: URL, _ paths: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    for path in paths {
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path), "\(path)", sourceLocation: sourceLocation)
    }
}

/// A small corpus made in code: tests never depend on the fortunes package.
func writeTinyCorpus(in folder: URL) throws -> URL {
    let url = folder.appendingPathComponent("tiny.txt")
    var entries: [String] = []
    for i in 0..<60 { entries.append("The quick brown fox \(i) jumps over the lazy dog.\n\t-- Typist \(i % 7)") }
    try entries.joined(separator: "\n%\n").write(to: url, atomically: true, encoding: .utf8)
    return url
}

@Suite("Chapter 00 and llm, run as a learner would", .serialized)
struct ChapterTests {
    @Test("ch00 --quick runs every section and writes its plots")
    func quickRun() throws {
        let folder = scratchFolder()
        let corpus = try writeTinyCorpus(in: folder)
        let result = try runProduct("ch00", ["--quick", "--corpus", corpus.path, "--run-dir", folder.appendingPathComponent("runs").path, "--seed", "3"])
        expectSections(result, ["0.1 Tensors", "0.2 Matrix products", "0.3 What a gradient is", "0.4 The tape",
                       "0.5 Writing one backward", "0.6 Characters", "0.7 Counting bigrams", "0.8 Training", "0.9 What we built"])
        #expect(result.stdout.contains("recorded ops, forward order: matmul → gelu → mean"))
        #expect(result.stdout.contains("derivative σ(x):        gradient check passed"))
        #expect(result.stdout.contains("gradient check FAILED"))  // the deliberately wrong derivative
        // The first training loss is ln V exactly (W starts at zero): find V and the loss.
        let vocabularyLine = try #require(result.stdout.split(separator: "\n").first { $0.contains("vocabulary size V") })
        let v = try #require(vocabularyLine.split(separator: " ").compactMap { Double($0) }.first)
        #expect(result.stdout.contains("first step loss                  \(String(format: "%.4f", log(v)))")
                || result.stdout.contains(String(format: "%.4f (ln V = %.4f)", log(v), log(v))))
        expectFiles(folder.appendingPathComponent("runs/00-tensors"), ["finite-difference-error", "bigram-counts", "bigram-loss"].map { "\($0).gp" })
    }

    @Test("same seed, same output (timings aside)")
    func deterministic() throws {
        let folder = scratchFolder()
        let corpus = try writeTinyCorpus(in: folder)
        let arguments = ["--quick", "--no-plots", "--corpus", corpus.path, "--run-dir", folder.path, "--threads", "1"]
        func stable(_ text: String) -> [String] {
            text.split(separator: "\n").map(String.init).filter { line in
                !["ms", "tok/s", "GFLOP/s", "sgemm", "three loops"].contains { line.contains($0) }
            }
        }
        let first = try runProduct("ch00", arguments), second = try runProduct("ch00", arguments)
        #expect(first.status == 0 && second.status == 0)
        #expect(stable(first.stdout) == stable(second.stdout))
    }

    @Test("bad input: one line on stderr naming the value, non-zero exit", arguments: [
        (["--threads", "0"], "--threads 0"),
        (["--steps", "0"], "--steps 0"),
        (["--learning-rate", "-1"], "--learning-rate"),
        (["--seed", "banana"], "banana"),
        (["--corpus", "/nonexistent/corpus.txt"], "/nonexistent/corpus.txt"),
    ])
    func badInput(arguments: [String], mentions: String) throws {
        let folder = scratchFolder(mentions)
        let result = try runProduct("ch00", ["--quick", "--no-plots", "--run-dir", folder.path] + arguments)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(mentions), "\(result.stderr)")
        #expect(!result.stderr.contains("Backtrac") && !result.stderr.contains("Fatal error"))
    }

    @Test("an empty corpus and an unwritable run folder are clear errors")
    func badFiles() throws {
        let folder = scratchFolder()
        let empty = folder.appendingPathComponent("empty.txt")
        try "\n\n".write(to: empty, atomically: true, encoding: .utf8)
        let emptyRun = try runProduct("ch00", ["--quick", "--no-plots", "--corpus", empty.path, "--run-dir", folder.path])
        #expect(emptyRun.status == 1 && emptyRun.stderr.contains("no text to learn from") && emptyRun.stderr.contains(empty.path))
        let file = folder.appendingPathComponent("not-a-folder")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let corpus = try writeTinyCorpus(in: folder)
        let unwritable = try runProduct("ch00", ["--quick", "--no-plots", "--corpus", corpus.path, "--run-dir", file.path])
        #expect(unwritable.status == 1 && unwritable.stderr.contains("cannot write to") && unwritable.stderr.contains("--run-dir"))
        #expect(unwritable.stderr.split(separator: "\n").count == 1)
        #expect(unwritable.stdout.isEmpty, "nothing should run before the run folder is known to be writable")
    }

    @Test("llm --version, and --help on every subcommand explains its flags with defaults")
    func llmCommandLine() throws {
        let version = try runProduct("llm", ["--version"])
        #expect(version.status == 0 && version.stdout.contains("0.1.0"))
        let help = try runProduct("llm", ["bench", "--help"])
        #expect(help.status == 0)
        for flag in ["--threads", "--repeats", "--json"] { #expect(help.stdout.contains(flag)) }
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // undo line wrapping
        #expect(flat.contains("(default: 10)") && flat.contains("(default: runs/bench/bench.json)"))
        #expect(flat.contains("(default: all cores,") && !flat.contains("here). (default:"), "a default is stated twice")
        let chapterHelp = try runProduct("ch00", ["--help"])
        for flag in ["--quick", "--seed", "--run-dir", "--threads", "--no-plots", "--corpus", "--steps"] {
            #expect(chapterHelp.stdout.contains(flag), "ch00 --help lacks \(flag)")
        }
        let bad = try runProduct("llm", ["bench", "--repeats", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--repeats 0") && bad.stderr.split(separator: "\n").count == 1)
    }

    @Test("llm bench writes its JSON report; --only picks groups and names the valid ones when wrong")
    func bench() throws {
        let folder = scratchFolder()
        let json = folder.appendingPathComponent("bench.json")
        // The training and model groups take minutes in a debug build; `make bench` runs them all.
        let result = try runProduct("llm", ["bench", "--repeats", "1", "--only", "foundation,attention", "--json", json.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sgemm 1024³") && result.stdout.contains("% of sgemm"))
        // OpenBLAS falls back to SSE3 kernels on CPUs newer than its build; the programs restart with better
        // ones (BLASKernels), so on an AVX2 machine the reported kernels are never a generic family.
        let kernels = result.stdout.split(separator: "\n").first { $0.contains("OpenBLAS kernels: ") }
            .map { String($0.split(separator: " ").last ?? "") } ?? ""
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set(cpu.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        #expect(!kernels.isEmpty, "llm bench names the OpenBLAS kernels")
        if flags.contains("avx2") && flags.contains("fma") {
            #expect(!["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge"].contains(kernels),
                    "AVX2 CPU, generic kernels: \(kernels)")
        }
        #expect(result.stdout.contains("attention fwd+bwd") && !result.stdout.contains("BPE") && !result.stdout.contains("train tiny"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("attention-vs-length.png").path)
                || !result.stderr.isEmpty, "the attention plot (or a warning that gnuplot is missing)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let rows = report?["rows"] as? [[String: Any]]
        #expect((rows?.count ?? 0) >= 6)
        let wrong = try runProduct("llm", ["bench", "--only", "foundation,trian"])
        #expect(wrong.status != 0 && wrong.stderr.contains("--only trian") && wrong.stderr.contains("foundation, tokenizer, model, train, generate, quantized, attention"))
        #expect(wrong.stdout.isEmpty, "nothing is measured before the flags are checked")
    }
}
