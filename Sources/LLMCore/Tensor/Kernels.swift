// Introduced in Chapter 00. Element-wise kernels over raw buffers: SIMD16 inner loops, split over
// workers when the array is large enough to be worth a thread (64 K elements ≈ 20 µs of work).

import CBLAS
import Foundation

/// An element-wise function and its derivative on 16 lanes (see `Kernels.GELU`).
public protocol ActivationFunction {
    static func value(_ x: Float16x) -> Float16x
    static func derivative(_ x: Float16x) -> Float16x
}

public enum Kernels {
    /// Below this many elements per worker, element-wise loops stay on one thread.
    public static let elementsPerWorker = 1 << 16

    /// `out[i] = f(x[i])` sixteen lanes at a time.
    @inline(__always)
    public static func map(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int,
                           _ f: (Float16x) -> Float16x) {
        Parallel.forEach(count, minimumPerWorker: elementsPerWorker) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(16, range.upperBound - i)
                storeLanes(f(loadLanes(x + i, n)), out + i, n)
                i += 16
            }
        }
    }

    /// `out[i] = f(x[i], y[i])` sixteen lanes at a time.
    @inline(__always)
    public static func zip(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                           count: Int, _ f: (Float16x, Float16x) -> Float16x) {
        Parallel.forEach(count, minimumPerWorker: elementsPerWorker) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(16, range.upperBound - i)
                storeLanes(f(loadLanes(x + i, n), loadLanes(y + i, n)), out + i, n)
                i += 16
            }
        }
    }

    /// `out[i] += f(x[i], y[i])`: how backward passes accumulate element-wise gradients.
    @inline(__always)
    public static func accumulate(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                  into out: UnsafeMutablePointer<Float>, count: Int,
                                  _ f: (Float16x, Float16x) -> Float16x) {
        Parallel.forEach(count, minimumPerWorker: elementsPerWorker) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(16, range.upperBound - i)
                storeLanes(loadLanes(out + i, n) + f(loadLanes(x + i, n), loadLanes(y + i, n)), out + i, n)
                i += 16
            }
        }
    }

    /// `out[i] = F(x[i])` for a built-in activation. Generic over the function's type rather than taking
    /// a closure: each activation gets its own loop with the math inlined (through a closure the loop
    /// made a call per 16 elements, and GELU forward + backward cost 9% of a small model's step).
    public static func activation<F: ActivationFunction>(_: F.Type, _ x: UnsafePointer<Float>,
                                                         _ out: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, minimumPerWorker: elementsPerWorker) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(16, range.upperBound - i)
                storeLanes(F.value(loadLanes(x + i, n)), out + i, n)
                i += 16
            }
        }
    }

    /// `dX[i] (+)= dY[i] · F′(x[i])`: `accumulate` false writes, true adds.
    public static func activationGradient<F: ActivationFunction>(_: F.Type, _ dY: UnsafePointer<Float>,
                                                                 _ x: UnsafePointer<Float>,
                                                                 into dX: UnsafeMutablePointer<Float>,
                                                                     count: Int, accumulate: Bool) {
        Parallel.forEach(count, minimumPerWorker: elementsPerWorker) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(16, range.upperBound - i)
                let g = loadLanes(dY + i, n) * F.derivative(loadLanes(x + i, n))
                storeLanes(accumulate ? loadLanes(dX + i, n) + g : g, dX + i, n)
                i += 16
            }
        }
    }

    /// Σ a[i]·b[i], sixteen lanes at a time with two accumulators (short rows: attention heads, matvec).
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = Float16x(), s1 = Float16x(), i = 0
        while i + 32 <= count {
            s0 += loadLanes(a + i, 16) * loadLanes(b + i, 16)
            s1 += loadLanes(a + i + 16, 16) * loadLanes(b + i + 16, 16)
            i += 32
        }
        while i < count {
            let n = min(16, count - i)
            s0 += loadLanes(a + i, n) * loadLanes(b + i, n)
            i += 16
        }
        return horizontalSum(s0 + s1)
    }

    /// Four dot products of one row `w` with rows x, x + stride, x + 2·stride, x + 3·stride: `w` is loaded
    /// once for all four (batched decoding reads each weight row once for several sequences). Each sum is
    /// accumulated exactly as `dot` does it, so the results equal `dot`'s to the bit.
    @inline(__always)
    public static func dot4(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, stride: Int,
                            count: Int) -> (Float, Float, Float, Float) {
        let (x1, x2, x3) = (x + stride, x + 2 * stride, x + 3 * stride)
        var a0 = Float16x(), a1 = Float16x(), b0 = Float16x(), b1 = Float16x()
        var c0 = Float16x(), c1 = Float16x(), d0 = Float16x(), d1 = Float16x(), i = 0
        while i + 32 <= count {
            let u = loadLanes(w + i, 16), v = loadLanes(w + i + 16, 16)
            a0 += u * loadLanes(x + i, 16)
            a1 += v * loadLanes(x + i + 16, 16)
            b0 += u * loadLanes(x1 + i, 16)
            b1 += v * loadLanes(x1 + i + 16, 16)
            c0 += u * loadLanes(x2 + i, 16)
            c1 += v * loadLanes(x2 + i + 16, 16)
            d0 += u * loadLanes(x3 + i, 16)
            d1 += v * loadLanes(x3 + i + 16, 16)
            i += 32
        }
        while i < count {
            let n = min(16, count - i), u = loadLanes(w + i, n)
            a0 += u * loadLanes(x + i, n)
            b0 += u * loadLanes(x1 + i, n)
            c0 += u * loadLanes(x2 + i, n)
            d0 += u * loadLanes(x3 + i, n)
            i += 16
        }
        return (horizontalSum(a0 + a1), horizontalSum(b0 + b1), horizontalSum(c0 + c1), horizontalSum(d0 + d1))
    }

    /// `y += α·x` inline, for short rows where a BLAS call costs more than the work.
    @inline(__always)
    public static func axpyInline(_ alpha: Float, _ x: UnsafePointer<Float>,
                                  _ y: UnsafeMutablePointer<Float>, count: Int) {
        forLanes(count) { i, n in storeLanes(loadLanes(y + i, n) + alpha * loadLanes(x + i, n), y + i, n) }
    }

    /// `y += α·x` (BLAS saxpy).
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        if count > 0 { cblas_saxpy(Int32(count), alpha, x, 1, y, 1) }
    }

    /// out[j] += Σ_c x[c·width + j]: the gradient of a broadcast operand, summed over its copies. Workers
    /// split the columns, so no two write the same element.
    public static func sumCopies(_ x: UnsafePointer<Float>, copies: Int, width: Int,
                                 into out: UnsafeMutablePointer<Float>) {
        Parallel.forEach(width, minimumPerWorker: max(16, elementsPerWorker / max(copies, 1))) { columns in
            for copy in 0..<copies {
                let row = x + copy * width
                var j = columns.lowerBound
                while j < columns.upperBound {
                    let n = min(16, columns.upperBound - j)
                    storeLanes(loadLanes(out + j, n) + loadLanes(row + j, n), out + j, n)
                    j += 16
                }
            }
        }
    }

    /// Σ x[i] in Double (exact enough for losses and checks over millions of elements).
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total: Double = 0
        var i = 0
        while i < count {
            let n = min(16, count - i)
            total += Double(horizontalSum(loadLanes(x + i, n)))
            i += 16
        }
        return total
    }

    // MARK: Activations, forward and backward side by side

    /// √(2/π), the constant inside GPT-2's tanh approximation of GELU.
    static let geluScale: Float = 0.797_884_56

    /// GELU(x) ≈ ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (Hendrycks & Gimpel, the form GPT-2 uses).
    @inline(__always)
    public static func gelu(_ x: Float16x) -> Float16x {
        let cube: Float16x = x * x * x
        let u: Float16x = geluScale * (x + 0.044_715 * cube)
        return 0.5 * x * (1 + fastTanh(u))
    }

    /// d GELU / dx = ½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), with t = tanh(u).
    @inline(__always)
    public static func geluDerivative(_ x: Float16x) -> Float16x {
        let x2: Float16x = x * x
        let u: Float16x = geluScale * (x + 0.044_715 * x2 * x)
        let t: Float16x = fastTanh(u)
        let du: Float16x = geluScale * (1 + 0.134_145 * x2)     // du/dx
        let left: Float16x = 0.5 * (1 + t)
        let right: Float16x = 0.5 * x * (1 - t * t) * du
        return left + right
    }

    /// SiLU(x) = x·σ(x), σ(x) = 1/(1 + e^{-x}).
    @inline(__always)
    public static func silu(_ x: Float16x) -> Float16x {
        x / (1 + fastExp(-x))
    }

    /// d SiLU / dx = σ(x)·(1 + x·(1 − σ(x))).
    @inline(__always)
    public static func siluDerivative(_ x: Float16x) -> Float16x {
        let s = 1 / (1 + fastExp(-x))
        return s * (1 + x * (1 - s))
    }

    /// ReLU(x) = max(x, 0).
    @inline(__always)
    public static func relu(_ x: Float16x) -> Float16x {
        pointwiseMax(x, Float16x())
    }

    /// d ReLU / dx = 1 where x > 0, else 0 (0 at the kink, as PyTorch does).
    @inline(__always)
    public static func reluDerivative(_ x: Float16x) -> Float16x {
        // sign bit clear and x ≠ 0 ⇔ x > 0: min(max(x·2¹²⁶, 0), 1) is 1 for every x ≥ 2⁻¹²⁶
        // and 0 for x ≤ 0
        pointwiseMin(pointwiseMax(x * 0x1p126, Float16x()), Float16x(repeating: 1))
    }

    /// The built-in activations as types, for the generic kernels above.
    public enum GELU: ActivationFunction {
        @inline(__always) public static func value(_ x: Float16x) -> Float16x { gelu(x) }
        @inline(__always) public static func derivative(_ x: Float16x) -> Float16x { geluDerivative(x) }
    }

    public enum SiLU: ActivationFunction {
        @inline(__always) public static func value(_ x: Float16x) -> Float16x { silu(x) }
        @inline(__always) public static func derivative(_ x: Float16x) -> Float16x { siluDerivative(x) }
    }

    public enum ReLU: ActivationFunction {
        @inline(__always) public static func value(_ x: Float16x) -> Float16x { relu(x) }
        @inline(__always) public static func derivative(_ x: Float16x) -> Float16x { reluDerivative(x) }
    }

    // MARK: Row-wise softmax

    /// `out[r] = softmax(x[r])` for each row of length `columns`.
    public static func softmaxRows(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                   rows: Int, columns: Int) {
        Parallel.forEach(rows, minimumPerWorker: max(1, elementsPerWorker / max(columns, 1))) { range in
            for r in range { _ = softmaxRow(x + r * columns, out + r * columns, count: columns) }
        }
    }

    /// Writes softmax(row) to `out` and returns log Σ e^{row} (the log-partition function), computed
    /// as max + log Σ e^{x − max} so that no exponential overflows.
    @inline(__always)
    @discardableResult
    public static func softmaxRow(_ row: UnsafePointer<Float>,
                                  _ out: UnsafeMutablePointer<Float>, count: Int) -> Float {
        let maximum = rowMax(row, count)
        var i = 0, total = Float16x()
        while i + 16 <= count {
            let e = fastExp(loadLanes(row + i, 16) - maximum)
            storeLanes(e, out + i, 16)
            total += e
            i += 16
        }
        var sum = horizontalSum(total)
        if i < count {  // the tail, lane by lane (SIMD `replacing(with:where:)` is a slow generic path)
            let n = count - i
            let e = fastExp(loadLanes(row + i, n) - maximum)
            for k in 0..<n {
                out[i + k] = e[k]
                sum += e[k]
            }
        }
        let inverse = 1 / sum
        i = 0
        while i < count {
            let n = min(16, count - i)
            storeLanes(loadLanes(out + i, n) * inverse, out + i, n)
            i += 16
        }
        return maximum + logf(sum)
    }


    /// The largest element of a row (−∞ for an empty row).
    @inline(__always)
    static func rowMax(_ row: UnsafePointer<Float>, _ count: Int) -> Float {
        var best = Float16x(repeating: -.infinity)
        var i = 0
        while i < count {
            runningMax(&best, loadLanes(row + i, min(16, count - i), fill: -.infinity))
            i += 16
        }
        return horizontalMax(best)
    }
}
