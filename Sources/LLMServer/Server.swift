// Chapter 12's HTTP server (`llm serve`), on Hummingbird 2: the OpenAI routes over the batch scheduler.
//
//   GET  /health                 status, models, queue
//   GET  /                       the chat page (one HTML file, no build step, no CDN)
//   GET  /v1/models              the base model and each adapter, by name
//   POST /v1/chat/completions    ChatML prompt → reply; `stream: true` sends server-sent events
//   POST /v1/completions         plain prompt → continuation; the same streaming
//
// A request's path: the body (at most `maxBodyBytes`, else 413) is decoded and checked — every failure an
// OpenAI-shaped error with its status — then tokenized and handed to the model's scheduler, whose tokens
// come back one by one: decoded without splitting a character, held back where a stop sequence might begin,
// and written as they come. A client that goes away cancels its generation; a full queue answers 429.

import Foundation
import Hummingbird
import LLMCore

/// One model the server offers under a name: the base checkpoint or the base with an adapter.
public final class ServedModel: @unchecked Sendable {
    public let name: String
    public let model: GPT
    public let tokenizer: BPETokenizer
    /// nil for a model whose tokenizer has no ChatML specials (completions only).
    public let template: ChatTemplate?
    public let scheduler: BatchScheduler
    let created = Int(Date().timeIntervalSince1970)

    public init(name: String, model: GPT, tokenizer: BPETokenizer, maxActive: Int, queue: Int) {
        (self.name, self.model, self.tokenizer) = (name, model, tokenizer)
        template = try? ChatTemplate(tokenizer: tokenizer)
        scheduler = BatchScheduler(model: model, maxActive: maxActive, queueLimit: queue)
    }
}

public struct ServerOptions: Sendable {
    public var host = "127.0.0.1", port = 8080
    /// Required as `Authorization: Bearer KEY` on every /v1 route when set.
    public var apiKey: String?
    public var maxBodyBytes = 1 << 20
    public init() {}
}

public struct LLMServer: Sendable {
    public let models: [ServedModel]
    public let options: ServerOptions

    public init(models: [ServedModel], options: ServerOptions) { (self.models, self.options) = (models, options) }

    /// Serves until SIGINT or SIGTERM; `onReady` gets the port it listens on (the one asked for, or the
    /// system's choice for port 0). In-flight requests finish or are cancelled, then the schedulers stop.
    public func run(onReady: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.get("/health") { _, _ in
            let queues = models.map { served -> [String: Any] in
                let s = served.scheduler.status
                return ["model": served.name, "waiting": s.waiting, "active": s.active, "steps": s.steps,
                        "largest_batch": s.largestBatch, "cancelled": s.cancelled]
            }
            return Self.json(["status": "ok", "models": queues])
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: ChatPage.html)))
        }
        let v1 = router.group("v1")
        if let key = options.apiKey { v1.add(middleware: APIKeyMiddleware(key: key)) }
        v1.get("models") { _, _ in
            Self.json(["object": "list", "data": models.map {
                ["id": $0.name, "object": "model", "created": $0.created, "owned_by": "llm-course"] as [String: Any]
            }])
        }
        v1.post("chat/completions") { request, _ in try await self.chat(request) }
        v1.post("completions") { request, _ in try await self.complete(request) }
        let app = Application(router: router,
                              configuration: .init(address: .hostname(options.host, port: options.port),
                                                   serverName: "llm-course"),
                              onServerRunning: { channel in onReady(channel.localAddress?.port ?? 0) })
        try await app.runService()
        for served in models { served.scheduler.shutdown() }
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: WireObject.json(object))))
    }

    // MARK: Requests

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: options.maxBodyBytes)
        } catch {
            throw APIError(413, "the request body is larger than \(options.maxBodyBytes) bytes",
                           code: "request_too_large")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.invalid("\(path.isEmpty ? "the body" : path) has the wrong type: " +
                                   context.debugDescription, param: path.isEmpty ? nil : path)
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.invalid(path.isEmpty ? "the body is not valid JSON" : "\(path): \(context.debugDescription)",
                                   param: path.isEmpty ? nil : path)
        } catch {
            throw APIError.invalid("the body is not a valid request: \(error)")
        }
    }

    func served(_ name: String?) throws -> ServedModel {
        guard let name, !name.isEmpty else { throw APIError.invalid("you must provide a model", param: "model") }
        guard let found = models.first(where: { $0.name == name }) else {
            throw APIError(404, "the model '\(name)' does not exist; this server has " +
                           models.map { "'\($0.name)'" }.joined(separator: ", "), param: "model",
                           code: "model_not_found")
        }
        return found
    }

    func chat(_ request: Request) async throws -> Response {
        let body = try await decode(ChatRequest.self, request)
        let served = try served(body.sampling.model)
        guard let messages = body.messages, !messages.isEmpty else {
            throw APIError.invalid("messages must be a non-empty list", param: "messages")
        }
        guard let template = served.template else {
            throw APIError.invalid("the model '\(served.name)' has no chat template; use /v1/completions",
                                   param: "model")
        }
        var turns: [ChatMessage] = []
        for (i, message) in messages.enumerated() {
            guard let role = ChatRole(rawValue: message.role) else {
                throw APIError.invalid("messages[\(i)].role must be system, user or assistant (got " +
                                       "'\(message.role)')", param: "messages[\(i)].role")
            }
            turns.append(ChatMessage(role, message.content?.text ?? ""))
        }
        let prompt = template.encode(turns, generationPrompt: true).ids
        let stops = Set([template.end] + [served.tokenizer.specialId("<|endoftext|>")].compactMap { $0 })
        return try await generate(served, prompt: prompt, sampling: body.sampling, stopTokens: stops, chat: true)
    }

    func complete(_ request: Request) async throws -> Response {
        let body = try await decode(CompletionRequest.self, request)
        let served = try served(body.sampling.model)
        guard let prompts = body.prompt?.values, prompts.count == 1, let text = prompts.first, !text.isEmpty else {
            throw APIError.invalid("prompt must be one non-empty string", param: "prompt")
        }
        let prompt = served.tokenizer.encode(bytes: Array(text.utf8))
        let stops = Set([served.tokenizer.specialId("<|endoftext|>")].compactMap { $0 })
        return try await generate(served, prompt: prompt, sampling: body.sampling, stopTokens: stops, chat: false)
    }

    // MARK: Generation

    func generate(_ served: ServedModel, prompt: [Int], sampling: SamplingRequest, stopTokens: Set<Int>,
                  chat: Bool) async throws -> Response {
        let settings = try sampling.settings()
        let context = served.model.config.contextLength
        let asked = try sampling.maxTokens()
        if let asked, asked >= context {
            throw APIError.invalid("max_tokens is \(asked), but the model's context is \(context) tokens",
                                   param: sampling.max_completion_tokens == nil ? "max_tokens"
                                                                                : "max_completion_tokens")
        }
        // As `llm generate --strict`: a prompt that does not fit is refused, never silently cut.
        let maxTokens = asked ?? (context - prompt.count)
        if prompt.count + maxTokens > context || maxTokens < 1 {
            throw APIError.invalid("this model's context is \(context) tokens; the \(chat ? "messages" : "prompt") " +
                                   "take \(prompt.count) and max_tokens asks \(maxTokens)",
                                   param: chat ? "messages" : "prompt", code: "context_length_exceeded")
        }
        let seed = sampling.seed.map { UInt64(bitPattern: $0) } ?? UInt64.random(in: 0...UInt64.max)
        let ticket: BatchScheduler.Ticket
        do {
            ticket = try served.scheduler.submit(.init(prompt: prompt, maxTokens: maxTokens, settings: settings,
                                                       seed: seed, stopTokens: stopTokens))
        } catch .queueFull(let waiting) {
            var error = APIError(429, "the server is busy (\(waiting) requests waiting); retry shortly",
                                 type: "rate_limit_exceeded", code: "rate_limit_exceeded")
            error.retryAfter = 1
            throw error
        } catch .shuttingDown {
            throw APIError(503, "the server is shutting down", type: "server_error")
        } catch .invalid(let why) {
            throw APIError.invalid(why)
        }
        let stream = AnswerStream(served: served, ticket: ticket, stops: sampling.stop?.values ?? [],
                                promptTokens: prompt.count, chat: chat,
                                id: (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.lowercased(),
                                includeUsage: sampling.stream_options?.include_usage ?? false)
        if sampling.stream ?? false {
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in try await stream.write(to: &writer) })
        }
        return Self.json(try await stream.whole())
    }
}

/// One request's tokens turned into text and stop sequences, written whole or as events.
struct AnswerStream: Sendable {
    let served: ServedModel, ticket: BatchScheduler.Ticket
    let stops: [String]
    let promptTokens: Int
    let chat: Bool
    let id: String
    let includeUsage: Bool
    let created = Int(Date().timeIntervalSince1970)

    /// Every piece of text as it becomes safe to send, then the finish reason and the token count.
    func pieces(_ send: (String) async throws -> Void) async throws -> (reason: String, completion: Int) {
        var decoder = UTF8StreamDecoder(), scanner = StopScanner(stops: stops)
        var produced = 0, reason = "length"
        try await withTaskCancellationHandler {
            for await event in ticket.events {
                switch event {
                case .token(let token):
                    produced += 1
                    let bytes = (try? served.tokenizer.decodeBytes([token])) ?? []
                    let text = scanner.feed(decoder.append(bytes))
                    if !text.isEmpty { try await send(text) }
                    if scanner.stopped { ticket.cancel() }
                case .finished(let finish, _, _):
                    reason = finish == .maxTokens && !scanner.stopped ? "length" : "stop"
                }
            }
            let rest = scanner.feed(decoder.finish()) + scanner.finish()
            if !rest.isEmpty { try await send(rest) }
        } onCancel: {
            ticket.cancel()
        }
        return (reason, produced)
    }

    func whole() async throws -> [String: Any] {
        var text = ""
        let (reason, completion) = try await pieces { text += $0 }
        let choice: [String: Any] = chat
            ? ["index": 0, "message": ["role": "assistant", "content": text], "logprobs": NSNull(),
               "finish_reason": reason]
            : ["index": 0, "text": text, "logprobs": NSNull(), "finish_reason": reason]
        return ["id": id, "object": chat ? "chat.completion" : "text_completion", "created": created,
                "model": served.name, "choices": [choice],
                "usage": WireObject.usage(prompt: promptTokens, completion: completion)]
    }

    func write(to writer: inout any ResponseBodyWriter) async throws {
        func chunk(_ content: String?, first: Bool = false, finish: String? = nil,
                   usage: [String: Any]? = nil) -> ByteBuffer {
            let object: [String: Any]
            if chat {
                var delta: [String: Any] = [:]
                if first { delta["role"] = "assistant" }
                if let content { delta["content"] = content }
                object = WireObject.chatChunk(id: id, created: created, model: served.name,
                                              delta: usage == nil ? delta : nil, finishReason: finish, usage: usage)
            } else {
                object = WireObject.completionChunk(id: id, created: created, model: served.name,
                                                    text: usage == nil ? (content ?? "") : nil, finishReason: finish,
                                                    usage: usage)
            }
            return ByteBuffer(bytes: WireObject.event(object))
        }
        do {
            if chat { try await writer.write(chunk("", first: true)) }
            let (reason, completion) = try await pieces { try await writer.write(chunk($0)) }
            try await writer.write(chunk(nil, finish: reason))
            if includeUsage {
                let usage = WireObject.usage(prompt: promptTokens, completion: completion)
                try await writer.write(chunk(nil, usage: usage))
            }
            try await writer.write(ByteBuffer(bytes: WireObject.done))
            try await writer.finish(nil)
        } catch {
            ticket.cancel()   // the client went away: stop generating, free the slot
            throw error
        }
    }
}

/// Every error as the OpenAI JSON shape: ours with their status, unknown routes 404, anything else 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error)
        } catch let error as HTTPError where error.status == .notFound {
            return Self.response(APIError(404, "no route \(request.method) \(request.uri.path)", code: "not_found"))
        } catch let error as HTTPError {
            return Self.response(APIError(Int(error.status.code), error.body ?? "\(error.status)"))
        } catch {
            return Self.response(APIError(500, "the server failed: \(error)", type: "server_error"))
        }
    }

    static func response(_ error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retry = error.retryAfter { headers[.retryAfter] = "\(retry)" }
        return Response(status: .init(code: error.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: error.body)))
    }
}

/// `Authorization: Bearer KEY` or 401.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let key: String

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(401, "no API key: send the header 'Authorization: Bearer KEY'", code: "invalid_api_key")
        }
        guard header == "Bearer \(key)" else {
            throw APIError(401, "the API key is not right", code: "invalid_api_key")
        }
        return try await next(request, context)
    }
}
