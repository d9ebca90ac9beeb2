// Introduced in Chapter 08. Decoding one token reads every weight once, so memory bandwidth caps
// batch-1 generation: this probe times a plain SIMD pass over as many bytes as a model has, the figure
// `llm bench` and Chapter 08 divide decoding speed by.

import Foundation

/// Memory bandwidth as batch-1 decoding sees it: a dot product of a buffer the size of the model's
/// weights with itself, split over the same workers and pool as the matrix-vector products, so every
/// byte comes from memory (or the last-level cache, as the weights do) once per pass. Timed between
/// generation runs so that this machine's load swings move both sides of the ratio alike.
public struct StreamProbe {
    let buffer: Tensor

    public init(bytes: Int) {
        buffer = Tensor(zeros: [max(1, bytes / MemoryLayout<Float>.size)])
        buffer.base.update(repeating: 1e-3, count: buffer.count)      // touch every page before timing
    }

    /// The best of three passes, in GB/s, at the calling thread's `Parallel.threads`.
    public func gigabytesPerSecond() -> Double {
        let count = buffer.count, base = buffer.base
        var best = Double.infinity, sink: Float = 0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            let blocks = (count + (1 << 16) - 1) >> 16
            let partial = Tensor(zeros: [blocks])
            Parallel.forEach(blocks, fineGrained: true) { range in
                for block in range {
                    let from = block << 16, n = min(1 << 16, count - from)
                    partial.base[block] = Kernels.dot(base + from, base + from, count: n)
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            sink += partial.base[0]
        }
        withExtendedLifetime(sink) {}
        return Double(count * MemoryLayout<Float>.size) / best / 1e9
    }
}
