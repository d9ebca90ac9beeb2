// `llm chat`: Chapter 05's chat model on a terminal. Interactive when stdin is a terminal; otherwise it
// reads the conversation from stdin and writes the replies to stdout (what scripts and tests use).

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a fine-tuned model (ChatML). On a terminal: /reset, /system TEXT, /adapter NAME, " +
                  "/quit or Ctrl-D.",
        discussion: """
            Without a terminal, stdin is the conversation: either one JSON object {"messages": [...]} (the \
            reply to its last user message is printed), or plain lines, each a user message answered in turn \
            (one reply per line, newlines in a reply written as \\n); a line "/adapter NAME" switches adapters \
            between replies (see --adapter).
            """)

    @Option(help: "The chat checkpoint folder (config.json + model.safetensors).")
    var checkpoint = RunArtifacts(runDirectory: "runs/course").url(.chatModel).path

    @Option(help: "A system message that starts the conversation.")
    var system: String?

    @OptionGroup var common: ModelRunFlags

    @OptionGroup var sampling: SamplingFlags

    mutating func validate() throws {
        try common.validate()
        try sampling.validate()
    }

    func run() throws {
        let (model, bpe, library) = try common.load(checkpoint)
        let session = ChatSession(model: model, template: try ChatTemplate(tokenizer: bpe), system: system)
        var random = SeededGenerator(seed: common.seed)
        if isatty(0) == 1 { try interactive(session, library, &random) } else { try batch(session, library, &random) }
    }

    /// Reads a conversation from stdin and prints the replies.
    func batch(_ session: ChatSession, _ library: AdapterLibrary, _ random: inout SeededGenerator) throws {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            var messages = try ChatJSONL.parseConversation(trimmed, path: "stdin")
            if let first = messages.first, first.role == .system {
                session.system = first.content
                messages.removeFirst()
            }
            guard let last = messages.last, last.role == .user else {
                throw CourseError.invalidValue(name: "stdin messages", value: "(last is not a user message)",
                                               expected: "a conversation that ends with the user's message")
            }
            session.restore(Array(messages.dropLast()))
            let reply = try session.reply(to: last.content, maxTokens: common.maxTokens, settings: sampling.settings,
                                          random: &random)
            report(reply)
            print(reply.text)
            return
        }
        for line in input.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            if line.hasPrefix("/adapter") {                   // switching between replies works in scripts too
                let name = line.dropFirst("/adapter".count).trimmingCharacters(in: .whitespaces)
                FileHandle.standardError.write(Data((switchAdapter(name, library) + "\n").utf8))
                continue
            }
            let reply = try session.reply(to: String(line), maxTokens: common.maxTokens, settings: sampling.settings,
                                          random: &random)
            report(reply)
            print(reply.text.replacingOccurrences(of: "\n", with: "\\n"))
        }
    }

    func interactive(_ session: ChatSession, _ library: AdapterLibrary, _ random: inout SeededGenerator) throws {
        print("Chatting with \(checkpoint)" + (library.active.map { " + adapter \($0)" } ?? "") +
              " — /reset forgets, /system TEXT sets the system message, /adapter NAME switches, /quit or Ctrl-D ends.")
        while true {
            print("you> ", terminator: "")
            Console.flush()
            guard let line = readLine() else { print(""); return }          // Ctrl-D
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" || text == "/exit" { return }
            if text == "/reset" {
                session.reset()
                print("(conversation forgotten)")
                continue
            }
            if text.hasPrefix("/adapter") {
                let value = text.dropFirst("/adapter".count).trimmingCharacters(in: .whitespaces)
                print(switchAdapter(value, library))
                continue
            }
            if text.hasPrefix("/system") {
                let value = text.dropFirst("/system".count).trimmingCharacters(in: .whitespaces)
                session.system = value.isEmpty ? nil : value
                print(value.isEmpty ? "(no system message)" : "(system message set)")
                continue
            }
            print("model> ", terminator: "")
            Console.flush()
            do {
                let reply = try session.reply(to: text, maxTokens: common.maxTokens, settings: sampling.settings,
                                              random: &random) { piece in
                    print(piece, terminator: "")
                    Console.flush()
                }
                print("")
                report(reply)
            } catch let error as ChatSessionError {
                print("")
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
    }

    /// `/adapter NAME` (`none`: the base model; empty: list them). The conversation so far is kept.
    func switchAdapter(_ name: String, _ library: AdapterLibrary) -> String {
        guard !library.names.isEmpty else { return "(no adapters: start with --adapter DIR)" }
        let listing = "adapters: " + (["none"] + library.names).joined(separator: ", ") +
                      "; in use: \(library.active ?? "none")"
        if name.isEmpty { return "(\(listing))" }
        do {
            try library.use(name == "none" ? nil : name)
            return "(using \(library.active ?? "the base model, no adapter"))"
        } catch {
            return "(\(error); \(listing))"
        }
    }

    /// Dropped turns and speed, on stderr.
    func report(_ reply: ChatSession.Reply) {
        let speed = String(format: "%.0f", reply.generation.tokensPerSecond)
        var line = "(\(reply.generation.tokens.count) tokens, \(speed) " +
                   "tokens/s; stopped: \(reply.generation.finishReason.rawValue)"
        if reply.droppedMessages > 0 {
            line += "; the oldest \(reply.droppedMessages) messages were dropped to fit the context"
        }
        FileHandle.standardError.write(Data((line + ")\n").utf8))
    }
}
