// Chapter 12's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter12Exercises: Sendable {
    /// 12.1 — One server-sent event of a streamed chat completion: "data: " + the chunk's JSON on one line +
    /// a blank line. The chunk: id, object "chat.completion.chunk", created, model, and choices = [{index 0,
    /// delta {role?, content?}, finish_reason}] — `role` and `content` only when given, `finish_reason` null
    /// (not missing) until the last chunk.
    func sseChunk(id: String, created: Int, model: String, role: String?, content: String?,
                  finishReason: String?) throws -> String

    /// 12.2 — Streamed text from token bytes: for each piece of bytes, the text that is safe to send after it
    /// (complete characters only; an unfinished one waits for the next piece); the last element also holds
    /// whatever is left.
    func decodeStream(_ pieces: [[UInt8]]) throws -> [String]

    /// 12.3 — One continuous-batching step. Every active sequence produces one token; those reaching their
    /// `maxTokens` finish and leave; then waiting requests join, first come first served, into the free
    /// slots (at most `maxActive` active). Returns the finished ids, the active ids after the step (the ones
    /// that stayed, in order, then the joined), and the ids still waiting.
    func step(active: [(id: Int, produced: Int, maxTokens: Int)], waiting: [Int],
              maxActive: Int) throws -> (finished: [Int], active: [Int], waiting: [Int])
}

public enum Chapter12Checks {
    public static let chapter = "12 — Serving"

    public static let all: [Exercise<any Chapter12Exercises>] = [
        Exercise(id: "12.1", title: "a server-sent chunk",
                 hint: "\"data: \" + JSON + \"\\n\\n\"; finish_reason is there, as null, until the end") { solution in
            func parse(_ event: String) throws -> [String: Any] {
                try require(event.hasPrefix("data: ") && event.hasSuffix("\n\n"),
                            "an event is 'data: {json}' and a blank line; got \(event.debugDescription)")
                let json = event.dropFirst(6).dropLast(2)
                try require(!json.contains("\n"), "the JSON must be on one line")
                let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
                try require(object != nil, "not a JSON object: \(json)")
                return object ?? [:]
            }
            let first = try parse(try solution.sseChunk(id: "chatcmpl-1", created: 7, model: "sft", role: "assistant",
                                                        content: "", finishReason: nil))
            try require(first["id"] as? String == "chatcmpl-1" && first["object"] as? String == "chat.completion.chunk"
                        && first["created"] as? Int == 7 && first["model"] as? String == "sft",
                        "id, object, created and model: got \(first)")
            let choice = (first["choices"] as? [[String: Any]])?.first ?? [:]
            try require(choice["index"] as? Int == 0, "choices[0].index must be 0")
            try require(choice.keys.contains("finish_reason") && choice["finish_reason"] is NSNull,
                        "finish_reason must be present and null until the last chunk: got \(choice)")
            try require((choice["delta"] as? [String: Any])?["role"] as? String == "assistant",
                        "the first delta carries the role")
            let middle = try parse(try solution.sseChunk(id: "chatcmpl-1", created: 7, model: "sft", role: nil,
                                                         content: "好 \"x\"\n", finishReason: nil))
            let delta = ((middle["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) ?? [:]
            try require(delta["content"] as? String == "好 \"x\"\n" && delta["role"] == nil,
                        "later deltas: the content (escaped as JSON), no role; got \(delta)")
            let last = try parse(try solution.sseChunk(id: "chatcmpl-1", created: 7, model: "sft", role: nil,
                                                       content: nil, finishReason: "stop"))
            let end = (last["choices"] as? [[String: Any]])?.first ?? [:]
            try require(end["finish_reason"] as? String == "stop" && (end["delta"] as? [String: Any])?.isEmpty == true,
                        "the last chunk: an empty delta and the finish reason; got \(end)")
        },
        Exercise(id: "12.2", title: "a UTF-8-safe stream",
                 hint: "send only up to the last complete character; keep the rest for the next piece") { solution in
            let text = "héllo 世界 🎉 ok"
            let bytes = Array(text.utf8)
            var generator = SeededGenerator(seed: 121)
            for _ in 0..<40 {
                var pieces: [[UInt8]] = [], start = 0
                while start < bytes.count {
                    let end = min(bytes.count, start + 1 + generator.integer(below: 4))
                    pieces.append(Array(bytes[start..<end]))
                    start = end
                }
                let out = try solution.decodeStream(pieces)
                try require(out.count == pieces.count, "one string per piece: \(pieces.count), got \(out.count)")
                try require(out.joined() == text, "the pieces must add up to '\(text)'; got '\(out.joined())'")
                try require(!out.contains { $0.contains("\u{FFFD}") },
                            "a piece ends inside a character (U+FFFD sent): \(out)")
            }
            let split = try solution.decodeStream([[0xE4, 0xB8], [0x96, 0x41]])   // 世 cut in two, then "A"
            try require(split == ["", "世A"], "['E4 B8', '96 41'] gives ['', '世A']; got \(split)")
        },
        Exercise(id: "12.3", title: "one scheduler step",
                 hint: "finish first, then fill the free slots from the front of the queue") { solution in
            let result = try solution.step(active: [(1, 4, 5), (2, 0, 9), (3, 8, 9)], waiting: [4, 5, 6], maxActive: 3)
            try require(result.finished == [1, 3], "1 and 3 reach their max_tokens: finished \(result.finished)")
            try require(result.active == [2, 4, 5] && result.waiting == [6],
                        "their two slots go to 4 and 5 in the same step: active \(result.active), " +
                        "waiting \(result.waiting)")
            let full = try solution.step(active: [(1, 0, 9)], waiting: [7, 8], maxActive: 1)
            try require(full.active == [1] && full.waiting == [7, 8] && full.finished.isEmpty,
                        "no free slot: nobody joins; got \(full)")
            let empty = try solution.step(active: [], waiting: [1, 2, 3], maxActive: 2)
            try require(empty.active == [1, 2] && empty.waiting == [3],
                        "an idle server admits up to maxActive: \(empty)")
        },
    ]
}
