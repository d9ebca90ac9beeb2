// Introduced in Chapter 12. Continuous batching: many users' generations share one forward pass per step.
//
// Decoding one token reads every weight of the model once; for a small batch, that read — not the
// arithmetic — is the cost. So the scheduler keeps up to `maxActive` sequences, each with its own KV cache,
// and runs one decoding step for all of them together (`GPT.forward(batch:caches:)`): B tokens for roughly
// the price of one. Between steps, finished sequences leave (their cache goes back to a pool) and waiting
// requests join — they are prefilled alone, then decode with the others. That is continuous (or
// "iteration-level") batching, as in Orca and vLLM; a static batch would wait for its slowest member.
//
// Backpressure: at most `queueLimit` requests wait; `submit` refuses the next one at once (the server
// answers 429 with Retry-After) instead of letting the queue, and every user's wait, grow without bound.
// A request's events arrive on its `AsyncStream`; cancelling (a client that disconnects) frees its slot
// before the next step.
//
//     step: admit ≤ maxActive − active from the queue (prefill each) → sample one token per active sequence
//           → emit it → drop the finished → one batched forward over the rest

import Foundation

public final class BatchScheduler: @unchecked Sendable {
    /// One generation request, in tokens.
    public struct Request: Sendable {
        public var prompt: [Int]
        public var maxTokens: Int
        public var settings: SamplingSettings
        public var seed: UInt64
        public var stopTokens: Set<Int>

        public init(prompt: [Int], maxTokens: Int, settings: SamplingSettings = .greedy, seed: UInt64 = 0,
                    stopTokens: Set<Int> = []) {
            (self.prompt, self.maxTokens, self.settings, self.seed, self.stopTokens) =
                (prompt, maxTokens, settings, seed, stopTokens)
        }
    }

    /// What a request's stream carries: each token as it is chosen, then one `finished`.
    public enum Event: Sendable, Equatable {
        case token(Int)
        case finished(FinishReason, promptTokens: Int, completionTokens: Int)
    }

    public enum SubmitError: Error, Equatable, CustomStringConvertible {
        /// `queueLimit` requests are already waiting.
        case queueFull(waiting: Int)
        /// The prompt, or the prompt and `maxTokens`, do not fit the context; the request is wrong as sent.
        case invalid(String)
        case shuttingDown

        public var description: String {
            switch self {
            case .queueFull(let waiting): return "the server is busy: \(waiting) requests are waiting; retry later"
            case .invalid(let why): return why
            case .shuttingDown: return "the server is shutting down"
            }
        }
    }

    /// A submitted request: its events, and a way to stop it.
    public final class Ticket: @unchecked Sendable {
        public let events: AsyncStream<Event>
        fileprivate let continuation: AsyncStream<Event>.Continuation
        private let lock = NSLock()
        private var cancelledFlag = false

        fileprivate init() {
            var made: AsyncStream<Event>.Continuation!
            events = AsyncStream(bufferingPolicy: .unbounded) { made = $0 }
            continuation = made
        }

        /// Stops the generation before its next step and frees its slot (idempotent).
        public func cancel() { lock.withLock { cancelledFlag = true } }
        public var isCancelled: Bool { lock.withLock { cancelledFlag } }
    }

    public let model: GPT
    public let maxActive: Int, queueLimit: Int

    private let lock = NSCondition()
    private var waiting: [(Request, Ticket)] = []
    private var running = true
    /// While paused the loop takes no step (tests hold the queue still with it).
    var paused: Bool {
        get { lock.lock(); defer { lock.unlock() }; return isPaused }
        set { lock.lock(); isPaused = newValue; lock.signal(); lock.unlock() }
    }
    private var isPaused = false
    private var thread: Thread?
    /// Counters, for tests and `/health`.
    private var stepsRun = 0, largestBatch = 0, activeNow = 0, cancelledCount = 0

    private final class Sequence {
        let request: Request, ticket: Ticket
        let cache: KVCache
        var random: SeededGenerator
        var counts: [Int: Int] = [:]
        var produced = 0
        var logits: [Float] = []
        init(_ request: Request, _ ticket: Ticket, cache: KVCache) {
            (self.request, self.ticket, self.cache) = (request, ticket, cache)
            random = SeededGenerator(seed: request.seed)
            for token in request.prompt { counts[token, default: 0] += 1 }
        }
    }

    public init(model: GPT, maxActive: Int = 8, queueLimit: Int = 64) {
        (self.model, self.maxActive, self.queueLimit) = (model, max(1, maxActive), max(0, queueLimit))
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "llm batch scheduler"
        self.thread = thread
        thread.start()
    }

    deinit { shutdown() }

    /// Queues `request`; its events arrive on the ticket's stream. Throws at once when the queue is full or
    /// the request cannot fit the context.
    public func submit(_ request: Request) throws(SubmitError) -> Ticket {
        let context = model.config.contextLength, vocabulary = model.config.vocabularySize
        if request.prompt.isEmpty { throw .invalid("the prompt is empty") }
        if request.maxTokens < 1 { throw .invalid("max_tokens must be at least 1 (got \(request.maxTokens))") }
        if request.prompt.count + request.maxTokens > context {
            throw .invalid("the prompt (\(request.prompt.count) tokens) and max_tokens (\(request.maxTokens)) " +
                           "exceed the model's context of \(context) tokens")
        }
        if let bad = request.prompt.first(where: { !(0..<vocabulary).contains($0) }) {
            throw .invalid("token \(bad) is outside the vocabulary (0..<\(vocabulary))")
        }
        do { try request.settings.validate() } catch { throw .invalid("\(error)") }
        let ticket = Ticket()
        lock.lock()
        defer { lock.unlock() }
        guard running else { throw .shuttingDown }
        guard waiting.count < queueLimit || (waiting.isEmpty && activeNow < maxActive) else {
            throw .queueFull(waiting: waiting.count)
        }
        waiting.append((request, ticket))
        lock.signal()
        return ticket
    }

    /// (requests waiting, sequences decoding, steps run so far, the largest batch a step has run, requests
    /// cancelled before they finished).
    public var status: (waiting: Int, active: Int, steps: Int, largestBatch: Int, cancelled: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (waiting.count, activeNow, stepsRun, largestBatch, cancelledCount)
    }

    /// Finishes nothing more: waiting requests end with `cancelled`, active ones stop before their next token.
    public func shutdown() {
        lock.lock()
        running = false
        let dropped = waiting
        waiting.removeAll()
        lock.signal()
        lock.unlock()
        for (request, ticket) in dropped {
            ticket.continuation.yield(.finished(.callback, promptTokens: request.prompt.count, completionTokens: 0))
            ticket.continuation.finish()
        }
    }

    private func loop() {
        var active: [Sequence] = []
        var pool: [KVCache] = []
        while true {
            lock.lock()
            while running && (isPaused || (waiting.isEmpty && active.isEmpty)) { lock.wait() }
            if !running {
                lock.unlock()
                for sequence in active { finish(sequence, .callback) }
                return
            }
            var joining: [(Request, Ticket)] = []
            while active.count + joining.count < maxActive, !waiting.isEmpty { joining.append(waiting.removeFirst()) }
            lock.unlock()
            for (request, ticket) in joining {   // prefill alone: the prompt's tokens in one pass
                let cache = pool.popLast() ?? KVCache(for: model.config)
                cache.reset()
                let sequence = Sequence(request, ticket, cache: cache)
                sequence.logits = model.forward(request.prompt, cache: cache).scalars
                active.append(sequence)
            }
            // One token for every active sequence (sampled in parallel: each has its own generator), then one
            // batched pass for those that go on.
            var chosen = [Int](repeating: -1, count: active.count)
            chosen.withUnsafeMutableBufferPointer { tokens in
                let out = tokens.baseAddress!
                Parallel.forEach(active.count, fineGrained: true) { range in
                    for i in range where !active[i].ticket.isCancelled {
                        let sequence = active[i]
                        var adjusted = sequence.logits
                        Sampling.applyPenalties(&adjusted, counts: sequence.counts, sequence.request.settings)
                        out[i] = Sampling.next(adjusted, sequence.request.settings, generator: &sequence.random)
                    }
                }
            }
            var next: [Int] = [], continuing: [Sequence] = []
            for (sequence, token) in zip(active, chosen) {
                if token < 0 {   // cancelled
                    lock.lock()
                    cancelledCount += 1
                    lock.unlock()
                    finish(sequence, .callback)
                    pool.append(sequence.cache)
                    continue
                }
                if sequence.request.stopTokens.contains(token) {
                    finish(sequence, .endOfText)
                    pool.append(sequence.cache)
                    continue
                }
                sequence.produced += 1
                sequence.counts[token, default: 0] += 1
                sequence.ticket.continuation.yield(.token(token))
                if sequence.produced >= sequence.request.maxTokens {
                    finish(sequence, .maxTokens)
                    pool.append(sequence.cache)
                    continue
                }
                next.append(token)
                continuing.append(sequence)
            }
            if !continuing.isEmpty {
                let rows = model.forward(batch: next, caches: continuing.map(\.cache)).scalars
                let v = model.config.vocabularySize
                for (row, sequence) in continuing.enumerated() {
                    sequence.logits = Array(rows[row * v..<(row + 1) * v])
                }
            }
            active = continuing
            lock.lock()
            stepsRun += 1
            largestBatch = max(largestBatch, continuing.count)
            activeNow = active.count
            lock.unlock()
        }
    }

    private func finish(_ sequence: Sequence, _ reason: FinishReason) {
        sequence.ticket.continuation.yield(.finished(reason, promptTokens: sequence.request.prompt.count,
                                                     completionTokens: sequence.produced))
        sequence.ticket.continuation.finish()
    }
}

/// Bytes in, text out, never splitting a character: a byte-level BPE token can end in the middle of one
/// (an emoji is 4 bytes, a Chinese character 3), so what is not yet a whole character waits for the next.
public struct UTF8StreamDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The text completed by `bytes`, holding back an unfinished character.
    public mutating func append(_ bytes: [UInt8]) -> String {
        pending += bytes
        let complete = ChatSession.completeUTF8Prefix(pending)
        defer { pending.removeFirst(complete) }
        return String(decoding: pending[..<complete], as: UTF8.self)
    }

    /// What is left at the end (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}
