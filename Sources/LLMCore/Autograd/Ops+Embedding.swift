// Introduced in Chapter 00. Embedding lookup and dropout.

extension Tape {
    /// Rows of `table` (V, C) picked by `ids`, shaped `shape + [C]` (e.g. ids of a (B, T) batch give
    /// (B, T, C)). Backward adds each output row's gradient into the row it came from (a scatter-add:
    /// a token used twice gets both gradients).
    /// An id outside 0..<V is a programming error here; tokenizers validate user ids before this.
    public func embedding(_ table: Variable, ids: [Int], shape: [Int]) -> Variable {
        if table.shape.count != 2 || shape.reduce(1, *) != ids.count {
            shapeFailure("embedding",
                         "needs a (V, C) table and \(shape.reduce(1, *)) ids for shape \(shape); got table " +
                         "\(table.shape), \(ids.count) ids")
        }
        let (vocabulary, c) = (table.shape[0], table.shape[1])
        if let bad = ids.first(where: { !(0..<vocabulary).contains($0) }) {
            shapeFailure("embedding", "id \(bad) is outside 0..<\(vocabulary) for table \(table.shape)")
        }
        let out = Tensor(uninitialized: shape + [c])
        let (src, dst) = (table.value.base, out.base)
        Parallel.forEach(ids.count, minimumPerWorker: max(1, Kernels.elementsPerWorker / max(c, 1))) { range in
            for i in range { (dst + i * c).update(from: src + ids[i] * c, count: c) }
        }
        return record("embedding", out, inputs: [table]) { output in
            let dOut = output.grad!.base
            // Two positions may share a token, so workers split the columns, not the positions.
            table.withGradient { dTable in
                Parallel.forEach(c, minimumPerWorker: max(16,
                                                          Kernels.elementsPerWorker / max(ids.count, 1))) { columns in
                    for (i, id) in ids.enumerated() {
                        let source = dOut + i * c + columns.lowerBound, target = dTable + id * c + columns.lowerBound
                        for j in 0..<columns.count { target[j] += source[j] }
                    }
                }
            }
        }
    }

    /// `x` with some of its slices along `axis` replaced by `y`'s: out = x, then out[…, indices[k], …] =
    /// y[…, k, …]. `y` has `x`'s shape with `indices.count` at `axis`; the indices are distinct and in range.
    /// Backward: y's gradient is the output gradient at those slices; x's is the rest (zero where replaced).
    /// (Chapter 06 replaces a few tokens' rows of a frozen embedding and a few columns of the logits:
    /// PEFT's trainable tokens.)
    public func overwrite(_ x: Variable, axis: Int, at indices: [Int], with y: Variable) -> Variable {
        let shape = x.shape
        var expected = shape
        if shape.indices.contains(axis) { expected[axis] = indices.count }
        if !shape.indices.contains(axis) || y.shape != expected || Set(indices).count != indices.count
            || indices.contains(where: { !(0..<shape[axis]).contains($0) }) {
            shapeFailure("overwrite", "needs distinct indices within x \(shape) along axis \(axis) and y of shape " +
                                      "\(expected); got indices \(indices), y \(y.shape)")
        }
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        let k = indices.count
        let out = Tensor(uninitialized: shape)
        out.base.update(from: x.value.base, count: x.value.count)
        let (src, dst) = (y.value.base, out.base)
        for o in 0..<outer {
            for (j, index) in indices.enumerated() {
                (dst + (o * n + index) * inner).update(from: src + (o * k + j) * inner, count: inner)
            }
        }
        return record("overwrite", out, inputs: [x, y]) { output in
            let dOut = output.grad!.base
            if x.requiresGrad {
                x.withGradient { dX, fresh in
                    if fresh {                                         // copy, then zero the replaced slices
                        dX.update(from: dOut, count: x.value.count)
                        for o in 0..<outer {
                            for index in indices { (dX + (o * n + index) * inner).update(repeating: 0, count: inner) }
                        }
                    } else {                                           // add all but the replaced slices
                        var kept = [Bool](repeating: true, count: n)
                        for index in indices { kept[index] = false }
                        for o in 0..<outer {
                            for s in 0..<n where kept[s] {
                                let offset = (o * n + s) * inner
                                for i in 0..<inner { dX[offset + i] += dOut[offset + i] }
                            }
                        }
                    }
                }
            }
            if y.requiresGrad {
                y.withGradient { dY in
                    for o in 0..<outer {
                        for (j, index) in indices.enumerated() {
                            let target = dY + (o * k + j) * inner, source = dOut + (o * n + index) * inner
                            for i in 0..<inner { target[i] += source[i] }
                        }
                    }
                }
            }
        }
    }

    /// `hidden · tableᵀ` (…, V) with the columns of `ids` scored by `rows` instead of the table's rows:
    /// equal to `overwrite(matmul(hidden, table, transposeB: true), axis: last, at: ids, with:
    /// matmul(hidden, rows, transposeB: true))`, without copying the (…, V) logits twice. Backward, with G the
    /// output gradient and G_ids its columns at `ids`:
    ///   ∂hidden = G·table + G_ids·(rows − table[ids])   (the table's rows at ids passed nothing forward)
    ///   ∂rows   = G_idsᵀ·hidden,   ∂table = Gᵀ·hidden with the rows at ids zero.
    public func logits(_ hidden: Variable, table: Variable, replacing ids: [Int], with rows: Variable) -> Variable {
        let c = hidden.shape.last ?? 0, v = table.shape.first ?? 0, k = ids.count
        if hidden.shape.isEmpty || table.shape != [v, c] || rows.shape != [k, c] || Set(ids).count != k
            || ids.contains(where: { !(0..<v).contains($0) }) {
            shapeFailure("logits", "needs hidden (…, C), table (V, C), rows (ids, C) and distinct ids in 0..<V; got " +
                                   "hidden \(hidden.shape), table \(table.shape), rows \(rows.shape), ids \(ids)")
        }
        let n = hidden.value.count / max(c, 1)
        let out = Tensor(uninitialized: Array(hidden.shape.dropLast()) + [v])
        let ours = Tensor(uninitialized: [n, k])                                                   // (N, ids)
        BLAS.gemm(transposeA: false, transposeB: true, m: n, n: v, k: c, a: hidden.value.base, b: table.value.base,
                  beta: 0, c: out.base)
        BLAS.gemm(transposeA: false, transposeB: true, m: n, n: k, k: c, a: hidden.value.base, b: rows.value.base,
                  beta: 0, c: ours.base)
        for row in 0..<n { for (j, id) in ids.enumerated() { out.base[row * v + id] = ours.base[row * k + j] } }
        return record("logits", out, inputs: [hidden, table, rows]) { output in
            let g = output.grad!.base
            let picked = Tensor(uninitialized: [n, k])                                             // G_ids
            for row in 0..<n { for (j, id) in ids.enumerated() { picked.base[row * k + j] = g[row * v + id] } }
            if hidden.requiresGrad {
                var difference = Tensor(zeros: [k, c])                                             // rows − table[ids]
                difference.withUnsafeMutableBufferPointer { d in
                    for (j, id) in ids.enumerated() {
                        for i in 0..<c { d[j * c + i] = rows.value.base[j * c + i] - table.value.base[id * c + i] }
                    }
                }
                hidden.withGradient { dH, fresh in
                    BLAS.gemm(transposeA: false, transposeB: false, m: n, n: c, k: v, a: g, b: table.value.base,
                              beta: fresh ? 0 : 1, c: dH)
                    BLAS.gemm(transposeA: false, transposeB: false, m: n, n: c, k: k, a: picked.base,
                              b: difference.base, beta: 1, c: dH)
                }
            }
            if rows.requiresGrad {
                rows.withGradient { dR, fresh in
                    BLAS.gemm(transposeA: true, transposeB: false, m: k, n: c, k: n, a: picked.base,
                              b: hidden.value.base, beta: fresh ? 0 : 1, c: dR)
                }
            }
            if table.requiresGrad {
                let full = Tensor(uninitialized: [v, c])
                BLAS.gemm(transposeA: true, transposeB: false, m: v, n: c, k: n, a: g, b: hidden.value.base,
                          beta: 0, c: full.base)
                for id in ids { (full.base + id * c).update(repeating: 0, count: c) }
                table.accumulateGradient(full)
            }
        }
    }

    /// Inverted dropout: each element is zeroed with probability `p` and the survivors are scaled by
    /// 1/(1−p), so the expected value is unchanged and inference needs no rescaling. The mask comes
    /// from `generator` (seeded: same seed, same mask). Dropout is for training only: a model passes
    /// `probability: 0` when it evaluates, which makes this the identity. (It does not switch itself off on
    /// an inference tape, so that the gradient checker sees the same function in both its passes.)
    public func dropout(_ x: Variable, probability p: Float, generator: inout SeededGenerator) -> Variable {
        if !(0..<1).contains(p) { shapeFailure("dropout", "probability \(p) must be in [0, 1)") }
        if p == 0 { return x }
        let keep = 1 / (1 - p)
        var mask = Tensor(uninitialized: x.shape)
        mask.withUnsafeMutableBufferPointer { m in
            for i in m.indices { m[i] = generator.uniform() < p ? 0 : keep }
        }
        let out = Tensor(uninitialized: x.shape)
        Kernels.zip(x.value.base, mask.base, out.base, count: x.value.count) { $0 * $1 }
        return record("dropout", out, inputs: [x]) { output in
            withExtendedLifetime(mask) {
                x.withGradient { dX in Kernels.accumulate(output.grad!.base, mask.base, into: dX,
                                                          count: x.value.count) { $0 * $1 } }
            }
        }
    }
}
