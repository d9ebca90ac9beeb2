// Introduced in Chapter 07. y = x·Wᵀ for a few rows x against a quantized W, without expanding W:
//
//     y[o] = Σ_blocks d_b · (Σ_j q_j·x_j − z_b·Σ_j x_j)        (the block's levels q, step d, zero z)
//
// Two kernels. `multiply` expands one row of W at a time into Float32 in a buffer that stays in the L1
// cache and dots it with the activations: W comes from memory at 1 byte (int8) or half a byte (int4) per
// number instead of 4 — decoding at batch 1 is limited by how fast the weights stream from memory, so this
// is where the speed comes from. `multiplyInt8` also quantizes the activations, per block and row, to int8
// (as llama2.c's runq.c and llama.cpp's Q8_0 activations do) and sums q_w·q_x in int32, scaling once per
// block: fewer float operations, one more rounding.
// Each output row is independent, so the two cores split the rows of W, on the spinning worker pool.

extension QuantizedMatrix {
    /// Rows of x below this go through the kernels (decoding, a few-row prefill); more rows dequantize W once
    /// and use sgemm, which is then faster.
    public static let kernelRowLimit = 8

    /// Rows of W per task (about 32 K numbers): decoding's loops are short and many, so they run on the
    /// spinning worker pool (`fineGrained`), as the Float32 matrix-vector product does.
    var minimumRows: Int { max(1, 32_768 / max(columns, 1)) }

    /// y (m, rows) = x (m, columns) · Wᵀ, dequantizing on the fly: each row of W is expanded into a small
    /// Float32 buffer that stays in the L1 cache ((q − z)·d, a loop the compiler vectorizes), then dotted with
    /// every row of x — W's integers are read once per call, whatever m is.
    public func multiply(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        quants.withUnsafeBufferPointer { q in
            steps.withUnsafeBufferPointer { d in
                let base = q.baseAddress!, scale = d.baseAddress!
                Parallel.forEach(rows, minimumPerWorker: minimumRows, fineGrained: true) { outputs in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { buffer in
                        let row = buffer.baseAddress!
                        for o in outputs {
                            expand(row: o, from: base + o * rowBytes, scales: scale + o * blocksPerRow, into: row)
                            for r in 0..<m { y[r * rows + o] = Kernels.dot(row, x + r * columns, count: columns) }
                        }
                    }
                }
            }
        }
    }

    /// Row `row` of W as Float32: (q − z)·d for every element.
    @inline(__always)
    private func expand(row: Int, from bytes: UnsafePointer<UInt8>, scales: UnsafePointer<Float>,
                        into out: UnsafeMutablePointer<Float>) {
        let size = blockSize, half = blockSize / 2
        for b in 0..<blocksPerRow {
            let d = scales[b], z = Int32(zero(row * blocksPerRow + b))
            let target = out + b * size
            if scheme.bits == 8 {
                let source = bytes + b * size
                if scheme.symmetric {
                    let signed = UnsafeRawPointer(source).assumingMemoryBound(to: Int8.self)
                    for j in 0..<size { target[j] = Float(Int32(signed[j])) * d }
                } else {
                    for j in 0..<size { target[j] = Float(Int32(source[j]) - z) * d }
                }
            } else {
                let source = bytes + b * half
                for j in 0..<half {
                    target[j] = Float(Int32(source[j] & 0x0F) - z) * d
                    target[j + half] = Float(Int32(source[j] >> 4) - z) * d
                }
            }
        }
    }

    /// Whether `multiplyInt8` applies: a symmetric scheme whose blocks are a multiple of 32.
    public var supportsInt8Activations: Bool { scheme.symmetric && blockSize % 32 == 0 }

    /// y = x·Wᵀ with x quantized to int8 per block of each row (d_x = max|x|/127) and int32 sums:
    /// y[o] = Σ_b d_b·d_x,b·Σ_j (q_j − z)·q_x,j. Only for `supportsInt8Activations`.
    public func multiplyInt8(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        precondition(supportsInt8Activations, "multiplyInt8 needs a symmetric scheme with blocks of 32·k")
        var xq = [Int8](repeating: 0, count: m * columns)
        var xd = [Float](repeating: 0, count: m * blocksPerRow)
        for r in 0..<m {
            for b in 0..<blocksPerRow {
                let start = x + r * columns + b * blockSize
                var largest: Float = 0
                for j in 0..<blockSize { largest = max(largest, abs(start[j])) }
                let d = largest / 127, inverse: Float = largest == 0 ? 0 : 127 / largest
                xd[r * blocksPerRow + b] = d
                for j in 0..<blockSize {
                    xq[r * columns + b * blockSize + j] = Int8((start[j] * inverse).rounded())
                }
            }
        }
        // Σ_j q_x,j per block of each row: Q4_0's −8 is then applied once per block,
        // Σ(q − 8)·x = Σq·x − 8·Σx.
        var xSums = [Int32](repeating: 0, count: m * blocksPerRow)
        for r in 0..<m {
            for b in 0..<blocksPerRow {
                var sum: Int32 = 0
                for j in 0..<blockSize { sum &+= Int32(xq[r * columns + b * blockSize + j]) }
                xSums[r * blocksPerRow + b] = sum
            }
        }
        let (xScales, xTotals) = (xd, xSums)
        /// One row of a Q4_0 matrix against one int8 row of x: per block, Σ lo·x_j + hi·x_{j+16} over its 16
        /// bytes (a fixed trip count the compiler unrolls and vectorizes), minus 8·Σx, times d·d_x.
        func q4Dot(_ bytes: UnsafePointer<UInt8>, scales: Int, xq: UnsafePointer<Int8>, xd: Int) -> Float {
            var total: Float = 0
            for b in 0..<blocksPerRow {
                let source = bytes + b * 16, xs = xq + b * 32
                var acc: Int32 = 0
                for j in 0..<16 {
                    acc &+= Int32(source[j] & 0x0F) &* Int32(xs[j]) &+ Int32(source[j] >> 4) &* Int32(xs[j + 16])
                }
                acc &-= 8 &* xTotals[xd + b]
                total += steps[scales + b] * xScales[xd + b] * Float(acc)
            }
            return total
        }
        // Per row of W: its levels as Int8 (int4: q − 8, unpacked into a small buffer), then plain integer
        // loops — Σ Int32(w)·Int32(x) is associative, so the compiler vectorizes it (widening multiply-adds).
        let int4 = scheme.bits == 4
        xq.withUnsafeBufferPointer { xqp in
            quants.withUnsafeBufferPointer { q in
                let xBase = xqp.baseAddress!
                let signedLevels = UnsafeRawPointer(q.baseAddress!).assumingMemoryBound(to: Int8.self)
                Parallel.forEach(rows, minimumPerWorker: minimumRows, fineGrained: true) { outputs in
                    withUnsafeTemporaryAllocation(of: Int8.self, capacity: columns) { buffer in
                        let unpacked = buffer.baseAddress!
                        for o in outputs {
                            if int4 && blockSize == 32 {                 // Q4_0: straight from the nibbles
                                let bytes = q.baseAddress! + o * rowBytes
                                for r in 0..<m {
                                    y[r * rows + o] = q4Dot(bytes, scales: o * blocksPerRow,
                                                            xq: xBase + r * columns, xd: r * blocksPerRow)
                                }
                                continue
                            }
                            let w: UnsafePointer<Int8>
                            if int4 {
                                let bytes = q.baseAddress! + o * rowBytes, half = blockSize / 2
                                for b in 0..<blocksPerRow {
                                    let source = bytes + b * half, target = unpacked + b * blockSize
                                    for j in 0..<half {
                                        target[j] = Int8(truncatingIfNeeded: Int16(source[j] & 0x0F) - 8)
                                        target[j + half] = Int8(truncatingIfNeeded: Int16(source[j] >> 4) - 8)
                                    }
                                }
                                w = UnsafePointer(unpacked)
                            } else {
                                w = signedLevels + o * rowBytes
                            }
                            for r in 0..<m {
                                var total: Float = 0
                                for b in 0..<blocksPerRow {
                                    let ws = w + b * blockSize, xs = xBase + r * columns + b * blockSize
                                    var acc: Int32 = 0
                                    if blockSize == 32 {                 // a fixed trip count: fully unrolled
                                        for j in 0..<32 { acc &+= Int32(ws[j]) &* Int32(xs[j]) }
                                    } else {
                                        for j in 0..<blockSize { acc &+= Int32(ws[j]) &* Int32(xs[j]) }
                                    }
                                    total += steps[o * blocksPerRow + b] * xd[r * blocksPerRow + b] * Float(acc)
                                }
                                y[r * rows + o] = total
                            }
                        }
                    }
                }
            }
        }
    }
}
