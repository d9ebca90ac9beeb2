// Introduced in Chapter 05. Conversations as JSON Lines, the format fine-tuning tools read (OpenAI's
// fine-tuning files, Hugging Face TRL's "messages" datasets): one JSON object per line,
//
//     {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}
//
// Other keys on a line are allowed and ignored when reading. Reading checks every line before returning
// anything, so a bad line stops the run with its number and nothing is trained on a half-read file.

import Foundation

public enum ChatJSONLError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String)
    case badLine(path: String, line: Int, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path):
            return "cannot read '\(path)' as UTF-8 text; pass a JSONL file of {\"messages\": [...]} lines"
        case .badLine(let path, let line, let reason):
            return "'\(path)' line \(line): \(reason); each line must be {\"messages\": [{\"role\": " +
                   "\"user\", \"content\": \"…\"}, {\"role\": \"assistant\", \"content\": \"…\"}]}"
        case .empty(let path):
            return "'\(path)' has no conversations; add at least one {\"messages\": [...]} line"
        }
    }
}

public enum ChatJSONL {
    /// One line per conversation (no trailing newline inside a line); `extra` adds keys to each line.
    public static func encode(_ conversations: [[ChatMessage]], extra: [[String: String]]? = nil) throws -> String {
        var lines: [String] = []
        for (i, messages) in conversations.enumerated() {
            var object: [String: Any] = ["messages": messages.map { ["role": $0.role.rawValue, "content": $0.content] }]
            for (key, value) in extra?[i] ?? [:] { object[key] = value }
            let data = try JSONSerialization.data(withJSONObject: object,
                                                  options: [.sortedKeys, .withoutEscapingSlashes])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// Writes `conversations` to `url` atomically.
    public static func write(_ conversations: [[ChatMessage]], extra: [[String: String]]? = nil, to url: URL) throws {
        try AtomicFile.write(Data(try encode(conversations, extra: extra).utf8), to: url)
    }

    /// Reads a JSONL file of conversations; `path` names it in errors.
    public static func read(_ url: URL) throws -> [[ChatMessage]] {
        guard let data = FileManager.default.contents(atPath: url.path),
              let text = String(data: data, encoding: .utf8) else { throw ChatJSONLError.unreadable(path: url.path) }
        return try parse(text, path: url.path)
    }

    /// Parses JSONL text; blank lines are skipped. Every conversation needs an assistant message to learn from.
    public static func parse(_ text: String, path: String) throws -> [[ChatMessage]] {
        var conversations: [[ChatMessage]] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            do {
                conversations.append(try conversation(trimmed, requireReply: true))
            } catch let reason as Reason {
                throw ChatJSONLError.badLine(path: path, line: number + 1, reason: reason.text)
            }
        }
        if conversations.isEmpty { throw ChatJSONLError.empty(path: path) }
        return conversations
    }

    /// One conversation object `{"messages": [...]}` (a chat request: it need not hold an assistant message).
    public static func parseConversation(_ text: String, path: String) throws -> [ChatMessage] {
        do { return try conversation(text, requireReply: false) } catch let reason as Reason {
            throw ChatJSONLError.badLine(path: path, line: 1, reason: reason.text)
        }
    }

    struct Reason: Error { let text: String }

    static func conversation(_ line: String, requireReply: Bool) throws -> [ChatMessage] {
        func bad(_ reason: String) -> Reason { Reason(text: reason) }
        guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else { throw bad("not valid JSON") }
        guard let object = json as? [String: Any] else { throw bad("a JSON value that is not an object") }
        guard let messages = object["messages"] as? [Any] else { throw bad("no \"messages\" array") }
        var conversation: [ChatMessage] = []
        for (k, item) in messages.enumerated() {
            guard let message = item as? [String: Any] else { throw bad("message \(k + 1) is not an object") }
            guard let roleText = message["role"] as? String, let role = ChatRole(rawValue: roleText) else {
                throw bad("message \(k + 1) has no role system, user or assistant")
            }
            guard let content = message["content"] as? String else {
                throw bad("message \(k + 1) has no \"content\" string")
            }
            conversation.append(ChatMessage(role, content))
        }
        if conversation.isEmpty { throw bad("an empty \"messages\" array") }
        if requireReply && !conversation.contains(where: { $0.role == .assistant }) {
            throw bad("no assistant message to learn")
        }
        return conversation
    }
}
