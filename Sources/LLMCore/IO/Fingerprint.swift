// Introduced in Chapter 04 (the token cache), grown in Chapter 09 (the retrieval store). A fingerprint says
// "these are the same inputs" without storing them: 64-bit FNV-1a over their bytes, written as 16 hex digits.
// Not a cryptographic hash — it guards against mix-ups (another model, an edited corpus), not against forgery.

import Foundation

/// FNV-1a, 64 bits: for each byte, h = (h XOR byte) × 1099511628211, from 14695981039346656037.
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    }

    public mutating func mix(_ text: String) {
        mix(text.utf8)
        mix([0])
    }

    public mutating func mix(_ floats: UnsafeBufferPointer<Float>) {
        mix(UnsafeRawBufferPointer(floats))
    }

    /// 16 lower-case hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

public enum Fingerprint {
    /// The tokenizer's ranks, pattern and special tokens.
    public static func mix(_ tokenizer: BPETokenizer, into h: inout FNV1a) {
        for token in tokenizer.tokens {
            h.mix(token)
            h.mix([0xFF])
        }
        h.mix(tokenizer.pattern.rawValue)
        for (text, id) in tokenizer.specialTokens.sorted(by: { $0.value < $1.value }) { h.mix(text + "=\(id)") }
    }

    public static func tokenizer(_ tokenizer: BPETokenizer) -> String {
        var h = FNV1a()
        mix(tokenizer, into: &h)
        return h.hex
    }

    /// The model's configuration and every parameter's name and values.
    public static func model(_ model: GPT) -> String {
        var h = FNV1a()
        if let config = try? JSONEncoder.sorted.encode(model.config) { h.mix(config) }
        for (name, parameter) in model.namedParameters {
            h.mix(name)
            parameter.value.withUnsafeBufferPointer { h.mix($0) }
        }
        return h.hex
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys: the same value always gives the same bytes.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
