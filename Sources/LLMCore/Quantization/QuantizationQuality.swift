// Introduced in Chapter 07. How much a quantized model differs from the Float32 one it came from:
// the KL divergence of its next-token distributions, a copy to quantize without touching the original, and
// the plain round-to-grid used to sweep bit widths the formats do not store.

import Foundation

public enum QuantizationQuality {
    /// Mean KL(p_reference ‖ p_model) in nats over every scored target position (target ≠ −100) of `batches`:
    /// Σ_v p(v)·(log p(v) − log q(v)), averaged over positions. 0 when the two models agree everywhere.
    public static func meanKL(reference: GPT, model: GPT, batches: [TokenBatch]) -> Double {
        var total = 0.0, positions = 0
        for batch in batches {
            let p = reference(batch.inputs, .inference).value, q = model(batch.inputs, .inference).value
            let v = p.shape[p.shape.count - 1]
            p.withUnsafeBufferPointer { pp in
                q.withUnsafeBufferPointer { qq in
                    for (row, target) in batch.targets.enumerated() where target != TokenBatch.ignoreIndex {
                        total += kl(pp.baseAddress! + row * v, qq.baseAddress! + row * v, count: v)
                        positions += 1
                    }
                }
            }
        }
        return positions == 0 ? 0 : total / Double(positions)
    }

    /// KL(softmax(a) ‖ softmax(b)) for two rows of logits, in Double.
    static func kl(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
        func logSoftmax(_ x: UnsafePointer<Float>) -> [Double] {
            var largest = -Double.infinity
            for i in 0..<count { largest = max(largest, Double(x[i])) }
            var sum = 0.0
            for i in 0..<count { sum += exp(Double(x[i]) - largest) }
            let shift = largest + log(sum)
            return (0..<count).map { Double(x[$0]) - shift }
        }
        let (lp, lq) = (logSoftmax(a), logSoftmax(b))
        var total = 0.0
        for i in 0..<count { total += exp(lp[i]) * (lp[i] - lq[i]) }
        return max(0, total)
    }

    /// Symmetric absmax rounding of each group of `group` numbers of every row to `bits` bits (levels
    /// −(2^(bits−1) − 1) … 2^(bits−1) − 1, step max|w| / that), returned in Float32: what any bit width
    /// does to the weights, without a storage format for it (Chapter 07's sweep over bits).
    public static func roundToGrid(_ w: Tensor, bits: Int, group: Int) throws -> Tensor {
        guard w.shape.count == 2, bits >= 2, bits <= 8, group > 0, w.shape[1] % group == 0 else {
            throw CourseError.invalidValue(name: "grid", value: "\(bits) bits, groups of \(group) for \(w.shape)",
                                           expected: "2…8 bits and a group that divides the rows")
        }
        let top = Float((1 << (bits - 1)) - 1)
        var values = w.scalars
        for start in stride(from: 0, to: values.count, by: group) {
            let largest = values[start..<(start + group)].reduce(Float(0)) { max($0, abs($1)) }
            let step = largest / top
            guard step > 0 else { continue }
            for i in start..<(start + group) { values[i] = max(-top, min(top, (values[i] / step).rounded())) * step }
        }
        return Tensor(shape: w.shape, values: values)
    }
}

extension GPT {
    /// An independent copy of a Float32 model (same config, every parameter's values copied), to quantize or
    /// fine-tune while the original stays as it is. Adapters are not carried over; a quantized model cannot
    /// be copied this way (its integers are not parameters).
    public func copy() throws -> GPT {
        if !quantizedMatrices.isEmpty {
            throw CourseError.invalidValue(name: "model to copy", value: "quantized",
                                           expected: "a Float32 model (copy before quantizing)")
        }
        let model = try GPT(config, seed: 0)
        let values = Dictionary(namedParameters.map { ($0.0, $0.1.value) }, uniquingKeysWith: { a, _ in a })
        for (name, target) in model.namedParameters { if let value = values[name] { target.value = value } }
        return model
    }
}
