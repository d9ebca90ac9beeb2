// Introduced in Chapter 05. A conversation with a chat model: the history, rendered with the ChatML
// template, continued by the generator until the model ends its turn. Shared by `llm chat` and the server.
//
// The context is finite. Before each reply the session makes room for `reserve` new tokens: while the
// prompt is too long it drops the oldest exchange (a user message and the reply to it; the system message
// stays) and says how many it dropped. A single message too long for the context is an error that says so.

import Foundation

public enum ChatSessionError: Error, CustomStringConvertible, Equatable {
    case messageTooLong(tokens: Int, room: Int)

    public var description: String {
        switch self {
        case .messageTooLong(let tokens, let room):
            return "the message and the system prompt take \(tokens) tokens, but the context leaves room for " +
                   "\(room) before the reply; shorten the message (or the system prompt, or --max-tokens)"
        }
    }
}

public final class ChatSession {
    public let template: ChatTemplate
    public let generator: Generator
    /// The system message, if any (kept when old turns are dropped).
    public var system: String?
    /// The conversation so far, without the system message.
    public private(set) var history: [ChatMessage] = []

    public init(model: GPT, template: ChatTemplate, system: String? = nil) {
        self.template = template
        generator = Generator(model: model)
        self.system = system
    }

    /// Forgets the conversation (the system message stays).
    public func reset() { history = [] }

    /// Continues an earlier conversation (without its system message).
    public func restore(_ messages: [ChatMessage]) { history = messages }

    public struct Reply: Sendable {
        public var text: String
        public var generation: Generation
        /// How many earlier messages were dropped to make room.
        public var droppedMessages: Int
    }

    /// The prompt for the next reply: system, history, and the open assistant header.
    func prompt(_ messages: [ChatMessage]) -> [Int] {
        template.encode((system.map { [ChatMessage(.system, $0)] } ?? []) + messages, generationPrompt: true).ids
    }

    /// Answers `message`; `onText` receives the reply as it is generated, in whole UTF-8 characters.
    public func reply(to message: String, maxTokens: Int, settings: SamplingSettings,
                      random: inout SeededGenerator, onText: (String) -> Void = { _ in }) throws -> Reply {
        let context = generator.model.config.contextLength
        let reserve = min(maxTokens, context / 2)
        var kept = history + [ChatMessage(.user, message)]
        var dropped = 0
        var ids = prompt(kept)
        while ids.count > context - reserve && kept.count > 1 {
            let cut = kept.count > 2 && kept[1].role == .assistant ? 2 : 1     // an exchange, or a lone message
            kept.removeFirst(cut)
            dropped += cut
            ids = prompt(kept)
        }
        if ids.count > context - reserve {
            throw ChatSessionError.messageTooLong(tokens: ids.count, room: context - reserve)
        }
        var pending: [UInt8] = []
        var stops: Set<Int> = [template.stopToken]
        if let end = template.tokenizer.specialId("<|endoftext|>") { stops.insert(end) }
        let tokenizer = template.tokenizer
        let generation = try generator.generate(prompt: ids, maxTokens: maxTokens, settings: settings,
                                                stopTokens: stops,
                                                generator: &random) { token in
            pending += (try? tokenizer.decodeBytes([token])) ?? []
            let complete = Self.completeUTF8Prefix(pending)
            if complete > 0 {
                onText(String(decoding: pending[..<complete], as: UTF8.self))
                pending.removeFirst(complete)
            }
            return true
        }
        if !pending.isEmpty { onText(String(decoding: pending, as: UTF8.self)) }
        let bytes = (try? tokenizer.decodeBytes(generation.tokens)) ?? []
        let text = String(decoding: bytes, as: UTF8.self)
        history = kept + [ChatMessage(.assistant, text)]
        return Reply(text: text, generation: generation, droppedMessages: dropped)
    }

    /// The length of the longest prefix of `bytes` that ends on a character boundary.
    static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
        var i = bytes.count
        var back = 0
        while i > 0 && back < 4 {
            let b = bytes[i - 1]
            if b & 0xC0 != 0x80 {                                // a lead byte or ASCII
                let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return length <= back + 1 ? bytes.count : i - 1
            }
            i -= 1
            back += 1
        }
        return bytes.count                                       // not UTF-8 anyway: let it through
    }
}
