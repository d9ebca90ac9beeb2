// Chapter 12 exercises — your file. Steps and hints: Exercises/Ch12.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter12: Chapter12Exercises {
    public init() {}

    /// 12.1 — One server-sent event of a streamed chat completion.
    public func sseChunk(id: String, created: Int, model: String, role: String?, content: String?,
                         finishReason: String?) throws -> String {
        throw ExerciseUnsolved("\"data: \" + the chunk as JSON + a blank line (Exercises/Ch12.md, step 1)")
    }

    /// 12.2 — The text safe to send after each piece of bytes.
    public func decodeStream(_ pieces: [[UInt8]]) throws -> [String] {
        throw ExerciseUnsolved("hold back an unfinished character (Exercises/Ch12.md, step 2)")
    }

    /// 12.3 — One continuous-batching step.
    public func step(active: [(id: Int, produced: Int, maxTokens: Int)], waiting: [Int],
                     maxActive: Int) throws -> (finished: [Int], active: [Int], waiting: [Int]) {
        throw ExerciseUnsolved("one token each, finish, then admit into free slots (Exercises/Ch12.md, step 3)")
    }
}
