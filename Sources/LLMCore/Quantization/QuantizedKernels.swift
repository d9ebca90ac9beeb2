// Introduced in Chapter 07. y = x·Wᵀ for a few rows x against a quantized W, without expanding W:
//
//     y[o] = Σ_blocks d_b · (Σ_j q_j·x_j − z_b·Σ_j x_j)        (the block's levels q, step d, zero z)
//
// Two kernels. `multiply` expands one row of W at a time into Float32 in a buffer that stays in the L1
// cache and dots it with the activations: W comes from memory at 1 byte (int8) or half a byte (int4) per
// number instead of 4 — decoding at batch 1 is limited by how fast the weights stream from memory, so this
// is where the speed comes from. `multiplyInt8` also quantizes the activations, per block and row, to int8
// (as llama2.c's runq.c and llama.cpp's Q8_0 activations do) and sums q_w·q_x in int32, scaling once per
// block: fewer float operations, one more rounding. It never sums a block across its SIMD lanes: the
// lanes are carried to the end of the row (see `Int8Activations`), which made it twice as fast.
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
        // The activations, widened once for every row of W (Q4_0 also in its nibble order).
        let q4 = scheme.bits == 4 && blockSize == 32
        let activations = Int8Activations(levels: xq, scales: xd, perRow: blocksPerRow, nibbleOrder: q4)
        let int4 = scheme.bits == 4, blocks = blocksPerRow, size = blockSize
        quants.withUnsafeBufferPointer { q in
            steps.withUnsafeBufferPointer { wd in
                let wScales = wd.baseAddress!
                let signedLevels = UnsafeRawPointer(q.baseAddress!).assumingMemoryBound(to: Int8.self)
                Parallel.forEach(rows, minimumPerWorker: minimumRows, fineGrained: true) { outputs in
                    // Int4 with blocks other than 32: each row's q − 8 unpacked into a small Int8 buffer.
                    withUnsafeTemporaryAllocation(of: Int8.self, capacity: columns) { buffer in
                        let unpacked = buffer.baseAddress!
                        var outputs = outputs
                        if !int4 && size == 32 {       // Q8_0: two rows of W at a time share each load of x
                            while outputs.count >= 2 {
                                let o = outputs.lowerBound
                                for r in 0..<m {
                                    (y[r * rows + o], y[r * rows + o + 1]) = activations.q8Dot2(
                                        signedLevels + o * rowBytes, rowBytes: rowBytes, row: r,
                                        wScales: wScales + o * blocks)
                                }
                                outputs = o + 2..<outputs.upperBound
                            }
                        }
                        for o in outputs {
                            let bytes = q.baseAddress! + o * rowBytes, ws = wScales + o * blocks
                            if q4 {                                         // Q4_0: straight from the nibbles
                                for r in 0..<m { y[r * rows + o] = activations.q4Dot(bytes, row: r, wScales: ws) }
                                continue
                            }
                            let w: UnsafePointer<Int8>
                            if int4 {
                                let half = size / 2
                                for b in 0..<blocks {
                                    let source = bytes + b * half, target = unpacked + b * size
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
                                y[r * rows + o] = activations.int8Dot(w, row: r, blockSize: size, wScales: ws)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One call's activations, quantized and widened once for every row of W, and the dot products of one row
/// of W against them. No horizontal sum per block: 32 levels of W are read as 16 Int16 lanes of two bytes
/// each, shifts sign-extend the even and the odd byte of every lane, and w_even·x_even + w_odd·x_odd per
/// lane is two Int16 multiplies and fits (|w| ≤ 128, |x| ≤ 127: at most 32 512). Pairs of lanes are then
/// summed into 8 Int32 lanes (what x86's `pmaddwd` does in one instruction); per block those 8 sums, below
/// 2²² in size, become Float exactly (`exactFloat`) and are scaled into Float lanes: one horizontal sum per
/// row. Swift's generic SIMD conversions compile to calls — ten times slower here — hence the shifts.
final class Int8Activations: @unchecked Sendable {
    let spread: UnsafeMutableBufferPointer<Int16>, scales: UnsafeMutableBufferPointer<Float>
    let nibbles: UnsafeMutableBufferPointer<Int16>, corrections: UnsafeMutableBufferPointer<Int32>
    let perRow: Int

    /// Widens `levels` (m rows of `perRow` blocks of 32) into the layouts the kernels read, once per call,
    /// straight into the buffers: `spread` for int8 weights, and with `nibbleOrder` also Q4_0's.
    init(levels: [Int8], scales: [Float], perRow: Int, nibbleOrder: Bool) {
        func buffer<T: FixedWidthInteger>(_ count: Int, _: T.Type) -> UnsafeMutableBufferPointer<T> {
            let b = UnsafeMutableBufferPointer<T>.allocate(capacity: max(count, 1))
            b.initialize(repeating: 0)
            return b
        }
        // (Q4_0 blocks are 32 numbers, so with `nibbleOrder` a row of x is perRow · 32 levels.)
        let rows = nibbleOrder ? levels.count / max(perRow * 32, 1) : 0, pairs = perRow / 2
        self.perRow = perRow
        self.scales = .allocate(capacity: max(scales.count, 1))
        _ = self.scales.initialize(from: scales)
        // x's levels as Int16, per 32: the 16 at even places, then the 16 at odd places — the halves
        // `chunk` multiplies W's even and odd bytes by.
        spread = buffer(levels.count, Int16.self)
        for start in stride(from: 0, to: levels.count, by: 32) {
            for l in 0..<16 {
                spread[start + l] = Int16(levels[start + 2 * l])
                spread[start + 16 + l] = Int16(levels[start + 2 * l + 1])
            }
        }
        // For `q4Dot`: per pair of blocks (b, b + 1) of a row, 64 Int16 in the order the pair's 32 Q4_0 bytes,
        // read as 16 Int16 lanes, yield their nibbles — lane i holds bytes 2i and 2i + 1 of the pair, that is
        // elements j = 2i mod 16 and j + 1 of block b + i / 8 in its low nibbles and j + 16, j + 17 in its high
        // ones. Also 8·Σx per block, in Int32 lane 0 (block b) and lane 4 (block b + 1) of 8: Q4_0's −8.
        nibbles = buffer(rows * pairs * 64, Int16.self)
        corrections = buffer(rows * pairs * 8, Int32.self)
        for r in 0..<rows {
            for p in 0..<pairs {
                let out = (r * pairs + p) * 64, first = (r * perRow + 2 * p) * 32
                for i in 0..<16 {
                    let block = first + (i / 8) * 32, j = (2 * i) % 16
                    nibbles[out + i] = Int16(levels[block + j])
                    nibbles[out + 16 + i] = Int16(levels[block + j + 1])
                    nibbles[out + 32 + i] = Int16(levels[block + j + 16])
                    nibbles[out + 48 + i] = Int16(levels[block + j + 17])
                }
                for half in 0..<2 {
                    let block = first + half * 32
                    var sum: Int32 = 0
                    for j in 0..<32 { sum &+= Int32(levels[block + j]) }
                    corrections[(r * pairs + p) * 8 + 4 * half] = 8 * sum
                }
            }
        }
    }

    deinit {
        spread.deallocate(); scales.deallocate(); nibbles.deallocate(); corrections.deallocate()
    }

    /// Σ_b d_w,b·d_x,b·Σ_j w_j·x_j: one row of int8 levels (blocks of 32·k) against row `row` of x.
    @inline(__always)
    func int8Dot(_ w: UnsafePointer<Int8>, row: Int, blockSize: Int, wScales: UnsafePointer<Float>) -> Float {
        let x = UnsafePointer(spread.baseAddress! + row * perRow * blockSize)
        let xScales = UnsafePointer(scales.baseAddress! + row * perRow)
        @inline(__always) func block(_ b: Int) -> SIMD8<Float> {
            var lanes: SIMD8<Int32>
            if blockSize == 32 {                                     // Q8_0: one chunk, no inner loop
                lanes = Self.chunk(UnsafeRawPointer(w + b * 32).loadUnaligned(as: SIMD16<Int16>.self), x + b * 32)
            } else {
                // A long block (per-channel: the whole row) could outgrow exactFloat's 2²²: each 32 adds at
                // most 65 024 to a lane, so the lanes move into Float every 1 024 numbers.
                var sums = SIMD8<Float>()
                var c = b * blockSize
                while c < (b + 1) * blockSize {
                    lanes = SIMD8<Int32>()
                    for d in stride(from: c, to: min(c + 1024, (b + 1) * blockSize), by: 32) {
                        lanes &+= Self.chunk(UnsafeRawPointer(w + d).loadUnaligned(as: SIMD16<Int16>.self), x + d)
                    }
                    sums += Self.exactFloat(lanes)
                    c += 1024
                }
                return sums * (wScales[b] * xScales[b])
            }
            return Self.exactFloat(lanes) * (wScales[b] * xScales[b])
        }
        var first = SIMD8<Float>(), second = SIMD8<Float>()      // two accumulators: blocks need not wait
        var b = 0
        while b + 1 < perRow {
            first += block(b)
            second += block(b + 1)
            b += 2
        }
        if b < perRow { first += block(b) }
        return (first + second).sum()
    }

    /// `int8Dot` for two consecutive rows of Q8_0 levels (`rowBytes` apart) at once: each 32 of x is
    /// loaded once for both, and the two rows' sums are independent chains.
    @inline(__always)
    func q8Dot2(_ w: UnsafePointer<Int8>, rowBytes: Int, row: Int,
                wScales: UnsafePointer<Float>) -> (Float, Float) {
        let x = UnsafePointer(spread.baseAddress! + row * perRow * 32)
        let xScales = UnsafePointer(scales.baseAddress! + row * perRow)
        var first = SIMD8<Float>(), second = SIMD8<Float>()
        for b in 0..<perRow {
            let even = Self.load(x + b * 32), odd = Self.load(x + b * 32 + 16)
            let w0 = UnsafeRawPointer(w + b * 32).loadUnaligned(as: SIMD16<Int16>.self)
            let w1 = UnsafeRawPointer(w + rowBytes + b * 32).loadUnaligned(as: SIMD16<Int16>.self)
            let p0 = Self.pairSums(((w0 &<< 8) &>> 8) &* even &+ (w0 &>> 8) &* odd)
            let p1 = Self.pairSums(((w1 &<< 8) &>> 8) &* even &+ (w1 &>> 8) &* odd)
            first += Self.exactFloat(p0) * (wScales[b] * xScales[b])
            second += Self.exactFloat(p1) * (wScales[perRow + b] * xScales[b])
        }
        return (first.sum(), second.sum())
    }

    /// The same for one row of Q4_0 blocks (16 bytes: element j in the low nibble of byte j, j + 16 in the
    /// high one, value q − 8), two blocks — 32 bytes, 64 nibbles — at a time: four masks and shifts of the
    /// 16 Int16 lanes give the four nibbles of each lane, which meet x in the nibble layout `init` wrote; q ≤ 15, so
    /// four products add up within Int16, and Σ(q − 8)·x = Σq·x − 8·Σx. An odd last block goes on its own.
    @inline(__always)
    func q4Dot(_ bytes: UnsafePointer<UInt8>, row: Int, wScales: UnsafePointer<Float>) -> Float {
        let pairs = perRow / 2, xScales = UnsafePointer(scales.baseAddress! + row * perRow)
        let x = UnsafePointer(nibbles.baseAddress! + row * pairs * 64)
        let fixes = UnsafePointer(corrections.baseAddress! + row * pairs * 8)
        let mask = SIMD16<Int16>(repeating: 0x0F)
        var total = SIMD8<Float>()
        for p in 0..<pairs {
            let v = UnsafeRawPointer(bytes + p * 32).loadUnaligned(as: SIMD16<Int16>.self), xs = x + p * 64
            var sums = (v & mask) &* Self.load(xs)
            sums &+= ((v &>> 8) & mask) &* Self.load(xs + 16)
            sums &+= ((v &>> 4) & mask) &* Self.load(xs + 32)
            sums &+= ((v &>> 12) & mask) &* Self.load(xs + 48)
            let lanes = Self.pairSums(sums) &- UnsafeRawPointer(fixes + p * 8).loadUnaligned(as: SIMD8<Int32>.self)
            let b = 2 * p
            let scale = SIMD8<Float>(lowHalf: SIMD4(repeating: wScales[b] * xScales[b]),
                                     highHalf: SIMD4(repeating: wScales[b + 1] * xScales[b + 1]))
            total += Self.exactFloat(lanes) * scale
        }
        if perRow % 2 == 1 {
            let b = perRow - 1
            let packed = UnsafeRawPointer(bytes + b * 16).loadUnaligned(as: SIMD16<UInt8>.self)
            // q − 8 as a signed byte (wrapping UInt8 arithmetic); low nibbles then high ones, in order.
            let low = (packed & 0x0F) &- 8, high = (packed &>> 4) &- 8
            let levels = SIMD16<Int16>(lowHalf: unsafeBitCast(low, to: SIMD8<Int16>.self),
                                       highHalf: unsafeBitCast(high, to: SIMD8<Int16>.self))
            let xs = UnsafePointer(spread.baseAddress! + (row * perRow + b) * 32)
            total += Self.exactFloat(Self.chunk(levels, xs)) * (wScales[b] * xScales[b])
        }
        return total.sum()
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Int16>) -> SIMD16<Int16> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int16>.self)
    }

    /// 32 weights (two signed bytes per Int16 lane) against 32 spread activations: 8 Int32 partial sums.
    @inline(__always)
    static func chunk(_ w: SIMD16<Int16>, _ x: UnsafePointer<Int16>) -> SIMD8<Int32> {
        pairSums(((w &<< 8) &>> 8) &* load(x) &+ (w &>> 8) &* load(x + 16))
    }

    /// 16 Int16 lanes → 8 Int32 lanes, each the sum of a lane pair (shifts sign-extend each half).
    @inline(__always)
    static func pairSums(_ v: SIMD16<Int16>) -> SIMD8<Int32> {
        let pairs = unsafeBitCast(v, to: SIMD8<Int32>.self)
        return ((pairs &<< 16) &>> 16) &+ (pairs &>> 16)
    }

    /// Int32 lanes below 2²² in size as Float, exactly: 1.5·2²³ + v has v in its low mantissa bits.
    @inline(__always)
    static func exactFloat(_ v: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast(v &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912
    }
}
