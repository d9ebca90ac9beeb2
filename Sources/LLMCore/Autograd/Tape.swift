// Introduced in Chapter 00. Reverse-mode automatic differentiation with an explicit tape.
//
// Every op on a recording Tape computes its output and appends a closure that knows how to turn
// ∂loss/∂output into ∂loss/∂inputs. `backward(loss)` seeds ∂loss/∂loss = 1 and runs the closures in
// exactly the reverse order of the forward pass (as llm.c's `gpt2_backward` does by hand), so every
// gradient is complete before it is used. Ops are coarse (a whole matmul, a whole LayerNorm), so a
// GPT step records a few hundred closures, not millions.
//
// Inference uses `Tape(recording: false)`: the same op calls compute forward values only, keep no
// closures, and hold no intermediate tensors alive.

public final class Tape {
    /// Whether ops record backward closures. `false` is inference ("no-grad") mode.
    public let isRecording: Bool
    private var entries: [(op: String, backward: () -> Void)] = []

    public init(recording: Bool = true) {
        isRecording = recording
    }

    /// A tape that records nothing, for inference.
    public static var inference: Tape { Tape(recording: false) }

    /// Names of the recorded ops in forward order (what a lesson prints to show the tape).
    public var operations: [String] { entries.map(\.op) }

    /// Makes the output Variable of an op, and records `backward` when any input needs a gradient.
    /// `backward` receives the output, whose `grad` then holds ∂loss/∂output.
    func record(_ op: String, _ value: Tensor, inputs: [Variable],
                backward: @escaping (_ output: Variable) -> Void) -> Variable {
        let needs = isRecording && inputs.contains { $0.requiresGrad }
        let output = Variable(value, requiresGrad: needs, name: op)
        if needs {
            entries.append((op, { [unowned output] in
                // An output nobody used on the way to the loss has no gradient: nothing to pass back.
                if output.grad != nil { backward(output) }
            }))
            retained.append(output)
        }
        return output
    }
    // Outputs stay alive until backward has run (closures hold them unowned to avoid cycles).
    private var retained: [Variable] = []

    /// Back-propagates from a scalar `loss`: ∂loss/∂loss = 1, then every recorded op in reverse.
    public func backward(_ loss: Variable) {
        if loss.value.count != 1 {
            shapeFailure("Tape.backward", "loss must have one element, shape is \(loss.shape); use backward(_:seed:)")
        }
        backward(loss, seed: Tensor(shape: loss.shape, repeating: 1))
    }

    /// Back-propagates from any output with a given ∂loss/∂output (`seed`, same shape as `output`).
    /// Gradient checks use this with a random seed R: it differentiates L = Σ output ⊙ R.
    public func backward(_ output: Variable, seed: Tensor) {
        if seed.shape != output.shape {
            shapeFailure("Tape.backward", "seed shape \(seed.shape) differs from output shape \(output.shape)")
        }
        if !output.requiresGrad { return }  // nothing on the way to it needs a gradient
        output.withGradient { g in seed.withUnsafeBufferPointer { s in g.update(from: s.baseAddress!, count: s.count) } }
        for entry in entries.reversed() { entry.backward() }
        entries.removeAll()
        retained.removeAll()
    }
}
