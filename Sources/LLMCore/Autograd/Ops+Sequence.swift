// Introduced for Chapters 05 and 11. Ops that turn per-position outputs into per-sequence ones: pick
// one position's hidden state per row (a classifier reads the last real token), sum a sequence's token
// log-probabilities (what preference optimisation compares), and the DPO loss over those sums.
//
// Legend: B batch, T length, C width, V vocabulary.

import Foundation

extension Tape {
    /// Row `positions[b]` of each sequence of x (B, T, C) → (B, C). Backward adds each output row's
    /// gradient into the position it came from.
    public func gatherPositions(_ x: Variable, _ positions: [Int]) -> Variable {
        let shape = x.shape
        let inRange = { (p: Int) in shape.count == 3 && (0..<shape[1]).contains(p) }
        if shape.count != 3 || positions.count != shape[0] || !positions.allSatisfy(inRange) {
            shapeFailure("gatherPositions", "needs x (B, T, C) and B positions in 0..<T; got \(shape) and \(positions)")
        }
        let (t, c) = (shape[1], shape[2])
        let out = Tensor(uninitialized: [shape[0], c])
        for (b, p) in positions.enumerated() {
            (out.base + b * c).update(from: x.value.base + (b * t + p) * c, count: c)               // row (b, p)
        }
        return record("gatherPositions", out, inputs: [x]) { y in
            x.withGradient { dX in
                for (b, p) in positions.enumerated() { Kernels.axpy(1, y.grad!.base + b * c,
                                                                    dX + (b * t + p) * c, count: c) }
            }
        }
    }

    /// Σₜ log p(targetₜ) per sequence for logits (B, T, V) and targets (B·T) (`ignoreIndex` skipped):
    /// (B). [logits of 2 positions, targets (3, −100)] → log softmax(row 0)[3].
    ///
    /// Backward: ∂/∂logits of log p(y) is onehot(y) − softmax(logits), per scored row.
    public func sequenceLogProbabilities(_ logits: Variable, targets: [Int], ignoreIndex: Int = -100) -> Variable {
        let shape = logits.shape
        if shape.count != 3 || targets.count != shape[0] * shape[1] {
            shapeFailure("sequenceLogProbabilities",
                         "needs logits (B, T, V) and B·T targets; got \(shape) and \(targets.count)")
        }
        let (b, t, v) = (shape[0], shape[1], shape[2])
        if let bad = targets.first(where: { $0 != ignoreIndex && !(0..<v).contains($0) }) {
            shapeFailure("sequenceLogProbabilities", "target \(bad) is outside 0..<\(v)")
        }
        let probabilities = Tensor(uninitialized: shape)
        var sums = [Float](repeating: 0, count: b)
        for r in 0..<(b * t) {
            let row = logits.value.base + r * v
            let logSum = Kernels.softmaxRow(row, probabilities.base + r * v, count: v)
            if targets[r] != ignoreIndex { sums[r / t] += row[targets[r]] - logSum }
        }
        return record("sequenceLogProbabilities", Tensor(shape: [b], values: sums), inputs: [logits]) { y in
            logits.withGradient { dX in
                for r in 0..<(b * t) where targets[r] != ignoreIndex {
                    let g = y.grad!.base[r / t], o = r * v
                    Kernels.axpy(-g, probabilities.base + o, dX + o, count: v)
                    dX[o + targets[r]] += g
                }
            }
        }
    }

    /// The DPO loss (Rafailov et al. 2023, https://arxiv.org/abs/2305.18290) over B pairs:
    /// mean_b −log σ(z_b), z_b = β·((chosen_b − rejected_b) − referenceMargins_b), where chosen and rejected
    /// are the policy's sequence log-probabilities (B) and the margins the frozen reference model's
    /// (chosen − rejected, constants). −log σ(z) = log(1 + e^−z); ∂/∂z = −σ(−z).
    public func dpoLoss(chosen: Variable, rejected: Variable, referenceMargins: [Float], beta: Float) -> Variable {
        let b = chosen.value.count
        if chosen.shape != [b] || rejected.shape != [b] || referenceMargins.count != b || b == 0 {
            shapeFailure("dpoLoss",
                         "needs chosen (B), rejected (B) and B margins; got \(chosen.shape), \(rejected.shape), " +
                         "\(referenceMargins.count)")
        }
        let z = (0..<b).map { beta * ((chosen.value.base[$0] - rejected.value.base[$0]) - referenceMargins[$0]) }
        // log(1 + e^−z), computed without overflow on either side.
        let softplus = { (zb: Float) in Double(zb > 0 ? log1p(exp(-zb)) : -zb + log1p(exp(zb))) }
        let loss = z.reduce(0.0) { $0 + softplus($1) } / Double(b)
        return record("dpoLoss", Tensor(scalar: Float(loss)), inputs: [chosen, rejected]) { y in
            let scale = y.grad!.item / Float(b)
            let dZ = z.map { -scale / (1 + exp($0)) }                  // −σ(−z)/B · ∂L/∂loss
            if chosen.requiresGrad { chosen.withGradient { d in for i in 0..<b { d[i] += beta * dZ[i] } } }
            if rejected.requiresGrad { rejected.withGradient { d in for i in 0..<b { d[i] -= beta * dZ[i] } } }
        }
    }
}
