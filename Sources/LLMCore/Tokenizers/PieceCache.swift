// Introduced in Chapter 01. A cache from pre-token bytes to their ids: most pieces of real text repeat
// (" the", " of", "."), so the merge loop runs once per distinct piece, not once per occurrence.
// Open addressing with linear probing over a 64-bit FNV-1a hash; keys and ids live in two flat arenas,
// so a lookup allocates nothing. It stops growing at `capacityLimit` entries (memory stays bounded).

struct PieceCache {
    private var hashes: [UInt64]
    private var keyStart: [Int32], keyLength: [Int32], idStart: [Int32], idCount: [Int32]
    private var keyBytes: [UInt8] = []
    private var idArena: [Int] = []
    private var count = 0
    private var mask: Int
    static let capacityLimit = 1 << 20

    init(slots: Int = 1 << 12) {
        (hashes, keyStart, keyLength, idStart, idCount, mask) = PieceCache.emptyTable(max(16, slots))
    }

    /// Empty slot arrays for a table of `size` (a power of two) slots, and its mask.
    private static func emptyTable(_ size: Int) -> ([UInt64], [Int32], [Int32], [Int32], [Int32], Int) {
        ([UInt64](repeating: 0, count: size), [Int32](repeating: -1, count: size), [Int32](repeating: 0, count: size),
         [Int32](repeating: 0, count: size), [Int32](repeating: 0, count: size), size - 1)
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The slot holding `bytes`, or the empty slot where it would go.
    @inline(__always)
    private func slot(_ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64) -> (Int, found: Bool) {
        var s = Int(truncatingIfNeeded: h) & mask
        while keyStart[s] >= 0 {
            if hashes[s] == h && Int(keyLength[s]) == bytes.count {
                let start = Int(keyStart[s])
                var equal = true
                for k in 0..<bytes.count where keyBytes[start + k] != bytes[k] { equal = false; break }
                if equal { return (s, true) }
            }
            s = (s + 1) & mask
        }
        return (s, false)
    }

    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> ArraySlice<Int>? {
        let (s, found) = slot(bytes, PieceCache.hash(bytes))
        guard found else { return nil }
        let start = Int(idStart[s])
        return idArena[start..<start + Int(idCount[s])]
    }

    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, _ ids: ArraySlice<Int>) {
        if count >= PieceCache.capacityLimit { return }
        if (count + 1) * 2 > hashes.count { grow() }
        let h = PieceCache.hash(bytes)
        let (s, found) = slot(bytes, h)
        if found { return }
        hashes[s] = h
        keyStart[s] = Int32(keyBytes.count)
        keyLength[s] = Int32(bytes.count)
        idStart[s] = Int32(idArena.count)
        idCount[s] = Int32(ids.count)
        keyBytes.append(contentsOf: bytes)
        idArena.append(contentsOf: ids)
        count += 1
    }

    private mutating func grow() {
        let old = (hashes, keyStart, keyLength, idStart, idCount)
        (hashes, keyStart, keyLength, idStart, idCount, mask) = PieceCache.emptyTable(hashes.count * 2)
        for i in old.0.indices where old.1[i] >= 0 {
            var s = Int(truncatingIfNeeded: old.0[i]) & mask
            while keyStart[s] >= 0 { s = (s + 1) & mask }
            (hashes[s], keyStart[s], keyLength[s], idStart[s], idCount[s]) = (old.0[i], old.1[i],
                                                                              old.2[i], old.3[i], old.4[i])
        }
    }
}
