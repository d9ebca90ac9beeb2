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
