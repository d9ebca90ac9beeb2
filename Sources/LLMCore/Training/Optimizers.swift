// Introduced in Chapter 04. What every optimizer offers the training loop: an update from the current
// gradients, a learning rate to schedule, and its state as named tensors (saved with checkpoints so a
// resumed run continues exactly).

import Foundation

public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// Updates taken so far (AdamW's bias correction depends on it).
    var step: Int { get }
    func update()
    /// The optimizer's buffers by name ("m.<parameter>", …), for checkpoints.
    func state() -> [(String, Tensor)]
    /// Restores buffers saved by `state()` and the step count.
    func restore(_ tensors: [String: Tensor], step: Int) throws
}

/// Plain stochastic gradient descent with optional momentum: v ← μ·v + g, w ← w − η·v.
/// The contrast to AdamW in Chapter 04: one global step size for every parameter.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let parameters: [Variable]
    private var velocity: [Tensor]
    public private(set) var step = 0

    public init(_ parameters: [Variable], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = parameters.map { Tensor(zeros: $0.shape) }
    }

    public func update() {
        step += 1
        let (lr, mu) = (learningRate, momentum)
        for (k, parameter) in parameters.enumerated() {
            guard let gradient = parameter.grad else { continue }
            velocity[k].withUnsafeMutableBufferPointer { v in
                parameter.value.withUnsafeMutableBufferPointer { w in
                    gradient.withUnsafeBufferPointer { g in
                        for i in 0..<g.count {
                            v[i] = mu * v[i] + g[i]
                            w[i] -= lr * v[i]
                        }
                    }
                }
            }
        }
    }

    public func state() -> [(String, Tensor)] {
        zip(parameters, velocity).map { ("velocity.\($0.name)", $1) }
    }

    public func restore(_ tensors: [String: Tensor], step: Int) throws {
        velocity = try parameters.map { try restoredBuffer(tensors, "velocity.\($0.name)", shape: $0.shape) }
        self.step = step
    }
}

/// A saved optimizer buffer, checked against its parameter's shape.
func restoredBuffer(_ tensors: [String: Tensor], _ name: String, shape: [Int]) throws -> Tensor {
    guard let tensor = tensors[name] else { throw CheckpointError(path: "optimizer state",
                                                                  tensor: name, reason: "is missing") }
    guard tensor.shape == shape else {
        throw CheckpointError(path: "optimizer state", tensor: name,
                              reason: "has shape \(tensor.shape) but the parameter has \(shape)")
    }
    return tensor
}

/// Linear warmup to the peak, then cosine decay to `minimum` at `total` steps (and `minimum` after).
public struct CosineSchedule: Codable, Sendable, Equatable {
    public var peak: Float
    public var minimum: Float
    public var warmup: Int
    public var total: Int

    public init(peak: Float, minimum: Float, warmup: Int, total: Int) {
        self.peak = peak
        self.minimum = minimum
        self.warmup = warmup
        self.total = total
    }

    /// The learning rate for update number `step` (1-based).
    public func rate(at step: Int) -> Float {
        if step <= warmup { return peak * Float(step) / Float(max(warmup, 1)) }
        if step >= total { return minimum }
        let progress = Double(step - warmup) / Double(max(total - warmup, 1))
        return minimum + (peak - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}

/// The global gradient norm √(Σ g²) over all parameters (in Double).
public func gradientNorm(_ parameters: [Variable]) -> Double {
    var total = 0.0
    for parameter in parameters {
        guard let gradient = parameter.grad else { continue }
        gradient.withUnsafeBufferPointer { g in for v in g { total += Double(v) * Double(v) } }
    }
    return total.squareRoot()
}

/// Scales all gradients by `maxNorm / norm` when their global norm exceeds `maxNorm`; returns the norm
/// before clipping.
@discardableResult
public func clipGradients(_ parameters: [Variable], maxNorm: Double) -> Double {
    let norm = gradientNorm(parameters)
    if norm > maxNorm && norm.isFinite {
        let scale = Float(maxNorm / norm)
        for parameter in parameters where parameter.grad != nil {
            parameter.grad!.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= scale } }
        }
    }
    return norm
}
