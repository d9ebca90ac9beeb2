// Introduced in Chapter 04 (for samples during training; Chapter 08 builds the full sampler with a KV
// cache). Each new token reruns the model on the last `contextLength` tokens: simple and slow.

import Foundation

public enum SimpleSampler {
    /// Continues `prompt` by `count` tokens: greedy when `temperature` is 0, else sampled from
    /// softmax(logits / temperature) with `generator`. Stops early at `stop` (e.g. <|endoftext|>).
    public static func continuation(_ model: GPT, prompt: [Int], count: Int, temperature: Float,
                                    generator: inout SeededGenerator, stop: Int? = nil) -> [Int] {
        var tokens = prompt.isEmpty ? [stop ?? 0] : prompt
        var produced: [Int] = []
        let v = model.config.vocabularySize
        var probabilities = [Float](repeating: 0, count: v)
        for _ in 0..<count {
            let window = Array(tokens.suffix(model.config.contextLength))
            let logits = model([window], .inference).value                                  // (1, T, V)
            let last = (window.count - 1) * v
            let next: Int
            if temperature <= 0 {
                next = (0..<v).max { logits[flat: last + $0] < logits[flat: last + $1] } ?? 0
            } else {
                for j in 0..<v { probabilities[j] = logits[flat: last + j] / temperature }
                probabilities.withUnsafeMutableBufferPointer { p in Kernels.softmaxRow(p.baseAddress!, p.baseAddress!, count: v) }
                next = generator.categorical(probabilities) ?? 0
            }
            if next == stop { break }
            tokens.append(next)
            produced.append(next)
        }
        return produced
    }
}
