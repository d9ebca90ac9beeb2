// Introduced in Chapter 00. `make bench` / `llm bench`: speed figures as ratios from one run.
//
// The first row is the machine's own sgemm peak (1024³, OpenBLAS alone); every later figure that
// involves products is reported against it, so the numbers mean the same on a laptop and on CI.
// Later chapters append their rows (tokenizer MB/s, training tokens/s and MFU, generation tokens/s).

import CBLAS
import Foundation
import LLMCore

/// One measured figure.
public struct BenchmarkRow: Codable, Sendable {
    public let name: String
    public let value: Double
    public let unit: String
    /// Context: the ratio to the sgemm peak, the shape, the threads.
    public let note: String
}

/// A benchmark run: rows in order, the machine's threads, and when.
public struct BenchmarkReport: Codable, Sendable {
    public var threads: Int
    public var date: String
    public var rows: [BenchmarkRow] = []
    /// The sgemm peak (GFLOP/s) measured in this run: the denominator of every MFU.
    public var peak: Double = 0

    public init(threads: Int) {
        self.threads = threads
        date = ISO8601DateFormatter().string(from: Date())
    }

    public mutating func add(_ name: String, _ value: Double, _ unit: String, _ note: String = "") {
        rows.append(BenchmarkRow(name: name, value: value, unit: unit, note: note))
    }

    public func value(_ name: String) -> Double? { rows.first { $0.name == name }?.value }

    /// The table printed on standard output.
    public var table: String {
        Console.table(["benchmark", "value", "unit", "note"],
                      rows.map { [$0.name, String(format: $0.value >= 100 ? "%.1f" : "%.3f",
                                                  $0.value), $0.unit, $0.note] })
    }

    /// Writes the report as pretty JSON (atomically).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(try encoder.encode(self), to: url)
    }
}

public enum Benchmarks {
    /// The median wall time of `body` over `repeats` runs after one warm-up run.
    public static func medianSeconds(repeats: Int, _ body: () -> Void) -> Double {
        body()
        return median((0..<max(repeats, 1)).map { _ in seconds(body) })
    }

    /// The wall time of one run of `body`.
    static func seconds(_ body: () throws -> Void) rethrows -> Double { try Stopwatch.seconds(body) }

    /// The median of some timings.
    static func median(_ times: [Double]) -> Double { Stopwatch.median(times) }

    /// The sgemm peak at size³: OpenBLAS's own threads and our split, both reported; the faster is the peak.
    public static func foundationPeak(into report: inout BenchmarkReport, repeats: Int, size: Int = 1024) {
        let probe = PeakProbe(size: size), n = size
        let split = median((0..<max(repeats, 1)).map { _ in probe.splitSeconds() })
        let raw = median((0..<max(repeats, 1)).map { _ in probe.openBLASSeconds() })
        let openBLASRate = probe.flops / raw / 1e9, splitRate = probe.flops / split / 1e9
        let peak = max(openBLASRate, splitRate)
        report.add("sgemm \(n)³, OpenBLAS threads", openBLASRate, "GFLOP/s",
            openBLASRate >= splitRate ? "peak: every ratio below refers to it" : "")
        report.add("sgemm \(n)³, split over our workers", splitRate, "GFLOP/s",
            splitRate > openBLASRate ? "peak: every ratio below refers to it" : "")
        report.peak = peak

    }

    /// Chapter 00's figures: sgemm peak, the same product through the tape, and the memory-bound
    /// kernels (forward + backward) of LayerNorm, softmax-cross-entropy and GELU on a 4096×512 batch.
    public static func foundation(into report: inout BenchmarkReport, repeats: Int = 10, size: Int = 1024) {
        foundationPeak(into: &report, repeats: repeats, size: size)
        var generator = SeededGenerator(seed: 1)
        let n = size
        let a = Tensor.randomNormal([n, n], using: &generator), b = Tensor.randomNormal([n, n], using: &generator)
        let c = Tensor(zeros: [n, n])
        let flops = 2 * Double(n) * Double(n) * Double(n)
        let peak = report.peak
        let va = Variable(a), vb = Variable(b)
        let throughTape = medianSeconds(repeats: repeats) { _ = Tape.inference.matmul(va, vb) }
        let tapeRate = flops / throughTape / 1e9
        report.add("matmul \(n)³ via Tape", tapeRate, "GFLOP/s",
            String(format: "%.1f%% of sgemm", 100 * tapeRate / peak))

        let pa = Variable.parameter(a), pb = Variable.parameter(b)
        let withBackward = medianSeconds(repeats: max(repeats / 2, 1)) {
            let tape = Tape()
            let out = tape.matmul(pa, pb)
            tape.backward(out, seed: c)
            pa.grad = nil
            pb.grad = nil
        }
        let backwardRate = 3 * flops / withBackward / 1e9
        report.add("matmul \(n)³ fwd+bwd via Tape", backwardRate, "GFLOP/s",
            String(format: "%.1f%% of sgemm (3 products)", 100 * backwardRate / peak))

        // Memory-bound kernels: bytes = every tensor read or written once, forward and backward.
        let rows = 4096, columns = 512
        let x = Variable.parameter(Tensor.randomNormal([rows, columns], using: &generator))
        let w = Variable.parameter(Tensor(shape: [columns], repeating: 1)),
            bias = Variable.parameter(Tensor(zeros: [columns]))
        let seed = Tensor.randomNormal([rows, columns], using: &generator)
        let elementBytes = Double(rows * columns * 4)
        func kernel(_ name: String, bytes: Double, _ body: (Tape) -> Void) {
            let seconds = medianSeconds(repeats: repeats) {
                let tape = Tape()
                body(tape)
                x.grad = nil; w.grad = nil; bias.grad = nil
            }
            report.add("\(name) fwd+bwd \(rows)×\(columns)", bytes / seconds / 1e9, "GB/s",
                       String(format: "%.2f ms", seconds * 1000))
        }
        // forward reads x, writes y (+ x̂); backward reads dy, x̂, writes dx
        kernel("layerNorm", bytes: 6 * elementBytes) { tape in
            tape.backward(tape.layerNorm(x, weight: w, bias: bias), seed: seed)
        }
        let targets = (0..<rows).map { $0 % columns }
        // forward reads logits, writes probabilities; backward reads probabilities, writes dlogits
        kernel("softmax-cross-entropy", bytes: 4 * elementBytes) { tape in
            tape.backward(tape.crossEntropy(x, targets: targets))
        }
        let geluForward = medianSeconds(repeats: repeats) { _ = Tape.inference.gelu(x) }
        report.add("gelu forward \(rows)×\(columns)", 2 * elementBytes / geluForward / 1e9, "GB/s",
            String(format: "%.2f ms", geluForward * 1000))
        // forward reads x, writes y; backward reads dy, x, reads and writes dx
        kernel("gelu", bytes: 6 * elementBytes) { tape in
            tape.backward(tape.gelu(x), seed: seed)
        }
    }
}
