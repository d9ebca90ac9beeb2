// Introduced in Chapter 00. Element-wise non-linearities on the tape. Each backward multiplies the
// output gradient by the derivative at the saved input: ∂L/∂x = ∂L/∂y · f′(x).

extension Tape {
    /// GELU, tanh approximation (GPT-2's MLP non-linearity). See `Kernels.gelu`.
    public func gelu(_ x: Variable) -> Variable {
        activation("gelu", x, Kernels.gelu, Kernels.geluDerivative)
    }

    /// SiLU(x) = x·σ(x), the gate of Llama's SwiGLU MLP.
    public func silu(_ x: Variable) -> Variable {
        activation("silu", x, Kernels.silu, Kernels.siluDerivative)
    }

    /// ReLU(x) = max(x, 0).
    public func relu(_ x: Variable) -> Variable {
        activation("relu", x, Kernels.relu, Kernels.reluDerivative)
    }

    /// Any element-wise function given as a SIMD forward and its derivative: how a lesson or an
    /// exercise adds its own op and then gradient-checks the derivative it wrote by hand.
    public func elementwise(_ name: String, _ x: Variable,
                            forward: @escaping (Float16x) -> Float16x,
                            derivative: @escaping (Float16x) -> Float16x) -> Variable {
        activation(name, x, forward, derivative)
    }

    // Inlined into each caller so that the SIMD function is known at compile time and the kernels'
    // loops call it directly (through a closure value it cost a call per 16 elements).
    @inline(__always)
    private func activation(_ op: String, _ x: Variable,
                            _ f: @escaping (Float16x) -> Float16x,
                            _ derivative: @escaping (Float16x) -> Float16x) -> Variable {
        let out = Tensor(uninitialized: x.shape)
        Kernels.map(x.value.base, out.base, count: x.value.count, f)
        return record(op, out, inputs: [x]) { y in
            x.withGradient { dX in
                Kernels.accumulate(y.grad!.base, x.value.base, into: dX, count: x.value.count) { dY, xv in
                    dY * derivative(xv)
                }
            }
        }
    }
}
