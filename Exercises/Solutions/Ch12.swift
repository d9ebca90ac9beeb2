// Chapter 12 reference solutions. Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter12Solution: Chapter12Exercises {
    public init() {}

    public func sseChunk(id: String, created: Int, model: String, role: String?, content: String?,
                         finishReason: String?) throws -> String {
        var delta: [String: Any] = [:]
        if let role { delta["role"] = role }
        if let content { delta["content"] = content }
        let choice: [String: Any] = ["index": 0, "delta": delta, "finish_reason": finishReason ?? NSNull()]
        let chunk: [String: Any] = ["id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                                    "choices": [choice]]
        let json = try JSONSerialization.data(withJSONObject: chunk)
        return "data: " + String(decoding: json, as: UTF8.self) + "\n\n"
    }

    /// How many leading bytes of `bytes` end on a character boundary.
    public static func complete(_ bytes: [UInt8]) -> Int {
        var back = 0
        for i in stride(from: bytes.count - 1, through: max(0, bytes.count - 4), by: -1) {
            let b = bytes[i]
            back += 1
            if b & 0xC0 == 0x80 { continue }                              // a continuation byte
            let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            return length <= back ? bytes.count : i
        }
        return bytes.count
    }

    public func decodeStream(_ pieces: [[UInt8]]) throws -> [String] {
        var pending: [UInt8] = [], out: [String] = []
        for (index, piece) in pieces.enumerated() {
            pending += piece
            let cut = index == pieces.count - 1 ? pending.count : Self.complete(pending)
            out.append(String(decoding: pending[..<cut], as: UTF8.self))
            pending.removeFirst(cut)
        }
        return out
    }

    public func step(active: [(id: Int, produced: Int, maxTokens: Int)], waiting: [Int],
                     maxActive: Int) throws -> (finished: [Int], active: [Int], waiting: [Int]) {
        let finished = active.filter { $0.produced + 1 >= $0.maxTokens }.map(\.id)
        let stayed = active.filter { $0.produced + 1 < $0.maxTokens }.map(\.id)
        let joining = Array(waiting.prefix(max(0, maxActive - stayed.count)))
        return (finished, stayed + joining, Array(waiting.dropFirst(joining.count)))
    }
}
