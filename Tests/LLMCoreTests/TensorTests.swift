// Tensor values, the seeded generator, the character vocabulary.

import Foundation
import Testing
@testable import LLMCore

@Suite("Tensor")
struct TensorTests {
    @Test("row-major offsets: [i, j] of (R, C) is i·C + j")
    func offsets() {
        let t = Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        #expect(t[1, 2, 3] == 23)                // (1·3 + 2)·4 + 3
        #expect(t[0, 1, 0] == 4)
        #expect(t.rows == 6 && t.columns == 4 && t.rank == 3)
    }

    @Test("copies are independent (copy-on-write)")
    func valueSemantics() {
        var a = Tensor(shape: [2], values: [1, 2])
        let b = a
        a[0] = 9
        #expect(b.scalars == [1, 2] && a.scalars == [9, 2])
        let r = a.reshaped([2, 1])
        a[1] = 7
        #expect(r.scalars == [9, 2])
    }

    @Test("a scalar has shape [] and one element")
    func scalar() {
        let s = Tensor(scalar: 3)
        #expect(s.shape == [] && s.count == 1 && s.item == 3)
    }
}

@Suite("Seeded generator")
struct RandomTests {
    @Test("xoshiro256** seeded by SplitMix64 gives a fixed sequence")
    func knownValues() {
        // SplitMix64 from seed 0 gives 0xE220A8397B1DCDAF first (the published reference value).
        var g = SeededGenerator(seed: 0)
        #expect(g.state[0] == 0xE220_A839_7B1D_CDAF)
        // xoshiro256**: result = rotl(s1·5, 7)·9 on the seeded state.
        let s1 = g.state[1]
        let expected = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        #expect(g.next() == expected)
    }

    @Test("same seed, same numbers; different seed, different numbers")
    func determinism() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7), c = SeededGenerator(seed: 8)
        let xs = (0..<100).map { _ in a.normal() }
        #expect(xs == (0..<100).map { _ in b.normal() })
        #expect(xs != (0..<100).map { _ in c.normal() })
    }

    @Test("uniform in [0, 1) and normal with mean 0, variance 1 (100k draws, 5σ bounds)")
    func moments() {
        var g = SeededGenerator(seed: 1)
        let n = 100_000
        let u = (0..<n).map { _ in Double(g.uniform()) }
        #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(Swift.abs(u.reduce(0, +) / Double(n) - 0.5) < 5 * (1 / 12.0).squareRoot() / Double(n).squareRoot())
        let tensor = Tensor.randomUniform([1000], -2, 3, using: &g)
        #expect(tensor.scalars.allSatisfy { $0 >= -2 && $0 < 3 })
        let z = (0..<n).map { _ in Double(g.normal()) }
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(Swift.abs(mean) < 5 / Double(n).squareRoot())
        #expect(Swift.abs(variance - 1) < 5 * 2.0.squareRoot() / Double(n).squareRoot())
    }

    @Test("categorical draws follow the weights (chi-square, 3 degrees of freedom)")
    func categorical() {
        var g = SeededGenerator(seed: 2)
        let weights: [Float] = [1, 2, 3, 4], n = 40_000
        var counts = [Double](repeating: 0, count: 4)
        for _ in 0..<n { counts[g.categorical(weights)!] += 1 }
        let chiSquare = (0..<4).reduce(0.0) { s, i in
            let expected = Double(n) * Double(weights[i]) / 10
            return s + (counts[i] - expected) * (counts[i] - expected) / expected
        }
        #expect(chiSquare < 16.27, "χ² = \(chiSquare) (p = 0.001 critical value 16.27)")
        #expect(g.categorical([0, 0]) == nil)
        #expect(g.categorical([0, 5, 0]) == 1)
    }
}

@Suite("Character vocabulary")
struct CharacterVocabularyTests {
    @Test("ids by frequency; decode inverts encode; unseen characters map to unknown")
    func roundTrip() {
        let vocabulary = CharacterVocabulary(text: "abracadabra", maxSize: 10)
        #expect(vocabulary.symbols.first == "a")        // a ×5, then b ×2, r ×2 (b before r by code point)
        #expect(vocabulary.decode(vocabulary.encode("cab")!) == "cab")
        #expect(vocabulary.encode("z") == [vocabulary.unknownId!])
        let capped = CharacterVocabulary(text: "aaabbc", maxSize: 2)
        #expect(capped.count == 2 && capped.decode(capped.encode("abc")!) == "a��")
        #expect(CharacterVocabulary(text: "ab").encode("c") == nil)
    }
}
