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
        print(report.table)
        let url = URL(fileURLWithPath: json)
        try report.write(to: url)
        print("  json: \(Chapter.relativePath(url.path))")
    }
}
