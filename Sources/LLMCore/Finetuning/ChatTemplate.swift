// Introduced in Chapter 05. The chat template: how a conversation becomes one token sequence, which of
// its tokens a chat model learns to produce, and how a sequence becomes a conversation again.
//
// ChatML, as Qwen and many open models use it. Every message is
//
//     <|im_start|>role⏎content<|im_end|>⏎
//
// with role `system`, `user` or `assistant`; a prompt for the model's reply ends with the open header
// `<|im_start|>assistant⏎`, and the model says it is done by producing `<|im_end|>`. One set of functions
// serves training (`encode` with its loss mask), `llm chat` and the server (`encode` with a generation
// prompt, `stopToken`) and tests (`parse`, the inverse of `encode`).
//
// Special-token text inside a message is *escaped*: "<|im_end|>" typed by a user is encoded byte by byte
// as ordinary text, never as the special token, so no message can close its turn early or forge another
// role's turn. The token-level `parse` therefore gives back exactly the messages that were encoded; the
// display string of `render` cannot tell the two apart and is for reading only.
//
// Loss mask: only what the assistant says — its content and the `<|im_end|>` that ends it — is scored;
// system and user text, the role headers and the newline after each turn are context.

import Foundation

/// Who speaks a message.
public enum ChatRole: String, Sendable, Codable, CaseIterable {
    case system, user, assistant
}

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: ChatRole
    public var content: String

    public init(_ role: ChatRole, _ content: String) {
        self.role = role
        self.content = content
    }
}

public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    case missingSpecialToken(String)
    case malformed(position: Int, reason: String)

    public var description: String {
        switch self {
        case .missingSpecialToken(let token):
            return "the tokenizer has no \(token) special token, which the ChatML template needs; train it with " +
                   "the course's default specials (llm tokenizer train)"
        case .malformed(let position, let reason):
            return "not a ChatML token sequence at token \(position): \(reason)"
        }
    }
}

/// A conversation as tokens, with the positions a chat model is trained to predict.
public struct ChatTokens: Sendable, Equatable {
    public var ids: [Int]
    /// `scored[i]`: token i is a training target (assistant content and its `<|im_end|>`).
    public var scored: [Bool]

    /// As a supervised example for `MaskedExamples`.
    public var example: MaskedExample { MaskedExample(tokens: ids, scored: scored) }
}

public struct ChatTemplate: Sendable {
    public static let startText = "<|im_start|>", endText = "<|im_end|>"

    public let tokenizer: BPETokenizer
    /// The ids of `<|im_start|>` and `<|im_end|>`.
    public let start: Int, end: Int
    let newline: [Int]

    /// Throws when the tokenizer lacks the ChatML specials.
    public init(tokenizer: BPETokenizer) throws {
        guard let start = tokenizer.specialId(Self.startText) else {
            throw ChatTemplateError.missingSpecialToken(Self.startText)
        }
        guard let end = tokenizer.specialId(Self.endText) else {
            throw ChatTemplateError.missingSpecialToken(Self.endText)
        }
        self.tokenizer = tokenizer
        (self.start, self.end) = (start, end)
        newline = tokenizer.encode(bytes: Array("\n".utf8))
    }

    /// Generation stops when the model produces this: the end of its turn.
    public var stopToken: Int { end }

    /// The same template in Jinja, as Hugging Face tokenizers store it (`chat_template`).
    public static let jinja = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + " +
        "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}" +
        "{{ '<|im_start|>assistant\\n' }}{% endif %}"

    public static let descriptionFileName = "chat_template.json"

    /// Writes `chat_template.json` ({"chat_template": jinja}, the file `transformers` reads) into `folder`.
    public func writeDescription(to folder: URL) throws {
        let object: [String: Any] = ["chat_template": Self.jinja, "eos_token": Self.endText,
                                     "loss_mask": "assistant content and its <|im_end|>"]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]),
                             to: folder.appendingPathComponent(Self.descriptionFileName))
    }

    /// The conversation as display text; with `generationPrompt`, ending in the open assistant header.
    public static func render(_ messages: [ChatMessage], generationPrompt: Bool = false) -> String {
        var text = messages.map { "\(startText)\($0.role.rawValue)\n\($0.content)\(endText)\n" }.joined()
        if generationPrompt { text += "\(startText)assistant\n" }
        return text
    }

    /// The conversation as tokens and its loss mask. Message text is encoded as plain text (special-token
    /// text in it is escaped); with `generationPrompt`, the sequence ends with `<|im_start|>assistant⏎` for
    /// the model to continue.
    public func encode(_ messages: [ChatMessage], generationPrompt: Bool = false) -> ChatTokens {
        var ids: [Int] = [], scored: [Bool] = []
        func append(_ tokens: [Int], _ score: Bool) {
            ids += tokens
            scored += [Bool](repeating: score, count: tokens.count)
        }
        for message in messages {
            append([start] + header(message.role), false)
            let isReply = message.role == .assistant
            append(tokenizer.encode(bytes: Array(message.content.utf8)), isReply)
            append([end], isReply)
            append(newline, false)
        }
        if generationPrompt { append([start] + header(.assistant), false) }
        return ChatTokens(ids: ids, scored: scored)
    }

    /// The role line's tokens: "assistant⏎".
    func header(_ role: ChatRole) -> [Int] { tokenizer.encode(bytes: Array("\(role.rawValue)\n".utf8)) }

    /// The messages of a sequence made by `encode` (without a generation prompt): the exact inverse.
    /// Throws `ChatTemplateError.malformed` naming the first token that does not fit the template.
    public func parse(_ ids: [Int]) throws -> [ChatMessage] {
        var messages: [ChatMessage] = []
        var i = 0
        while i < ids.count {
            guard ids[i] == start else {
                throw ChatTemplateError.malformed(position: i, reason: "expected \(Self.startText)")
            }
            guard let close = ids[(i + 1)...].firstIndex(where: { $0 == end || $0 == start }), ids[close] == end else {
                throw ChatTemplateError.malformed(position: i, reason: "a turn that is never closed by \(Self.endText)")
            }
            let turn = try decodeText(Array(ids[(i + 1)..<close]), at: i + 1)
            guard let lineEnd = turn.firstIndex(of: "\n"),
                  let role = ChatRole(rawValue: String(turn[..<lineEnd])) else {
                throw ChatTemplateError.malformed(position: i + 1,
                                                  reason: "expected a role line: system, user or assistant")
            }
            messages.append(ChatMessage(role, String(turn[turn.index(after: lineEnd)...])))
            i = close + 1
            guard Array(ids[i..<min(i + newline.count, ids.count)]) == newline else {
                throw ChatTemplateError.malformed(position: i, reason: "expected a newline after \(Self.endText)")
            }
            i += newline.count
        }
        return messages
    }

    private func decodeText(_ ids: [Int], at position: Int) throws -> String {
        if let special = ids.firstIndex(where: { tokenizer.specialTokens.values.contains($0) }) {
            throw ChatTemplateError.malformed(position: position + special, reason: "a special token inside a turn")
        }
        guard let bytes = try? tokenizer.decodeBytes(ids), let text = String(bytes: bytes, encoding: .utf8) else {
            throw ChatTemplateError.malformed(position: position, reason: "token ids that are not UTF-8 text")
        }
        return text
    }
}
