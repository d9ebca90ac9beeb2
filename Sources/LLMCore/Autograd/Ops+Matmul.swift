// Introduced in Chapter 00. Matrix products on the tape, forward and backward through sgemm.
//
// With op(A) (M, K), op(B) (K, N) and C = op(A)·op(B):
//   ∂L/∂op(A) = ∂L/∂C · op(B)ᵀ        (M, K)
//   ∂L/∂op(B) = op(A)ᵀ · ∂L/∂C        (K, N)
// and when A (or B) is stored transposed, its gradient is the transpose of the above, which BLAS
// again computes with flags only (derivation in Chapter 00, section 0.4).

extension Tape {
    /// `op(a) · op(b)`.
    ///
    /// - `a` is (…, K) — every leading dimension becomes a row — or, with `transposeA`, a 2-D (K, M).
    /// - `b` is a 2-D (K, N), or (N, K) with `transposeB` (how `Linear` stores its weight, as PyTorch does).
    /// - The result is (…, N): `a`'s leading dimensions, then N.
    public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let (aShape, bShape) = (a.shape, b.shape)
        if bShape.count != 2 || aShape.isEmpty || (transposeA && aShape.count != 2) {
            shapeFailure("matmul", "needs a (…, K) or transposed 2-D a and a 2-D b; got a \(aShape), b \(bShape)")
        }
        let k = transposeA ? aShape[0] : aShape[aShape.count - 1]
        let m = transposeA ? aShape[1] : a.value.count / max(k, 1)
        let (bK, n) = transposeB ? (bShape[1], bShape[0]) : (bShape[0], bShape[1])
        if k != bK {
            shapeFailure("matmul",
                         "inner dimensions differ: a \(aShape)\(transposeA ? "ᵀ" : ""), b " +
                         "\(bShape)\(transposeB ? "ᵀ" : "")")
        }
        let outShape = transposeA ? [m, n] : Array(aShape.dropLast()) + [n]
        let out = Tensor(uninitialized: outShape)
        BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a: a.value.base, b: b.value.base, beta: 0, c: out.base)
        return record("matmul", out, inputs: [a, b]) { c in
            self.productGradients(a, b, transposeA: transposeA, transposeB: transposeB, m: m,
                                  n: n, k: k, dC: c.grad!.base)
        }
    }

    /// A linear layer's `x · wᵀ + bias` as one op: `x` (…, K), `weight` (N, K) as PyTorch stores it,
    /// `bias` (N). Equal to `add(matmul(x, weight, transposeB: true), bias)`, but the bias is copied into
    /// the output rows first and the product adds onto it (β = 1): one pass over the output instead of
    /// three (zeroing it, writing the product, adding the bias).
    public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        guard let bias else { return matmul(x, weight, transposeB: true) }
        let (xShape, wShape) = (x.shape, weight.shape)
        if wShape.count != 2 || xShape.isEmpty || xShape[xShape.count - 1] != wShape[1] || bias.shape != [wShape[0]] {
            shapeFailure("linear",
                         "needs x (…, K), weight (N, K) and bias (N); got x \(xShape), weight \(wShape), bias " +
                         "\(bias.shape)")
        }
        let (n, k) = (wShape[0], wShape[1])
        let m = x.value.count / max(k, 1)
        let out = Tensor(uninitialized: Array(xShape.dropLast()) + [n])
        let (bv, o) = (bias.value.base, out.base)
        Parallel.forEach(m, minimumPerWorker: max(1, Kernels.elementsPerWorker / max(n, 1))) { rows in
            for row in rows { (o + row * n).update(from: bv, count: n) }
        }
        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: x.value.base,
                  b: weight.value.base, beta: 1, c: o)
        return record("linear", out, inputs: [x, weight, bias]) { y in
            let dY = y.grad!.base
            self.productGradients(x, weight, transposeA: false, transposeB: true, m: m, n: n, k: k, dC: dY)
            if bias.requiresGrad { bias.withGradient { Kernels.sumCopies(dY, copies: m, width: n, into: $0) } }
        }
    }

    /// The gradients of C = op(a) · op(b) for a (M, K) and b (K, N) (after the transposes), given ∂L/∂C.
    private func productGradients(_ a: Variable, _ b: Variable, transposeA: Bool, transposeB: Bool,
                                  m: Int, n: Int, k: Int, dC: UnsafePointer<Float>) {
        if a.requiresGrad {
            a.withGradient { dA, fresh in
                if transposeA {  // dA (K, M) = op(B) · dCᵀ
                    BLAS.gemm(transposeA: transposeB, transposeB: true, m: k, n: m, k: n,
                              a: b.value.base, b: dC, beta: fresh ? 0 : 1, c: dA)
                } else {         // dA (M, K) = dC · op(B)ᵀ
                    BLAS.gemm(transposeA: false, transposeB: !transposeB, m: m, n: k, k: n,
                              a: dC, b: b.value.base, beta: fresh ? 0 : 1, c: dA)
                }
            }
        }
        if b.requiresGrad {
            b.withGradient { dB, fresh in
                if transposeB {  // dB (N, K) = dCᵀ · op(A)
                    BLAS.gemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: m,
                              a: dC, b: a.value.base, beta: fresh ? 0 : 1, c: dB)
                } else {         // dB (K, N) = op(A)ᵀ · dC
                    BLAS.gemm(transposeA: !transposeA, transposeB: false, m: k, n: n, k: m,
                              a: a.value.base, b: dC, beta: fresh ? 0 : 1, c: dB)
                }
            }
        }
    }

    /// Batched `op(a[g]) · op(b[g])` over every leading index g: `a` is (…, M, K) or (…, K, M)
    /// transposed, `b` is (…, K, N) or (…, N, K) transposed, with the same leading dimensions.
    /// The groups run in parallel over our workers (attention's many small products).
    public func batchedMatmul(_ a: Variable, _ b: Variable, transposeA: Bool = false,
                              transposeB: Bool = false) -> Variable {
        let (aShape, bShape) = (a.shape, b.shape)
        if aShape.count < 3 || aShape.count != bShape.count || aShape.dropLast(2) != bShape.dropLast(2) {
            shapeFailure("batchedMatmul",
                         "needs (…, M, K) and (…, K, N) with the same leading dimensions; got a \(aShape), b \(bShape)")
        }
        let r = aShape.count
        let (m, k) = transposeA ? (aShape[r - 1], aShape[r - 2]) : (aShape[r - 2], aShape[r - 1])
        let (bK, n) = transposeB ? (bShape[r - 1], bShape[r - 2]) : (bShape[r - 2], bShape[r - 1])
        if k != bK {
            shapeFailure("batchedMatmul",
                         "inner dimensions differ: a \(aShape)\(transposeA ? "ᵀ" : ""), b " +
                         "\(bShape)\(transposeB ? "ᵀ" : "")")
        }
        let groups = aShape.dropLast(2).reduce(1, *)
        let out = Tensor(uninitialized: Array(aShape.dropLast(2)) + [m, n])
        BLAS.batchedGemm(groups: groups, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                         a: a.value.base, strideA: m * k, b: b.value.base, strideB: k * n,
                         beta: 0, c: out.base, strideC: m * n)
        return record("batchedMatmul", out, inputs: [a, b]) { c in
            let dC = c.grad!.base
            if a.requiresGrad {
                a.withGradient { dA, fresh in
                    if transposeA {
                        BLAS.batchedGemm(groups: groups, transposeA: transposeB, transposeB: true, m: k, n: m, k: n,
                                         a: b.value.base, strideA: k * n, b: dC, strideB: m * n,
                                         beta: fresh ? 0 : 1, c: dA, strideC: m * k)
                    } else {
                        BLAS.batchedGemm(groups: groups, transposeA: false, transposeB: !transposeB, m: m, n: k, k: n,
                                         a: dC, strideA: m * n, b: b.value.base, strideB: k * n,
                                         beta: fresh ? 0 : 1, c: dA, strideC: m * k)
                    }
                }
            }
            if b.requiresGrad {
                b.withGradient { dB, fresh in
                    if transposeB {
                        BLAS.batchedGemm(groups: groups, transposeA: true, transposeB: transposeA, m: n, n: k, k: m,
                                         a: dC, strideA: m * n, b: a.value.base, strideB: m * k,
                                         beta: fresh ? 0 : 1, c: dB, strideC: k * n)
                    } else {
                        BLAS.batchedGemm(groups: groups, transposeA: !transposeA, transposeB: false, m: k, n: n, k: m,
                                         a: a.value.base, strideA: m * k, b: dC, strideB: m * n,
                                         beta: fresh ? 0 : 1, c: dB, strideC: k * n)
                    }
                }
            }
        }
    }
}

extension Tape {
    /// `y + scale·(x·aᵀ)·bᵀ` as one op — a LoRA update (Chapter 06) added onto a frozen layer's output `y`
    /// (…, out), with x (…, in), a (r, in), b (out, r). Equal to `add(y, matmul(scale(matmul(x, a, tB), s), b,
    /// tB))`, without the (…, out) product tensor and the extra passes over it. With G the output gradient and
    /// n = scale·x·aᵀ (…, r), kept from the forward pass:
    ///   ∂y = G,   ∂b = Gᵀ·n,   ∂a = scale·(G·b)ᵀ·x,   ∂x = scale·(G·b)·a.
    /// (A quantized W's output comes in as y; a dense W goes through `linearLowRank`, which skips the copy.)
    public func addLowRank(_ y: Variable, _ x: Variable, a: Variable, b: Variable, scale: Float) -> Variable {
        let outputs = y.shape.last ?? 0, m = y.value.count / max(outputs, 1)
        checkLowRank("addLowRank", x, a: a, b: b, outputs: outputs, rows: m, leading: Array(y.shape.dropLast()))
        let out = Tensor(uninitialized: y.shape)
        out.base.update(from: y.value.base, count: out.count)
        let narrow = addLowRankForward(x, a: a, b: b, scale: scale, rows: m, into: out)
        return record("addLowRank", out, inputs: [y, x, a, b]) { output in
            let g = output.grad!.base
            if y.requiresGrad {
                y.withGradient { dY, fresh in
                    if fresh { dY.update(from: g, count: y.value.count) } else {
                        Kernels.axpy(1, g, dY, count: y.value.count)
                    }
                }
            }
            self.lowRankGradients(g, x, a: a, b: b, narrow: narrow, scale: scale, rows: m)
        }
    }

    /// `x·wᵀ + bias + scale·(xa·aᵀ)·bᵀ` as one op: a dense layer and its LoRA update (Chapter 06), with
    /// `xa` the adapter's input (x itself, or x after dropout). Equal to `addLowRank(linear(x, weight, bias),
    /// xa, …)`; the update is added straight into the layer's output, and the backward pass needs no copy of
    /// the output gradient: ∂x = G·w (+ the update's share through xa), ∂w = Gᵀ·x only if w trains.
    public func linearLowRank(_ x: Variable, weight: Variable, bias: Variable?, adapterInput xa: Variable,
                              a: Variable, b: Variable, scale: Float) -> Variable {
        let (inputs, outputs) = (weight.shape.count == 2 ? weight.shape[1] : -1, weight.shape.first ?? 0)
        if x.shape.last != inputs || xa.shape != x.shape || (bias.map { $0.shape != [outputs] } ?? false) {
            shapeFailure("linearLowRank", "needs x (…, in), weight (out, in), bias (out) and xa shaped like x; got " +
                                          "x \(x.shape), weight \(weight.shape), xa \(xa.shape)")
        }
        let m = x.value.count / max(inputs, 1)
        checkLowRank("linearLowRank", xa, a: a, b: b, outputs: outputs, rows: m, leading: Array(x.shape.dropLast()))
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outputs])
        if let bias {
            for row in 0..<m { (out.base + row * outputs).update(from: bias.value.base, count: outputs) }
        }
        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: outputs, k: inputs, a: x.value.base,
                  b: weight.value.base, beta: bias == nil ? 0 : 1, c: out.base)
        let narrow = addLowRankForward(xa, a: a, b: b, scale: scale, rows: m, into: out)
        return record("linearLowRank", out, inputs: [x, weight, xa, a, b] + (bias.map { [$0] } ?? [])) { output in
            let g = output.grad!.base
            self.productGradients(x, weight, transposeA: false, transposeB: true, m: m, n: outputs, k: inputs, dC: g)
            if let bias, bias.requiresGrad {
                bias.withGradient { Kernels.sumCopies(g, copies: m, width: outputs, into: $0) }
            }
            self.lowRankGradients(g, xa, a: a, b: b, narrow: narrow, scale: scale, rows: m)
        }
    }

    private func checkLowRank(_ op: String, _ x: Variable, a: Variable, b: Variable, outputs: Int, rows m: Int,
                              leading: [Int]) {
        let rank = a.shape.first ?? 0, inputs = x.shape.last ?? 0
        if a.shape != [rank, inputs] || b.shape != [outputs, rank] || x.value.count != m * inputs
            || Array(x.shape.dropLast()) != leading {
            shapeFailure(op, "needs x (…, in), a (r, in), b (out, r) and an output (…, out) with out = \(outputs); " +
                             "got x \(x.shape), a \(a.shape), b \(b.shape)")
        }
    }

    /// n = scale·x·aᵀ (m, r), then out += n·bᵀ; returns n for the backward pass.
    private func addLowRankForward(_ x: Variable, a: Variable, b: Variable, scale: Float, rows m: Int,
                                   into out: Tensor) -> Tensor {
        let rank = a.shape[0], inputs = a.shape[1], outputs = b.shape[0]
        let narrow = Tensor(uninitialized: [m, rank])
        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: rank, k: inputs, alpha: scale, a: x.value.base,
                  b: a.value.base, beta: 0, c: narrow.base)
        BLAS.gemm(transposeA: false, transposeB: true, m: m, n: outputs, k: rank, a: narrow.base, b: b.value.base,
                  beta: 1, c: out.base)
        return narrow
    }

    /// The update's gradients from the output gradient g (m, out): b, then a and x through G·b.
    private func lowRankGradients(_ g: UnsafePointer<Float>, _ x: Variable, a: Variable, b: Variable,
                                  narrow: Tensor, scale: Float, rows m: Int) {
        let rank = a.shape[0], inputs = a.shape[1], outputs = b.shape[0]
        if b.requiresGrad {
            b.withGradient { dB, fresh in
                BLAS.gemm(transposeA: true, transposeB: false, m: outputs, n: rank, k: m, a: g, b: narrow.base,
                          beta: fresh ? 0 : 1, c: dB)
            }
        }
        guard a.requiresGrad || x.requiresGrad else { return }
        let dNarrow = Tensor(uninitialized: [m, rank])                                          // G·b
        BLAS.gemm(transposeA: false, transposeB: false, m: m, n: rank, k: outputs, a: g, b: b.value.base,
                  beta: 0, c: dNarrow.base)
        if a.requiresGrad {
            a.withGradient { dA, fresh in
                BLAS.gemm(transposeA: true, transposeB: false, m: rank, n: inputs, k: m, alpha: scale,
                          a: dNarrow.base, b: x.value.base, beta: fresh ? 0 : 1, c: dA)
            }
        }
        if x.requiresGrad {
            x.withGradient { dX, fresh in
                BLAS.gemm(transposeA: false, transposeB: false, m: m, n: inputs, k: rank, alpha: scale,
                          a: dNarrow.base, b: a.value.base, beta: fresh ? 0 : 1, c: dX)
            }
        }
    }
}
