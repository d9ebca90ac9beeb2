// Introduced in Chapter 00. LayerNorm and RMSNorm over the last dimension (C), forward and backward.
//
// LayerNorm:  x̂ = (x − μ)·r, r = 1/√(σ² + ε);  y = x̂ ⊙ w + b
//   backward: ∂L/∂w = Σ_rows ∂L/∂y ⊙ x̂;  ∂L/∂b = Σ_rows ∂L/∂y;  g = ∂L/∂y ⊙ w
//             ∂L/∂x = r · (g − mean(g) − x̂ · mean(g ⊙ x̂))
// RMSNorm:    x̂ = x·r, r = 1/√(mean(x²) + ε);  y = x̂ ⊙ w
//   backward: ∂L/∂w = Σ_rows ∂L/∂y ⊙ x̂;  ∂L/∂x = r · (g − x̂ · mean(g ⊙ x̂))
// Rows are independent, so both run in parallel over rows; ∂L/∂w and ∂L/∂b are summed per worker
// into private buffers and reduced at the end (no locks, same result for the same thread count).

extension Tape {
    /// LayerNorm over the last dimension with weight `w` (C) and bias `b` (C).
    public func layerNorm(_ x: Variable, weight w: Variable, bias b: Variable, epsilon: Float = 1e-5) -> Variable {
        normalize("layerNorm", x, weight: w, bias: b, centered: true, epsilon: epsilon)
    }

    /// RMSNorm over the last dimension with weight `w` (C): LayerNorm without centring or bias.
    public func rmsNorm(_ x: Variable, weight w: Variable, epsilon: Float = 1e-5) -> Variable {
        normalize("rmsNorm", x, weight: w, bias: nil, centered: false, epsilon: epsilon)
    }

    private func normalize(_ op: String, _ x: Variable, weight w: Variable, bias b: Variable?,
                           centered: Bool, epsilon: Float) -> Variable {
        let (rows, c) = (x.value.rows, x.value.columns)
        if w.shape != [c] || (b != nil && b!.shape != [c]) {
            shapeFailure(op, "weight and bias must be [\(c)] for input \(x.shape); got weight " +
                             "\(w.shape)\(b.map { ", bias \($0.shape)" } ?? "")")
        }
        let out = Tensor(uninitialized: x.shape)
        let normalized = Tensor(uninitialized: x.shape)   // x̂, kept for backward
        let reciprocal = Tensor(uninitialized: [rows])     // r per row, kept for backward
        let perWorker = max(1, Kernels.elementsPerWorker / max(c, 1))
        withExtendedLifetime((normalized, reciprocal)) {
            let (xv, wv, bv, y, xh, rs) = (x.value.base, w.value.base, b?.value.base, out.base,
                                           normalized.base, reciprocal.base)
            Parallel.forEach(rows, minimumPerWorker: perWorker) { range in
                for row in range {
                    let input = xv + row * c, hat = xh + row * c, result = y + row * c
                    let mean: Float = centered ? Float(Kernels.sum(input, count: c)) / Float(c) : 0
                    // Sixteen lanes at a time (a scalar loop with a running sum does not vectorise).
                    var squares = Float16x()
                    forLanes(c) { j, n in
                        let d = loadLanes(input + j, n, fill: mean) - mean   // lanes past the end add 0
                        squares += d * d
                    }
                    let r = 1 / (horizontalSum(squares) / Float(c) + epsilon).squareRoot()
                    rs[row] = r
                    forLanes(c) { j, n in
                        let h = (loadLanes(input + j, n) - mean) * r
                        storeLanes(h, hat + j, n)
                        let scaled = h * loadLanes(wv + j, n)
                        storeLanes(bv.map { scaled + loadLanes($0 + j, n) } ?? scaled, result + j, n)
                    }
                }
            }
        }
        let inputs = b.map { [x, w, $0] } ?? [x, w]
        return record(op, out, inputs: inputs) { output in
            let partials = Tensor(zeros: [Parallel.threads, 2 * c])  // per worker: ∂L/∂w (C), then ∂L/∂b (C)
            withExtendedLifetime((output, normalized, reciprocal, partials)) {
                let (dY, wv, xh, rs, part) = (output.grad!.base, w.value.base, normalized.base,
                                              reciprocal.base, partials.base)
                func pass(_ dX: UnsafeMutablePointer<Float>?, fresh: Bool) -> Int {
                    Parallel.forEachWorker(rows, partials: partials.shape[0],
                                           minimumPerWorker: perWorker) { worker, range in
                        let dW = part + worker * 2 * c, dB = dW + c
                        for row in range {
                            let g = dY + row * c, hat = xh + row * c
                            var sumG = Float16x(), sumGH = Float16x()
                            forLanes(c) { j, n in
                                let (gj, hj) = (loadLanes(g + j, n), loadLanes(hat + j, n))
                                storeLanes(loadLanes(dW + j, n) + gj * hj, dW + j, n)
                                storeLanes(loadLanes(dB + j, n) + gj, dB + j, n)
                                let gw = gj * loadLanes(wv + j, n)
                                sumG += gw
                                sumGH += gw * hj
                            }
                            guard let dX else { continue }
                            let meanG = centered ? horizontalSum(sumG) / Float(c) : 0
                            let meanGH = horizontalSum(sumGH) / Float(c)
                            let r = rs[row], dx = dX + row * c
                            forLanes(c) { j, n in
                                let gw = loadLanes(g + j, n) * loadLanes(wv + j, n)
                                let d = r * (gw - meanG - loadLanes(hat + j, n) * meanGH)
                                storeLanes(fresh ? d : loadLanes(dx + j, n) + d, dx + j, n)
                            }
                        }
                    }
                }
                var used = 0
                if x.requiresGrad { x.withGradient { used = pass($0,
                                                                 fresh: $1) } } else { used = pass(nil, fresh: false) }
                if w.requiresGrad {
                    w.withGradient { dW in for k in 0..<used { Kernels.axpy(1, part + k * 2 * c, dW, count: c) } }
                }
                if let b, b.requiresGrad {
                    b.withGradient { dB in for k in 0..<used { Kernels.axpy(1, part + k * 2 * c + c, dB, count: c) } }
                }
            }
        }
    }
}

// Introduced in Chapter 09. Rows scaled to unit length, for cosine similarities inside a loss:
//   y = x / n, n = √(|x|² + ε)
//   backward: ∂L/∂x = (g − y · (y·g)) / n     (the part of g along y is removed: length does not matter)
extension Tape {
    /// Each row of `x` (…, C) divided by its Euclidean length.
    public func normalizeRows(_ x: Variable, epsilon: Float = 1e-8) -> Variable {
        let (rows, c) = (x.value.rows, x.value.columns)
        let out = Tensor(uninitialized: x.shape)
        let lengths = Tensor(uninitialized: [rows])
        withExtendedLifetime(lengths) {
            let (xv, y, ns) = (x.value.base, out.base, lengths.base)
            for row in 0..<rows {
                let n = (Kernels.dot(xv + row * c, xv + row * c, count: c) + epsilon).squareRoot()
                ns[row] = n
                for j in 0..<c { y[row * c + j] = xv[row * c + j] / n }
            }
        }
        return record("normalizeRows", out, inputs: [x]) { output in
            withExtendedLifetime((output, lengths)) {
                let (g, y, ns) = (output.grad!.base, output.value.base, lengths.base)
                x.withGradient { dX in
                    for row in 0..<rows {
                        let along = Kernels.dot(y + row * c, g + row * c, count: c), n = ns[row]
                        for j in 0..<c { dX[row * c + j] += (g[row * c + j] - y[row * c + j] * along) / n }
                    }
                }
            }
        }
    }
}
