// Introduced in Chapter 00. A Variable is a tensor that autograd can differentiate with respect to:
// its value, and (once backward has run) the gradient of the loss with respect to that value.

/// A node of the computation: a value and, if it requires one, an accumulated gradient.
///
/// Parameters (weights) are Variables created with `requiresGrad: true` that live as long as the
/// model; every op on a `Tape` returns a new Variable for its output.
public final class Variable: @unchecked Sendable {
    /// The forward value.
    public var value: Tensor
    /// ∂loss/∂value, summed over every use of this Variable; `nil` until backward reaches it.
    public var grad: Tensor?
    /// Whether backward should compute a gradient for this Variable. A parameter with `false` is
    /// *frozen*: no op computes or stores a gradient for it, and a trainer hands it to no optimizer.
    public var requiresGrad: Bool
    /// A name for error messages, checkpoints and plots (`"blocks.0.attention.qkv.weight"`).
    public var name: String

    public init(_ value: Tensor, requiresGrad: Bool = false, name: String = "") {
        self.value = value
        self.requiresGrad = requiresGrad
        self.name = name
    }

    /// A parameter: a Variable that requires a gradient.
    public static func parameter(_ value: Tensor, name: String = "") -> Variable {
        Variable(value, requiresGrad: true, name: name)
    }

    public var shape: [Int] { value.shape }

    /// Freezes this parameter: no gradient from now on (and the stored one is dropped).
    public func freeze() {
        requiresGrad = false
        grad = nil
    }

    /// Makes this Variable trainable again.
    public func unfreeze() { requiresGrad = true }

    /// Clears the gradient to zeros, keeping its buffer for the next step (no allocation per step).
    public func zeroGrad() {
        guard grad != nil else { return }
        grad!.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Calls `body` with a writable pointer to the gradient buffer, allocating zeros on first use.
    /// Backward kernels add into it (gradients accumulate over every use of a Variable).
    @inline(__always)
    func withGradient(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        if grad == nil { grad = Tensor(zeros: value.shape) }
        grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Adds `gradient` (same element count) to this Variable's gradient. On first use the tensor is
    /// taken as it is — no copy, the buffer is shared until either side writes to it (copy on write).
    func accumulateGradient(_ gradient: Tensor) {
        if grad == nil {
            grad = gradient.reshaped(value.shape)
        } else {
            withGradient { Kernels.axpy(1, gradient.base, $0, count: value.count) }
        }
    }

    /// Like `withGradient`, for kernels that can either write or add: on first use the buffer is left
    /// uninitialized and `body` gets `fresh == true` and must write every element (`β = 0` in a
    /// product, `=` instead of `+=`); afterwards `fresh == false` and it adds. This saves a pass that
    /// zeroes the buffer and a pass that reads the zeros back — per activation gradient, every step.
    @inline(__always)
    func withGradient(_ body: (UnsafeMutablePointer<Float>, _ fresh: Bool) -> Void) {
        let fresh = grad == nil
        if fresh { grad = Tensor(uninitialized: value.shape) }
        grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!, fresh) }
    }
}

extension Sequence where Element == Variable {
    /// Zeroes every gradient (call before each training step's backward).
    public func zeroGrad() { forEach { $0.zeroGrad() } }

    /// The total number of scalars.
    public var parameterCount: Int { reduce(0) { $0 + $1.value.count } }
}
