// A plausible wrong answer for each of this chapter's exercises: ExerciseGrading.swift checks that the
// checks catch every one.

import ExerciseKit
import ExerciseSolutions
import Foundation
import Testing

/// Plausible mistakes for Chapter 12.
struct Chapter12Decoy: Chapter12Exercises {
    // Leaves finish_reason out until the end instead of sending null.
    func sseChunk(id: String, created: Int, model: String, role: String?, content: String?,
                  finishReason: String?) throws -> String {
        var delta: [String: Any] = [:]
        if let role { delta["role"] = role }
        if let content { delta["content"] = content }
        var choice: [String: Any] = ["index": 0, "delta": delta]
        if let finishReason { choice["finish_reason"] = finishReason }
        let chunk: [String: Any] = ["id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                                    "choices": [choice]]
        return "data: " + String(decoding: try JSONSerialization.data(withJSONObject: chunk), as: UTF8.self) + "\n\n"
    }
    // Decodes every piece on its own: a character cut between pieces becomes U+FFFD.
    func decodeStream(_ pieces: [[UInt8]]) throws -> [String] {
        pieces.map { String(decoding: $0, as: UTF8.self) }
    }
    // Admits before finishing: a slot freed in this step stays empty until the next.
    func step(active: [(id: Int, produced: Int, maxTokens: Int)], waiting: [Int],
              maxActive: Int) throws -> (finished: [Int], active: [Int], waiting: [Int]) {
        let joining = Array(waiting.prefix(max(0, maxActive - active.count)))
        let finished = active.filter { $0.produced + 1 >= $0.maxTokens }.map(\.id)
        let stayed = active.filter { $0.produced + 1 < $0.maxTokens }.map(\.id)
        return (finished, stayed + joining, Array(waiting.dropFirst(joining.count)))
    }
}
