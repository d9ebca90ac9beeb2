// Introduced in Chapter 00. exp and tanh on 16 lanes at once.
//
// libm's expf/tanhf cost a function call per element (≈59 M GELUs/s here, DESIGN.md); these run on
// SIMD registers. Accuracy, checked in Tests/LLMCoreTests/FastMathTests.swift against Foundation:
// - `fastExp`: relative error ≤ 2e-7 on [-87, 88] (input clamped there, so exp(-∞) ≈ 1e-38, not 0);
// - `fastTanh`: absolute error ≤ 3e-7 everywhere (it saturates to ±1 for |x| > 9).

public typealias Float16x = SIMD16<Float>

/// e^x, 16 lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^x = 2ⁿ · e^r, e^r by its degree-7 Taylor
/// polynomial (truncation error r⁸/8! < 5e-9), 2ⁿ built directly in the exponent bits.
@inline(__always)
public func fastExp(_ input: Float16x) -> Float16x {
    // pointwiseMin/Max compile to vector min/max; `clamped` went lane by lane (22× slower here).
    let x = pointwiseMin(pointwiseMax(input, Float16x(repeating: -87.0)), Float16x(repeating: 88.0))
    // Round x·log₂e to the nearest integer without a libm call: adding 1.5·2²³ pushes the fraction out
    // of the mantissa, whose low bits then hold the integer n itself.
    let shifted = x * 1.442_695_04 + 12_582_912.0
    let n = shifted - 12_582_912.0
    // ln 2 split in two so that n·ln2 is subtracted without rounding error (Cody–Waite).
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6
    var p = Float16x(repeating: 1.0 / 5040)
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let integerN = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000  // bits of 1.5·2²³
    let exponentBits = (integerN &+ 127) &<< 23
    return p * unsafeBitCast(exponentBits, to: Float16x.self)
}

/// tanh(x) = 1 − 2/(e^{2x} + 1), 16 lanes, with |x| clamped to 9 (tanh(9) rounds to 1 in Float).
@inline(__always)
public func fastTanh(_ x: Float16x) -> Float16x {
    let clamped = pointwiseMin(pointwiseMax(x, Float16x(repeating: -9)), Float16x(repeating: 9))
    let e = fastExp(clamped + clamped)
    return 1 - 2 / (e + 1)
}

/// Scalar forms, for tails and tests.
@inline(__always)
public func fastExp(_ x: Float) -> Float { fastExp(Float16x(repeating: x))[0] }
@inline(__always)
public func fastTanh(_ x: Float) -> Float { fastTanh(Float16x(repeating: x))[0] }

/// Loads 16 floats from `p` (fewer when `count` < 16: the rest are `fill`).
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>, _ count: Int, fill: Float = 0) -> Float16x {
    if count >= 16 { return UnsafeRawPointer(p).loadUnaligned(as: Float16x.self) }
    var v = Float16x(repeating: fill)
    for i in 0..<count { v[i] = p[i] }
    return v
}

/// Calls `body(j, n)` for j = 0, 16, 32, … < count with n = min(16, count − j) lanes: the loop shape
/// of every SIMD kernel (a full vector, then one partial vector at the end).
@inline(__always)
func forLanes(_ count: Int, _ body: (_ j: Int, _ n: Int) -> Void) {
    var j = 0
    while j < count {
        body(j, min(16, count - j))
        j += 16
    }
}

/// Stores the first `min(count, 16)` lanes of `v` at `p`.
@inline(__always)
func storeLanes(_ v: Float16x, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count >= 16 {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float16x.self)
        return
    }
    for i in 0..<count { p[i] = v[i] }
}

/// Σ of the 16 lanes by halving (SIMD16 → 8 → 4 → 2 → 1): the stdlib's `sum()` goes lane by lane
/// through memory, which showed up as 10% of a small model's training step.
@inline(__always)
public func horizontalSum(_ v: Float16x) -> Float {
    let h8 = v.lowHalf + v.highHalf
    let h4 = h8.lowHalf + h8.highHalf
    let h2 = h4.lowHalf + h4.highHalf
    return h2[0] + h2[1]
}

/// The largest of the 16 lanes, by halving.
@inline(__always)
public func horizontalMax(_ v: Float16x) -> Float {
    let h8 = pointwiseMax(v.lowHalf, v.highHalf)
    let h4 = pointwiseMax(h8.lowHalf, h8.highHalf)
    let h2 = pointwiseMax(h4.lowHalf, h4.highHalf)
    return max(h2[0], h2[1])
}

/// best = max(best, v) lane by lane, for a running maximum in a loop. In-place `replace(with:where:)`
/// keeps the running value in registers; `pointwiseMax` in a loop-carried position went through memory
/// lane by lane (30× slower in a micro-benchmark here).
@inline(__always)
public func runningMax(_ best: inout Float16x, _ v: Float16x) {
    best.replace(with: v, where: v .> best)
}
