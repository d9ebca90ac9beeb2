// Every differentiable op's backward against central differences, on random non-square shapes
// including size-1 edges. Tolerance: 1e-2 of max(1, |gradient|) with h = 1e-2 — Float32 rounding in
// the forward pass (≈1e-7 relative) divided by 2h stays far below it, while a wrong backward (a missing
// factor, a transposed product, a dropped term) is off by O(1) and fails; see `checkerCatchesWrongBackward`.

import Foundation
import Testing
@testable import LLMCore

private func randomParameter(_ shape: [Int], _ generator: inout SeededGenerator, scale: Float = 1, name: String) -> Variable {
    Variable.parameter(Tensor.randomNormal(shape, standardDeviation: scale, using: &generator), name: name)
}

private func expectPasses(_ report: GradientCheckReport, _ comment: String = "") {
    #expect(report.passed, "\(comment) \(report)")
    #expect(report.checkedCount > 0)
}

@Suite("Gradient checks")
struct GradientCheckTests {
    static let matmulShapes: [(Int, Int, Int)] = [(3, 4, 5), (1, 3, 2), (4, 1, 3), (2, 5, 1), (1, 1, 1)]

    @Test("matmul, all four transpose combinations", arguments: matmulShapes)
    func matmul(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                var g = SeededGenerator(seed: UInt64(m * 31 + k * 7 + n))
                let a = randomParameter(transposeA ? [k, m] : [m, k], &g, name: "a")
                let b = randomParameter(transposeB ? [n, k] : [k, n], &g, name: "b")
                expectPasses(GradientCheck.run([a, b]) { tape, v in
                    tape.matmul(v[0], v[1], transposeA: transposeA, transposeB: transposeB)
                }, "tA \(transposeA) tB \(transposeB)")
            }
        }
    }

    @Test("linear (fused bias) equals matmul + add and passes the gradient check", arguments: [[2, 3, 5], [4, 5], [1, 5]])
    func linear(xShape: [Int]) {
        var g = SeededGenerator(seed: UInt64(xShape.count * 13 + xShape[0]))
        let x = randomParameter(xShape, &g, name: "x"), w = randomParameter([7, 5], &g, name: "w")
        let bias = randomParameter([7], &g, name: "b")
        expectPasses(GradientCheck.run([x, w, bias]) { tape, v in tape.linear(v[0], weight: v[1], bias: v[2]) })
        let fused = Tape.inference.linear(x, weight: w, bias: bias).value
        let composed = Tape.inference.add(Tape.inference.matmul(x, w, transposeB: true), bias).value
        #expect(fused.shape == composed.shape)
        expectClose(fused.scalars, composed.scalars, 1e-6, "forward")
    }

    @Test("matmul with a 3-D left operand (B, T, C)·(C, N)")
    func matmul3D() {
        var g = SeededGenerator(seed: 11)
        let x = randomParameter([2, 3, 4], &g, name: "x")
        let w = randomParameter([5, 4], &g, name: "w")
        expectPasses(GradientCheck.run([x, w]) { tape, v in tape.matmul(v[0], v[1], transposeB: true) })
    }

    @Test("batched matmul, all four transpose combinations", arguments: [(2, 3, 4, 2), (3, 1, 2, 1), (1, 2, 1, 3)])
    func batchedMatmul(shape: (Int, Int, Int, Int)) {
        let (groups, m, k, n) = shape
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                var g = SeededGenerator(seed: UInt64(groups * 1000 + m * 100 + k * 10 + n))
                let a = randomParameter(transposeA ? [groups, k, m] : [groups, m, k], &g, name: "a")
                let b = randomParameter(transposeB ? [groups, n, k] : [groups, k, n], &g, name: "b")
                expectPasses(GradientCheck.run([a, b]) { tape, v in
                    tape.batchedMatmul(v[0], v[1], transposeA: transposeA, transposeB: transposeB)
                }, "tA \(transposeA) tB \(transposeB)")
            }
        }
    }

    @Test("add and mul, same shape and broadcast", arguments: [[3, 4], [2, 3, 4], [1, 1], [4, 1]])
    func addAndMul(shape: [Int]) {
        var g = SeededGenerator(seed: UInt64(shape.reduce(1, *)))
        let a = randomParameter(shape, &g, name: "a")
        let same = randomParameter(shape, &g, name: "same")
        let row = randomParameter([shape.last!], &g, name: "row")
        expectPasses(GradientCheck.run([a, same]) { tape, v in tape.add(v[0], v[1]) }, "add same")
        expectPasses(GradientCheck.run([a, row]) { tape, v in tape.add(v[0], v[1]) }, "add row")
        expectPasses(GradientCheck.run([a, same]) { tape, v in tape.mul(v[0], v[1]) }, "mul same")
        expectPasses(GradientCheck.run([a, row]) { tape, v in tape.mul(v[0], v[1]) }, "mul row")
        if shape.count == 3 {  // positions (T, C) broadcast over the batch
            let positions = randomParameter(Array(shape.dropFirst()), &g, name: "positions")
            expectPasses(GradientCheck.run([a, positions]) { tape, v in tape.add(v[0], v[1]) }, "add (T, C)")
        }
    }

    @Test("scale, sum and mean")
    func reductions() {
        var g = SeededGenerator(seed: 3)
        let a = randomParameter([3, 5], &g, name: "a")
        expectPasses(GradientCheck.run([a]) { tape, v in tape.scale(v[0], by: -2.5) })
        expectPasses(GradientCheck.run([a]) { tape, v in tape.sum(v[0]) })
        expectPasses(GradientCheck.run([a]) { tape, v in tape.mean(v[0]) })
    }

    @Test("reshape and transpose", arguments: [([2, 3, 4], 0, 2), ([2, 3, 4, 5], 1, 2), ([3, 1, 2], 0, 1), ([4, 3], 0, 1)])
    func shapes(case: ([Int], Int, Int)) {
        let (shape, i, j) = `case`
        var g = SeededGenerator(seed: UInt64(shape.count * 10 + i + j))
        let a = randomParameter(shape, &g, name: "a")
        expectPasses(GradientCheck.run([a]) { tape, v in tape.transpose(v[0], i, j) }, "transpose \(i) \(j)")
        expectPasses(GradientCheck.run([a]) { tape, v in tape.reshape(v[0], [shape.reduce(1, *)]) }, "reshape")
    }

    @Test("embedding, with repeated ids")
    func embedding() {
        var g = SeededGenerator(seed: 5)
        let table = randomParameter([6, 3], &g, name: "table")
        let ids = [0, 5, 2, 2, 5, 1]
        expectPasses(GradientCheck.run([table]) { tape, v in tape.embedding(v[0], ids: ids, shape: [2, 3]) })
    }

    @Test("activations: GELU, SiLU, ReLU", arguments: [[7], [2, 9], [1, 33]])
    func activations(shape: [Int]) {
        var g = SeededGenerator(seed: UInt64(shape.reduce(1, *)))
        let x = randomParameter(shape, &g, scale: 2, name: "x")
        expectPasses(GradientCheck.run([x]) { tape, v in tape.gelu(v[0]) }, "gelu")
        expectPasses(GradientCheck.run([x]) { tape, v in tape.silu(v[0]) }, "silu")
        // ReLU has a kink at 0: keep inputs at least 2h away from it.
        let away = Variable.parameter(Tensor(shape: x.shape, values: x.value.scalars.map { $0 + ($0 < 0 ? -0.05 : 0.05) }), name: "x")
        expectPasses(GradientCheck.run([away]) { tape, v in tape.relu(v[0]) }, "relu")
    }

    @Test("softmax over the last dimension", arguments: [[2, 5], [1, 1], [3, 2, 17]])
    func softmax(shape: [Int]) {
        var g = SeededGenerator(seed: UInt64(shape.reduce(1, *) + 1))
        let x = randomParameter(shape, &g, scale: 2, name: "x")
        expectPasses(GradientCheck.run([x]) { tape, v in tape.softmax(v[0]) })
    }

    @Test("cross-entropy, with ignored rows", arguments: [(4, 5), (1, 3), (6, 33)])
    func crossEntropy(shape: (Int, Int)) {
        let (rows, vocabulary) = shape
        var g = SeededGenerator(seed: UInt64(rows * vocabulary))
        let logits = randomParameter([rows, vocabulary], &g, scale: 2, name: "logits")
        let targets = (0..<rows).map { r in r % 3 == 1 ? -100 : (r * 7) % vocabulary }
        expectPasses(GradientCheck.run([logits]) { tape, v in tape.crossEntropy(v[0], targets: targets) })
    }

    @Test("LayerNorm and RMSNorm", arguments: [[3, 5], [2, 2, 8], [1, 2], [4, 1, 33]])
    func norms(shape: [Int]) {
        var g = SeededGenerator(seed: UInt64(shape.reduce(1, *) + 2))
        let c = shape.last!
        let x = randomParameter(shape, &g, name: "x")
        let w = Variable.parameter(Tensor(shape: [c], values: (0..<c).map { _ in 1 + 0.3 * g.normal() }), name: "w")
        let b = randomParameter([c], &g, scale: 0.3, name: "b")
        expectPasses(GradientCheck.run([x, w, b]) { tape, v in tape.layerNorm(v[0], weight: v[1], bias: v[2]) }, "layerNorm")
        expectPasses(GradientCheck.run([x, w]) { tape, v in tape.rmsNorm(v[0], weight: v[1]) }, "rmsNorm")
    }

    @Test("dropout with a seeded mask")
    func dropout() {
        var g = SeededGenerator(seed: 8)
        let x = randomParameter([4, 6], &g, name: "x")
        expectPasses(GradientCheck.run([x]) { tape, v in
            var mask = SeededGenerator(seed: 99)  // the same mask on every evaluation
            return tape.dropout(v[0], probability: 0.3, generator: &mask)
        })
    }

    @Test("a small network: every op on one tape")
    func network() {
        var g = SeededGenerator(seed: 21)
        let table = randomParameter([7, 4], &g, name: "table")
        let w1 = randomParameter([8, 4], &g, scale: 0.5, name: "w1")
        let b1 = randomParameter([8], &g, scale: 0.1, name: "b1")
        let lnW = Variable.parameter(Tensor(shape: [8], repeating: 1), name: "lnW")
        let lnB = Variable.parameter(Tensor(zeros: [8]), name: "lnB")
        let w2 = randomParameter([7, 8], &g, scale: 0.5, name: "w2")
        let ids = [1, 4, 6, 0, 2, 2], targets = [4, 6, 0, 2, 2, 3]
        expectPasses(GradientCheck.run([table, w1, b1, lnW, lnB, w2]) { tape, v in
            let x = tape.embedding(v[0], ids: ids, shape: [2, 3])                  // (B, T, C)
            let h = tape.gelu(tape.add(tape.matmul(x, v[1], transposeB: true), v[2]))  // (B, T, 8)
            let n = tape.layerNorm(h, weight: v[3], bias: v[4])
            let logits = tape.matmul(n, v[5], transposeB: true)                    // (B, T, V)
            return tape.crossEntropy(logits, targets: targets)
        })
    }

    @Test("the checker catches a wrong backward")
    func checkerCatchesWrongBackward() {
        var g = SeededGenerator(seed: 13)
        let x = randomParameter([3, 4], &g, name: "x")
        let square: (Float16x) -> Float16x = { $0 * $0 }
        let good = GradientCheck.run([x]) { tape, v in tape.elementwise("square", v[0], forward: square, derivative: { 2 * $0 }) }
        let wrongFactor = GradientCheck.run([x]) { tape, v in tape.elementwise("square", v[0], forward: square, derivative: { $0 }) }
        let wrongSign = GradientCheck.run([x]) { tape, v in tape.elementwise("square", v[0], forward: square, derivative: { -2 * $0 }) }
        #expect(good.passed, "\(good)")
        #expect(!wrongFactor.passed, "\(wrongFactor)")
        #expect(!wrongSign.passed, "\(wrongSign)")
    }

    @Test("gradients accumulate over every use, and zeroGrad clears them")
    func accumulation() {
        let a = Variable.parameter(Tensor(shape: [2], values: [1, 2]), name: "a")
        let tape = Tape()
        tape.backward(tape.sum(tape.add(a, a)))                  // d/da Σ(a + a) = 2
        #expect(a.grad!.scalars == [2, 2])
        let again = Tape()
        again.backward(again.sum(a))                             // accumulates: 2 + 1
        #expect(a.grad!.scalars == [3, 3])
        a.zeroGrad()
        #expect(a.grad!.scalars == [0, 0])
    }

    /// Each op's backward writes the gradient on a Variable's first use (no zero fill) and adds on
    /// later uses; both paths must agree: used twice, the gradient is exactly twice the single-use one,
    /// and a gradient left from an earlier backward is added to, never overwritten.
    nonisolated(unsafe) static let firstUseOps: [(String, (Tape, Variable, Variable) -> Variable)] = [
        ("matmul x", { t, x, w in t.matmul(x, w, transposeB: true) }),
        ("matmul xᵀ·x", { t, x, _ in t.matmul(x, x, transposeA: true) }),
        ("batched matmul", { t, x, _ in t.batchedMatmul(t.reshape(x, [2, 3, 4]), t.reshape(x, [2, 3, 4]), transposeB: true) }),
        ("linear", { t, x, w in t.linear(x, weight: w, bias: t.reshape(t.slice(w, axis: 0, 0..<1), [4])) }),
        ("gelu", { t, x, _ in t.gelu(x) }),
        ("add", { t, x, w in t.add(x, t.reshape(t.slice(w, axis: 0, 0..<1), [4])) }),
        ("layerNorm", { t, x, w in t.layerNorm(x, weight: t.reshape(t.slice(w, axis: 0, 0..<1), [4]), bias: Variable(Tensor(zeros: [4]))) }),
        ("reshape", { t, x, _ in t.reshape(x, [4, 6]) }),
        ("transpose", { t, x, _ in t.transpose(x, 0, 1) }),
    ]

    @Test("first use writes, later uses add: used twice gives twice the gradient", arguments: 0..<9)
    func firstUseThenAccumulate(index: Int) {
        let (name, op) = Self.firstUseOps[index]
        var g = SeededGenerator(seed: 77)
        let x = Variable.parameter(Tensor.randomNormal([6, 4], using: &g), name: "x")
        let w = Variable.parameter(Tensor.randomNormal([4, 4], using: &g), name: "w")
        let seed = Tensor.randomNormal(op(Tape.inference, x, w).shape, using: &g)
        func gradients(uses: Int) -> [Float] {
            x.grad = nil
            w.grad = nil
            let tape = Tape()
            let outputs = (0..<uses).map { _ in op(tape, x, w) }
            let total = outputs.dropFirst().reduce(outputs[0]) { tape.add($0, $1) }
            tape.backward(total, seed: seed)
            return x.grad!.scalars + (w.grad?.scalars ?? [])
        }
        let once = gradients(uses: 1), twice = gradients(uses: 2)
        expectClose(twice, once.map { 2 * $0 }, 1e-6, "\(name)")  // not bitwise: x·xᵀ adds its two halves in another order
        // A second backward without zeroGrad adds to the stale gradient.
        let tape = Tape()
        tape.backward(op(tape, x, w), seed: seed)
        expectClose(x.grad!.scalars + (w.grad?.scalars ?? []), twice.indices.map { twice[$0] + once[$0] }, 1e-5, "\(name) stale")
    }

    @Test("an inference tape records nothing and needs no gradients")
    func inference() {
        let a = Variable.parameter(Tensor(shape: [2, 2], values: [1, 2, 3, 4]))
        let tape = Tape.inference
        let y = tape.gelu(tape.matmul(a, a))
        #expect(tape.operations.isEmpty)
        #expect(!y.requiresGrad)
    }
}
