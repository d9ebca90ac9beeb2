// Introduced in Chapter 07. Quantization-aware training (QAT): the forward pass uses the weights as they
// will be after quantization, ŵ = dequantize(quantize(w)), while the optimizer keeps updating the Float32 w.
// Rounding has a zero derivative almost everywhere, so the backward pass pretends it is the identity — the
// straight-through estimator (STE): ∂L/∂w = ∂L/∂ŵ where w lies inside the grid, and 0 where it was clipped
// (moving a clipped weight further out changes nothing).

extension Tape {
    /// ŵ = dequantize(quantize(w)) for a 2-D weight (out, in), with the straight-through gradient. A scheme
    /// whose block size does not divide the rows is a programming error here (checked by the caller).
    public func fakeQuantize(_ w: Variable, scheme: QuantizationScheme) -> Variable {
        guard w.shape.count == 2, let q = try? QuantizedMatrix(quantizing: w.value, scheme: scheme) else {
            shapeFailure("fakeQuantize", "needs a 2-D weight whose rows \(scheme) divides; got \(w.shape)")
        }
        let out = q.dequantized()
        // Inside the grid: between the levels' two ends, (0 − z)·d and (levels − z)·d (±127·d for int8).
        var inside = Tensor(zeros: w.shape)
        let (rows, columns) = (w.shape[0], w.shape[1])
        inside.withUnsafeMutableBufferPointer { mask in
            w.value.withUnsafeBufferPointer { values in
                for row in 0..<rows {
                    for c in 0..<columns {
                        let block = row * q.blocksPerRow + c / q.blockSize
                        let d = q.steps[block], z = Float(q.zero(block))
                        let ends = scheme.symmetric && scheme.bits == 8 ? (-127 * abs(d), 127 * abs(d))
                            : ((0 - z) * d, (Float(scheme.levels) - z) * d)
                        let (low, high) = (min(ends.0, ends.1), max(ends.0, ends.1))
                        let v = values[row * columns + c]
                        // Half a step of slack: a value that rounds onto the last level is not clipped.
                        mask[row * columns + c] = v >= low - abs(d) / 2 && v <= high + abs(d) / 2 ? 1 : 0
                    }
                }
            }
        }
        return record("fakeQuantize", out, inputs: [w]) { output in
            withExtendedLifetime(inside) {
                w.withGradient { dW in
                    Kernels.accumulate(output.grad!.base, inside.base, into: dW, count: w.value.count) { $0 * $1 }
                }
            }
        }
    }
}

/// A dense weight seen through fake quantization: trains in Float32, computes with its quantized values (QAT).
/// `QuantizedWeight(quantizing:)` of its matrix afterwards gives exactly the weights the forward pass used.
public final class FakeQuantizedWeight: LinearWeight {
    public let inner: DenseWeight
    public let scheme: QuantizationScheme

    public init(_ inner: DenseWeight, scheme: QuantizationScheme) throws {
        _ = try scheme.blockSize(columns: inner.inputs)
        (self.inner, self.scheme) = (inner, scheme)
    }

    public var outputs: Int { inner.outputs }
    public var inputs: Int { inner.inputs }

    public func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable {
        tape.linear(x, weight: tape.fakeQuantize(inner.matrix, scheme: scheme), bias: bias)
    }

    public var namedParameters: [(String, Variable)] { inner.namedParameters }
}

extension GPT {
    /// Puts fake quantization on every dense linear layer not in `keep`, and on the head unless `keep` holds
    /// "lm_head" — the same choice `quantize` makes — for QAT; returns their names.
    @discardableResult
    public func fakeQuantize(_ scheme: QuantizationScheme, keep: Set<String> = []) throws -> [String] {
        var done: [String] = []
        for layer in linearLayers where !keep.contains(layer.name) {
            guard let dense = layer.weight as? DenseWeight else { continue }
            layer.weight = try FakeQuantizedWeight(dense, scheme: scheme)
            done.append(layer.name)
        }
        if !keep.contains(Self.headName), quantizedHead == nil, embeddingRows == nil, headRows == nil {
            _ = try scheme.blockSize(columns: config.embeddingSize)
            fakeQuantizedHead = scheme
            done.append(Self.headName)
        }
        return done
    }

    /// Takes fake quantization off again (the Float32 weights, as trained) — then `quantize` for the real thing.
    public func removeFakeQuantization() {
        for layer in linearLayers { if let fake = layer.weight as? FakeQuantizedWeight { layer.weight = fake.inner } }
        fakeQuantizedHead = nil
    }
}
