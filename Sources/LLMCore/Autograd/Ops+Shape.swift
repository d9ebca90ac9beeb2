// Introduced in Chapter 00. Reshape and transpose on the tape: explicit copies, no views.

extension Tape {
    /// The same elements in the same order under `shape` (same element count).
    public func reshape(_ a: Variable, _ shape: [Int]) -> Variable {
        if shape.reduce(1, *) != a.value.count || shape.contains(where: { $0 < 0 }) {
            shapeFailure("reshape", "cannot reshape \(a.shape) (\(a.value.count) elements) to \(shape)")
        }
        return record("reshape", a.value.reshaped(shape), inputs: [a]) { output in
            a.accumulateGradient(output.grad!)
        }
    }

    /// Swaps two axes, copying the elements into the new order:
    /// `transpose(x, 1, 2)` turns (B, T, NH, HS) into (B, NH, T, HS).
    public func transpose(_ a: Variable, _ axis0: Int, _ axis1: Int) -> Variable {
        let shape = a.shape
        if !shape.indices.contains(axis0) || !shape.indices.contains(axis1) {
            shapeFailure("transpose", "axes \(axis0), \(axis1) out of range for shape \(shape)")
        }
        let out = Tensor.swappingAxes(a.value, axis0, axis1)
        return record("transpose", out, inputs: [a]) { output in
            // The gradient goes back through the same swap.
            a.accumulateGradient(Tensor.swappingAxes(output.grad!, axis0, axis1))
        }
    }
}

extension Tensor {
    /// A copy with axes `i` and `j` exchanged. Walks the output in order and reads the input by strides,
    /// moving whole contiguous inner runs at once when neither axis is the last.
    public static func swappingAxes(_ x: Tensor, _ i: Int, _ j: Int) -> Tensor {
        var outShape = x.shape
        outShape.swapAt(i, j)
        let out = Tensor(uninitialized: outShape)
        if i == j || x.count == 0 {
            out.base.update(from: x.base, count: x.count)
            return out
        }
        let rank = x.shape.count
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * x.shape[d + 1] }
        var strides = inStrides  // input stride of each output axis
        strides.swapAt(i, j)
        // Inner run: trailing axes untouched by the swap are contiguous in both.
        let innerAxes = max(i, j) + 1
        let run = x.shape[innerAxes...].reduce(1, *)
        let outer = x.count / run
        let src = x.base, dst = out.base
        Parallel.forEach(outer, minimumPerWorker: max(1, Kernels.elementsPerWorker / run)) { range in
            var index = [Int](repeating: 0, count: innerAxes)
            for o in range {
                var rest = o, offset = 0
                for d in stride(from: innerAxes - 1, through: 0, by: -1) {
                    index[d] = rest % outShape[d]
                    rest /= outShape[d]
                    offset += index[d] * strides[d]
                }
                (dst + o * run).update(from: src + offset, count: run)
            }
        }
        return out
    }
}
