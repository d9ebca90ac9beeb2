// Introduced in Chapter 00. Element-wise non-linearities on the tape. Each backward multiplies the
// output gradient by the derivative at the saved input: ∂L/∂x = ∂L/∂y · f′(x).

extension Tape {
    /// GELU, tanh approximation (GPT-2's MLP non-linearity). See `Kernels.gelu`.
    public func gelu(_ x: Variable) -> Variable {
        activation("gelu", x, Kernels.GELU.self)
    }

    /// SiLU(x) = x·σ(x), the gate of Llama's SwiGLU MLP.
    public func silu(_ x: Variable) -> Variable {
        activation("silu", x, Kernels.SiLU.self)
    }

    /// ReLU(x) = max(x, 0).
    public func relu(_ x: Variable) -> Variable {
        activation("relu", x, Kernels.ReLU.self)
    }

    /// Any element-wise function given as a SIMD forward and its derivative: how a lesson or an
    /// exercise adds its own op and then gradient-checks the derivative it wrote by hand.
    public func elementwise(_ name: String, _ x: Variable,
                            forward: @escaping (Float16x) -> Float16x,
                            derivative: @escaping (Float16x) -> Float16x) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Kernels.map(x.value.base, out.base, count: x.value.count, forward)
        return record(name, out, inputs: [x]) { y in
            x.withGradient { dX, fresh in
                if fresh {
                    Kernels.zip(y.grad!.base, x.value.base, dX, count: x.value.count) { dY, xv in dY * derivative(xv) }
                } else {
                    Kernels.accumulate(y.grad!.base, x.value.base, into: dX,
                                       count: x.value.count) { dY, xv in dY * derivative(xv) }
                }
            }
        }
    }

    /// A built-in activation: the same as `elementwise`, with loops specialised for `F`.
    private func activation<F: ActivationFunction>(_ op: String, _ x: Variable, _ function: F.Type) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Kernels.activation(F.self, x.value.base, out.base, count: x.value.count)
        return record(op, out, inputs: [x]) { y in
            x.withGradient { dX, fresh in
                Kernels.activationGradient(F.self, y.grad!.base, x.value.base, into: dX,
                                           count: x.value.count, accumulate: !fresh)
            }
        }
    }
}
