// Introduced in Chapter 05. Asking a model the held-out instruction tasks and scoring its answers, the
// same way for a base model prompted with plain text and for a chat model prompted with ChatML.
//
// A base model has never seen a chat template, so it is asked in plain text, with k solved examples
// first (few-shot; k = 0 is zero-shot):
//
//     Q: Who said: “…”?⏎A: Mark Twain⏎⏎Q: Who said: “…”?⏎A:
//
// and its answer is what it writes up to the next blank line (a short answer: up to the next newline).
// A chat model gets the request as a user turn and answers until `<|im_end|>`. Exact match compares
// answers after `normalized`: case, surrounding white space and quotes, and trailing punctuation ignored.

import Foundation

public enum TaskEvaluation {
    /// Lower-cased, trimmed, without surrounding quotes and trailing . , ! ? ; : 。，！？
    public static func normalized(_ text: String) -> String {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let strip: Set<Character> = [".", ",", "!", "?", ";", ":", "。", "，", "！", "？", "\"", "“", "”", "'", " "]
        while let last = s.last, strip.contains(last) { s.removeLast() }
        while let first = s.first, strip.contains(first) { s.removeFirst() }
        return s
    }

    public static func exactMatch(_ prediction: String, _ answer: String) -> Bool {
        normalized(prediction) == normalized(answer)
    }

    /// "Q: …⏎A: …⏎⏎" for each shot, then "Q: request⏎A:".
    public static func fewShotPrompt(shots: [(request: String, answer: String)], request: String) -> String {
        shots.map { "Q: \($0.request)\nA: \($0.answer)\n\n" }.joined() + "Q: \(request)\nA:"
    }

    /// What a base model writes after a plain `prompt`: greedy (or `settings`), at most `maxTokens`, cut at
    /// the first "\n\n" (or the first "\n" with `singleLine`) and at `<|endoftext|>`. The prompt keeps its
    /// last tokens if it is too long for the context.
    public static func complete(_ model: GPT, _ tokenizer: BPETokenizer, prompt: String, maxTokens: Int,
                                singleLine: Bool, settings: SamplingSettings = .greedy,
                                random: inout SeededGenerator) throws -> String {
        let ids = tokenizer.encode(bytes: Array(prompt.utf8))
        let stop = tokenizer.specialId("<|endoftext|>").map { Set([$0]) } ?? []
        let generation = try Generator(model: model).generate(prompt: ids, maxTokens: maxTokens, settings: settings,
                                                              stopTokens: stop, generator: &random)
        let text = String(decoding: (try? tokenizer.decodeBytes(generation.tokens)) ?? [], as: UTF8.self)
        let cut = text.range(of: singleLine ? "\n" : "\n\n").map { String(text[..<$0.lowerBound]) } ?? text
        return cut.trimmingCharacters(in: .whitespaces)
    }

    /// A chat model's reply to `request` as the only user turn (greedy unless `settings` says otherwise).
    public static func reply(_ model: GPT, _ template: ChatTemplate, request: String, maxTokens: Int,
                             settings: SamplingSettings = .greedy, random: inout SeededGenerator) throws -> String {
        let session = ChatSession(model: model, template: template)
        return try session.reply(to: request, maxTokens: maxTokens, settings: settings, random: &random).text
    }

    /// The prompt's length in tokens (what few-shot examples cost in context).
    public static func tokenCount(_ tokenizer: BPETokenizer, _ text: String) -> Int {
        tokenizer.encode(bytes: Array(text.utf8)).count
    }
}
