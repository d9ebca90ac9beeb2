// `llm bench` (= `make bench`): the course's speed figures, as a table and a JSON file.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

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

    mutating func validate() throws {
        try ChapterOptions.validateThreads(threads)
        try requireFlag("--repeats", repeats, in: 1...1000)
    }

    func run() throws {
        let threads = threads ?? Parallel.defaultThreads
        Parallel.setThreads(threads)
        var report = BenchmarkReport(threads: threads)
        print("llm bench — \(threads) thread(s), median of \(repeats)")
        Benchmarks.foundation(into: &report, repeats: repeats)
        try Benchmarks.tokenizer(into: &report)
        let peak = report.peak
        try Benchmarks.modelStep(.gpt2Style(.small), batch: 16, name: "gpt2-small", peak: peak, repeats: min(repeats, 3), into: &report)
        for threads in Set([1, Parallel.threads]).sorted() {
            try Benchmarks.trainingStep(.gpt2Style(.tiny), batch: 32, name: "tiny", threads: threads, repeats: min(repeats, 5), into: &report)
            try Benchmarks.trainingStep(.gpt2Style(.small), batch: 16, name: "small", threads: threads, repeats: min(repeats, 3), into: &report)
        }
        let scaling = Benchmarks.attentionScaling(repeats: min(repeats, 5))
        for (t, ms) in scaling { report.add("attention fwd+bwd, H 6 × D 64, T \(t)", ms, "ms", "B = 1") }
        print(report.table)
        let url = URL(fileURLWithPath: json)
        try report.write(to: url)
        print("  json: \(Chapter.relativePath(url.path))")
        let plot = Plot.line([Series("attention forward + backward", x: scaling.map { Double($0.0) }, y: scaling.map(\.1))],
                             title: "Attention cost against sequence length (B = 1, H = 6, D = 64): the T² term",
                             xLabel: "sequence length T", yLabel: "milliseconds", logX: true, logY: true, points: true)
        if let png = try Plotter(directory: url.deletingLastPathComponent()).save(plot, as: "attention-vs-length") {
            print("  plot: \(Chapter.relativePath(png.path))")
        }
    }
}
