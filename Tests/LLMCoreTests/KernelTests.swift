// Fast paths against naive references: sgemm and batched sgemm against triple loops, SIMD softmax,
// cross-entropy and norms against Double loops, exp/tanh against Foundation, transpose against indexing.

import Foundation
import Synchronization
import Testing
@testable import LLMCore

/// C = op(A)·op(B) by three loops in Double.
func naiveProduct(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = 0
            for p in 0..<k {
                let x = transposeA ? a[p * m + i] : a[i * k + p]
                let y = transposeB ? b[j * k + p] : b[p * n + j]
                s += Double(x) * Double(y)
            }
            c[i * n + j] = Float(s)
        }
    }
    return c
}

func expectClose(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String = "") {
    #expect(a.count == b.count, "\(what): counts \(a.count) vs \(b.count)")
    let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): max relative difference \(worst)")
}

@Suite("Kernels against naive references")
struct KernelTests {
    @Test("matmul equals three loops, every transpose flag", arguments: [(17, 9, 23), (1, 64, 1), (64, 1, 5), (0, 3, 4)])
    func matmul(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var g = SeededGenerator(seed: 1)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = Tensor.randomNormal(transposeA ? [k, m] : [m, k], using: &g)
                let b = Tensor.randomNormal(transposeB ? [n, k] : [k, n], using: &g)
                let c = Tape.inference.matmul(Variable(a), Variable(b), transposeA: transposeA, transposeB: transposeB)
                #expect(c.shape == [m, n])
                expectClose(c.value.scalars, naiveProduct(a.scalars, b.scalars, m: m, k: k, n: n,
                                                          transposeA: transposeA, transposeB: transposeB), 1e-5,
                            "\(shape) tA \(transposeA) tB \(transposeB)")
            }
        }
    }

    @Test("dot4 gives each of its four dot products exactly as dot does, to the bit, at every length")
    func dot4EqualsDot() {
        var g = SeededGenerator(seed: 12)
        for count in [1, 7, 16, 17, 31, 32, 33, 64, 100, 384] {
            let stride = count + 5
            let w = Tensor.randomNormal([count], using: &g), x = Tensor.randomNormal([4 * stride], using: &g)
            let four = Kernels.dot4(w.base, x.base, stride: stride, count: count)
            let one = (0..<4).map { Kernels.dot(w.base, x.base + $0 * stride, count: count) }
            #expect([four.0, four.1, four.2, four.3] == one, "count \(count)")
        }
    }

    @Test("few-row products (decoding's matrix-vector path) equal three loops: β 0 and 1, row strides, 1 and 2 threads",
          arguments: [(1, 384, 1152), (5, 300, 700), (8, 17, 33), (3, 1, 4), (16, 384, 100), (7, 33, 9)])
    func fewRows(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var g = SeededGenerator(seed: 4)
        let (lda, ldc) = (k + 3, n + 5)                       // rows inside wider arrays
        let a = Tensor.randomNormal([m, lda], using: &g), b = Tensor.randomNormal([n, k], using: &g)
        let start = Tensor.randomNormal([m, ldc], using: &g)
        let aValues = a.scalars
        let packedA: [Float] = (0..<m).flatMap { i in (0..<k).map { aValues[i * lda + $0] } }
        let product = naiveProduct(packedA, b.scalars, m: m, k: k, n: n, transposeA: false, transposeB: true)
        for threads in [1, 2] {
            for beta: Float in [0, 1] {
                let c = Tensor(shape: start.shape, values: start.scalars)
                Parallel.withThreads(threads) {
                    BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 0.5, a: a.base, lda: lda,
                              b: b.base, beta: beta, c: c.base, ldc: ldc)
                }
                let all = c.scalars
                let got: [Float] = (0..<m).flatMap { i in (0..<n).map { all[i * ldc + $0] } }
                var expected: [Float] = []
                for i in 0..<m {
                    for j in 0..<n { expected.append(0.5 * product[i * n + j] + beta * start.scalars[i * ldc + j]) }
                }
                expectClose(got, expected, 1e-5, "\(shape) β \(beta), \(threads) threads")
                let before = start.scalars
                let untouched = (0..<m).allSatisfy { i in (n..<ldc).allSatisfy { all[i * ldc + $0] == before[i * ldc + $0] } }
                #expect(untouched, "columns past n are left alone")
            }
        }
    }

    @Test("fastExp: relative error ≤ 2e-7 on [-87, 88]")
    func exp() {
        var worst: Double = 0
        for i in 0...175_000 {
            let x = Float(-87 + Double(i) * 0.001)
            worst = max(worst, Swift.abs(Double(fastExp(x)) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
        }
        #expect(worst <= 2e-7, "worst relative error \(worst)")
        #expect(fastExp(-Float.infinity) < 1e-37)
    }

    @Test("fastTanh: absolute error ≤ 3e-7")
    func tanh() {
        var worst: Double = 0
        for i in 0...400_000 {
            let x = Float(-20 + Double(i) * 0.0001)
            worst = max(worst, Swift.abs(Double(fastTanh(x)) - Foundation.tanh(Double(x))))
        }
        #expect(worst <= 3e-7, "worst absolute error \(worst)")
    }

    @Test("GELU follows its formula, SiLU and ReLU theirs")
    func activations() {
        let xs: [Float] = (0..<50).map { Float($0 - 25) * 0.3 }
        let x = Variable(Tensor(shape: [50], values: xs))
        let tape = Tape.inference
        let gelu = tape.gelu(x).value.scalars, silu = tape.silu(x).value.scalars, relu = tape.relu(x).value.scalars
        for (i, v) in xs.enumerated() {
            let d = Double(v)
            let expected = 0.5 * d * (1 + Foundation.tanh(0.7978845608 * (d + 0.044715 * d * d * d)))
            #expect(Swift.abs(Double(gelu[i]) - expected) <= 1e-6 * max(1, Swift.abs(expected)), "gelu(\(v))")
            #expect(Swift.abs(Double(silu[i]) - d / (1 + Foundation.exp(-d))) <= 1e-6 * max(1, Swift.abs(d)), "silu(\(v))")
            #expect(relu[i] == max(v, 0))
        }
    }

    @Test("softmax and cross-entropy equal Double loops, including huge logits", arguments: [1, 15, 16, 17, 100])
    func softmaxAndCrossEntropy(columns: Int) {
        var g = SeededGenerator(seed: UInt64(columns))
        var logits = Tensor.randomNormal([3, columns], standardDeviation: 3, using: &g)
        logits[1, 0] = 1000  // exp would overflow without the max subtraction
        let targets = [0, 0, columns - 1]
        let tape = Tape.inference
        let probabilities = tape.softmax(Variable(logits)).value
        var loss: Double = 0
        for r in 0..<3 {
            let row = (0..<columns).map { Double(logits[r, $0]) }
            let m = row.max()!
            let z = row.reduce(0) { $0 + Foundation.exp($1 - m) }
            for c in 0..<columns {
                #expect(Swift.abs(Double(probabilities[r, c]) - Foundation.exp(row[c] - m) / z) <= 1e-6)
            }
            loss += m + Foundation.log(z) - row[targets[r]]
        }
        let fused = tape.crossEntropy(Variable(logits), targets: targets).value.item
        #expect(Swift.abs(Double(fused) - loss / 3) <= 1e-5 * max(1, loss / 3), "fused \(fused) vs \(loss / 3)")
    }

    @Test("cross-entropy ignores masked rows; all ignored gives 0")
    func ignoreIndex() {
        let logits = Variable.parameter(Tensor(shape: [2, 3], values: [1, 2, 3, 9, -9, 0]))
        let tape = Tape()
        let loss = tape.crossEntropy(logits, targets: [2, -100])
        let expected = Foundation.log(Foundation.exp(1.0) + Foundation.exp(2) + Foundation.exp(3)) - 3
        #expect(Swift.abs(Double(loss.value.item) - expected) < 1e-6)
        tape.backward(loss)
        #expect(Array(logits.grad!.scalars[3...]) == [0, 0, 0])
        #expect(Tape.inference.crossEntropy(Variable(logits.value), targets: [-100, -100]).value.item == 0)
    }

    @Test("LayerNorm rows have mean 0 and variance 1 before the affine part")
    func layerNorm() {
        var g = SeededGenerator(seed: 4)
        let x = Variable(Tensor.randomNormal([5, 37], mean: 3, standardDeviation: 2, using: &g))
        let ones = Variable(Tensor(shape: [37], repeating: 1)), zeros = Variable(Tensor(zeros: [37]))
        let y = Tape.inference.layerNorm(x, weight: ones, bias: zeros, epsilon: 0).value
        for r in 0..<5 {
            let row = (0..<37).map { Double(y[r, $0]) }
            let mean = row.reduce(0, +) / 37
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 37
            #expect(Swift.abs(mean) < 1e-5 && Swift.abs(variance - 1) < 1e-4)
        }
        let rms = Tape.inference.rmsNorm(x, weight: ones, epsilon: 0).value
        for r in 0..<5 {
            let meanSquare = (0..<37).reduce(0.0) { $0 + Double(rms[r, $1] * rms[r, $1]) } / 37
            #expect(Swift.abs(meanSquare - 1) < 1e-4)
        }
    }

    @Test("swappingAxes equals index arithmetic", arguments: [([2, 3, 4, 5], 1, 2), ([2, 3, 4], 0, 2), ([3, 4], 1, 0), ([2, 3, 4, 5], 0, 3)])
    func transpose(case: ([Int], Int, Int)) {
        let (shape, i, j) = `case`
        var g = SeededGenerator(seed: 9)
        let x = Tensor.randomNormal(shape, using: &g)
        let y = Tensor.swappingAxes(x, i, j)
        var swapped = shape
        swapped.swapAt(i, j)
        #expect(y.shape == swapped)
        for flat in 0..<x.count {
            var index = [Int](repeating: 0, count: shape.count), rest = flat
            for d in stride(from: shape.count - 1, through: 0, by: -1) { index[d] = rest % shape[d]; rest /= shape[d] }
            var target = index
            target.swapAt(i, j)
            #expect(y.base[y.offset(of: target)] == x.base[flat])
        }
    }
}

/// Tests that compare thread counts. `Parallel.withThreads` changes the count for the test's own thread
/// only, so these run beside every other suite without changing its numbers.
@Suite("Thread counts")
struct ThreadCountTests {
    @Test("batched matmul equals one product per group, on 1 and 2 threads")
    func batched() {
        var g = SeededGenerator(seed: 2)
        let (groups, m, k, n) = (6, 5, 7, 3)
        let a = Tensor.randomNormal([2, 3, m, k], using: &g), b = Tensor.randomNormal([2, 3, n, k], using: &g)
        for threads in [1, 2] {
            let c = Parallel.withThreads(threads) { Tape.inference.batchedMatmul(Variable(a), Variable(b), transposeB: true).value }
            #expect(c.shape == [2, 3, m, n])
            for group in 0..<groups {
                let ag = Array(a.scalars[group * m * k..<(group + 1) * m * k])
                let bg = Array(b.scalars[group * n * k..<(group + 1) * n * k])
                expectClose(Array(c.scalars[group * m * n..<(group + 1) * m * n]),
                            naiveProduct(ag, bg, m: m, k: k, n: n, transposeA: false, transposeB: true), 1e-5, "group \(group)")
            }
        }
    }

    @Test("withThreads changes the count for the calling thread only, nests, and restores it")
    func threadLocalCount() {
        let global = Parallel.threads
        let seenElsewhere = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { seenElsewhere.deallocate() }
        let box = UncheckedSendable(seenElsewhere)
        Parallel.withThreads(97) {
            #expect(Parallel.threads == 97)
            Parallel.withThreads(3) { #expect(Parallel.threads == 3) }
            #expect(Parallel.threads == 97)
            let done = DispatchSemaphore(value: 0)
            Thread { box.value.pointee = Parallel.threads; done.signal() }.start()
            done.wait()
        }
        #expect(seenElsewhere.pointee == global)
        #expect(Parallel.threads == global)
    }

    @Test("fine-grained loops on the spinning pool cover every index once, also with two callers at a time")
    func workerPool() {
        let n = 1000
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * n)
        counts.initialize(repeating: 0, count: 2 * n)
        defer { counts.deallocate() }
        let box = UncheckedSendable(counts)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in       // two threads compete for the pool
            Parallel.withThreads(2) {
                for _ in 0..<500 {
                    Parallel.forEach(n, minimumPerWorker: 1, fineGrained: true) { range in
                        for i in range { box.value[caller * n + i] += 1 }
                    }
                }
            }
        }
        #expect((0..<2 * n).allSatisfy { counts[$0] == 500 })
        // A loop with more chunks than pool threads falls back to Dispatch and still covers everything.
        var hits = [Int](repeating: 0, count: 64)
        hits.withUnsafeMutableBufferPointer { h in
            let p = UncheckedSendable(h)
            Parallel.withThreads(8) { Parallel.forEach(64, fineGrained: true) { range in for i in range { p.value[i] += 1 } } }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }

    @Test("the pool hands out tasks first come first served: a stalled worker holds up one task, not its share")
    func workerPoolBalances() {
        let pool = WorkerPool(helpers: 1)                   // our own pool: no other test can hold it
        let tasks = 8
        let doneBy = UnsafeMutablePointer<pthread_t?>.allocate(capacity: tasks)
        doneBy.initialize(repeating: nil, count: tasks)
        defer { doneBy.deallocate() }
        let others = Atomic<Int>(0)
        let box = UncheckedSendable(doneBy)
        let ran = pool.run(workers: 2, tasks: tasks) { task in
            box.value[task] = pthread_self()
            if task == 0 {                                  // stall until every other task is done (5 s at most)
                let deadline = Date().addingTimeInterval(5)
                while others.load(ordering: .acquiring) < tasks - 1 && Date() < deadline { usleep(1000) }
            } else {
                others.add(1, ordering: .releasing)
            }
        }
        #expect(ran)
        // With a fixed split the stalled worker would own tasks 0..<4; here the other worker takes 1..<8.
        let stalled = doneBy[0]!
        #expect((1..<tasks).allSatisfy { pthread_equal(doneBy[$0]!, stalled) == 0 })
    }

    @Test("forEachWorker never hands out a worker index beyond the caller's partial buffers")
    func workerIndicesStayInBounds() {
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        seen.initialize(repeating: 0, count: 8)
        defer { seen.deallocate() }
        let used = Parallel.withThreads(8) {
            Parallel.forEachWorker(1000, partials: 2) { worker, range in seen[min(worker, 7)] += range.count }
        }
        #expect(used <= 2)
        #expect(seen[0] + seen[1] == 1000)
    }

    @Test("same seed and threads give the same numbers; kernels agree across thread counts")
    func determinism() {
        func run(threads: Int) -> [Float] {
            Parallel.withThreads(threads) {
                var g = SeededGenerator(seed: 42)
                let x = Variable.parameter(Tensor.randomNormal([300, 257], using: &g))
                let tape = Tape()
                let loss = tape.crossEntropy(tape.gelu(x), targets: (0..<300).map { $0 % 257 })
                tape.backward(loss)
                return [loss.value.item] + x.grad!.scalars
            }
        }
        let one = run(threads: 1), two = run(threads: 2), twoAgain = run(threads: 2)
        #expect(two == twoAgain)
        expectClose(one, two, 1e-6, "1 vs 2 threads")
    }
}

@Suite("OpenBLAS kernel choice")
struct BLASKernelChoiceTests {
    @Test("restart only when OpenBLAS fell back to a generic core and the CPU can do better, and only once")
    func upgradeRule() {
        let avx512: Set = ["avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        let avx2: Set = ["sse3", "avx", "avx2", "fma"]
        #expect(BLASKernels.bestCore(flags: avx512) == "SkylakeX")
        #expect(BLASKernels.bestCore(flags: avx2) == "Haswell")
        #expect(BLASKernels.bestCore(flags: ["sse3", "avx"]) == nil)
        #expect(BLASKernels.bestCore(flags: avx2.union(["avx512f"])) == "Haswell", "AVX-512F alone is not SkylakeX")
        #expect(BLASKernels.upgrade(chosen: "Prescott", flags: avx512, environment: [:]) == "SkylakeX")
        #expect(BLASKernels.upgrade(chosen: "Sandybridge", flags: avx2, environment: [:]) == "Haswell")
        #expect(BLASKernels.upgrade(chosen: "Haswell", flags: avx512, environment: [:]) == nil, "OpenBLAS's own choice")
        #expect(BLASKernels.upgrade(chosen: "Prescott", flags: ["sse3"], environment: [:]) == nil)
        #expect(BLASKernels.upgrade(chosen: "Prescott", flags: avx512, environment: ["OPENBLAS_CORETYPE": "Prescott"]) == nil,
                "a core you set is left alone")
        #expect(BLASKernels.upgrade(chosen: "Prescott", flags: avx512, environment: ["LLM_OPENBLAS_RESTARTED": "1"]) == nil,
                "one restart at most")
        #expect(!BLASKernels.coreName.isEmpty)
    }
}
