//: # Chapter 12 — Serving
//:
//: What we build: the model behind an API that real clients use, many users at once. `llm serve` speaks the
//: OpenAI wire format (so the `openai` package, curl or any compatible client works unchanged), streams
//: tokens as server-sent events, batches the decode steps of concurrent requests into one forward pass
//: (continuous batching), refuses work it cannot queue (backpressure), and answers every bad request with an
//: error instead of failing. The lesson in one line: for a small batch, one decode step costs a read of the
//: weights, so serving many users at once is nearly free — until the arithmetic catches up.
//:
//: What we leave out: paged KV caches (vLLM's PagedAttention, which shares and defragments cache memory),
//: prefix caching, chunked prefill, speculative decoding inside the server, tensor parallelism across
//: machines, TLS (put a reverse proxy in front) and authentication beyond one API key.
//:
//: Run it: `swift run -c release ch12` (about 10 seconds on 2 cores; `--quick` a few seconds). Needs the
//: Chapter 05 chat model (with `--quick` a stand-in is trained when it is missing) and the `llm` executable
//: built beside this one (`swift build -c release`). Plots go to `runs/course/12-serving/`:
//: `throughput.png`, `time-to-first-token.png`.
//:
//: Legend: B sequences decoded together, TTFT time to first token, p50/p99 the median and 99th percentile.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct ServingChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch12",
        abstract: "Chapter 12 — Serving: an OpenAI-compatible server, streaming, continuous batching, backpressure.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The chat model (default: <run-dir>/sft/checkpoint, from Chapter 05).")
    var checkpoint: String?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "12-serving")
        let text = try corpus.load(default: .pretraining)
        let bpe = try tokenizer.load(options, corpus: text)
        let chatFolder = checkpoint.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.chatModel)
        var lesson = ServingLesson(chapter: chapter, bpe: bpe, corpus: text, chatFolder: chatFolder)
        chapter.banner("Chapter 12 — Serving")
        try lesson.load()
        try lesson.requestPath()       // 12.1
        try lesson.batching()          // 12.2
        try lesson.backpressure()      // 12.3
        lesson.production()            // 12.4
    }
}

struct ServingLesson {
    let chapter: ChapterContext
    let bpe: BPETokenizer
    let corpus: Corpus
    var chatFolder: URL
    var model: GPT!
    var quick: Bool { chapter.quick }

    init(chapter: ChapterContext, bpe: BPETokenizer, corpus: Corpus, chatFolder: URL) {
        (self.chapter, self.bpe, self.corpus, self.chatFolder) = (chapter, bpe, corpus, chatFolder)
    }

    /// The chat model; with --quick and none on disk, a stand-in saved where `llm serve` can load it.
    mutating func load() throws {
        let exists = FileManager.default.fileExists(atPath: chatFolder.appendingPathComponent("model.safetensors").path)
        if exists || !quick {
            guard exists else {
                throw chapter.options.artifacts.missing(.chatModel, at: chatFolder, flag: "--checkpoint DIR")
            }
            model = try Checkpoint.load(from: chatFolder)
            return
        }
        let base = try ChapterInputs.baseModel(chapter.options.artifacts.url(.baseModel), corpus: corpus,
                                               tokenizer: bpe, quick: true, seed: chapter.options.seed)
        model = base
        chatFolder = chapter.folder.file("stand-in")
        try Checkpoint.save(base, to: chatFolder)
        try bpe.save(to: chatFolder)
    }

    // MARK: - 12.1 The request path

    //: A request's way through `llm serve`: the HTTP body (at most 1 MiB, else 413) is decoded as JSON and
    //: checked — unknown model, empty messages, a temperature outside 0…2, a prompt that does not fit the
    //: context: each an error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its
    //: status. The messages become a ChatML prompt (Chapter 05), the prompt becomes tokens, and the tokens go
    //: to the model's scheduler, which answers with one token at a time. Each token becomes bytes, the bytes
    //: become text only at a character boundary (a byte-level BPE token can end inside a Chinese character or
    //: an emoji), and the text is held back while it could be the start of a stop sequence. With
    //: `"stream": true` each piece leaves at once as a server-sent event, one `data: {json}` line and a blank
    //: line: the first delta carries the role, `finish_reason` stays null until the last chunk, and
    //: `data: [DONE]` ends the stream. Below, the real server is started on a free loopback port, as a
    //: practitioner would start it, and asked twice with curl.
    func requestPath() throws {
        Console.section("12.1 The request path")
        let llm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("llm")
        guard FileManager.default.isExecutableFile(atPath: llm.path) else {
            print("  (no llm executable beside this chapter at \(llm.path): build it with `swift build -c release`)")
            return
        }
        let server = Process()
        server.executableURL = llm
        server.arguments = ["serve", "--checkpoint", chatFolder.path, "--port", "0", "--name", "chat"]
        let output = Pipe()
        (server.standardOutput, server.standardError) = (output, output)
        try server.run()
        defer {
            if server.isRunning { server.interrupt() }
            server.waitUntilExit()
        }
        var seen = "", port: Int?
        let deadline = Date().addingTimeInterval(30)
        while port == nil, Date() < deadline, server.isRunning {
            seen += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            port = seen.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.output.1) }
        }
        guard let port else {
            print("  the server did not start: \(seen.suffix(300))")
            return
        }
        print("  llm serve --checkpoint \(Chapter.relativePath(chatFolder.path)) --port 0  →  127.0.0.1:\(port)")
        let url = "http://127.0.0.1:\(port)/v1/chat/completions"
        let body = #"{"model": "chat", "messages": [{"role": "user", "content": "Tell me a fortune about food."}], "# +
            #""max_tokens": 12, "temperature": 0"#
        let whole = try curl(url, body: body + "}").body
        print("  POST /v1/chat/completions  →")
        print("    " + Self.cut(whole, 112))
        let streamed = try curl(url, body: body + #", "stream": true}"#).body
        let events = streamed.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        print("  the same with \"stream\": true — \(events.count) events; the first two and the last two:")
        for event in Array(events.prefix(2)) + ["…"] + Array(events.suffix(2)) {
            print("    " + Self.cut(event, 112))
        }
        let bad = try curl(url, body: #"{"model": "chat", "messages": [{"role": "user", "content": "x"}], "# +
                           #""temperature": 9}"#).body
        print("  temperature 9  →  " + Self.cut(bad, 100))
    }

    static func cut(_ text: String, _ width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }

    // MARK: - 12.2 Batching decode steps: throughput against latency

    //: Decoding one token for one user reads every weight once; at batch 1 that read, not the arithmetic, is
    //: the cost (Chapter 08's KV-cache plot showed decoding near the memory's speed). So the scheduler keeps
    //: up to B sequences, each with its own KV cache, and runs one step for all of them: the weights are read
    //: once for B tokens (`GPT.forward(batch:caches:)`; a test holds each row equal to its sequence run
    //: alone). Finished sequences leave and waiting ones join between steps — continuous batching, as Orca
    //: and vLLM do; a static batch would wait for its slowest member. The price is latency: a step for B
    //: sequences takes longer than a step for one, and a request that arrives while B are busy waits for a
    //: slot. Below, N streams of 64 tokens are submitted at once to a scheduler that decodes up to N together:
    //: aggregate tokens/s and the time to first token (median and 99th percentile over the streams), for the
    //: course chat model — small enough to live in the processor's caches, so a step is more arithmetic than
    //: memory and batching should buy less — and for the 6 × 384 shape of `llm bench --only serve`, whose
    //: weights stream from memory at every step. Compare the two tables: on 2 cores both flatten out past
    //: about 8 streams, where the arithmetic catches up with the memory it saved. The time to first token
    //: grows with N: all N prompts are prefilled before the first shared step, and every step carries more rows.
    func batching() throws {
        Console.section("12.2 Batching decode steps: throughput against latency")
        let counts = quick ? [1, 4, 8] : [1, 2, 4, 8, 16, 32]
        let newTokens = quick ? 12 : 64, repeats = quick ? 1 : 3
        // The course chat model fits in cache; the 6 × 384 shape of `llm bench` (49 MB, random weights) does not.
        var models: [(String, GPT)] = [("course chat model (\(Format.megabytes(model.bytesReadPerToken)) per token)",
                                        model)]
        if !quick {
            let big = try GPT(.llamaStyle(vocabularySize: model.config.vocabularySize, contextLength: 256, layers: 6,
                                          heads: 6, kvHeads: 6, embeddingSize: 384), seed: 1)
            models.append(("6 × 384 llama (\(Format.megabytes(big.bytesReadPerToken)) per token)", big))
        }
        var throughput: [Series] = [], latency: [Series] = []
        for (name, served) in models {
            print("  \(name), \(newTokens) tokens per stream, median of \(repeats):")
            var rows: [[String]] = [], rates: [Double] = [], p50: [Double] = [], p99: [Double] = []
            for n in counts {
                var runs: [(tokensPerSecond: Double, firsts: [Double])] = []
                for _ in 0..<repeats {
                    runs.append(try Self.measure(served, streams: n, newTokens: newTokens,
                                                 vocabulary: served.config.vocabularySize))
                }
                let rate = runs.map(\.tokensPerSecond).sorted()[runs.count / 2]
                let firsts = runs.flatMap(\.firsts).sorted()
                func percentile(_ q: Double) -> Double {
                    firsts[min(firsts.count - 1, max(0, Int((q * Double(firsts.count)).rounded(.up)) - 1))] * 1000
                }
                rates.append(rate)
                p50.append(percentile(0.5))
                p99.append(percentile(0.99))
                rows.append(["\(n)", Format.fixed(rate, 0), Format.fixed(rate / rates[0], 2) + "×",
                             Format.fixed(p50.last ?? 0, 1), Format.fixed(p99.last ?? 0, 1)])
            }
            Console.printTable(["streams", "tokens/s (all)", "vs one stream", "TTFT p50 (ms)", "TTFT p99 (ms)"], rows)
            let x = counts.map(Double.init)
            let short = String(name.prefix { $0 != "(" }).trimmingCharacters(in: .whitespaces)
            throughput.append(Series(short, x: x, y: rates))
            latency.append(Series(short + ", p50", x: x, y: p50))
            latency.append(Series(short + ", p99", x: x, y: p99))
        }
        try chapter.plot(.line(throughput, title: "Continuous batching: aggregate decoding speed by concurrent streams",
                               xLabel: "concurrent streams", yLabel: "tokens/s", logX: true, points: true),
                         as: "throughput")
        try chapter.plot(.line(latency, title: "Time to first token by concurrent streams (all submitted at once)",
                               xLabel: "concurrent streams", yLabel: "milliseconds", logX: true, logY: true,
                               points: true),
                         as: "time-to-first-token")
    }

    /// N streams submitted together to a scheduler that decodes up to N at once.
    static func measure(_ model: GPT, streams: Int, newTokens: Int,
                        vocabulary: Int) throws -> (tokensPerSecond: Double, firsts: [Double]) {
        let scheduler = BatchScheduler(model: model, maxActive: streams, queueLimit: streams)
        defer { scheduler.shutdown() }
        let start = DispatchTime.now().uptimeNanoseconds
        let tickets = try (0..<streams).map { i in
            try scheduler.submit(.init(prompt: (0..<8).map { ($0 * 13 + i * 7) % vocabulary }, maxTokens: newTokens,
                                       settings: SamplingSettings(temperature: 0.8), seed: UInt64(i)))
        }
        let box = Measurements(count: streams)
        let done = DispatchSemaphore(value: 0)
        Task {
            await withTaskGroup(of: Void.self) { group in
                for (i, ticket) in tickets.enumerated() {
                    group.addTask {
                        var first = true, produced = 0
                        for await event in ticket.events {
                            guard case .token = event else { continue }
                            produced += 1
                            if first {
                                box.setFirst(i, DispatchTime.now().uptimeNanoseconds - start)
                                first = false
                            }
                        }
                        box.add(produced)
                    }
                }
            }
            done.signal()
        }
        done.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (Double(box.produced) / seconds, box.firsts.map { Double($0) / 1e9 })
    }

    // MARK: - 12.3 Backpressure

    //: A server that accepts everything does not serve everyone: past its capacity the queue grows, every
    //: request waits longer, and clients time out while their requests are still being worked on. So the
    //: queue is bounded (`--queue N`) and the next request is refused at once — HTTP 429 with a Retry-After
    //: header, which well-behaved clients (the `openai` package among them) honour by waiting and trying
    //: again. A client that disconnects cancels its generation before the next step and frees its slot.
    //: Below: one slot, a queue of four, ten requests at once.
    func backpressure() throws {
        Console.section("12.3 Backpressure")
        let scheduler = BatchScheduler(model: model, maxActive: 1, queueLimit: 4)
        defer { scheduler.shutdown() }
        var accepted: [BatchScheduler.Ticket] = [], refused: [String] = []
        for i in 0..<10 {
            do {
                accepted.append(try scheduler.submit(.init(prompt: [i % model.config.vocabularySize, 1, 2],
                                                           maxTokens: quick ? 8 : 24)))
            } catch {
                refused.append("\(i): \(error)")
            }
        }
        print("  accepted \(accepted.count), refused \(refused.count) at once (the server's 429):")
        if let first = refused.first { print("    request \(first)") }
        accepted.last?.cancel()   // a client that went away
        var finished: [String] = []
        let done = DispatchSemaphore(value: 0)
        let results = Outcomes()
        Task {
            for ticket in accepted {
                for await event in ticket.events {
                    if case .finished(let reason, _, let tokens) = event {
                        results.add("\(reason.rawValue) (\(tokens))")
                    }
                }
            }
            done.signal()
        }
        done.wait()
        finished = results.values
        print("  how the accepted ones ended (reason, tokens): " + finished.joined(separator: ", "))
    }

    // MARK: - 12.4 What a production server adds

    //: This server is the shape of the real ones, not their scale. vLLM pages the KV cache in blocks
    //: (PagedAttention), so sequences of any length share memory without fragmenting it and a common prefix
    //: (a system prompt) is stored once; it prefills in chunks mixed into decode steps so a long prompt does
    //: not stall everyone's next token; it runs fused GPU kernels and splits a model over GPUs. llama.cpp's
    //: server adds quantized weights (Chapter 07's blocks are its Q8_0 and Q4_0), slots with per-client
    //: caches and grammar-constrained output. Both expose the same OpenAI routes this chapter does — which is
    //: why a client written against one works with all of them.
    func production() {
        Console.section("12.4 What a production server adds")
        Console.printTable(["feature", "here", "vLLM", "llama.cpp server"], [
            ["OpenAI routes, SSE streaming", "yes", "yes", "yes"],
            ["continuous batching", "yes (one cache per sequence)", "yes (paged)", "yes (slots)"],
            ["prefix / prompt caching", "no", "yes", "yes"],
            ["chunked prefill", "no", "yes", "yes"],
            ["quantized weights", "int8 / int4 (Chapter 07)", "many formats", "GGUF Q2–Q8"],
            ["backpressure", "bounded queue, 429", "queue, 503 / 429", "slots"],
        ])
    }
}

/// Per-stream first-token times and the token total, written by the streams' tasks.
final class Measurements: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var firsts: [UInt64]
    private(set) var produced = 0
    init(count: Int) { firsts = [UInt64](repeating: 0, count: count) }
    func setFirst(_ i: Int, _ value: UInt64) { lock.withLock { firsts[i] = value } }
    func add(_ n: Int) { lock.withLock { produced += n } }
}

final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ value: String) { lock.withLock { stored.append(value) } }
    var values: [String] { lock.withLock { stored } }
}
