// Introduced in Chapter 00. One seedable random number generator for the whole course.
//
// Algorithm: xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/), 256 bits of state, seeded by
// running SplitMix64 from the 64-bit seed (the seeding its authors recommend). Same seed, same
// sequence, on every machine. Derived distributions:
// - uniform Float in [0, 1): the top 24 bits of one draw × 2⁻²⁴ (every value a multiple of 2⁻²⁴);
// - normal: Box–Muller on two uniforms, the second value kept for the next call;
// - categorical: inverse CDF, one uniform against the running sum of the (unnormalised) weights.

import Foundation

/// A seeded xoshiro256** generator. A value type: copying it forks the sequence (used to save and
/// restore the exact state in checkpoints).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    public private(set) var state: [UInt64]
    private var spareNormal: Float?

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [next(), next(), next(), next()]
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotateLeft(state[3], 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1), a multiple of 2⁻²⁴.
    public mutating func uniform() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * uniform()
    }

    /// Standard normal by Box–Muller: two uniforms give two independent normals.
    public mutating func normal(mean: Float = 0, standardDeviation: Float = 1) -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return mean + standardDeviation * spare
        }
        let u1 = Double(next() >> 11) * 0x1p-53 + 0x1p-54  // (0, 1): log never sees 0
        let u2 = Double(next() >> 11) * 0x1p-53
        let radius = (-2 * log(u1)).squareRoot()
        spareNormal = Float(radius * sin(2 * .pi * u2))
        return mean + standardDeviation * Float(radius * cos(2 * .pi * u2))
    }

    /// An index drawn with probability proportional to `weights[i]` (non-negative, not all zero).
    /// Returns `nil` when the weights sum to zero or are not finite.
    public mutating func categorical(_ weights: UnsafeBufferPointer<Float>) -> Int? {
        var total: Double = 0
        for w in weights { total += Double(max(w, 0)) }
        if !(total > 0) || !total.isFinite { return nil }
        let target = Double(uniform()) * total
        var running: Double = 0
        var last = 0
        for (i, w) in weights.enumerated() where w > 0 {
            running += Double(w)
            last = i
            if target < running { return i }
        }
        return last  // rounding left target at the very top: the last index with weight
    }

    /// `categorical` over an array.
    public mutating func categorical(_ weights: [Float]) -> Int? {
        weights.withUnsafeBufferPointer { categorical($0) }
    }

    /// An integer uniform in `0..<upperBound` (unbiased: Lemire's multiply-and-reject via the stdlib).
    public mutating func integer(below upperBound: Int) -> Int {
        Int.random(in: 0..<upperBound, using: &self)
    }
}

extension Tensor {
    /// Normally distributed values, N(mean, standardDeviation²).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    using generator: inout SeededGenerator) -> Tensor {
        var tensor = Tensor(uninitialized: shape)
        tensor.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = generator.normal(mean: mean, standardDeviation: standardDeviation) }
        }
        return tensor
    }

    /// Uniformly distributed values in [low, high).
    public static func randomUniform(_ shape: [Int], _ low: Float = 0, _ high: Float = 1,
                                     using generator: inout SeededGenerator) -> Tensor {
        var tensor = Tensor(uninitialized: shape)
        tensor.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = generator.uniform(low, high) }
        }
        return tensor
    }
}
