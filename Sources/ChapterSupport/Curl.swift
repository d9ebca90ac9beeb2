// Introduced in Chapter 12. One HTTP request through curl, as a practitioner sends it to `llm serve`: what
// Chapter 12 shows and what the server's tests check.

import Foundation

/// curl's HTTP status, headers and body for one request.
public func curl(_ url: String, body: String? = nil, headers: [String] = [], extra: [String] = []) throws
    -> (status: Int, headers: String, body: String) {
    let folder = FileManager.default.temporaryDirectory
    let head = folder.appendingPathComponent("curl-headers-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: head) }
    var arguments = ["-s", "-N", "-D", head.path, "-w", "\n%{http_code}", url] + extra
    for header in headers { arguments += ["-H", header] }
    if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl"] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var text = String(decoding: data, as: UTF8.self)
    let code = Int(text.split(separator: "\n").last ?? "") ?? 0
    if let cut = text.lastIndex(of: "\n") { text = String(text[..<cut]) }
    return (code, (try? String(contentsOf: head, encoding: .utf8)) ?? "", text)
}
