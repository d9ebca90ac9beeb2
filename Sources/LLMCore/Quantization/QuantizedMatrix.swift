// Introduced in Chapter 07. A weight matrix W (out, in) stored as small integers and a scale per block:
//
//     w ≈ (q − z)·d          q an integer of `bits` bits, d (the step) and z (the zero point) per block
//
// A block is `blockSize` consecutive numbers of one row: the whole tensor (per-tensor: every row shares one
// scale), the whole row (per-output-channel), or a group of 32, 64 or 128 (group-wise). Symmetric schemes
// centre the grid on zero (z fixed: 0 for int8, 8 for int4); asymmetric ones fit it to the block's range
// [min, max] with a zero point z per block.
//
// Layout in memory, row by row, block by block — the bytes GGUF uses, so an export is a copy:
//
//   int8, symmetric, groups of 32 (GGUF Q8_0): per block d as fp16, then 32 int8 values q, w = q·d;
//       d = max|w| / 127, q = round(w / d).                                              2 + 32 = 34 bytes
//   int4, symmetric, groups of 32 (GGUF Q4_0): per block d as fp16, then 16 bytes: element j in the low
//       nibble of byte j, element j + 16 in the high nibble, w = (q − 8)·d; d = m / −8 with m the block's
//       value of largest magnitude (sign kept), q = min(15, ⌊w/d + 8.5⌋).              2 + 16 = 18 bytes
//
// Here the quantized values and the scales are kept in two arrays (`quants`: one row after another, each
// row its blocks' q bytes in the order above; `scales`: the fp16 bit patterns of d, block order), which is
// what a safetensors file stores as two tensors; `ggufBlocks()` interleaves them into GGUF's blocks.
// Groups of 64 and 128 use the same rules with bigger blocks (int4: element j and j + size/2 share a byte).

import Foundation

/// How a matrix is quantized: bits, symmetric or not, and the block each scale covers.
public struct QuantizationScheme: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Granularity: Sendable, Equatable, Hashable {
        case tensor, channel, group(Int)
    }

    public var bits: Int
    public var symmetric: Bool
    public var granularity: Granularity

    public init(bits: Int, symmetric: Bool = true, granularity: Granularity) {
        (self.bits, self.symmetric, self.granularity) = (bits, symmetric, granularity)
    }

    public static let q8_0 = QuantizationScheme(bits: 8, granularity: .group(32))
    public static let q4_0 = QuantizationScheme(bits: 4, granularity: .group(32))

    /// "int8-g32", "int4-g128", "int8-channel", "int8-tensor"; "-asym" for zero-point schemes.
    public var description: String {
        let grain: String
        switch granularity {
        case .tensor: grain = "tensor"
        case .channel: grain = "channel"
        case .group(let size): grain = "g\(size)"
        }
        return "int\(bits)-\(grain)" + (symmetric ? "" : "-asym")
    }

    /// Parses `description`'s form back (nil when it is not one).
    public init?(name: String) {
        var parts = name.split(separator: "-").map(String.init)
        let symmetric = parts.last != "asym"
        if !symmetric { parts.removeLast() }
        guard parts.count == 2, let bits = Int(parts[0].dropFirst(3)), parts[0].hasPrefix("int"),
              bits == 8 || bits == 4 else { return nil }
        let granularity: Granularity
        switch parts[1] {
        case "tensor": granularity = .tensor
        case "channel": granularity = .channel
        case let g where g.hasPrefix("g"):
            guard let size = Int(g.dropFirst()), size > 0 else { return nil }
            granularity = .group(size)
        default: return nil
        }
        self.init(bits: bits, symmetric: symmetric, granularity: granularity)
    }

    /// The largest q (int8 symmetric: 127 so the grid is symmetric; otherwise 2^bits − 1 from 0).
    var levels: Int { (1 << bits) - 1 }

    /// The block length for rows of `columns` numbers, or why the scheme does not fit them.
    public func blockSize(columns: Int) throws -> Int {
        let size: Int
        switch granularity {
        case .tensor, .channel: size = columns
        case .group(let g): size = g
        }
        if size < 1 || columns % size != 0 {
            throw CourseError.invalidValue(name: "group size", value: "\(size)",
                                           expected: "a size that divides the row of \(columns) numbers " +
                                                     "(32, 64 or 128 for the course model)")
        }
        if bits == 4 && size % 2 != 0 {
            throw CourseError.invalidValue(name: "int4 block", value: "\(size)", expected: "an even block size")
        }
        return size
    }
}

/// W (rows, columns) as integers and per-block scales (see the top of the file for the layout).
public struct QuantizedMatrix: Sendable, Equatable {
    public let rows: Int, columns: Int
    public let scheme: QuantizationScheme
    public let blockSize: Int
    /// Row after row: int8 values (as bytes) or packed nibbles, `rowBytes` per row.
    public let quants: [UInt8]
    /// d per block as fp16 bits: `rows · blocksPerRow` of them (per-tensor: the same d repeated per row).
    public let scales: [UInt16]
    /// z per block for asymmetric schemes (empty when symmetric).
    public let zeros: [UInt8]
    /// The scales as Float32 (what the kernels multiply by).
    let steps: [Float]

    public var blocksPerRow: Int { columns / blockSize }
    public var rowBytes: Int { scheme.bits == 8 ? columns : columns / 2 }

    /// Assembles a matrix from stored arrays, checking every count (a file's tensors go through here).
    public init(rows: Int, columns: Int, scheme: QuantizationScheme, quants: [UInt8], scales: [UInt16],
                zeros: [UInt8]) throws {
        let block = try scheme.blockSize(columns: columns)
        let blocks = rows * (columns / block)
        let rowBytes = scheme.bits == 8 ? columns : columns / 2
        if quants.count != rows * rowBytes {
            throw CourseError.invalidValue(name: "quantized values", value: "\(quants.count) bytes",
                                           expected: "\(rows * rowBytes) for \(rows) × \(columns) in \(scheme)")
        }
        if scales.count != blocks {
            throw CourseError.invalidValue(name: "scale count", value: "\(scales.count)",
                                           expected: "\(blocks) (\(rows) rows × \(columns / block) blocks of " +
                                                     "\(block)) for \(scheme)")
        }
        if zeros.count != (scheme.symmetric ? 0 : blocks) {
            throw CourseError.invalidValue(name: "zero-point count", value: "\(zeros.count)",
                                           expected: "\(scheme.symmetric ? 0 : blocks) for \(scheme)")
        }
        if !scheme.symmetric, let bad = zeros.first(where: { Int($0) > scheme.levels }) {
            throw CourseError.invalidValue(name: "zero point", value: "\(bad)", expected: "0...\(scheme.levels)")
        }
        (self.rows, self.columns, self.scheme, blockSize) = (rows, columns, scheme, block)
        (self.quants, self.scales, self.zeros) = (quants, scales, zeros)
        steps = scales.map(HalfFloat.float(fromHalf:))
    }

    /// Quantizes `w` (rows, columns) with `scheme`. Throws when the block size does not divide the rows.
    public init(quantizing w: Tensor, scheme: QuantizationScheme) throws {
        guard w.shape.count == 2 else {
            throw CourseError.invalidValue(name: "matrix", value: "\(w.shape)", expected: "a 2-D (out, in) weight")
        }
        let (rows, columns) = (w.shape[0], w.shape[1])
        let block = try scheme.blockSize(columns: columns)
        let values = w.scalars
        var quants = [UInt8](repeating: 0, count: rows * (scheme.bits == 8 ? columns : columns / 2))
        var scales: [UInt16] = [], zeros: [UInt8] = []
        scales.reserveCapacity(rows * columns / block)
        // Per-tensor: one block grid over the whole matrix, so every row's d (and z) is the same.
        let tensorWide: (d: UInt16, z: UInt8, step: Float)? = scheme.granularity == .tensor
            ? Self.blockParameters(values[...], scheme) : nil
        let rowBytes = scheme.bits == 8 ? columns : columns / 2
        for row in 0..<rows {
            for start in stride(from: 0, to: columns, by: block) {
                let slice = values[(row * columns + start)..<(row * columns + start + block)]
                let (dBits, z, d) = tensorWide ?? Self.blockParameters(slice, scheme)
                scales.append(dBits)
                if !scheme.symmetric { zeros.append(z) }
                // The levels use d in Float32 and the file stores it in fp16, as llama.cpp's quantizers do
                // (so our Q8_0 / Q4_0 bytes are theirs; the test against the gguf package checks it).
                let inverse: Float = d == 0 ? 0 : 1 / d
                let offset = row * rowBytes + (scheme.bits == 8 ? start : start / 2)
                for (j, value) in slice.enumerated() {
                    let q = Self.level(value, inverse: inverse, zero: Int(z), scheme)
                    if scheme.bits == 8 {
                        quants[offset + j] = scheme.symmetric ? UInt8(bitPattern: Int8(q)) : UInt8(q)
                    } else {
                        let half = block / 2
                        let byte = offset + j % half
                        quants[byte] |= j < half ? UInt8(q) : UInt8(q) << 4
                    }
                }
            }
        }
        try self.init(rows: rows, columns: columns, scheme: scheme, quants: quants, scales: scales, zeros: zeros)
    }

    /// d (fp16 bits), z, and the d the levels are computed with for one block of numbers: Float32 for the
    /// symmetric (GGUF) schemes, the stored fp16 value for asymmetric ones (whose z is fitted to it).
    static func blockParameters(_ block: ArraySlice<Float>, _ scheme: QuantizationScheme) -> (UInt16, UInt8, Float) {
        if scheme.symmetric {
            if scheme.bits == 8 {
                let d = block.reduce(Float(0)) { max($0, abs($1)) } / 127
                return (HalfFloat.half(fromFloat: d), 0, d)
            }
            // Q4_0: the value of largest magnitude, sign kept, lands on −8.
            let extreme = block.reduce(Float(0)) { abs($1) > abs($0) ? $1 : $0 }
            return (HalfFloat.half(fromFloat: extreme / -8), 8, extreme / -8)
        }
        // Asymmetric: the grid 0…levels spans [min(block, 0), max(block, 0)] (zero stays exact).
        let low = min(block.min() ?? 0, 0), high = max(block.max() ?? 0, 0)
        let d = (high - low) / Float(scheme.levels)
        let dBits = HalfFloat.half(fromFloat: d)
        let dStored = HalfFloat.float(fromHalf: dBits)
        let z = dStored == 0 ? 0 : Int((-low / dStored).rounded())
        return (dBits, UInt8(clamping: min(max(z, 0), scheme.levels)), dStored)
    }

    /// The integer level of `value` (clamped to the grid).
    static func level(_ value: Float, inverse: Float, zero: Int, _ scheme: QuantizationScheme) -> Int {
        if scheme.symmetric && scheme.bits == 8 {
            return Int(max(-127, min(127, (value * inverse).rounded())))
        }
        if scheme.symmetric {                                                       // Q4_0's rounding
            return min(15, max(0, Int((value * inverse + 8.5).rounded(.down))))
        }
        return min(scheme.levels, max(0, Int((value * inverse).rounded()) + zero))
    }

    /// The zero point of block `b` (symmetric: 0 for int8, 8 for int4).
    @inline(__always) func zero(_ b: Int) -> Int {
        scheme.symmetric ? (scheme.bits == 8 ? 0 : 8) : Int(zeros[b])
    }

    /// The integer levels of row `row` (unpacked, before subtracting z).
    public func levels(row: Int) -> [Int] {
        let base = row * rowBytes
        if scheme.bits == 8 {
            return (0..<columns).map {
                scheme.symmetric ? Int(Int8(bitPattern: quants[base + $0])) : Int(quants[base + $0])
            }
        }
        let half = blockSize / 2
        return (0..<columns).map { c in
            let (block, j) = (c / blockSize, c % blockSize)
            let byte = quants[base + block * half + j % half]
            return Int(j < half ? byte & 0x0F : byte >> 4)
        }
    }

    /// W back as Float32: (q − z)·d for every element.
    public func dequantized() -> Tensor {
        let out = Tensor(uninitialized: [rows, columns])
        let o = out.base
        let half = blockSize / 2
        quants.withUnsafeBufferPointer { q in
            Parallel.forEach(rows, minimumPerWorker: max(1, 65_536 / max(columns, 1))) { range in
                for row in range {
                    let bytes = q.baseAddress! + row * rowBytes
                    for b in 0..<blocksPerRow {
                        let block = row * blocksPerRow + b, d = steps[block], z = zero(block)
                        let target = o + row * columns + b * blockSize
                        if scheme.bits == 8 {
                            let source = bytes + b * blockSize
                            for j in 0..<blockSize {
                                let level = scheme.symmetric ? Int(Int8(bitPattern: source[j])) : Int(source[j])
                                target[j] = Float(level - z) * d
                            }
                        } else {
                            let source = bytes + b * half
                            for j in 0..<half {
                                target[j] = Float(Int(source[j] & 0x0F) - z) * d
                                target[j + half] = Float(Int(source[j] >> 4) - z) * d
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Bytes the weight takes: quantized values, fp16 scales and zero points.
    public var byteCount: Int { quants.count + 2 * scales.count + zeros.count }

    /// GGUF's blocks (symmetric schemes only): per block d as fp16 little-endian, then its q bytes — Q8_0 and
    /// Q4_0 for groups of 32.
    public func ggufBlocks() -> [UInt8]? {
        guard scheme.symmetric else { return nil }
        let qBytes = scheme.bits == 8 ? blockSize : blockSize / 2
        var out: [UInt8] = []
        out.reserveCapacity(scales.count * (2 + qBytes))
        for b in 0..<scales.count {
            out.append(UInt8(scales[b] & 0xFF))
            out.append(UInt8(scales[b] >> 8))
            out.append(contentsOf: quants[(b * qBytes)..<((b + 1) * qBytes)])
        }
        return out
    }
}

/// How far a quantized matrix is from the original.
public struct QuantizationError: Sendable {
    public let maxAbsolute: Double
    public let rms: Double
    /// Signal-to-noise ratio in dB: 10·log10(Σw² / Σ(w − ŵ)²).
    public let snrDecibels: Double

    public init(original: Tensor, approximation: Tensor) {
        var (worst, noise, signal) = (0.0, 0.0, 0.0)
        for (w, a) in zip(original.scalars, approximation.scalars) {
            let e = Double(w) - Double(a)
            worst = max(worst, abs(e))
            noise += e * e
            signal += Double(w) * Double(w)
        }
        maxAbsolute = worst
        rms = (noise / Double(max(original.count, 1))).squareRoot()
        snrDecibels = noise == 0 ? .infinity : 10 * log10(signal / noise)
    }
}
