// Introduced in Chapter 00. Softmax, and cross-entropy fused with log-softmax.
//
// softmax:        yᵢ = e^{xᵢ − max} / Σⱼ e^{xⱼ − max}          backward: ∂L/∂x = y ⊙ (∂L/∂y − Σⱼ ∂L/∂yⱼ·yⱼ)
// cross-entropy:  ℓ = logΣⱼ e^{xⱼ} − x_target (= −log softmax(x)_target), averaged over counted rows
//                 backward: ∂ℓ/∂x = softmax(x) − onehot(target), divided by the number of counted rows.
// Fusing the two never forms log-probabilities and never takes log of a probability that underflowed.

extension Tape {
    /// Softmax over the last dimension.
    public func softmax(_ x: Variable) -> Variable {
        let (rows, columns) = (x.value.rows, x.value.columns)
        let out = Tensor(uninitialized: x.shape)
        Kernels.softmaxRows(x.value.base, out.base, rows: rows, columns: columns)
        return record("softmax", out, inputs: [x]) { y in
            let dY = y.grad!.base, yv = y.value.base
            x.withGradient { dX in
                Parallel.forEach(rows, minimumPerWorker: max(1, Kernels.elementsPerWorker / max(columns, 1))) { range in
                    for r in range {
                        let o = r * columns
                        var dot: Float = 0
                        for c in 0..<columns { dot += dY[o + c] * yv[o + c] }
                        for c in 0..<columns { dX[o + c] += yv[o + c] * (dY[o + c] - dot) }
                    }
                }
            }
        }
    }

    /// Mean cross-entropy of `logits` (…, V) against `targets` (one class index per row).
    ///
    /// Rows whose target equals `ignoreIndex` count for nothing: not in the loss, not in the mean's
    /// denominator, zero gradient (how fine-tuning masks the prompt). If every row is ignored the loss
    /// is 0. A target outside 0..<V that is not `ignoreIndex` is a programming error.
    public func crossEntropy(_ logits: Variable, targets: [Int], ignoreIndex: Int = -100) -> Variable {
        let (rows, vocabulary) = (logits.value.rows, logits.value.columns)
        if targets.count != rows {
            shapeFailure("crossEntropy",
                         "logits \(logits.shape) have \(rows) rows but there are \(targets.count) targets")
        }
        if let bad = targets.first(where: { $0 != ignoreIndex && !(0..<vocabulary).contains($0) }) {
            shapeFailure("crossEntropy", "target \(bad) is outside 0..<\(vocabulary) for logits \(logits.shape)")
        }
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        // One pass per row: max, Σe^{x−max}, the probabilities (kept: backward needs softmax(x)), and
        // −log p_target = max + log Σe^{x−max} − x_target, summed per worker in Double.
        let probabilities = Tensor(uninitialized: logits.shape)
        let x = logits.value.base, p = probabilities.base
        var partials = [Double](repeating: 0, count: Parallel.threads)
        partials.withUnsafeMutableBufferPointer { partial in
            let perWorker = max(1, Kernels.elementsPerWorker / max(vocabulary, 1))
            Parallel.forEachWorker(rows, partials: partial.count, minimumPerWorker: perWorker) { worker, range in
                for r in range {
                    let row = x + r * vocabulary
                    let logSum = Kernels.softmaxRow(row, p + r * vocabulary, count: vocabulary)
                    if targets[r] != ignoreIndex { partial[worker] += Double(logSum - row[targets[r]]) }
                }
            }
        }
        let total = partials.reduce(0, +)
        let loss = counted == 0 ? 0 : Float(total / Double(counted))
        return record("crossEntropy", Tensor(scalar: loss), inputs: [logits]) { output in
            guard counted > 0 else { return }
            let scale = output.grad!.item / Float(counted)
            let p = probabilities.base
            logits.withGradient { dX in
                Parallel.forEach(rows,
                                 minimumPerWorker: max(1, Kernels.elementsPerWorker / max(vocabulary, 1))) { range in
                    for r in range where targets[r] != ignoreIndex {
                        let o = r * vocabulary
                        Kernels.axpy(scale, p + o, dX + o, count: vocabulary)
                        dX[o + targets[r]] -= scale
                    }
                }
            }
        }
    }
}
