// Introduced in Chapter 08. The key/value cache: generate one token at a time without recomputing the
// past.
//
// Without a cache, every new token reruns the model over the whole sequence: token n costs n positions,
// so n tokens cost ~n²/2. But a position's keys and values never change once computed (causal attention:
// nothing later can influence them). So keep them: per layer, per key/value head, a preallocated
// (Tmax, D) block for keys and one for values. A new token then needs only its own row through every
// layer, attends over the cached rows, and appends its key and value. With grouped-query attention the
// cache holds G heads, not H: Llama's 2 key/value heads for 6 query heads shrink it 3×.
//
// There is no second model for this: `GPT.hiddenStates(_:_:cache:)` is the one forward pass, and with a
// cache each attention layer calls `attend` below instead of full attention; RoPE and learned positions
// start at `cache.length`. `GPT.forward(_:cache:)` runs any number of new tokens at once (the prompt in
// one "prefill" pass, then one per step, or k draft tokens to verify in speculative decoding) and returns
// their logits.

import Foundation

/// Keys and values of every layer for positions 0..<length of one sequence.
public final class KVCache {
    public let layers: Int, kvHeads: Int, headSize: Int
    /// The most positions the cache holds: the model's context length.
    public let capacity: Int
    /// How many positions are filled.
    public private(set) var length = 0
    /// Per layer: (G, capacity, D) keys and values.
    var keys: [Tensor], values: [Tensor]

    public init(for config: GPTConfig) {
        layers = config.layers
        kvHeads = config.kvHeads
        headSize = config.headSize
        capacity = config.contextLength
        keys = (0..<layers).map { _ in Tensor(zeros: [config.kvHeads, config.contextLength, config.headSize]) }
        values = keys.map { _ in Tensor(zeros: [config.kvHeads, config.contextLength, config.headSize]) }
    }

    /// Bytes held: 2 (keys and values) × L × G × Tmax × D × 4.
    public var bytes: Int { 2 * layers * kvHeads * capacity * headSize * MemoryLayout<Float>.size }

    /// Forgets every position (the buffers are kept for the next sequence).
    public func reset() { length = 0 }

    /// Keeps positions 0..<count and forgets the rest: how speculative decoding rolls back rejected
    /// draft tokens. The kept rows are untouched.
    public func truncate(to count: Int) {
        precondition(count >= 0 && count <= length, "KVCache.truncate(to: \(count)) with \(length) positions filled")
        length = count
    }

    /// Marks `count` more positions as filled (after every layer has stored them).
    func advance(by count: Int) { length += count }

    /// Stores the new rows' keys and values at positions `length…` of `layer`, then attends each new
    /// query over positions 0…its own (causal); returns (1, n, H·D). Inference only: no gradient.
    /// One job per query head; heads of a group read the same cached rows.
    func attend(_ packedQKV: Variable, layer: Int, heads h: Int) -> Variable {
        let packed = packedQKV.value                                                       // (1, n, (H + 2G)·D)
        let (g, d, start, count) = (kvHeads, headSize, length, packed.shape[1])
        let width = (h + 2 * g) * d, capacity = self.capacity
        if packed.shape.count != 3 || packed.shape[0] != 1 || packed.shape[2] != width || start + count > capacity {
            shapeFailure("KVCache.attend",
                         "needs (1, n, \(width)) rows after \(start) of \(capacity); got \(packed.shape)")
        }
        let keys = self.keys[layer], values = self.values[layer]
        let (src, k, v) = (packed.base, keys.base, values.base)
        for row in 0..<count {
            for group in 0..<g {
                let position = (group * capacity + start + row) * d
                (k + position).update(from: src + row * width + (h + group) * d, count: d)
                (v + position).update(from: src + row * width + (h + g + group) * d, count: d)
            }
        }
        let out = Tensor(uninitialized: [1, count, h * d])
        let o = out.base, scale = 1 / Float(d).squareRoot(), groupSize = h / g
        let visible = start + count
        withExtendedLifetime((keys, values, packed)) {
            // A head over `visible` positions costs ~4·D·visible flops: worth a worker from ~100 positions
            // on, on the spinning pool (Dispatch's wake-up would cost more than the head).
            Parallel.forEach(h, minimumPerWorker: max(1, 256 / max(count * visible, 1)), fineGrained: true) { heads in
                var scores = [Float](repeating: 0, count: visible)
                scores.withUnsafeMutableBufferPointer { scoreBuffer in
                    let p = scoreBuffer.baseAddress!
                    for head in heads {
                        let group = head / groupSize
                        let kHead = k + group * capacity * d, vHead = v + group * capacity * d
                        for row in 0..<count {
                            let q = src + row * width + head * d,
                                span = start + row + 1   // causal: positions 0...start + row
                            for j in 0..<span { p[j] = scale * Kernels.dot(q, kHead + j * d, count: d) }
                            _ = Kernels.softmaxRow(p, p, count: span)
                            let result = o + row * h * d + head * d
                            result.update(repeating: 0, count: d)
                            for j in 0..<span { Kernels.axpyInline(p[j], vHead + j * d, result, count: d) }
                        }
                    }
                }
            }
        }
        return Variable(out, name: "cached attention")
    }
}

extension GPT {
    /// Runs `ids` as the next positions after those already in `cache`, appends their keys and values,
    /// and returns logits: (count, V) for every new position, or (1, V) for the last only
    /// (`allPositions: false`, what plain generation needs — it skips the head for the others).
    /// The same forward pass as training (`logits(_:_:cache:lastOnly:)`), on an inference tape.
    ///
    /// Callers keep `cache.length + ids.count ≤ contextLength` and ids in 0..<V (the `Generator` checks
    /// user input first); this is a programmer error otherwise.
    public func forward(_ ids: [Int], cache: KVCache, allPositions: Bool = false) -> Tensor {
        let logits = self.logits([ids], .inference, cache: cache, lastOnly: !allPositions).value
        return logits.reshaped([allPositions ? ids.count : 1, config.vocabularySize])
    }

    /// One decoding step for several sequences at once (continuous batching, Chapter 12): `ids[b]` is the next
    /// token of the sequence in `caches[b]`; returns (B, V) logits, row b equal to what `forward([ids[b]],
    /// cache: caches[b])` gives alone. Each cache needs room for one more position.
    public func forward(batch ids: [Int], caches: [KVCache]) -> Tensor {
        logits(ids.map { [$0] }, .inference, caches: caches).value.reshaped([ids.count, config.vocabularySize])
    }
}
