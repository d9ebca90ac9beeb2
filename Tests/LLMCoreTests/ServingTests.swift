// Chapter 12's engine without the HTTP: the batch scheduler against plain generation, backpressure,
// cancellation, and the UTF-8-safe stream decoder.

import Foundation
import Testing
@testable import LLMCore

/// The tokens and the finish of one ticket, read to the end.
private func collect(_ ticket: BatchScheduler.Ticket) async -> (tokens: [Int], finish: BatchScheduler.Event?) {
    var tokens: [Int] = [], finish: BatchScheduler.Event?
    for await event in ticket.events {
        if case .token(let t) = event { tokens.append(t) } else { finish = event }
    }
    return (tokens, finish)
}

@Suite("Serving: the batch scheduler", .serialized)
struct BatchSchedulerTests {
    let config = GPTConfig.llamaStyle(vocabularySize: 61, contextLength: 48, layers: 2, heads: 4, kvHeads: 2,
                                      embeddingSize: 32)

    @Test("concurrent greedy requests, batched two at a time, each equal to the request generated alone")
    func batchedEqualsAlone() async throws {
        let model = try GPT(config, seed: 4)
        var g = SeededGenerator(seed: 8)
        let prompts = (0..<5).map { i in (0..<(2 + 3 * i)).map { _ in g.integer(below: 61) } }
        let scheduler = BatchScheduler(model: model, maxActive: 2, queueLimit: 8)
        let tickets = try prompts.enumerated().map { i, prompt in
            try scheduler.submit(.init(prompt: prompt, maxTokens: 6 + i, stopTokens: [60]))
        }
        for (i, ticket) in tickets.enumerated() {
            let (tokens, finish) = await collect(ticket)
            var random = SeededGenerator(seed: 0)
            let alone = try Generator(model: model).generate(prompt: prompts[i], maxTokens: 6 + i, settings: .greedy,
                                                             stopTokens: [60], generator: &random)
            #expect(tokens == alone.tokens, "request \(i)")
            let reason: FinishReason = alone.finishReason == .endOfText ? .endOfText : .maxTokens
            #expect(finish == .finished(reason, promptTokens: prompts[i].count, completionTokens: tokens.count))
        }
        #expect(scheduler.status.largestBatch == 2 && scheduler.status.active == 0)
    }

    @Test("sampling with a seed and penalties is what Generator draws with that seed")
    func sampledEqualsAlone() async throws {
        let model = try GPT(config, seed: 6)
        let settings = SamplingSettings(temperature: 0.8, topP: 0.9, frequencyPenalty: 0.5, presencePenalty: 0.2)
        let scheduler = BatchScheduler(model: model, maxActive: 4)
        let prompt = [3, 14, 15, 9, 26]
        let ticket = try scheduler.submit(.init(prompt: prompt, maxTokens: 12, settings: settings, seed: 77))
        let other = try scheduler.submit(.init(prompt: [1, 2], maxTokens: 12, settings: settings, seed: 5))
        let (tokens, _) = await collect(ticket)
        _ = await collect(other)
        var random = SeededGenerator(seed: 77)
        let alone = try Generator(model: model).generate(prompt: prompt, maxTokens: 12, settings: settings,
                                                         generator: &random)
        #expect(tokens == alone.tokens)
    }

    @Test("a full queue refuses at once; bad requests are refused with the reason; cancel frees the slot")
    func backpressureAndCancel() async throws {
        let model = try GPT(config, seed: 2)
        let scheduler = BatchScheduler(model: model, maxActive: 1, queueLimit: 2)
        scheduler.paused = true                  // hold the queue still: nothing is admitted
        let long = try scheduler.submit(.init(prompt: [1, 2, 3], maxTokens: 40))
        let queued = [try scheduler.submit(.init(prompt: [4], maxTokens: 3))]
        #expect(throws: BatchScheduler.SubmitError.queueFull(waiting: 2)) {
            try scheduler.submit(.init(prompt: [6], maxTokens: 3))
        }
        long.cancel()   // a client that went away: it stops before its first token and frees the slot
        scheduler.paused = false
        let (cut, reason) = await collect(long)
        #expect(cut.isEmpty && reason == .finished(.callback, promptTokens: 3, completionTokens: 0))
        for ticket in queued {
            let (got, finish) = await collect(ticket)
            #expect(got.count == 3 && finish == .finished(.maxTokens, promptTokens: 1, completionTokens: 3))
        }
        #expect(long.isCancelled)
        #expect(throws: BatchScheduler.SubmitError.self) { try scheduler.submit(.init(prompt: [], maxTokens: 3)) }
        #expect(throws: BatchScheduler.SubmitError.self) { try scheduler.submit(.init(prompt: [1], maxTokens: 48)) }
        #expect(throws: BatchScheduler.SubmitError.self) { try scheduler.submit(.init(prompt: [99], maxTokens: 3)) }
        #expect(throws: BatchScheduler.SubmitError.self) {
            try scheduler.submit(.init(prompt: [1], maxTokens: 3, settings: SamplingSettings(temperature: -1)))
        }
        scheduler.shutdown()
        #expect(throws: BatchScheduler.SubmitError.shuttingDown) {
            try scheduler.submit(.init(prompt: [1], maxTokens: 3))
        }
    }

    @Test("the stream decoder never splits a character, whatever the byte boundaries")
    func utf8Stream() {
        let text = "héllo 世界 🎉 ok"
        let bytes = Array(text.utf8)
        var g = SeededGenerator(seed: 3)
        for _ in 0..<50 {
            var decoder = UTF8StreamDecoder(), out = "", start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 1 + g.integer(below: 4))
                let piece = decoder.append(Array(bytes[start..<end]))
                #expect(!piece.contains("\u{FFFD}"), "a piece ends mid-character: \(piece)")
                out += piece
                start = end
            }
            out += decoder.finish()
            #expect(out == text)
        }
        var cut = UTF8StreamDecoder()
        #expect(cut.append([0xE4, 0xB8]) == "" && cut.finish() == "\u{FFFD}")
    }
}
