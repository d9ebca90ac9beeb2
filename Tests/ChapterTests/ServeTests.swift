// `llm serve` driven over loopback as its clients would: curl for the wire format and every error, the
// official `openai` Python package when it is installed, many clients at once, and clients that leave.

import ChapterSupport
import Foundation
import Testing

/// A running `llm serve` on a free loopback port, stopped (SIGINT, as Ctrl-C) when the test is done.
final class ServerProcess {
    let process = Process()
    let port: Int
    private let output = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = productsFolder().appendingPathComponent("llm")
        process.arguments = ["serve", "--port", "0"] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var seen = "", found: Int?
        let deadline = Date().addingTimeInterval(30)
        while found == nil, Date() < deadline, process.isRunning {
            let data = output.fileHandleForReading.availableData
            seen += String(decoding: data, as: UTF8.self)
            if let match = seen.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/) {
                found = Int(match.output.1)
            }
        }
        guard let found else {
            process.terminate()
            throw CocoaError(.fileReadUnknown,
                             userInfo: [NSLocalizedDescriptionKey: "llm serve did not start: \(seen)"])
        }
        port = found
    }

    /// SIGINT, then the exit status and what it printed at the end (once; later calls only report).
    func stop() -> (status: Int32, tail: String) {
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(),
                                                  as: UTF8.self))
    }

    var url: String { "http://127.0.0.1:\(port)" }
}

func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

/// The error object of an OpenAI-shaped error body.
func apiError(_ text: String) -> [String: Any]? { jsonObject(text)?["error"] as? [String: Any] }

@Suite("llm serve", .serialized)
struct ServeTests {
    /// A tiny chat-capable checkpoint (ChatML specials in its tokenizer) and an adapter on it.
    static func modelAndAdapter(_ folder: URL) throws -> (checkpoint: String, tokenizer: String, adapter: String) {
        let (_, corpus, tokenizer) = try corpusAndTokenizer(name: folder.lastPathComponent)
        let run = folder.appendingPathComponent("base")
        let trained = try runProduct("llm", ["train", "--preset", "gpt2-tiny", "--context", "128", "--steps", "2",
                                             "--batch-size", "2", "--corpus", corpus.path, "--tokenizer",
                                             tokenizer.path, "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let data = folder.appendingPathComponent("chat.jsonl")
        let line = #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}"#
        try (Array(repeating: line, count: 4).joined(separator: "\n") + "\n").write(to: data, atomically: true,
                                                                                 encoding: .utf8)
        let checkpoint = run.appendingPathComponent("checkpoint").path
        let sft = folder.appendingPathComponent("lora")
        let tuned = try runProduct("llm", ["sft", "--checkpoint", checkpoint, "--tokenizer", tokenizer.path,
                                           "--data", data.path, "--steps", "2", "--batch-size", "2", "--run-dir",
                                           sft.path, "--lora", "2"])
        #expect(tuned.status == 0, "\(tuned.stderr)")
        return (checkpoint, tokenizer.path, sft.appendingPathComponent("adapter").path)
    }

    @Test("the OpenAI wire format: models, chat and completions, streamed and whole, an adapter by name, usage")
    func wireFormat() throws {
        let folder = scratchFolder()
        let (checkpoint, tokenizer, adapter) = try Self.modelAndAdapter(folder)
        let server = try ServerProcess(["--checkpoint", checkpoint, "--tokenizer", tokenizer,
                                        "--adapter", "tuned=\(adapter)", "--name", "tiny"])
        let models = try curl(server.url + "/v1/models")
        let ids = (jsonObject(models.body)?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(models.status == 200 && ids == ["tiny", "tuned"], "\(models.body)")
        let health = try curl(server.url + "/health")
        #expect(health.status == 200 && jsonObject(health.body)?["status"] as? String == "ok")
        let page = try curl(server.url + "/")
        #expect(page.status == 200 && page.body.contains("/v1/chat/completions") && !page.body.contains("https://"))

        let chat = #"{"model": "tiny", "messages": [{"role": "system", "content": "Be brief."}, "# +
            #"{"role": "user", "content": "Hi"}], "max_tokens": 6, "seed": 3, "temperature": 0}"#
        let whole = try curl(server.url + "/v1/chat/completions", body: chat)
        let object = jsonObject(whole.body)
        let choice = (object?["choices"] as? [[String: Any]])?.first
        let usage = object?["usage"] as? [String: Int]
        #expect(whole.status == 200 && object?["object"] as? String == "chat.completion"
                && (object?["id"] as? String)?.hasPrefix("chatcmpl-") == true, "\(whole.body)")
        #expect((choice?["message"] as? [String: Any])?["role"] as? String == "assistant"
                && ["stop", "length"].contains(choice?["finish_reason"] as? String ?? ""))
        #expect(usage?["total_tokens"] == (usage?["prompt_tokens"] ?? 0) + (usage?["completion_tokens"] ?? -1))
        let text = (choice?["message"] as? [String: Any])?["content"] as? String ?? ""

        // Streamed with the same seed: the same text, chunk by chunk, in the API's shape.
        let streamed = try curl(server.url + "/v1/chat/completions", body: String(chat.dropLast()) +
                                #", "stream": true, "stream_options": {"include_usage": true}}"#)
        #expect(streamed.status == 200 && streamed.headers.lowercased().contains("content-type: text/event-stream"))
        let events = streamed.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.last == "data: [DONE]" && events.allSatisfy { $0.hasPrefix("data: ") }, "\(streamed.body)")
        let chunks = events.dropLast().compactMap { jsonObject(String($0.dropFirst(6))) }
        #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1
                && chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["created"] is Int })
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
        #expect((deltas.first?["delta"] as? [String: Any])?["role"] as? String == "assistant")
        #expect(deltas.dropFirst().allSatisfy { ($0["delta"] as? [String: Any])?["role"] == nil })
        #expect(deltas.dropLast().allSatisfy { $0["finish_reason"] is NSNull }
                && ["stop", "length"].contains(deltas.last?["finish_reason"] as? String ?? ""))
        let joined = deltas.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.joined()
        #expect(joined == text, "streamed '\(joined)' against whole '\(text)'")
        #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true && chunks.last?["usage"] != nil)

        // Text completions, and the adapter by its model name.
        let completion = try curl(server.url + "/v1/completions",
                                  body: #"{"model": "tuned", "prompt": "The", "max_tokens": 4, "temperature": 0}"#)
        let completed = jsonObject(completion.body)
        #expect(completion.status == 200 && completed?["object"] as? String == "text_completion"
                && completed?["model"] as? String == "tuned", "\(completion.body)")
        let stop = try curl(server.url + "/v1/completions", body: #"{"model": "tiny", "prompt": "The", "# +
                            #""max_tokens": 12, "temperature": 0, "stop": ["e", "a"]}"#)
        let stopped = ((jsonObject(stop.body)?["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? "?"
        #expect(stop.status == 200 && !stopped.contains("e") && !stopped.contains("a"), "\(stop.body)")
        let (status, tail) = server.stop()
        #expect(status == 0 && tail.contains("llm serve: stopped"), "\(tail)")
    }

    @Test("the official openai Python client: chat whole and streamed, completions on an adapter, errors (skips)")
    func openaiClient() throws {
        let folder = scratchFolder()
        let (checkpoint, tokenizer, adapter) = try Self.modelAndAdapter(folder)
        let server = try ServerProcess(["--checkpoint", checkpoint, "--tokenizer", tokenizer,
                                        "--adapter", "tuned=\(adapter)", "--name", "tiny"])
        defer { _ = server.stop() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/openai_client.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, server.url, "tiny", "tuned"]
        let out = Pipe(), err = Pipe()
        (process.standardOutput, process.standardError) = (out, err)
        do { try process.run() } catch {
            print("skipped: python3 not found (\(error))")
            return
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 3 || process.terminationStatus == 127 {
            print("skipped: the Python openai package is not installed (make deps installs it)")
            return
        }
        #expect(process.terminationStatus == 0, "openai_client.py failed: \(errors)")
        let result = jsonObject(String(decoding: data, as: UTF8.self)) ?? [:]
        let whole = result["whole"] as? [String: Any], stream = result["stream"] as? [String: Any]
        #expect(whole?["role"] as? String == "assistant" && whole?["object"] as? String == "chat.completion")
        #expect(stream?["content"] as? String == whole?["content"] as? String, "\(result)")
        #expect(stream?["roles"] as? [String] == ["assistant"] && (stream?["finishes"] as? [String])?.count == 1)
        #expect(stream?["total_tokens"] as? Int == whole?["total_tokens"] as? Int)
        #expect((result["completion"] as? [String: Any])?["model"] as? String == "tuned")
        let unknown = result["unknown_model"] as? [String: Any], bad = result["bad_temperature"] as? [String: Any]
        #expect(unknown?["status"] as? Int == 404 && unknown?["code"] as? String == "model_not_found")
        #expect(bad?["status"] as? Int == 400 && bad?["param"] as? String == "temperature", "\(result)")
    }

    @Test("the chat page in headless Chromium sends a message and a streamed reply appears (skips without chromium)")
    func chatPageInBrowser() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("skipped: no chromium (make deps installs Debian's chromium)")
            return
        }
        let folder = scratchFolder()
        let (checkpoint, tokenizer, _) = try Self.modelAndAdapter(folder)
        let server = try ServerProcess(["--checkpoint", checkpoint, "--tokenizer", tokenizer, "--name", "tiny"])
        defer { _ = server.stop() }
        let page = server.url + "/?model=tiny&message=Hi"
        let profile = folder.appendingPathComponent("chromium-profile")
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: chromium)
        browser.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
                             "--remote-debugging-port=0", page]
        (browser.standardOutput, browser.standardError) = (Pipe(), Pipe())
        try browser.run()
        defer { browser.terminate() }
        // The page's title says how far the reply is; DevTools' /json lists the title.
        var title = "", port: String?
        for _ in 0..<300 where !title.contains("done (") {
            Thread.sleep(forTimeInterval: 0.1)
            port = port ?? (try? String(contentsOf: profile.appendingPathComponent("DevToolsActivePort"),
                                        encoding: .utf8))?.split(separator: "\n").first.map(String.init)
            guard let port, let list = try? curl("http://127.0.0.1:\(port)/json/list"), list.status == 200,
                  let pages = (try? JSONSerialization.jsonObject(with: Data(list.body.utf8))) as? [[String: Any]]
            else { continue }
            title = pages.compactMap { $0["title"] as? String }.first { $0.hasPrefix("llm serve") } ?? title
        }
        let characters = Int(title.firstMatch(of: /done \((\d+) characters\)/)?.output.1 ?? "") ?? 0
        #expect(characters > 0, "the page shows a streamed reply: title '\(title)'")
        // A picture of it for the run folder (taken by a second, one-shot browser while a reply streams).
        let shot = folder.appendingPathComponent("runs/12-serving/chat-page.png")
        try FileManager.default.createDirectory(at: shot.deletingLastPathComponent(), withIntermediateDirectories: true)
        let camera = Process()
        camera.executableURL = URL(fileURLWithPath: chromium)
        camera.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,700",
                            "--virtual-time-budget=20000", "--screenshot=\(shot.path)", page]
        (camera.standardOutput, camera.standardError) = (Pipe(), Pipe())
        try camera.run()
        camera.waitUntilExit()
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 1000, "screenshot at \(shot.path)")
        print("chat page: \(title); screenshot \(shot.path)")
    }

    @Test("32 concurrent streams, batched eight at a time, each complete and equal to the same request alone")
    func thirtyTwoStreams() throws {
        let folder = scratchFolder()
        let (checkpoint, tokenizer, _) = try Self.modelAndAdapter(folder)
        let server = try ServerProcess(["--checkpoint", checkpoint, "--tokenizer", tokenizer, "--name", "tiny",
                                        "--max-concurrent", "8", "--queue", "64"])
        defer { _ = server.stop() }
        let route = server.url + "/v1/chat/completions"
        @Sendable func body(_ i: Int, stream: Bool) -> String {
            #"{"model": "tiny", "messages": [{"role": "user", "content": "Hi \#(i)"}], "max_tokens": 24, "# +
                #""temperature": 0, "stream": \#(stream)}"#
        }
        let alone = try (0..<32).map { i in
            let reply = try curl(route, body: body(i, stream: false))
            return ((jsonObject(reply.body)?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?[
                "content"] as? String ?? "?"
        }
        let results = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            results.append((try? curl(route, body: body(i, stream: true))).map { ($0.status, "\(i)", $0.body) })
        }
        let streams = results.values
        #expect(streams.count == 32 && streams.allSatisfy { $0.status == 200 && $0.body.hasSuffix("data: [DONE]\n\n") })
        for reply in streams {
            let i = Int(reply.headers) ?? -1
            let text = reply.body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .compactMap { jsonObject(String($0.dropFirst(6))) }
                .compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
                .compactMap { $0["content"] as? String }
                .joined()
            #expect(i >= 0 && text == alone[i], "stream \(i): '\(text)' against '\(i >= 0 ? alone[i] : "")'")
        }
        let health = (jsonObject(try curl(server.url + "/health").body)?["models"] as? [[String: Any]])?.first
        #expect((health?["largest_batch"] as? Int ?? 0) > 1, "decode steps were batched: \(String(describing: health))")
    }

    @Test("every bad request is an OpenAI-shaped error with the right status; the server stays up")
    func errors() throws {
        let folder = scratchFolder()
        let (checkpoint, tokenizer, _) = try Self.modelAndAdapter(folder)
        let server = try ServerProcess(["--checkpoint", checkpoint, "--tokenizer", tokenizer, "--name", "tiny",
                                        "--max-body-bytes", "2048"])
        let route = server.url + "/v1/chat/completions"
        let cases: [(String, Int, String?, String)] = [
            ("{not json", 400, nil, "not valid JSON"),
            (#"{"model": "tiny"}"#, 400, "messages", "messages"),
            (#"{"model": "tiny", "messages": []}"#, 400, "messages", "non-empty"),
            (#"{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}"#, 404, "model", "does not exist"),
            (#"{"messages": [{"role": "user", "content": "x"}]}"#, 400, "model", "provide a model"),
            (#"{"model": "tiny", "messages": [{"role": "robot", "content": "x"}]}"#, 400, "messages[0].role", "role"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 128}"#, 400,
             "max_tokens", "context"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#, 400,
             "max_tokens", "at least 1"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "temperature": 3}"#, 400,
             "temperature", "between"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "top_p": 1.5}"#, 400, "top_p",
             "between"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "n": 2}"#, 400, "n", "n must be 1"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": 7}]}"#, 400, nil, "wrong type"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": ""#
                + String(repeating: "word ", count: 200) + #""}], "max_tokens": 4}"#, 400, "messages", "context"),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": ""#
                + String(repeating: "x", count: 4000) + #""}]}"#, 413, nil, "larger than"),
        ]
        for (body, status, param, words) in cases {
            let reply = try curl(route, body: body)
            let error = apiError(reply.body)
            #expect(reply.status == status && (error?["message"] as? String)?.contains(words) == true
                    && error?["type"] is String && error?.keys.contains("code") == true,
                    "\(body.prefix(80)) → \(reply.status) \(reply.body)")
            if let param { #expect(error?["param"] as? String == param, "\(body.prefix(80)) → \(reply.body)") }
        }
        let long = try curl(route, body: #"{"model": "tiny", "messages": [{"role": "user", "content": ""#
                            + String(repeating: "word ", count: 200) + #""}], "max_tokens": 4}"#)
        #expect(apiError(long.body)?["code"] as? String == "context_length_exceeded")
        let missing = try curl(server.url + "/v2/everything")
        #expect(missing.status == 404 && apiError(missing.body) != nil)
        let alive = try curl(server.url + "/health")
        #expect(alive.status == 200, "the server is still up after every bad request")
        _ = server.stop()
    }

    @Test("the API key (missing, wrong, right); a full queue answers 429 with Retry-After, never a hang")
    func keyQueueAndDisconnect() throws {
        let folder = scratchFolder()
        let (checkpoint, tokenizer, _) = try Self.modelAndAdapter(folder)
        let server = try ServerProcess(["--checkpoint", checkpoint, "--tokenizer", tokenizer, "--name", "tiny",
                                        "--api-key", "sesame", "--max-concurrent", "1", "--queue", "0"])
        let route = server.url + "/v1/chat/completions"
        let body = #"{"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100}"#
        let none = try curl(route, body: body)
        let wrong = try curl(route, body: body, headers: ["Authorization: Bearer x"])
        #expect(none.status == 401 && apiError(none.body)?["code"] as? String == "invalid_api_key")
        #expect(wrong.status == 401 && apiError(wrong.body)?["code"] as? String == "invalid_api_key")
        let right = try curl(route, body: body, headers: ["Authorization: Bearer sesame"])
        #expect(right.status == 200, "\(right.body)")
        #expect(try curl(server.url + "/health").status == 200, "/health needs no key")
        // Sixteen clients at once against one slot and no queue: each gets its whole answer or a 429.
        let replies = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            replies.append(try? curl(route, body: body, headers: ["Authorization: Bearer sesame"]))
        }
        let all = replies.values
        #expect(all.count == 16 && all.allSatisfy { $0.status == 200 || $0.status == 429 })
        #expect(all.contains { $0.status == 429 && $0.headers.lowercased().contains("retry-after: 1") },
                "\(all.map(\.status))")
        #expect(all.filter { $0.status == 200 }.allSatisfy { jsonObject($0.body)?["usage"] != nil })
        _ = server.stop()
    }

    @Test("a client that hangs up is cancelled and its slot freed; Ctrl-C finishes the stream in flight, then exits")
    func disconnect() throws {
        let folder = scratchFolder()
        let (_, corpus, tokenizer) = try corpusAndTokenizer()
        // A model slow enough per token (6 × 384) that 100 tokens outlast a client that leaves after 0.15 s.
        let run = folder.appendingPathComponent("small")
        let trained = try runProduct("llm", ["train", "--preset", "gpt2-small", "--context", "128", "--steps", "1",
                                             "--batch-size", "1", "--corpus", corpus.path, "--tokenizer",
                                             tokenizer.path, "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let server = try ServerProcess(["--checkpoint", run.appendingPathComponent("checkpoint").path, "--tokenizer",
                                        tokenizer.path, "--name", "small", "--max-concurrent", "1"])
        let route = server.url + "/v1/chat/completions"
        let stream = #"{"model": "small", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100, "# +
            #""stream": true, "temperature": 1, "seed": 1}"#
        let started = Date()
        let cut = try curl(route, body: stream, extra: ["--max-time", "0.15"])
        #expect(cut.body.hasPrefix("data: ") && !cut.body.contains("[DONE]"), "the client left mid-answer: \(cut)")
        var health: [String: Any] = [:]
        for _ in 0..<100 {
            let reply = try curl(server.url + "/health")
            health = (jsonObject(reply.body)?["models"] as? [[String: Any]])?.first ?? [:]
            if health["active"] as? Int == 0 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(health["active"] as? Int == 0 && health["cancelled"] as? Int == 1, "\(health)")
        let whole = try curl(route, body: #"{"model": "small", "messages": [{"role": "user", "content": "Hi"}], "# +
                             #""max_tokens": 100, "temperature": 1, "seed": 1}"#)
        let used = ((jsonObject(whole.body)?["usage"] as? [String: Int])?["completion_tokens"]) ?? 0
        #expect(whole.status == 200 && (used == 100 || whole.body.contains("\"stop\"")),
                "the freed slot serves the next request whole: \(whole.status) \(whole.body.prefix(300))")
        print("disconnect test: \(Date().timeIntervalSince(started)) s")
        // Ctrl-C (SIGINT) with a stream in flight: the server finishes it, ends it with [DONE], exits 0.
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["curl", "-s", "-N", route, "-H", "Content-Type: application/json", "--data-binary", stream]
        let received = Pipe()
        client.standardOutput = received
        try client.run()
        Thread.sleep(forTimeInterval: 0.15)
        let (status, tail) = server.stop()
        let streamed = String(decoding: received.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        #expect(status == 0 && tail.contains("llm serve: stopped"), "\(tail)")
        #expect(streamed.hasSuffix("data: [DONE]\n\n"), "the in-flight stream ends cleanly: \(streamed.suffix(200))")
    }
}

final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(status: Int, headers: String, body: String)] = []
    func append(_ value: (status: Int, headers: String, body: String)?) {
        guard let value else { return }
        lock.withLock { stored.append(value) }
    }
    var values: [(status: Int, headers: String, body: String)] { lock.withLock { stored } }
}
