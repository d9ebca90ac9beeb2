// Introduced in Chapter 00. Sums, products and reductions on the tape.
//
// Broadcasting here is the one kind a transformer needs: `b`'s shape is a suffix of `a`'s shape
// (a bias (C) added to every row of (B, T, C); positions (T, C) added to every sequence of (B, T, C)).
// The gradient of a broadcast operand is the sum of the output gradient over the repeated copies.

extension Tape {
    /// Checks that `b` broadcasts onto `a` (b's shape is a suffix of a's) and returns the repeat count.
    private func broadcastCopies(_ op: String, _ a: Variable, _ b: Variable) -> Int {
        let (aShape, bShape) = (a.shape, b.shape)
        if bShape.count > aShape.count || Array(aShape.suffix(bShape.count)) != bShape {
            shapeFailure(op, "b's shape must equal a's trailing dimensions; got a \(aShape), b \(bShape)")
        }
        return a.value.count / max(b.value.count, 1)
    }

    /// `f(a, b)` element-wise with `b` repeated over `a`'s leading dimensions: the output, how many
    /// copies of `b` were used, and `b`'s element count.
    private func broadcastForward(_ op: String, _ a: Variable, _ b: Variable,
                                  _ f: @escaping (Float16x, Float16x) -> Float16x) -> (Tensor,
                                                                                       copies: Int, width: Int) {
        let copies = broadcastCopies(op, a, b)
        let width = b.value.count
        let out = Tensor(uninitialized: a.shape)
        let (x, y, z) = (a.value.base, b.value.base, out.base)
        Parallel.forEach(copies, minimumPerWorker: max(1, Kernels.elementsPerWorker / max(width, 1))) { range in
            for copy in range {
                let offset = copy * width
                Kernels.zip(x + offset, y, z + offset, count: width, f)
            }
        }
        return (out, copies, width)
    }

    /// `a + b`, with `b` repeated over `a`'s leading dimensions when its shape is a suffix of `a`'s.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        let (out, copies, width) = broadcastForward("add", a, b) { $0 + $1 }
        return record("add", out, inputs: [a, b]) { output in
            let dOut = output.grad!.base
            if a.requiresGrad {
                a.withGradient { dA, fresh in
                    if fresh { dA.update(from: dOut, count: a.value.count) } else { Kernels.axpy(1, dOut,
                        dA, count: a.value.count) }
                }
            }
            if b.requiresGrad {
                b.withGradient { dB in  // Σ over the copies, each worker owning a slice of b's columns
                    Kernels.sumCopies(dOut, copies: copies, width: width, into: dB)
                }
            }
        }
    }

    /// `a ⊙ b` element-wise, with the same suffix broadcasting as `add`.
    public func mul(_ a: Variable, _ b: Variable) -> Variable {
        let (out, copies, width) = broadcastForward("mul", a, b) { $0 * $1 }
        return record("mul", out, inputs: [a, b]) { output in
            let dOut = output.grad!.base
            let (x, y) = (a.value.base, b.value.base)
            if a.requiresGrad {  // ∂(a⊙b)/∂a = b
                a.withGradient { dA in
                    for copy in 0..<copies {
                        let offset = copy * width
                        Kernels.accumulate(dOut + offset, y, into: dA + offset, count: width) { $0 * $1 }
                    }
                }
            }
            if b.requiresGrad {  // ∂(a⊙b)/∂b = a, summed over the copies
                b.withGradient { dB in
                    for copy in 0..<copies {
                        let offset = copy * width
                        Kernels.accumulate(dOut + offset, x + offset, into: dB, count: width) { $0 * $1 }
                    }
                }
            }
        }
    }

    /// `α · a`.
    public func scale(_ a: Variable, by alpha: Float) -> Variable {
        let out = Tensor(uninitialized: a.shape)
        Kernels.map(a.value.base, out.base, count: a.value.count) { $0 * alpha }
        return record("scale", out, inputs: [a]) { output in
            a.withGradient { Kernels.axpy(alpha, output.grad!.base, $0, count: a.value.count) }
        }
    }

    /// Σ of all elements, a scalar of shape [].
    public func sum(_ a: Variable) -> Variable {
        let total = Float(Kernels.sum(a.value.base, count: a.value.count))
        return record("sum", Tensor(scalar: total), inputs: [a]) { output in
            let g = output.grad!.item
            a.withGradient { dA in Kernels.map(dA, dA, count: a.value.count) { $0 + g } }
        }
    }

    /// The mean of all elements, a scalar of shape [].
    public func mean(_ a: Variable) -> Variable {
        let n = Float(max(a.value.count, 1))
        let average = Float(Kernels.sum(a.value.base, count: a.value.count)) / n
        return record("mean", Tensor(scalar: average), inputs: [a]) { output in
            let g = output.grad!.item / n
            a.withGradient { dA in Kernels.map(dA, dA, count: a.value.count) { $0 + g } }
        }
    }
}
