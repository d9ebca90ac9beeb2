// Introduced in Chapter 04. The machine's sgemm peak, timed the way every MFU figure in the course divides
// by it (the training loop's progress line, `llm bench`), and a stopwatch.

import CBLAS
import Foundation

/// One sgemm of size³, timed two ways: split over our workers (OpenBLAS single-threaded in each, how
/// the core calls it) and raw `cblas_sgemm` on OpenBLAS's own threads. The faster of the two is the
/// peak every ratio refers to, so no ratio can flatter the core.
public struct PeakProbe {
    public let n: Int
    let a: Tensor, b: Tensor, c: Tensor
    public var flops: Double { 2 * Double(n) * Double(n) * Double(n) }

    public init(size: Int) {
        var generator = SeededGenerator(seed: 1)
        n = size
        a = Tensor.randomNormal([n, n], using: &generator)
        b = Tensor.randomNormal([n, n], using: &generator)
        c = Tensor(zeros: [n, n])
    }

    /// Each timing is of a second, back-to-back product: the first brings A, B and C into cache, as
    /// a peak measurement should (a cold product after a training step ran ~8% slower and would
    /// flatter every ratio).
    public func splitSeconds() -> Double {
        let product = { BLAS.gemm(transposeA: false, transposeB: false, m: n, n: n, k: n, a: a.base,
                                  b: b.base, beta: 0, c: c.base) }
        product()
        return Stopwatch.seconds(product)
    }

    /// Leaves OpenBLAS single-threaded again and waits for its threads to stop spinning (they
    /// sched_yield for a while after each product), so the next measurement is not disturbed.
    public func openBLASSeconds() -> Double {
        openblas_set_num_threads(Int32(Parallel.threads))
        let product = {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                        a.base, Int32(n), b.base, Int32(n), 0, c.base, Int32(n))
        }
        product()
        let time = Stopwatch.seconds(product)
        Parallel.resetBLASThreads()
        Thread.sleep(forTimeInterval: 0.3)
        return time
    }
}


public enum SgemmPeak {
    /// A quick sgemm peak (GFLOP/s) for MFU in progress bars: the faster of OpenBLAS's threads and our
    /// split, 1024³, median of three each.
    public static func measure(size: Int = 1024) -> Double {
        let probe = PeakProbe(size: size)
        let split = Stopwatch.median((0..<3).map { _ in probe.splitSeconds() })
        let raw = Stopwatch.median((0..<3).map { _ in probe.openBLASSeconds() })
        return probe.flops / min(split, raw) / 1e9
    }
}

public enum Stopwatch {
    /// The wall time of one run of `body`.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The median of some timings.
    public static func median(_ times: [Double]) -> Double { times.sorted()[times.count / 2] }
}
