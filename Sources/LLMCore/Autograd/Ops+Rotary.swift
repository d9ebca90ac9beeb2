// Introduced in Chapter 02. Rotary position embeddings (RoPE; Su et al. 2021, https://arxiv.org/abs/2104.09864).
//
// Instead of adding a position vector, RoPE rotates each pair of a query's (and key's) numbers by an
// angle proportional to the position: pair i of a head at position m turns by m·θᵢ, θᵢ = base^(−2i/D).
// A dot product of two rotated vectors then depends on the positions only through m − n, so attention
// scores see relative distance. Pairs are adjacent numbers (2i, 2i + 1), as in the RoFormer paper and
// llama2.c (Hugging Face's Llama pairs i with i + D/2 instead; both are rotations, the weights differ).
//
//   forward:  (x₀, x₁) → (x₀·cos − x₁·sin, x₀·sin + x₁·cos)
//   backward: the transpose of a rotation is the rotation back: (g₀·cos + g₁·sin, −g₀·sin + g₁·cos)

import Foundation
import Synchronization

extension Tape {
    /// Rotates the first `rotatedHeads` heads (D numbers each) of every row of `x` (B, T, W) by their
    /// position `positionOffset + t`; the remaining columns (the value heads of a packed q|k|v) pass
    /// through unchanged.
    public func rotary(_ x: Variable, headSize d: Int, rotatedHeads: Int, positionOffset: Int = 0,
                       base: Float = 10_000) -> Variable {
        let shape = x.shape
        if shape.count != 3 || d % 2 != 0 || rotatedHeads * d > shape[2] {
            shapeFailure("rotary",
                         "needs x (B, T, W) with an even head size and \(rotatedHeads) heads of \(d) within W; got " +
                         "\(shape)")
        }
        let (b, t, w) = (shape[0], shape[1], shape[2])
        let table = RotaryTable(length: t, headSize: d, offset: positionOffset, base: base)
        let out = Tensor(uninitialized: shape)
        rotate(x.value.base, out.base, rows: b * t, length: t, width: w, headSize: d,
               heads: rotatedHeads, table: table, sign: 1)
        return record("rotary", out, inputs: [x]) { output in
            let back = Tensor(uninitialized: shape)
            rotate(output.grad!.base, back.base, rows: b * t, length: t, width: w, headSize: d,
                   heads: rotatedHeads, table: table, sign: -1)
            x.accumulateGradient(back)
        }
    }
}

/// cos(m·θᵢ) and sin(m·θᵢ) for positions m = offset…offset + T − 1 and pairs i < D/2, computed in Double.
/// Batch-1 decoding asks for one position per layer per token, so the values are computed once per
/// (D, base) for the positions seen so far and copied out of that cache (cos and sin of a Double were
/// 3 % of decoding time when recomputed every call).
public struct RotaryTable: Sendable {
    public let cosines: [Float], sines: [Float]
    public let pairs: Int

    public init(length: Int, headSize: Int, offset: Int = 0, base: Float = 10_000) {
        let pairs = headSize / 2
        self.pairs = pairs
        (cosines, sines) = Self.cache.withLock { tables in
            let key = Key(headSize: headSize, base: base)
            var full = tables[key] ?? Full(cosines: [], sines: [])
            let needed = (offset + length) * pairs
            if full.cosines.count < needed {
                for m in full.cosines.count / max(pairs, 1)..<offset + length {
                    for i in 0..<pairs {
                        let angle = Double(m) * pow(Double(base), -2 * Double(i) / Double(headSize))
                        full.cosines.append(Float(cos(angle)))
                        full.sines.append(Float(sin(angle)))
                    }
                }
                tables[key] = full
            }
            let range = offset * pairs..<needed
            return (Array(full.cosines[range]), Array(full.sines[range]))
        }
    }

    private struct Key: Hashable { let headSize: Int, base: Float }
    private struct Full { var cosines: [Float], sines: [Float] }
    private static let cache = Mutex<[Key: Full]>([:])
}

/// out = x with heads rotated by `sign`·angle (sign −1 undoes the rotation).
func rotate(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, length: Int, width: Int,
            headSize: Int, heads: Int, table: RotaryTable, sign: Float) {
    table.cosines.withUnsafeBufferPointer { cosines in
        table.sines.withUnsafeBufferPointer { sines in
            Parallel.forEach(rows, minimumPerWorker: max(1, Kernels.elementsPerWorker / max(width, 1))) { range in
                for row in range {
                    let input = x + row * width, output = out + row * width
                    let position = row % length
                    let c = cosines.baseAddress! + position * table.pairs,
                        s = sines.baseAddress! + position * table.pairs
                    for head in 0..<heads {
                        let base = head * headSize
                        for i in 0..<table.pairs {
                            let (x0, x1) = (input[base + 2 * i], input[base + 2 * i + 1])
                            let sine = sign * s[i]
                            output[base + 2 * i] = x0 * c[i] - x1 * sine
                            output[base + 2 * i + 1] = x0 * sine + x1 * c[i]
                        }
                    }
                    let rest = heads * headSize
                    if rest < width { (output + rest).update(from: input + rest, count: width - rest) }
                }
            }
        }
    }
}

extension Tape {
    /// The elements with index `range` along `axis` (a copy): `slice(x, axis: 1, 0..<4)` of (B, 12, T, D)
    /// is (B, 4, T, D). Backward adds the gradient back into those positions.
    public func slice(_ x: Variable, axis: Int, _ range: Range<Int>) -> Variable {
        let shape = x.shape
        if !shape.indices.contains(axis) || range.lowerBound < 0 || range.upperBound > shape[axis] {
            shapeFailure("slice", "range \(range) on axis \(axis) is outside shape \(shape)")
        }
        let inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        let (full, part) = (shape[axis] * inner, range.count * inner)
        var outShape = shape
        outShape[axis] = range.count
        let out = Tensor(uninitialized: outShape)
        let src = x.value.base, dst = out.base
        for o in 0..<outer { (dst + o * part).update(from: src + o * full + range.lowerBound * inner, count: part) }
        return record("slice", out, inputs: [x]) { output in
            let g = output.grad!.base
            x.withGradient { dX in
                for o in 0..<outer { Kernels.axpy(1, g + o * part,
                                                  dX + o * full + range.lowerBound * inner, count: part) }
            }
        }
    }
}
