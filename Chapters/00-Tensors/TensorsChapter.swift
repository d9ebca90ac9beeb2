//: # Chapter 00 — Tensors and autograd
//:
//: What we build: the two things every later chapter stands on. A **tensor** (numbers in a row-major
//: array with a shape, multiplied by BLAS) and **reverse-mode automatic differentiation** (a tape that
//: records each operation and plays it backwards to get every gradient at once). We check a gradient
//: numerically, write one backward by hand, and end by training the smallest language model there is:
//: a character **bigram** model, which predicts the next character from the current one.
//:
//: What we leave out: views and strides (our tensors copy when they transpose), automatic broadcasting
//: beyond what a transformer needs, and GPUs.
//:
//: Run it: `swift run -c release ch00` (under 10 seconds; `--quick` takes a few).
//: Outputs: `runs/course/00-tensors/` — `finite-difference-error.png`, `bigram-counts.png`,
//: `bigram-loss.png`.
//:
//: Legend for shapes in this chapter: B = batch rows, V = vocabulary size (characters),
//: M, K, N = the dimensions of a product (M, K)·(K, N).

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct TensorsChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch00",
        abstract: "Chapter 00 — Tensors and autograd: BLAS products, the tape, gradient checks, a bigram model.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the English fortunes

    @Option(help: "Training steps for the bigram model (default: 1500, or 150 with --quick).")
    var steps: Int?

    @Option(name: .customLong("learning-rate"), help: "SGD learning rate for the bigram model.")
    var learningRate: Float = 20

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    mutating func validate() throws {
        if let steps { try requireFlag("--steps", steps, in: 1...1_000_000) }
        if !(learningRate > 0 && learningRate.isFinite) { throw flagError("--learning-rate",
                                                                          "\(learningRate)", "a positive number") }
    }

    func run() throws {
        // Set-up first, so that a bad --run-dir or --corpus fails now and not after a minute of work.
        let chapter = try ChapterContext(options: options, chapter: "00-tensors")
        let lesson = Lesson(chapter: chapter)
        let text = try lesson.loadText(try corpus.load(default: .english))
        chapter.banner("Chapter 00 — Tensors and autograd")

        lesson.tensors()                                            // 0.1
        lesson.matrixProducts()                                     // 0.2
        try lesson.whatAGradientIs()                                // 0.3
        lesson.theTape()                                            // 0.4
        lesson.oneBackwardByHand()                                  // 0.5
        let data = lesson.characters(text)                          // 0.6
        let counted = try lesson.countingBigrams(data)              // 0.7
        let trained = try lesson.trainingBigrams(data, steps: steps ?? (options.quick ? 150 : 1500),
                                                 learningRate: learningRate, countedLoss: counted)  // 0.8
        lesson.summary(countedLoss: counted, trainedLoss: trained)  // 0.9
    }
}

/// What the sections share: the chapter's run folder, plotter, options and seed.
struct Lesson {
    let chapter: ChapterContext
    var quick: Bool { chapter.quick }

    // MARK: - 0.1 Tensors: a shape over a flat array

    //: A tensor of shape (2, 3) is six floats in one flat array, row after row ("row-major"): the element
    //: at [i, j] lives at offset i·3 + j. A (B, T, C) tensor's element [b, t, c] lives at (b·T + t)·C + c.
    //: Everything in this course — a batch of token embeddings, a weight matrix, attention scores — is
    //: such an array with such a shape. Our `Tensor` is a value: copying one and changing the copy
    //: leaves the original alone (the buffer is copied on the first write).
    func tensors() {
        Console.section("0.1 Tensors: a shape over a flat array")
        var x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])  // (2, 3)
        print(x)
        print("  x[1, 2] = \(x[1, 2]) lives at flat offset 1·3 + 2 = \(1 * 3 + 2): \(x.scalars[5])")
        let y = x.reshaped([3, 2])                                // (3, 2), same order
        print("  reshaped to \(y.shape): \(y.scalars) — same order, new shape")
        x[0, 0] = 100
        print("  after x[0, 0] = 100, the reshaped copy still starts with \(y[0, 0]) (value semantics)")
    }

    // MARK: - 0.2 Matrix products through BLAS

    //: Almost all the arithmetic of a transformer is matrix products C = A·B, Cᵢⱼ = Σₖ Aᵢₖ·Bₖⱼ:
    //: 2·M·K·N floating-point operations for (M, K)·(K, N). The three nested loops below are correct and
    //: slow; OpenBLAS's `cblas_sgemm` computes the same numbers with vector instructions and cache
    //: blocking, and `BLAS.gemm` splits a big product over all cores. Transposes are flags: sgemm reads a
    //: (K, M) array as its transpose at no cost, so we never copy a matrix just to transpose it.
    func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        var c = Tensor(zeros: [m, n])                               // (M, N)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum: Float = 0
                            for p in 0..<k { sum += a[i * k + p] * b[p * n + j] }
                            c[i * n + j] = sum
                        }
                    }
                }
            }
        }
        return c
    }

    func matrixProducts() {
        Console.section("0.2 Matrix products through BLAS")
        let size = chapter.quick ? 128 : 256
        let a = Tensor.randomNormal([size, size], using: &chapter.random)   // (M, K)
        let b = Tensor.randomNormal([size, size], using: &chapter.random)   // (K, N)
        let flops = 2.0 * Double(size * size * size)

        var start = Date()
        let slow = naiveMatmul(a, b)
        let naiveSeconds = Date().timeIntervalSince(start)

        let tape = Tape.inference
        start = Date()
        let repeats = 20
        var fast = tape.matmul(Variable(a), Variable(b)).value
        for _ in 1..<repeats { fast = tape.matmul(Variable(a), Variable(b)).value }
        let blasSeconds = Date().timeIntervalSince(start) / Double(repeats)

        var difference: Float = 0
        for i in 0..<fast.count { difference = max(difference, abs(fast[flat: i] - slow[flat: i])) }
        Console.printTable(["method", "time", "GFLOP/s"], [
            ["three loops", Format.fixed(naiveSeconds * 1000, 2) + " ms", Format.fixed(flops / naiveSeconds / 1e9, 2)],
            ["cblas_sgemm", Format.fixed(blasSeconds * 1000, 3) + " ms", Format.fixed(flops / blasSeconds / 1e9, 1)],
        ])
        print("  \(size)×\(size)×\(size): largest difference between the two = \(String(format: "%.1e", difference)) " +
              "(Float rounding, different summation order)")
    }

    // MARK: - 0.3 What a gradient is

    //: The derivative f′(x) says how much f changes per unit change of x. For a loss L of a million
    //: weights, the gradient ∂L/∂w is a million such numbers, one per weight: the direction in which a
    //: small step lowers the loss fastest. Before computing gradients cleverly we compute them
    //: stupidly, with **finite differences**:
    //:
    //:     forward:  f′(x) ≈ (f(x + h) − f(x)) / h           error O(h)
    //:     central:  f′(x) ≈ (f(x + h) − f(x − h)) / 2h      error O(h²)
    //:
    //: Smaller h is not always better: in Float32, f itself is only known to about 1e-7 relative, and
    //: dividing by h magnifies that rounding. The plot shows both errors for f(x) = x³ at x = 1.5
    //: (f′ = 6.75) as h shrinks: the V shape is truncation error falling and rounding error rising.
    //: This is why the gradient checker uses the central difference with h = 1e-2.
    func whatAGradientIs() throws {
        Console.section("0.3 What a gradient is")
        let f: (Float) -> Float = { $0 * $0 * $0 }
        let x: Float = 1.5, exact: Float = 6.75
        var steps: [Double] = [], forwardErrors: [Double] = [], centralErrors: [Double] = []
        var rows: [[String]] = []
        for exponent in stride(from: -0.5, through: -6.0, by: -0.25) {
            let h = Float(pow(10, exponent))
            let forward = (f(x + h) - f(x)) / h
            let central = (f(x + h) - f(x - h)) / (2 * h)
            steps.append(Double(h))
            forwardErrors.append(max(Double(abs(forward - exact)), 1e-9))
            centralErrors.append(max(Double(abs(central - exact)), 1e-9))
            if exponent == exponent.rounded() {
                rows.append([String(format: "1e%.0f", exponent), Format.fixed(forward, 6), Format.fixed(central, 6)])
            }
        }
        Console.printTable(["h", "forward", "central"], rows)
        let best = zip(steps, centralErrors).min { $0.1 < $1.1 }!
        print("  exact f′(1.5) = 6.75; smallest central error \(String(format: "%.1e", best.1)) at h = " +
              "\(String(format: "%.0e", best.0))")
        try chapter.plot(.line([Series("forward difference", x: steps, y: forwardErrors),
                                Series("central difference", x: steps, y: centralErrors)],
                               title: "Finite-difference error for d/dx x³ at 1.5 (Float32)",
                               xLabel: "step h", yLabel: "|error|", logX: true, logY: true, points: true),
                         as: "finite-difference-error")
    }

    // MARK: - 0.4 The tape: gradients by playing the computation backwards

    //: Finite differences need two evaluations per weight: hopeless for millions of weights. Reverse-mode
    //: automatic differentiation gets all of them for the price of about two more forward passes.
    //: Each operation on a `Tape` computes its output and records a closure that turns ∂L/∂output into
    //: ∂L/∂inputs (the chain rule, one op at a time). `backward(loss)` starts from ∂L/∂L = 1 and runs the
    //: closures in exactly the reverse order of the forward pass.
    //:
    //: For C = A·B the two closures are matrix products again: ∂L/∂A = ∂L/∂C·Bᵀ and ∂L/∂B = Aᵀ·∂L/∂C.
    //: (Check the shapes: (M, N)·(N, K) = (M, K) like A, and (K, M)·(M, N) = (K, N) like B.)
    func theTape() {
        Console.section("0.4 The tape: gradients by playing the computation backwards")
        let x = Variable(Tensor(shape: [2, 3], values: [0.5, -1, 2, 1.5, 0, -0.5]))              // (B, K) input
        let w = Variable.parameter(Tensor(shape: [3, 2], values: [0.1, 0.2, -0.3, 0.4, 0.5, -0.6]),
                                   name: "w")                                                    // (K, N) weight
        let tape = Tape()
        let h = tape.matmul(x, w)        // (B, N)
        let y = tape.gelu(h)             // (B, N)
        let loss = tape.mean(y)          // ()
        print("  recorded ops, forward order: \(tape.operations.joined(separator: " → "))")
        print("  loss = mean(gelu(x·w)) = \(Format.fixed(loss.value.item, 6))")
        tape.backward(loss)
        print("  ∂loss/∂w, from one backward pass:")
        print(w.grad!.description.split(separator: "\n").dropFirst().map { "  " + $0 }.joined(separator: "\n"))
        let report = GradientCheck.run([w]) { tape, inputs in tape.mean(tape.gelu(tape.matmul(x, inputs[0]))) }
        print("  checked against central differences: \(report)")
    }

    // MARK: - 0.5 Writing one backward by hand

    //: Every op in LLMCore has a hand-written backward, and every one is tested the same way: compare it
    //: with central differences on random inputs. Here we add an op of our own, softplus(x) = log(1 + eˣ),
    //: whose derivative is the logistic sigmoid σ(x) = 1/(1 + e⁻ˣ). Then we make the classic mistake —
    //: forgetting the chain rule's inner factor and writing eˣ/(1 + eˣ)·eˣ — and watch the checker catch it.
    func oneBackwardByHand() {
        Console.section("0.5 Writing one backward by hand")
        var generator = SeededGenerator(seed: chapter.options.seed &+ 5)
        let x = Variable.parameter(Tensor.randomNormal([3, 4], using: &generator), name: "x")  // (B, C)
        let softplus: (Float16x) -> Float16x = { v in
            var out = v
            for i in 0..<16 { out[i] = log1p(exp(v[i])) }
            return out
        }
        let sigmoid: (Float16x) -> Float16x = { v in 1 / (1 + fastExp(-v)) }
        let wrong: (Float16x) -> Float16x = { v in fastExp(v) / (1 + fastExp(v)) * fastExp(v) }

        let right = GradientCheck.run([x]) { tape, inputs in
            tape.elementwise("softplus", inputs[0], forward: softplus, derivative: sigmoid)
        }
        let broken = GradientCheck.run([x]) { tape, inputs in
            tape.elementwise("softplus", inputs[0], forward: softplus, derivative: wrong)
        }
        print("  derivative σ(x):        \(right)")
        print("  derivative eˣ/(1+eˣ)·eˣ: \(broken)")
    }
}
