// Introduced in Chapter 02. Scaled dot-product attention as one fused differentiable op.
//
// Legend: B batch, T sequence length, H query heads, G = Hkv key/value heads (G divides H; each key/value
// head serves H/G query heads — grouped-query attention), D head size, W = (H + 2G)·D packed row width.
//
// The input is the packed output of one linear layer: each row of qkv (B, T, W) holds H query heads,
// then G key heads, then G value heads, D numbers each. For every batch row b and query head h, using
// its key/value head g = h / (H/G):
//
//   S = Q·Kᵀ/√D              (T, T) scores, one sgemm reading the head's columns in place (row stride W)
//   P = softmax(S + mask)    each query sees keys j ≤ i when causal, and only keys the padding mask keeps
//   O = P·V                  (T, D), written into the head's columns of the output (B, T, H·D)
//
// P (B, H, T, T) is kept for backward — the only buffer quadratic in T. Backward, with dO given:
//
//   dV += Pᵀ·dO     dP = dO·Vᵀ     dS = P ⊙ (dP − rowsum(dP ⊙ P))     dQ += dS·K/√D     dK += dSᵀ·Q/√D
//
// Work is split over (b, g) pairs: the query heads sharing a key/value head run in one worker, so their
// dK and dV sums never race. OpenBLAS runs single-threaded inside (many small products; see Parallel).

extension Tape {
    /// Fused multi-head (or grouped-query) attention on packed q|k|v rows; returns (B, T, H·D).
    ///
    /// - Parameters:
    ///   - heads: H, the number of query heads.
    ///   - kvHeads: G, the number of key/value heads (G == H: multi-head; 1: multi-query).
    ///   - causal: each position attends only to itself and earlier positions (decoder); `false` is
    ///     bidirectional (encoder, masked-LM).
    ///   - keyMask: optional (B, T) flags, `false` for padding keys no query may attend to. A query with no
    ///     visible key outputs zeros.
    public func attention(_ qkv: Variable, heads: Int, kvHeads: Int, causal: Bool = true,
                          keyMask: [[Bool]]? = nil) -> Variable {
        let shape = qkv.shape
        if shape.count != 3 || heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || shape[2] % (heads + 2 * kvHeads) != 0 {
            shapeFailure("attention",
                         "needs qkv (B, T, (H + 2G)·D) with G dividing H; got \(shape), H = \(heads), G = \(kvHeads)")
        }
        let (b, t, w) = (shape[0], shape[1], shape[2])
        let d = w / (heads + 2 * kvHeads), groupSize = heads / kvHeads
        if let keyMask, keyMask.count != b || keyMask.contains(where: { $0.count != t }) {
            shapeFailure("attention", "keyMask must be (B, T) = (\(b), \(t))")
        }
        let scale = 1 / Float(d).squareRoot()
        let out = Tensor(uninitialized: [b, t, heads * d])
        let probabilities = Tensor(uninitialized: [b, heads, t, t])
        attentionForward(qkv.value, heads: heads, kvHeads: kvHeads, causal: causal, keyMask: keyMask,
                         probabilities: probabilities, output: out)
        return record("attention", out, inputs: [qkv]) { output in
            withExtendedLifetime((output, probabilities)) {
                let (dO, p, x) = (output.grad!.base, probabilities.base, qkv.value.base)
                qkv.withGradient { dX in
                    Parallel.forEach(b * kvHeads, callsBLAS: true) { range in
                        var dScores = [Float](repeating: 0, count: t * t)
                        dScores.withUnsafeMutableBufferPointer { dSBuffer in
                            let dS = dSBuffer.baseAddress!
                            for job in range {
                                let (batch, group) = (job / kvHeads, job % kvHeads)
                                let row0 = x + batch * t * w, dRow0 = dX + batch * t * w
                                let k = row0 + (heads + group) * d, v = row0 + (heads + kvHeads + group) * d
                                let dK = dRow0 + (heads + group) * d, dV = dRow0 + (heads + kvHeads + group) * d
                                for h in group * groupSize..<(group + 1) * groupSize {
                                    let probs = p + (batch * heads + h) * t * t
                                    let dOh = dO + batch * t * heads * d + h * d
                                    BLAS.gemm(transposeA: true, transposeB: false, m: t, n: d, k: t,
                                              a: probs, lda: t, b: dOh, ldb: heads * d, beta: 1,
                                              c: dV, ldc: w)   // dV += Pᵀ·dO
                                    BLAS.gemm(transposeA: false, transposeB: true, m: t, n: t, k: d,
                                              a: dOh, lda: heads * d, b: v, ldb: w, beta: 0,
                                              c: dS, ldc: t)     // dP = dO·Vᵀ
                                    for i in 0..<t {                                                           // dS = P ⊙ (dP − Σ dP⊙P)
                                        let pr = probs + i * t, ds = dS + i * t
                                        var dot: Float = 0
                                        for j in 0..<t { dot += pr[j] * ds[j] }
                                        for j in 0..<t { ds[j] = pr[j] * (ds[j] - dot) }
                                    }
                                    BLAS.gemm(transposeA: false, transposeB: false, m: t, n: d, k: t, alpha: scale,
                                              a: dS, lda: t, b: k, ldb: w, beta: 1, c: dRow0 + h * d,
                                              ldc: w)   // dQ += dS·K/√D
                                    BLAS.gemm(transposeA: true, transposeB: false, m: t, n: d, k: t, alpha: scale,
                                              a: dS, lda: t, b: row0 + h * d, ldb: w, beta: 1, c: dK,
                                              ldc: w)  // dK += dSᵀ·Q/√D
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The attention weights P (B, H, T, T) that `Tape.attention` would use for `qkv`: row i of head h says
/// how much position i takes from each position (for heatmaps and lessons).
public func attentionWeights(_ qkv: Tensor, heads: Int, kvHeads: Int, causal: Bool = true,
                             keyMask: [[Bool]]? = nil) -> Tensor {
    let (b, t) = (qkv.shape[0], qkv.shape[1])
    let d = qkv.shape[2] / (heads + 2 * kvHeads)
    let probabilities = Tensor(uninitialized: [b, heads, t, t])
    attentionForward(qkv, heads: heads, kvHeads: kvHeads, causal: causal, keyMask: keyMask,
                     probabilities: probabilities, output: Tensor(uninitialized: [b, t, heads * d]))
    return probabilities
}

/// S = Q·Kᵀ/√D, P = masked softmax(S) into `probabilities` (B, H, T, T), O = P·V into `output` (B, T, H·D).
func attentionForward(_ qkv: Tensor, heads: Int, kvHeads: Int, causal: Bool, keyMask: [[Bool]]?,
                      probabilities: Tensor, output: Tensor) {
    let (b, t, w) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
    let d = w / (heads + 2 * kvHeads), groupSize = heads / kvHeads
    let scale = 1 / Float(d).squareRoot()
    let (x, o, p) = (qkv.base, output.base, probabilities.base)
    Parallel.forEach(b * kvHeads, callsBLAS: true) { range in
        for job in range {
            let (batch, group) = (job / kvHeads, job % kvHeads)
            let row0 = x + batch * t * w
            let k = row0 + (heads + group) * d, v = row0 + (heads + kvHeads + group) * d
            for h in group * groupSize..<(group + 1) * groupSize {
                let q = row0 + h * d, scores = p + (batch * heads + h) * t * t
                BLAS.gemm(transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: scale,
                          a: q, lda: w, b: k, ldb: w, beta: 0, c: scores, ldc: t)       // S = Q·Kᵀ/√D
                for i in 0..<t {
                    maskedSoftmax(scores + i * t, count: t, visible: causal ? i + 1 : t, keys: keyMask?[batch])
                }
                BLAS.gemm(transposeA: false, transposeB: false, m: t, n: d, k: t,
                          a: scores, lda: t, b: v, ldb: w, beta: 0,
                          c: o + batch * t * heads * d + h * d, ldc: heads * d)          // O = P·V
            }
        }
    }
}

/// Lane masks for a final chunk that keeps its first n lanes: `add` (0 or −∞) and `keep` (1 or 0). Plain
/// SIMD arithmetic with these is much faster than element-wise tail loops or `replacing(with:where:)`.
private let tailAdd: [Float16x] = (0...16).map { n in Float16x((0..<16).map { $0 < n ? 0 : -Float.infinity }) }
private let tailKeep: [Float16x] = (0...16).map { n in Float16x((0..<16).map { $0 < n ? 1 : 0 }) }

/// Softmax over `row[0..<visible]` reading whole 16-lane chunks up to `limit` (a multiple of 16 that
/// covers `visible`, within the row): the lanes past `visible` are masked arithmetically.
@inline(__always)
func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, visible: Int, limit: Int) {
    let lastStart = limit - 16
    let add = tailAdd[visible - lastStart], keep = tailKeep[visible - lastStart]
    var best = Float16x(repeating: -.infinity)
    var i = 0
    while i < lastStart { runningMax(&best, loadLanes(row + i, 16)); i += 16 }
    runningMax(&best, loadLanes(row + lastStart, 16) + add)
    let maximum = horizontalMax(best)
    var total = Float16x()
    i = 0
    while i < limit {
        var e = fastExp(loadLanes(row + i, 16) - maximum)
        if i == lastStart { e *= keep }
        storeLanes(e, row + i, 16)
        total += e
        i += 16
    }
    let inverse = 1 / horizontalSum(total)
    i = 0
    while i < limit { storeLanes(loadLanes(row + i, 16) * inverse, row + i, 16); i += 16 }
}

/// Softmax of `row[0..<visible]` over the keys `keys` allows (all when nil), in place; every other
/// entry becomes exactly 0. A row with no visible key becomes all zeros.
@inline(__always)
func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int, visible: Int, keys: [Bool]?) {
    guard let keys else {
        let limit = min(count, (visible + 15) / 16 * 16)
        if limit % 16 == 0 {
            causalSoftmaxRow(row, visible: visible, limit: limit)
        } else {
            Kernels.softmaxRow(row, row, count: visible)
        }
        for j in visible..<count { row[j] = 0 }
        return
    }
    var maximum = -Float.infinity
    for j in 0..<visible where keys[j] { maximum = max(maximum, row[j]) }
    if maximum == -.infinity {
        for j in 0..<count { row[j] = 0 }
        return
    }
    var total: Float = 0
    for j in 0..<count {
        if j < visible && keys[j] {
            row[j] = fastExp(row[j] - maximum)
            total += row[j]
        } else {
            row[j] = 0
        }
    }
    let inverse = 1 / total
    for j in 0..<visible { row[j] *= inverse }
}
