// The OpenAI wire format, as `llm serve` speaks it (Chapter 12): the requests it reads, the responses and
// stream chunks it writes, and the error shape every failure takes:
//
//     {"error": {"message": "…", "type": "invalid_request_error", "param": "temperature", "code": null}}
//
// Field names are the API's (snake_case); `null`s the API sends are written as null, not left out, because
// clients test for them (`finish_reason: null` in every chunk but the last).

import Foundation
import LLMCore

/// A failure as the API reports it, with its HTTP status.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String, type: String
    public let param: String?, code: String?
    /// Seconds to wait before retrying (429), sent as Retry-After.
    public var retryAfter: Int?

    public init(_ status: Int, _ message: String, type: String = "invalid_request_error", param: String? = nil,
                code: String? = nil) {
        (self.status, self.message, self.type, self.param, self.code) = (status, message, type, param, code)
    }

    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(400, message, param: param, code: code)
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// The JSON body.
    public var body: Data {
        let error: [String: Any] = ["message": message, "type": type, "param": nullable(param), "code": nullable(code)]
        return (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])) ?? Data()
    }
}

/// A JSON value that is null when absent.
func nullable(_ value: String?) -> Any { value.map { $0 as Any } ?? NSNull() }

/// A string or a list of strings (`stop`, a completion's `prompt`).
public enum StringOrList: Decodable, Sendable, Equatable {
    case one(String), many([String])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { self = .one(text); return }
        self = .many(try container.decode([String].self))
    }

    public var values: [String] {
        switch self { case .one(let s): return [s]; case .many(let list): return list }
    }
}

/// A message's content: a string, or a list of parts of which the text parts are read.
public struct MessageContent: Decodable, Sendable, Equatable {
    public let text: String

    struct Part: Decodable { let type: String; let text: String? }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { text = ""; return }
        if let text = try? container.decode(String.self) { self.text = text; return }
        let parts = try container.decode([Part].self)
        if let other = parts.first(where: { $0.type != "text" }) {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "content part of type " +
                                                   "'\(other.type)': this server reads text parts only")
        }
        text = parts.compactMap(\.text).joined()
    }
}

/// What both endpoints share: the model and the sampling parameters.
public struct SamplingRequest: Decodable, Sendable {
    public var model: String?
    public var temperature: Double?
    public var top_p: Double?
    public var max_tokens: Int?
    public var max_completion_tokens: Int?
    public var stop: StringOrList?
    public var seed: Int64?
    public var presence_penalty: Double?
    public var frequency_penalty: Double?
    public var n: Int?
    public var stream: Bool?
    public var stream_options: StreamOptions?

    public struct StreamOptions: Decodable, Sendable { public var include_usage: Bool? }

    /// Our settings, every parameter range-checked with the API's bounds (param named in the error).
    public func settings() throws(APIError) -> SamplingSettings {
        func check(_ value: Double?, _ name: String, _ range: ClosedRange<Double>) throws(APIError) {
            if let value, !(range.contains(value)) || !value.isFinite {
                throw .invalid("\(name) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))",
                               param: name)
            }
        }
        try check(temperature, "temperature", 0...2)
        try check(top_p, "top_p", 0...1)
        try check(presence_penalty, "presence_penalty", -2...2)
        try check(frequency_penalty, "frequency_penalty", -2...2)
        if let top_p, top_p == 0 { throw .invalid("top_p must be above 0 (got 0)", param: "top_p") }
        if let n, n != 1 { throw .invalid("n must be 1: this server returns one choice (got \(n))", param: "n") }
        let stops = stop?.values ?? []
        if stops.count > 4 { throw .invalid("stop takes at most 4 sequences (got \(stops.count))", param: "stop") }
        if stops.contains("") { throw .invalid("a stop sequence cannot be empty", param: "stop") }
        var settings = SamplingSettings(temperature: Float(temperature ?? 1), topP: top_p.map(Float.init),
                                        frequencyPenalty: Float(frequency_penalty ?? 0),
                                        presencePenalty: Float(presence_penalty ?? 0))
        if settings.topP == 1 { settings.topP = nil }
        return settings
    }

    /// `max_completion_tokens`, else `max_tokens`, checked to be at least 1; nil when neither is given.
    public func maxTokens() throws(APIError) -> Int? {
        let value = max_completion_tokens ?? max_tokens
        let name = max_completion_tokens == nil ? "max_tokens" : "max_completion_tokens"
        if let value, value < 1 { throw .invalid("\(name) must be at least 1 (got \(value))", param: name) }
        return value
    }
}

public struct ChatRequest: Decodable, Sendable {
    public struct Message: Decodable, Sendable {
        public let role: String
        public let content: MessageContent?
    }
    public var messages: [Message]?
    public var sampling: SamplingRequest

    enum Keys: String, CodingKey { case messages }

    public init(from decoder: any Decoder) throws {
        messages = try decoder.container(keyedBy: Keys.self).decodeIfPresent([Message].self, forKey: .messages)
        sampling = try SamplingRequest(from: decoder)
    }
}

public struct CompletionRequest: Decodable, Sendable {
    public var prompt: StringOrList?
    public var sampling: SamplingRequest

    enum Keys: String, CodingKey { case prompt }

    public init(from decoder: any Decoder) throws {
        prompt = try decoder.container(keyedBy: Keys.self).decodeIfPresent(StringOrList.self, forKey: .prompt)
        sampling = try SamplingRequest(from: decoder)
    }
}

/// The JSON objects the server writes, built as dictionaries so that nulls are explicit.
public enum WireObject {
    public static func usage(prompt: Int, completion: Int) -> [String: Any] {
        ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion]
    }

    /// One streamed chat chunk: `delta` and `finish_reason` (null until the last), or `usage` with no choices.
    public static func chatChunk(id: String, created: Int, model: String, delta: [String: Any]?,
                                 finishReason: String?, usage: [String: Any]? = nil) -> [String: Any] {
        var chunk: [String: Any] = ["id": id, "object": "chat.completion.chunk", "created": created, "model": model]
        chunk["choices"] = delta.map { [["index": 0, "delta": $0, "logprobs": NSNull(),
                                         "finish_reason": nullable(finishReason)]] } ?? []
        if let usage { chunk["usage"] = usage }
        return chunk
    }

    public static func completionChunk(id: String, created: Int, model: String, text: String?,
                                       finishReason: String?, usage: [String: Any]? = nil) -> [String: Any] {
        var chunk: [String: Any] = ["id": id, "object": "text_completion", "created": created, "model": model]
        chunk["choices"] = text.map { [["index": 0, "text": $0, "logprobs": NSNull(),
                                        "finish_reason": nullable(finishReason)]] } ?? []
        if let usage { chunk["usage"] = usage }
        return chunk
    }

    /// `data: {json}⏎⏎`, one server-sent event.
    public static func event(_ object: [String: Any]) -> Data {
        var data = Data("data: ".utf8)
        data.append((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8))
        data.append(contentsOf: Array("\n\n".utf8))
        return data
    }

    public static let done = Data("data: [DONE]\n\n".utf8)

    public static func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }
}

/// Text as it streams, held back where it might be the start of a stop sequence, cut at the first one.
public struct StopScanner: Sendable {
    public let stops: [String]
    private var held = ""
    public private(set) var stopped = false

    public init(stops: [String]) { self.stops = stops }

    /// The text safe to send after `piece` arrives; after a stop sequence, nothing more.
    public mutating func feed(_ piece: String) -> String {
        guard !stopped else { return "" }
        held += piece
        if let first = stops.compactMap({ held.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            stopped = true
            defer { held = "" }
            return String(held[..<first.lowerBound])
        }
        // Keep the longest tail that is a prefix of some stop sequence.
        var keep = 0
        for stop in stops {
            for k in stride(from: min(stop.count - 1, held.count), to: 0, by: -1)
            where held.hasSuffix(String(stop.prefix(k))) {
                keep = max(keep, k)
                break
            }
        }
        let cut = held.index(held.endIndex, offsetBy: -keep)
        defer { held = String(held[cut...]) }
        return String(held[..<cut])
    }

    /// What was held back, at the end.
    public mutating func finish() -> String {
        defer { held = "" }
        return stopped ? "" : held
    }
}
