// `llm bench` (= `make bench`): the course's speed figures, as a table and a JSON file.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMBench
import LLMCore
import LLMPlot

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure sgemm peak and the core's throughput; print a table and write JSON.")

    @Option(help: "Threads for OpenBLAS and our loops (default: all cores, \(Parallel.defaultThreads) here).")
    var threads: Int?

    @Option(help: "Timed repetitions per figure (the median is reported).")
    var repeats: Int = 10

    @Option(help: "Where to write the JSON report.")
    var json: String = "runs/bench/bench.json"

    @Option(help: ArgumentHelp("Run only these groups (comma-separated): " +
                               "\(BenchGroup.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "groups"))
    var only: String?

    /// The groups to run: all of them unless `--only` names some.
    var groups: Set<BenchGroup> {
        get throws {
            guard let only else { return Set(BenchGroup.allCases) }
            return Set(try only.split(separator: ",").map { name in
                guard let group = BenchGroup(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw flagError("--only", String(name),
                                    "a comma-separated list of " +
                                    "\(BenchGroup.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return group
            })
        }
    }

    mutating func validate() throws {
        try ChapterOptions.validateThreads(threads)
        try requireFlag("--repeats", repeats, in: 1...1000)
        _ = try groups
    }

    func run() throws {
        let threads = threads ?? Parallel.defaultThreads
        Parallel.setThreads(threads)
        let groups = try groups
        var report = BenchmarkReport(threads: threads)
        print("llm bench — \(threads) thread(s), median of \(repeats); OpenBLAS kernels: \(BLASKernels.coreName)")
        if groups.contains(.foundation) {
            Benchmarks.foundation(into: &report, repeats: repeats)
        } else {
            Benchmarks.foundationPeak(into: &report, repeats: repeats)
        }
        if groups.contains(.tokenizer) { try Benchmarks.tokenizer(into: &report) }
        if groups.contains(.model) {
            try Benchmarks.modelStep(.gpt2Style(.small), batch: 16, name: "gpt2-small", peak: report.peak,
                                     repeats: min(repeats, 3), into: &report)
        }
        if groups.contains(.train) {
            for threads in Set([1, Parallel.threads]).sorted() {
                try Benchmarks.trainingStep(.gpt2Style(.tiny), batch: 32, name: "tiny", threads: threads,
                                            repeats: min(repeats, 5), into: &report)
                try Benchmarks.trainingStep(.gpt2Style(.small), batch: 16, name: "small", threads: threads,
                                            repeats: min(repeats, 3), into: &report)
            }
            let course = GPTConfig.llamaStyle(vocabularySize: 4096, contextLength: 256, layers: 4, heads: 3,
                                              kvHeads: 1, embeddingSize: 192)
            try Benchmarks.loraStep(course, batch: 16, name: "course model", repeats: min(repeats, 5), into: &report)
        }
        if groups.contains(.generate) {
            let llama = GPTConfig.llamaStyle(vocabularySize: 4096, contextLength: 256, layers: 6, heads: 6,
                                             kvHeads: 6, embeddingSize: 384)
            let presets = [("gpt2-small", GPTConfig.gpt2Style(.small)),
                           ("llama-small (6 kv heads, as llama2.c)", llama)]
            for cache in [true, false] {
                for threads in Set([1, Parallel.threads]).sorted() {
                    for (name, config) in presets {
                        try Benchmarks.generation(config, name: name, threads: threads, cache: cache,
                                                  repeats: cache ? min(repeats, 3) : 1, into: &report)
                    }
                    if cache {   // run.c -t 0's like: the same decoder without the sampling
                        try Benchmarks.generation(llama, name: presets[1].0, threads: threads, cache: true,
                                                  greedy: true, repeats: min(repeats, 3), into: &report)
                    }
                }
            }
        }
        if groups.contains(.quantized) {
            let llama = GPTConfig.llamaStyle(vocabularySize: 4096, contextLength: 256, layers: 6, heads: 6,
                                             kvHeads: 6, embeddingSize: 384)
            for threads in Set([1, Parallel.threads]).sorted() {
                try Benchmarks.quantizedGeneration(llama, name: "llama-small", threads: threads,
                                                   repeats: repeats, into: &report)
            }
        }
        if groups.contains(.serve) {
            let llama = GPTConfig.llamaStyle(vocabularySize: 4096, contextLength: 256, layers: 6, heads: 6,
                                             kvHeads: 6, embeddingSize: 384)
            let done = DispatchSemaphore(value: 0)
            let box = ReportBox(report)
            let failure = FailureBox()
            Task {
                do {
                    var inner = box.report
                    try await Benchmarks.serving(llama, name: "llama-small", repeats: min(repeats, 3), into: &inner)
                    box.report = inner
                } catch { failure.set(error) }
                done.signal()
            }
            done.wait()
            if let error = failure.error { throw error }
            report = box.report
        }
        let scaling = groups.contains(.attention) ? Benchmarks.attentionScaling(repeats: min(repeats, 5)) : []
        for (t, ms) in scaling { report.add("attention fwd+bwd, H 6 × D 64, T \(t)", ms, "ms", "B = 1") }
        print(report.table)
        let url = URL(fileURLWithPath: json)
        try report.write(to: url)
        print("  json: \(Chapter.relativePath(url.path))")
        guard !scaling.isEmpty else { return }
        let plot = Plot.line([Series("attention forward + backward",
                                     x: scaling.map { Double($0.0) }, y: scaling.map(\.1))],
                             title: "Attention cost against sequence length (B = 1, H = 6, D = 64): the T² term",
                             xLabel: "sequence length T", yLabel: "milliseconds", logX: true, logY: true, points: true)
        if let png = try Plotter(directory: url.deletingLastPathComponent()).save(plot, as: "attention-vs-length") {
            print("  plot: \(Chapter.relativePath(png.path))")
        }
    }
}

/// The parts of `llm bench`, for `--only`.
enum BenchGroup: String, CaseIterable {
    case foundation, tokenizer, model, train, generate, quantized, attention, serve
}

/// The report handed to and back from the serving benchmark's task.
final class ReportBox: @unchecked Sendable {
    var report: BenchmarkReport
    init(_ report: BenchmarkReport) { self.report = report }
}
