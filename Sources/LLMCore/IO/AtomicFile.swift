// Introduced in Chapter 00. Every file the course writes is written to a temporary file beside the
// target and renamed over it, so an interrupted run leaves the old file or the new one, never half.

import Foundation

public enum AtomicFile {
    /// Writes `data` to `url` atomically (temporary file in the same folder, then rename).
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = temporaryURL(for: url)
        do {
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw CourseError.unwritable(path: url.path, reason: error.localizedDescription)
        }
        try move(temporary, over: url)
    }

    /// Where to write `url`'s next version first: a hidden file beside it, named for this process.
    public static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// Renames the finished `temporary` over `url` (one step: readers see the old file or the new one).
    public static func move(_ temporary: URL, over url: URL) throws {
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CourseError.unwritable(path: url.path, reason: reason)
        }
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}

/// The folder a chapter writes into: `<run-dir>/<chapter>/`, created and checked writable up front,
/// so a bad `--run-dir` fails in the first second with a clear message, not after training.
public struct RunFolder: Sendable {
    public let url: URL

    public init(runDirectory: String, chapter: String) throws {
        let root = URL(fileURLWithPath: runDirectory, isDirectory: true)
        url = root.appendingPathComponent(chapter, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw CourseError.unwritable(path: url.path, reason: RunFolder.reason(error))
        }
        let probe = url.appendingPathComponent(".write-test-\(ProcessInfo.processInfo.processIdentifier)")
        if !FileManager.default.createFile(atPath: probe.path, contents: Data("ok".utf8)) {
            throw CourseError.unwritable(path: url.path, reason: "the folder is not writable")
        }
        try? FileManager.default.removeItem(at: probe)
    }

    /// A file inside the folder.
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        return nsError.localizedDescription
    }
}
