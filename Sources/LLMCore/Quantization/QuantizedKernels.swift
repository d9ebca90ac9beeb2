// Introduced in Chapter 07. y = x·Wᵀ for a few rows x against a quantized W, without expanding W:
//
//     y[o] = Σ_blocks d_b · (Σ_j q_j·x_j − z_b·Σ_j x_j)        (the block's levels q, step d, zero z)
//
// Two kernels. `multiply` reads W's integers, turns them into floats in SIMD registers and multiplies them
// with the Float32 activations: W is read once per row of x at 1 byte (int8) or half a byte (int4) per
// number instead of 4 — decoding at batch 1 is limited by how fast the weights stream from memory, so this
// is where the speed comes from. `multiplyInt8` also quantizes the activations, per block and row, to int8
// (as llama2.c's runq.c and llama.cpp's Q8_0 activations do) and sums q_w·q_x in int32, scaling once per
// block: fewer float operations, one more rounding.
// Each output row is independent, so the two cores split the rows of W.

extension QuantizedMatrix {
    /// Rows of x below this go through the kernels (decoding, a few-row prefill); more rows dequantize W once
    /// and use sgemm, which is then faster.
    public static let kernelRowLimit = 8

    /// y (m, rows) = x (m, columns) · Wᵀ, dequantizing on the fly.
    public func multiply(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>) {
        let sums = blockSums(x, m: m)
        let vectorized = scheme.bits == 8 ? blockSize % 16 == 0 : blockSize % 32 == 0
        quants.withUnsafeBufferPointer { q in
            let base = UnsafeRawPointer(q.baseAddress!)
            Parallel.forEach(rows, minimumPerWorker: max(1, 32_768 / max(columns, 1))) { outputs in
                for o in outputs {
                    let row = base + o * rowBytes
                    for r in 0..<m {
                        let xr = x + r * columns
                        var total: Float = 0
                        for b in 0..<blocksPerRow {
                            let block = o * blocksPerRow + b
                            let dot = vectorized ? dotSIMD(row, block: b, xr + b * blockSize)
                                : dotScalar(row: o, block: b, xr + b * blockSize)
                            let z = zero(block)
                            let centred = z == 0 ? dot : dot - Float(z) * sums[r * blocksPerRow + b]
                            total += steps[block] * centred
                        }
                        y[r * rows + o] = total
                    }
                }
            }
        }
    }

    /// Σ x over each block of each row of x (for the zero point's term).
    private func blockSums(_ x: UnsafePointer<Float>, m: Int) -> [Float] {
        if scheme.bits == 8 && scheme.symmetric { return [] }
        var sums = [Float](repeating: 0, count: m * blocksPerRow)
        for r in 0..<m {
            for b in 0..<blocksPerRow {
                var s: Float = 0
                let start = x + r * columns + b * blockSize
                for j in 0..<blockSize { s += start[j] }
                sums[r * blocksPerRow + b] = s
            }
        }
        return sums
    }

    /// Σ_j q_j·x_j over block `block` of row `row` (levels before subtracting z), 16 lanes at a time.
    @inline(__always)
    private func dotSIMD(_ raw: UnsafeRawPointer, block: Int, _ x: UnsafePointer<Float>) -> Float {
        do {
            var acc = SIMD16<Float>()
            if scheme.bits == 8 {
                let start = raw + block * blockSize
                for k in stride(from: 0, to: blockSize, by: 16) {
                    let levels: SIMD16<Float>
                    if scheme.symmetric {
                        levels = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded:
                                                                (start + k).loadUnaligned(as: SIMD16<Int8>.self)))
                    } else {
                        levels = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded:
                                                                (start + k).loadUnaligned(as: SIMD16<UInt8>.self)))
                    }
                    let xv = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self)
                    acc.addProduct(levels, xv)
                }
            } else {
                let half = blockSize / 2
                let start = raw + block * half
                for k in stride(from: 0, to: half, by: 16) {
                    let bytes = (start + k).loadUnaligned(as: SIMD16<UInt8>.self)
                    let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes & 0x0F))
                    let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes &>> 4))
                    acc.addProduct(low, UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self))
                    acc.addProduct(high, UnsafeRawPointer(x + half + k).loadUnaligned(as: SIMD16<Float>.self))
                }
            }
            return acc.sum()
        }
    }

    /// The same sum, one element at a time (blocks whose size is not a multiple of the SIMD width).
    private func dotScalar(row: Int, block: Int, _ x: UnsafePointer<Float>) -> Float {
        var s: Float = 0
        let base = row * rowBytes
        for j in 0..<blockSize {
            let level: Int
            if scheme.bits == 8 {
                let byte = quants[base + block * blockSize + j]
                level = scheme.symmetric ? Int(Int8(bitPattern: byte)) : Int(byte)
            } else {
                let half = blockSize / 2
                let byte = quants[base + block * half + j % half]
                level = Int(j < half ? byte & 0x0F : byte >> 4)
            }
            s += Float(level) * x[j]
        }
        return s
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
        let int4 = scheme.bits == 4
        xq.withUnsafeBufferPointer { xqp in
            quants.withUnsafeBufferPointer { q in
                let qBase = UnsafeRawPointer(q.baseAddress!), xBase = UnsafeRawPointer(xqp.baseAddress!)
                Parallel.forEach(rows, minimumPerWorker: max(1, 32_768 / max(columns, 1))) { outputs in
                    for o in outputs {
                        for r in 0..<m {
                            var total: Float = 0
                            for b in 0..<blocksPerRow {
                                let xs = xBase + r * columns + b * blockSize
                                var acc = SIMD16<Int32>()
                                if int4 {
                                    let half = blockSize / 2
                                    let ws = qBase + o * rowBytes + b * half
                                    for k in stride(from: 0, to: half, by: 16) {
                                        let bytes = (ws + k).loadUnaligned(as: SIMD16<UInt8>.self)
                                        let low = SIMD16<Int16>(truncatingIfNeeded: bytes & 0x0F) &- 8
                                        let high = SIMD16<Int16>(truncatingIfNeeded: bytes &>> 4) &- 8
                                        let xl = SIMD16<Int16>(truncatingIfNeeded:
                                                                (xs + k).loadUnaligned(as: SIMD16<Int8>.self))
                                        let xh = SIMD16<Int16>(truncatingIfNeeded:
                                                                (xs + half + k).loadUnaligned(as: SIMD16<Int8>.self))
                                        acc &+= SIMD16<Int32>(truncatingIfNeeded: low &* xl &+ high &* xh)
                                    }
                                } else {
                                    let ws = qBase + o * rowBytes + b * blockSize
                                    for k in stride(from: 0, to: blockSize, by: 16) {
                                        let w = SIMD16<Int16>(truncatingIfNeeded:
                                                                (ws + k).loadUnaligned(as: SIMD16<Int8>.self))
                                        let xv = SIMD16<Int16>(truncatingIfNeeded:
                                                                (xs + k).loadUnaligned(as: SIMD16<Int8>.self))
                                        acc &+= SIMD16<Int32>(truncatingIfNeeded: w &* xv)
                                    }
                                }
                                let scale = steps[o * blocksPerRow + b]
                                total += scale * xd[r * blocksPerRow + b] * Float(acc.wrappedSum())
                            }
                            y[r * rows + o] = total
                        }
                    }
                }
            }
        }
    }
}
