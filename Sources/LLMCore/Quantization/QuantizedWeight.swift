// Introduced in Chapter 07. The quantized kind of `LinearWeight` (Chapter 03's extension point): a
// `Linear` whose W is a `QuantizedMatrix`. Few rows of x (decoding, short prompts) go through the kernels
// that read the integers directly; many rows (a long prefill) expand W to Float32 once per call and use
// sgemm. Gradients flow to x through the frozen W — enough for adapters on top (QLoRA) — but W itself never
// trains: it has no Float32 parameter.

/// W as a `QuantizedMatrix`; frozen by construction.
public final class QuantizedWeight: LinearWeight {
    public let matrix: QuantizedMatrix
    /// The tensor name W had ("blocks.0.attn.qkv.weight").
    public let name: String
    /// Whether the kernels also quantize the activations to int8 (integer dot products); when the scheme does
    /// not allow it, the float-activation kernel is used.
    public var int8Activations: Bool

    public init(_ matrix: QuantizedMatrix, name: String, int8Activations: Bool = false) {
        (self.matrix, self.name, self.int8Activations) = (matrix, name, int8Activations)
    }

    public var outputs: Int { matrix.rows }
    public var inputs: Int { matrix.columns }

    public func product(_ x: Variable, bias: Variable?, _ tape: Tape) -> Variable {
        let shape = x.shape
        if shape.last != inputs {
            shapeFailure("quantized linear", "needs x (…, \(inputs)); got \(shape) for \(name)")
        }
        let m = x.value.count / max(inputs, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [outputs])
        if m < QuantizedMatrix.kernelRowLimit {
            if int8Activations && matrix.supportsInt8Activations {
                matrix.multiplyInt8(x.value.base, m: m, into: out.base)
            } else {
                matrix.multiply(x.value.base, m: m, into: out.base)
            }
        } else {
            let w = matrix.dequantized()
            BLAS.gemm(transposeA: false, transposeB: true, m: m, n: outputs, k: inputs, a: x.value.base,
                      b: w.base, beta: 0, c: out.base)
        }
        if let bias {
            let b = bias.value.base
            for r in 0..<m { for o in 0..<outputs { out.base[r * outputs + o] += b[o] } }
        }
        let (matrix, outputs, inputs) = (self.matrix, self.outputs, self.inputs)
        let inputsForGradient: [Variable] = [x] + (bias.map { [$0] } ?? [])
        return tape.record("quantized linear", out, inputs: inputsForGradient) { y in
            let dY = y.grad!.base
            if x.requiresGrad {                                  // ∂x = ∂y · W (W expanded once)
                let w = matrix.dequantized()
                x.withGradient { dX, fresh in
                    BLAS.gemm(transposeA: false, transposeB: false, m: m, n: inputs, k: outputs, a: dY, b: w.base,
                              beta: fresh ? 0 : 1, c: dX)
                }
            }
            if let bias, bias.requiresGrad {
                bias.withGradient { Kernels.sumCopies(dY, copies: m, width: outputs, into: $0) }
            }
        }
    }

    /// None: W is not a Float32 parameter (a quantized checkpoint stores its integers and scales instead).
    public var namedParameters: [(String, Variable)] { [] }
}

extension GPT {
    /// The name `keep` uses for the LM head.
    public static let headName = "lm_head"

    /// Replaces the weight of every linear layer whose name is not in `keep` with its quantized form, and the
    /// LM head too unless `keep` holds "lm_head" (a head with Chapter 06's trainable rows stays Float32);
    /// returns the names quantized. A layer already quantized (or carrying an adapter) is left alone.
    @discardableResult
    public func quantize(_ scheme: QuantizationScheme, keep: Set<String> = [], int8Activations: Bool = false)
        throws -> [String] {
        var done: [String] = []
        for layer in linearLayers where !keep.contains(layer.name) {
            guard let dense = layer.weight as? DenseWeight else { continue }
            layer.weight = QuantizedWeight(try QuantizedMatrix(quantizing: dense.matrix.value, scheme: scheme),
                                           name: dense.matrix.name, int8Activations: int8Activations)
            done.append(layer.name)
        }
        if !keep.contains(Self.headName), quantizedHead == nil, embeddingRows == nil, headRows == nil {
            let table = lmHead ?? tokenEmbedding
            quantizedHead = QuantizedWeight(try QuantizedMatrix(quantizing: table.value, scheme: scheme),
                                            name: Self.headName + ".weight", int8Activations: int8Activations)
            done.append(Self.headName)
        }
        return done
    }

    /// The quantized layers and their matrices (the blocks' linear layers; the head is `quantizedHead`).
    public var quantizedLayers: [(Linear, QuantizedWeight)] {
        linearLayers.compactMap { layer in (layer.weight as? QuantizedWeight).map { (layer, $0) } }
    }

    /// Every quantized matrix by layer name, the head ("lm_head") last: what a checkpoint stores.
    public var quantizedMatrices: [(name: String, weight: QuantizedWeight)] {
        quantizedLayers.map { ($0.0.name, $0.1) } + (quantizedHead.map { [(Self.headName, $0)] } ?? [])
    }

    /// Bytes one decoded token reads: every Float32 weight and quantized matrix except the embedding table, of
    /// which a token reads one row (unless the table is also the Float32 head).
    public var bytesReadPerToken: Int {
        let table = quantizedHead == nil && lmHead == nil ? 0 : tokenEmbedding.value.count
        return 4 * (parameters.parameterCount - table) + quantizedMatrices.reduce(0) { $0 + $1.weight.matrix.byteCount }
    }

    /// Sets the kernels of every quantized matrix to int8 activations (or back to Float32 ones).
    public func useInt8Activations(_ on: Bool) {
        for (_, weight) in quantizedMatrices { weight.int8Activations = on }
    }
}
