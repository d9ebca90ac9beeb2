// The course book, part one: reading a chapter's sources as a literate document.
//
// A chapter is a folder `Chapters/NN-Name/` of Swift files. The file with `@main` opens with the
// chapter's `//:` introduction; every file is cut into cells at `// MARK: - N.M Title` lines. Inside a
// cell, runs of `//:` lines are prose (Playground markup, which is Markdown) and everything else is
// code. This file turns that into data; `PageRenderer` turns the data into a Markdown page.

import Foundation

/// One run of prose (Markdown) or code inside a cell.
public enum Block: Equatable, Sendable {
    case prose(String)
    case code(String)
}

/// A `// MARK: - N.M Title` cell: its number, title, and the prose and code under it.
public struct Cell: Equatable, Sendable {
    public let number: String          // "8.1"
    public let title: String           // "From logits to probabilities"
    public let file: String            // the source file's name, for messages
    public var blocks: [Block]

    public var heading: String { "\(number) \(title)" }
    public var hasProse: Bool { blocks.contains { if case .prose = $0 { return true } else { return false } } }
}

/// The parts of one chapter, in reading order.
public struct ChapterSource: Sendable {
    /// The folder name, e.g. "08-Sampling".
    public let folder: String
    /// The chapter's introduction: the `//:` lines that open the `@main` file.
    public var introduction: String
    /// The `@main` file's code before its first cell: flags and `run()`, the table of contents.
    public var outline: String
    /// Per file, in reading order: the file's own `//:` opening (a "part two" heading, say) and its cells.
    public var parts: [(opening: String, cells: [Cell])]

    /// "08-sampling": the page's name.
    public var slug: String { folder.lowercased() }
    /// "08": the chapter number.
    public var number: String { String(folder.prefix { $0.isNumber }) }
    /// "ch08": the executable that runs the chapter.
    public var executable: String { "ch" + number }
    /// Every cell, in reading order.
    public var cells: [Cell] { parts.flatMap(\.cells) }
    /// The title from the introduction's first `# ` line, or the folder name.
    public var title: String {
        introduction.split(separator: "\n").first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) } ?? folder
    }

    /// Reads every `.swift` file of `directory`.
    public init(directory: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }.sorted()
        guard !names.isEmpty else { throw BookError.noSources(directory.path) }
        let files = try names.map { name in
            do { return (name, try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) }
            catch { throw BookError.unreadable(directory.appendingPathComponent(name).path,
                                               "\(error.localizedDescription)") }
        }
        try self.init(folder: directory.lastPathComponent, files: files)
    }

    /// Parses files given as (name, text): the `@main` file first, the others in the order of their first cell.
    public init(folder: String, files: [(name: String, text: String)]) throws {
        self.folder = folder
        let parsed = files.map { ($0.name, $0.text.contains("@main"), ChapterSource.parse($0.text, file: $0.name)) }
        guard let main = parsed.first(where: { $0.1 }) else { throw BookError.noMain(folder) }
        let others = parsed.filter { !$0.1 }.sorted { a, b in
            ChapterSource.order(a.2.cells.first?.number ?? "999", before: b.2.cells.first?.number ?? "999")
        }
        introduction = main.2.opening
        outline = main.2.rest
        parts = [(opening: "", cells: main.2.cells)] + others.map { (opening: $0.2.opening, cells: $0.2.cells) }
    }

    /// Section numbers compare as numbers: 0.9 before 0.10.
    public static func order(_ a: String, before b: String) -> Bool {
        let x = a.split(separator: ".").map { Int($0) ?? Int.max },
            y = b.split(separator: ".").map { Int($0) ?? Int.max }
        return x.lexicographicallyPrecedes(y)
    }

    /// "// MARK: - 8.1 Title" → ("8.1", "Title").
    static func mark(_ line: Substring) -> (String, String)? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard trimmed.hasPrefix("// MARK: - ") else { return nil }
        let rest = trimmed.dropFirst("// MARK: - ".count)
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard number.contains("."), number.first?.isNumber == true else { return nil }
        return (String(number), rest.dropFirst(number.count).trimmingCharacters(in: .whitespaces))
    }

    /// The text of a `//:` line ("//: text" → "text", "//:" → ""), or nil for any other line.
    static func prose(_ line: Substring) -> String? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard trimmed.hasPrefix("//:") else { return nil }
        let text = trimmed.dropFirst(3)
        return String(text.first == " " ? text.dropFirst() : text)
    }

    private static func parse(_ text: String, file: String) -> (opening: String, rest: String, cells: [Cell]) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let firstMark = lines.firstIndex { mark($0) != nil } ?? lines.endIndex
        let head = lines[..<firstMark]
        let openingEnd = head.firstIndex { prose($0) == nil } ?? head.endIndex
        let opening = head[..<openingEnd].compactMap(prose).joined(separator: "\n")
        let rest = codeText(Array(head[openingEnd...]))
        var cells: [Cell] = []
        var start = firstMark
        while start < lines.endIndex, let (number, title) = mark(lines[start]) {
            let end = lines[(start + 1)...].firstIndex { mark($0) != nil } ?? lines.endIndex
            var body = Array(lines[(start + 1)..<end])
            if end == lines.endIndex {   // the file's last cell: drop the `}` closing the type or extension
                while let last = body.last,
                    last.trimmingCharacters(in: .whitespaces).isEmpty || last == "}" { body.removeLast() }
            }
            cells.append(Cell(number: number, title: title, file: file, blocks: blocks(body)))
            start = end
        }
        return (opening, rest, cells)
    }

    /// Splits a cell's lines into runs of prose and code; blank-only code runs vanish.
    static func blocks(_ lines: [Substring]) -> [Block] {
        var result: [Block] = [], prose: [String] = [], code: [Substring] = []
        func flush() {
            if !prose.isEmpty { result.append(.prose(prose.joined(separator: "\n"))); prose = [] }
            let text = codeText(code)
            if !text.isEmpty { result.append(.code(text)) }
            code = []
        }
        for line in lines {
            if let text = ChapterSource.prose(line) {
                if !code.isEmpty { flush() }
                prose.append(text)
            } else {
                if !prose.isEmpty { flush() }
                code.append(line)
            }
        }
        flush()
        return result
    }

    /// Code lines without blank lines at either end and without their common indentation.
    static func codeText(_ lines: [Substring]) -> String {
        var lines = lines
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        let indent = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return lines.map { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "" : String($0.dropFirst(indent)) }
            .map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
            .joined(separator: "\n")
    }
}

/// What can stop the book from reading a chapter at all (a chapter that merely runs badly is a `Problem`).
public enum BookError: Error, CustomStringConvertible, Equatable {
    case noSources(String)
    case noMain(String)
    case unreadable(String, String)

    public var description: String {
        switch self {
        case .noSources(let path): return "\(path) has no .swift files: is it a chapter folder?"
        case .noMain(let folder): return "Chapters/\(folder) has no file with @main: the book starts a chapter's " +
                                         "page from it"
        case .unreadable(let path, let why): return "cannot read \(path): \(why)"
        }
    }
}
