// The fused attention op against naive references, masks, grouped-query attention and RoPE.

import Foundation
import Testing
@testable import LLMCore

/// Attention by loops in Double on packed qkv (B, T, (H + 2G)·D): the textbook formula, head by head.
func naiveAttention(_ qkv: Tensor, heads: Int, kvHeads: Int, causal: Bool, keyMask: [[Bool]]? = nil) -> [Float] {
    let (b, t, w) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
    let d = w / (heads + 2 * kvHeads)
    var out = [Float](repeating: 0, count: b * t * heads * d)
    for batch in 0..<b {
        for h in 0..<heads {
            let g = h / (heads / kvHeads)
            for i in 0..<t {
                var scores = [Double](repeating: -.infinity, count: t)
                for j in 0..<t where (!causal || j <= i) && (keyMask?[batch][j] ?? true) {
                    var s = 0.0
                    for c in 0..<d { s += Double(qkv[batch, i, h * d + c]) * Double(qkv[batch, j, (heads + g) * d + c]) }
                    scores[j] = s / Double(d).squareRoot()
                }
                let m = scores.max()!
                if m == -.infinity { continue }
                let e = scores.map { $0 == -.infinity ? 0 : exp($0 - m) }
                let z = e.reduce(0, +)
                for c in 0..<d {
                    var o = 0.0
                    for j in 0..<t { o += e[j] / z * Double(qkv[batch, j, (heads + kvHeads + g) * d + c]) }
                    out[(batch * t + i) * heads * d + h * d + c] = Float(o)
                }
            }
        }
    }
    return out
}

/// Multi-head attention composed from general tape ops (slice, transpose, batched matmul, softmax with an
/// additive mask): an independent autograd path to compare the fused op's gradients with.
func composedAttention(_ tape: Tape, _ qkv: Variable, heads: Int, causal: Bool) -> Variable {
    let (b, t, w) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
    let d = w / (3 * heads)
    let split = tape.transpose(tape.reshape(qkv, [b, t, 3 * heads, d]), 1, 2)           // (B, 3H, T, D)
    let q = tape.slice(split, axis: 1, 0..<heads), k = tape.slice(split, axis: 1, heads..<2 * heads)
    let v = tape.slice(split, axis: 1, 2 * heads..<3 * heads)
    var scores = tape.scale(tape.batchedMatmul(q, k, transposeB: true), by: 1 / Float(d).squareRoot())  // (B, H, T, T)
    if causal {
        let mask = Tensor(shape: [t, t], values: (0..<t * t).map { $0 % t > $0 / t ? -1e9 : 0 })
        scores = tape.add(scores, Variable(mask))
    }
    let y = tape.batchedMatmul(tape.softmax(scores), v)                                    // (B, H, T, D)
    return tape.reshape(tape.transpose(y, 1, 2), [b, t, heads * d])
}

@Suite("Attention")
struct AttentionTests {
    @Test("fused forward equals the naive loops: causal, bidirectional, padded, grouped",
          arguments: [(2, 5, 4, 4, true), (1, 7, 4, 2, true), (2, 4, 6, 1, false), (1, 1, 2, 2, true), (3, 6, 4, 2, false)])
    func forward(shape: (Int, Int, Int, Int, Bool)) {
        let (b, t, heads, kvHeads, causal) = shape
        let d = 4
        var g = SeededGenerator(seed: UInt64(b * 100 + t * 10 + heads + kvHeads))
        let qkv = Tensor.randomNormal([b, t, (heads + 2 * kvHeads) * d], using: &g)
        let fused = Tape.inference.attention(Variable(qkv), heads: heads, kvHeads: kvHeads, causal: causal)
        expectClose(fused.value.scalars, naiveAttention(qkv, heads: heads, kvHeads: kvHeads, causal: causal), 2e-5, "\(shape)")
        // With padding: the last key of batch row 0 hidden (and every key of a fully padded row).
        var mask = [[Bool]](repeating: [Bool](repeating: true, count: t), count: b)
        mask[0][t - 1] = false
        if b > 1 { mask[1] = [Bool](repeating: false, count: t) }
        let padded = Tape.inference.attention(Variable(qkv), heads: heads, kvHeads: kvHeads, causal: causal, keyMask: mask)
        expectClose(padded.value.scalars, naiveAttention(qkv, heads: heads, kvHeads: kvHeads, causal: causal, keyMask: mask), 2e-5, "padded \(shape)")
    }

    @Test("fused gradients equal those of attention composed from general ops", arguments: [true, false])
    func gradientsMatchComposed(causal: Bool) {
        var g = SeededGenerator(seed: 31)
        let (b, t, heads, d) = (2, 5, 3, 4)
        let value = Tensor.randomNormal([b, t, 3 * heads * d], using: &g)
        let seed = Tensor.randomNormal([b, t, heads * d], using: &g)
        let fused = Variable.parameter(value), composed = Variable.parameter(value)
        let tape1 = Tape(), tape2 = Tape()
        let y1 = tape1.attention(fused, heads: heads, kvHeads: heads, causal: causal)
        let y2 = composedAttention(tape2, composed, heads: heads, causal: causal)
        expectClose(y1.value.scalars, y2.value.scalars, 1e-5, "forward")
        tape1.backward(y1, seed: seed)
        tape2.backward(y2, seed: seed)
        expectClose(fused.grad!.scalars, composed.grad!.scalars, 1e-4, "gradient")
    }

    @Test("gradient check: multi-head, grouped-query, multi-query, padded", arguments: [(4, 4), (4, 2), (4, 1)])
    func gradientCheck(heads: (Int, Int)) {
        var g = SeededGenerator(seed: UInt64(heads.0 * 10 + heads.1))
        let qkv = Variable.parameter(Tensor.randomNormal([2, 4, (heads.0 + 2 * heads.1) * 2], using: &g), name: "qkv")
        let mask = [[true, true, false, true], [true, true, true, true]]
        #expect(GradientCheck.run([qkv]) { tape, v in tape.attention(v[0], heads: heads.0, kvHeads: heads.1) }.passed)
        let report = GradientCheck.run([qkv]) { tape, v in tape.attention(v[0], heads: heads.0, kvHeads: heads.1, keyMask: mask) }
        #expect(report.passed, "\(report)")
    }

    @Test("causal: changing a later position never changes earlier outputs")
    func causality() {
        var g = SeededGenerator(seed: 4)
        var qkv = Tensor.randomNormal([1, 6, 3 * 2 * 4], using: &g)
        let before = Tape.inference.attention(Variable(qkv), heads: 2, kvHeads: 2).value
        for c in 0..<24 { qkv[0, 4, c] += 1 }     // change position 4
        let after = Tape.inference.attention(Variable(qkv), heads: 2, kvHeads: 2).value
        for i in 0..<(4 * 8) { #expect(before.scalars[i] == after.scalars[i]) }      // positions 0–3 identical
        #expect(before.scalars[(4 * 8)...] != after.scalars[(4 * 8)...])
    }

    @Test("grouped-query attention equals multi-head attention with each key/value head repeated")
    func groupedEqualsRepeated() {
        var g = SeededGenerator(seed: 5)
        let (b, t, heads, kvHeads, d) = (2, 5, 6, 2, 4)
        let grouped = Tensor.randomNormal([b, t, (heads + 2 * kvHeads) * d], using: &g)
        var repeated = Tensor(zeros: [b, t, 3 * heads * d])
        for batch in 0..<b {
            for i in 0..<t {
                for c in 0..<(heads * d) { repeated[batch, i, c] = grouped[batch, i, c] }          // queries
                for h in 0..<heads {
                    let kv = h / (heads / kvHeads)
                    for c in 0..<d {
                        repeated[batch, i, (heads + h) * d + c] = grouped[batch, i, (heads + kv) * d + c]
                        repeated[batch, i, (2 * heads + h) * d + c] = grouped[batch, i, (heads + kvHeads + kv) * d + c]
                    }
                }
            }
        }
        let a = Tape.inference.attention(Variable(grouped), heads: heads, kvHeads: kvHeads).value
        let m = Tape.inference.attention(Variable(repeated), heads: heads, kvHeads: heads).value
        expectClose(a.scalars, m.scalars, 1e-6, "GQA vs repeated MHA")
    }

    @Test("RoPE: a query·key score depends only on the distance between positions")
    func ropeRelative() {
        var g = SeededGenerator(seed: 6)
        let d = 8
        let q = Tensor.randomNormal([d], using: &g), k = Tensor.randomNormal([d], using: &g)
        func score(_ m: Int, _ n: Int) -> Float {
            // One row holding q at position m rotated, one holding k at position n rotated.
            let qr = Tape.inference.rotary(Variable(q.reshaped([1, 1, d])), headSize: d, rotatedHeads: 1, positionOffset: m).value
            let kr = Tape.inference.rotary(Variable(k.reshaped([1, 1, d])), headSize: d, rotatedHeads: 1, positionOffset: n).value
            return zip(qr.scalars, kr.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        for (m, n) in [(3, 1), (10, 2), (7, 7)] {
            for shift in [1, 5, 40] { #expect(abs(score(m, n) - score(m + shift, n + shift)) < 1e-4, "(\(m), \(n)) + \(shift)") }
        }
        #expect(abs(score(3, 1) - score(3, 2)) > 1e-3)  // but it does depend on the distance
    }

    @Test("RoPE keeps vector lengths, leaves unrotated heads alone, and passes its gradient check")
    func ropeProperties() {
        var g = SeededGenerator(seed: 7)
        let x = Variable.parameter(Tensor.randomNormal([2, 5, 3 * 4], using: &g), name: "x")
        let y = Tape.inference.rotary(x, headSize: 4, rotatedHeads: 2).value
        for row in 0..<10 {
            for head in 0..<3 {
                let range = (row * 12 + head * 4)..<(row * 12 + head * 4 + 4)
                let before = x.value.scalars[range].reduce(0) { $0 + $1 * $1 }, after = y.scalars[range].reduce(0) { $0 + $1 * $1 }
                #expect(abs(before - after) < 1e-4)
                if head == 2 { #expect(Array(x.value.scalars[range]) == Array(y.scalars[range])) }
            }
        }
        #expect(GradientCheck.run([x]) { tape, v in tape.rotary(v[0], headSize: 4, rotatedHeads: 2, positionOffset: 3) }.passed)
        #expect(GradientCheck.run([x]) { tape, v in tape.slice(tape.reshape(v[0], [2, 5, 3, 4]), axis: 2, 1..<3) }.passed)
    }

    @Test("RoPE's cached table equals cos/sin of m·base^(−2i/D) for any offset, whatever was asked before")
    func ropeTableCache() {
        func expected(_ m: Int, _ i: Int, _ d: Int, _ base: Double) -> (Float, Float) {
            let angle = Double(m) * pow(base, -2 * Double(i) / Double(d))
            return (Float(cos(angle)), Float(sin(angle)))
        }
        // Late positions first, then early ones, then a longer span: the cache grows and is sliced.
        for (length, offset) in [(1, 90), (3, 0), (1, 7), (120, 5)] {
            let table = RotaryTable(length: length, headSize: 6, offset: offset, base: 500)
            #expect(table.cosines.count == length * 3 && table.sines.count == length * 3)
            for m in 0..<length {
                for i in 0..<3 {
                    let (c, s) = expected(offset + m, i, 6, 500)
                    #expect(table.cosines[m * 3 + i] == c && table.sines[m * 3 + i] == s,
                            "position \(offset + m), pair \(i)")
                }
            }
        }
        let other = RotaryTable(length: 2, headSize: 6, offset: 4, base: 10_000)   // another base: its own table
        #expect(other.cosines[3] == expected(5, 0, 6, 10_000).0 && other.sines[4] == expected(5, 1, 6, 10_000).1)
    }
}
