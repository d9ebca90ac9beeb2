// Introduced in Chapter 03; the extension point of Chapters 06 (LoRA) and 07 (quantization).
// How a `Linear` layer holds its weight matrix W (out, in) and computes y = x·Wᵀ + b on the tape.
//
// Every linear layer in the model — q|k|v, the attention projection, the MLP's matrices — is a `Linear`,
// and a `Linear` asks its `weight` for the product. So a new kind of weight is one new type that
// conforms to `LinearWeight`, swapped into the layers it should replace (`Linear.weight = …`); the
// layers, the blocks, the model and the KV-cache path stay as they are:
//
//   DenseWeight        W as one Float32 matrix (trainable or frozen) — what every model starts with
//   (Chapter 06)       W + (α/r)·B·A with a frozen W and a small trainable A, B — a low-rank adapter
//   (Chapter 07)       W as int8/int4 blocks with scales, multiplied without expanding it
//
// A weight kind names its own tensors (`namedParameters`): what a checkpoint stores for it.

/// The weight of a `Linear` layer: something that can compute x·Wᵀ (+ b) for x (…, inputs).
public protocol LinearWeight: AnyObject {
    /// W's shape: (outputs, inputs).
    var outputs: Int { get }
    var inputs: Int { get }
    /// x (…, inputs) → x·Wᵀ + b (…, outputs), recorded on `tape` so gradients reach what needs them.
    func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable
    /// The tensors this weight consists of, with their checkpoint names.
    var namedParameters: [(String, Variable)] { get }
}

/// W as one Float32 matrix (out, in), stored as PyTorch stores `nn.Linear.weight`.
public final class DenseWeight: LinearWeight {
    public let matrix: Variable                                // (out, in)

    public init(_ matrix: Variable) {
        if matrix.shape.count != 2 { shapeFailure("DenseWeight", "needs a (out, in) matrix, got \(matrix.shape)") }
        self.matrix = matrix
    }

    public var outputs: Int { matrix.shape[0] }
    public var inputs: Int { matrix.shape[1] }

    public func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable {
        tape.linear(x, weight: matrix, bias: bias)             // x·Wᵀ + b: (…, out)
    }

    public var namedParameters: [(String, Variable)] { [(matrix.name, matrix)] }
}
