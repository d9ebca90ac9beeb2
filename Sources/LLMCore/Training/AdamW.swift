// Introduced in Chapter 02 (used from Chapter 04 on). AdamW (Loshchilov & Hutter 2019,
// https://arxiv.org/abs/1711.05101): Adam with weight decay applied to the weights directly.
//
//   m ← β₁·m + (1 − β₁)·g          v ← β₂·v + (1 − β₂)·g²
//   m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)
//   w ← w − η·(m̂ / (√v̂ + ε) + λ·w)
//
// Weight decay skips 1-D parameters (biases, norm weights) and embeddings, a documented choice
// (nanoGPT decays only 2-D matmul weights; decaying embeddings shrinks rare tokens' rows for nothing).

import Foundation

public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let parameters: [Variable]
    private var first: [Tensor], second: [Tensor]
    private let decays: [Bool]
    public private(set) var step = 0

    public init(_ parameters: [Variable], learningRate: Float = 3e-4, beta1: Float = 0.9, beta2: Float = 0.95,
                epsilon: Float = 1e-8, weightDecay: Float = 0.1) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        first = parameters.map { Tensor(zeros: $0.shape) }
        second = parameters.map { Tensor(zeros: $0.shape) }
        decays = parameters.map { $0.shape.count >= 2 && !$0.name.contains("embeddings") }
    }

    public func state() -> [(String, Tensor)] {
        parameters.indices.flatMap { k in [("m.\(parameters[k].name)", first[k]),
                                    ("v.\(parameters[k].name)", second[k])] }
    }

    public func restore(_ tensors: [String: Tensor], step: Int) throws {
        first = try parameters.map { try restoredBuffer(tensors, "m.\($0.name)", shape: $0.shape) }
        second = try parameters.map { try restoredBuffer(tensors, "v.\($0.name)", shape: $0.shape) }
        self.step = step
    }

    /// One update from the parameters' current gradients (parameters without a gradient are skipped).
    public func update() {
        step += 1
        let correction1 = 1 - pow(beta1, Float(step)), correction2 = 1 - pow(beta2, Float(step))
        let (b1, b2, eps, lr) = (beta1, beta2, epsilon, learningRate)
        for (k, parameter) in parameters.enumerated() {
            guard let gradient = parameter.grad else { continue }
            let decay: Float = decays[k] ? weightDecay : 0
            let count = parameter.value.count
            first[k].withUnsafeMutableBufferPointer { m in
                second[k].withUnsafeMutableBufferPointer { v in
                    parameter.value.withUnsafeMutableBufferPointer { w in
                        gradient.withUnsafeBufferPointer { g in
                            let (m, v, w, g) = (m.baseAddress!, v.baseAddress!, w.baseAddress!, g.baseAddress!)
                            Parallel.forEach(count, minimumPerWorker: Kernels.elementsPerWorker) { range in
                                for i in range {
                                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                    let update = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps)
                                    w[i] -= lr * (update + decay * w[i])
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
