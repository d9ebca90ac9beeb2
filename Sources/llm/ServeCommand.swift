// `llm serve` (Chapter 12): the model behind an OpenAI-compatible API, with a chat page at `/`.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMServer

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a checkpoint (and adapters) over an OpenAI-compatible HTTP API, with a chat page at /.",
        discussion: """
            Routes: GET /health, GET /, GET /v1/models, POST /v1/chat/completions, POST /v1/completions \
            (stream: true sends server-sent events). Point any OpenAI client at http://HOST:PORT/v1. \
            Decode steps of concurrent requests are batched (continuous batching); a full queue answers 429. \
            Ctrl-C (SIGINT) or SIGTERM stops it after cancelling what is in flight.
            """)

    @Option(help: "The checkpoint to serve (default: runs/course/sft/checkpoint, Chapter 05's chat model).")
    var checkpoint = "runs/course/sft/checkpoint"

    @Option(help: ArgumentHelp("The tokenizer folder (default: the checkpoint folder, its parent, or " +
                               "runs/course/tokenizer — the first that has one)."))
    var tokenizer: String?

    @Option(help: "The name clients ask for in 'model' (default: the checkpoint's folder name).")
    var name: String?

    @Option(name: .customLong("adapter"), help: ArgumentHelp("NAME=DIR: a LoRA adapter on the checkpoint, served " +
                                                             "as model NAME (repeat for more)."))
    var adapters: [String] = []

    @Option(help: "The address to listen on (loopback by default; another address without --api-key warns).")
    var host = "127.0.0.1"

    @Option(help: "The port (0: any free port; the one chosen is printed).")
    var port = 8080

    @Option(name: .customLong("max-concurrent"), help: "Sequences decoded together per model (the batch).")
    var maxConcurrent = 8

    @Option(help: "Requests that may wait per model before the server answers 429.")
    var queue = 64

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1 (or set LLM_API_KEY).")
    var apiKey: String?

    @Option(name: .customLong("max-body-bytes"), help: "The largest request body accepted (413 beyond).")
    var maxBodyBytes = 1 << 20

    @Option(help: "Threads (default: all cores, \(Parallel.defaultThreads) here).")
    var threads: Int?

    func validate() throws {
        try requireFlag("--port", port, in: 0...65_535)
        try requireFlag("--max-concurrent", maxConcurrent, in: 1...256)
        try requireFlag("--queue", queue, in: 0...100_000)
        try requireFlag("--max-body-bytes", maxBodyBytes, in: 1024...(1 << 30))
        try ChapterOptions.validateThreads(threads)
        for adapter in adapters where adapter.split(separator: "=", maxSplits: 1).count != 2 {
            throw flagError("--adapter", adapter, "NAME=DIR")
        }
    }

    func run() throws {
        Parallel.setThreads(threads ?? Parallel.defaultThreads)
        let folder = URL(fileURLWithPath: checkpoint)
        let base = try Checkpoint.load(from: folder)
        let bpe = try BPETokenizer.load(from: try findTokenizerFolder(tokenizer, near: folder))
        try requireTokenizer(bpe, fits: base)
        let baseName = name ?? (folder.lastPathComponent == "checkpoint"
            ? folder.deletingLastPathComponent().lastPathComponent : folder.lastPathComponent)
        var models = [ServedModel(name: baseName, model: base, tokenizer: bpe, maxActive: maxConcurrent, queue: queue)]
        for adapter in adapters {
            let parts = adapter.split(separator: "=", maxSplits: 1).map(String.init)
            if models.contains(where: { $0.name == parts[0] }) {
                throw flagError("--adapter", adapter, "a name not already served (\(models.map(\.name)))")
            }
            let model = try Checkpoint.load(from: folder)   // each adapter decodes on its own copy
            _ = try LoRAAdapter.load(from: URL(fileURLWithPath: parts[1]), onto: model)
            models.append(ServedModel(name: parts[0], model: model, tokenizer: bpe, maxActive: maxConcurrent,
                                      queue: queue))
        }
        var options = ServerOptions()
        (options.host, options.port, options.maxBodyBytes) = (host, port, maxBodyBytes)
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["LLM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if options.apiKey == nil && !["127.0.0.1", "localhost", "::1"].contains(host) {
            Console.warn("warning: listening on \(host) without an API key: anyone who can reach it can use it " +
                         "(pass --api-key or set LLM_API_KEY)")
        }
        let server = LLMServer(models: models, options: options)
        let names = models.map(\.name).joined(separator: ", ")
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do {
                try await server.run { port in
                    print("llm serve: listening on http://\(host):\(port) — models: \(names); chat page at /, " +
                          "API at /v1 (Ctrl-C stops)")
                    Console.flush()
                }
            } catch {
                failure.set(error)
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error {
            throw CourseError.invalidValue(name: "server on \(host):\(port)", value: "\(error)",
                                           expected: "a free port and an address this machine has")
        }
        print("llm serve: stopped")
    }
}

/// The server task's error, handed back to the command's thread.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    func set(_ error: any Error) { lock.withLock { stored = error } }
    var error: (any Error)? { lock.withLock { stored } }
}
