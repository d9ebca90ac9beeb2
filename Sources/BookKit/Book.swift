// The course book, part four: every chapter's page, from its sources and a fresh run.
//
// For each chapter folder in order: parse the sources, run the chapter (or keep the outputs already
// on its page), cut the output at the section headers, copy the plots next to the pages, write the
// page. Anything wrong with one chapter — no prose, a plot that was announced but is missing, a run
// that fails — becomes a `Problem` naming the chapter and section, and the other pages are still
// written.

import Foundation

/// Something the book found wrong with one chapter; the page is written regardless.
public struct Problem: CustomStringConvertible, Equatable, Sendable {
    public let chapter: String        // folder, e.g. "08-Sampling"
    public let section: String?       // "8.3 Greedy, beam search, sampling", when it is about one section
    public let message: String

    public var description: String {
        "Chapters/\(chapter)" + (section.map { ", section \($0)" } ?? "") + ": " + message
    }
}

/// Runs one chapter executable with arguments and returns what it printed.
public protocol ChapterRunner {
    func run(_ executable: String, arguments: [String]) -> RunResult
}

public struct Book {
    public let chapters: URL          // Chapters/
    public let pages: URL             // docs/chapters/
    public var images: URL { pages.appendingPathComponent("img") }
    /// Runs the chapters; nil keeps the outputs already on each page (prose and code only are refreshed).
    public var runner: ChapterRunner?
    /// Passed to every chapter (run folder, --quick, --threads).
    public var arguments: [String]
    /// How the run is described on the pages: "full run, 2 threads".
    public var runLabel: String
    /// The date printed on the pages.
    public var date: String
    /// Flags shown in the run command on the pages ("--quick" for a quick run).
    public var shownFlags = ""
    /// Progress lines (one per chapter).
    public var log: (String) -> Void = { _ in }

    public init(chapters: URL, pages: URL, runner: ChapterRunner?, arguments: [String],
                runLabel: String, date: String) {
        self.chapters = chapters
        self.pages = pages
        self.runner = runner
        self.arguments = arguments
        self.runLabel = runLabel
        self.date = date
    }

    /// The chapter folders (`NN-Name`), in course order.
    public func folders() throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: chapters.path) }
        catch { throw BookError.unreadable(chapters.path, "\(error.localizedDescription)") }
        return names.filter { name in
            name.count > 3 && name.prefix(2).allSatisfy(\.isNumber) && name.dropFirst(2).first == "-"
        }.sorted()
    }

    /// The page file name for a folder: "08-sampling.md".
    public static func pageName(_ folder: String) -> String { folder.lowercased() + ".md" }

    /// Every readable chapter's sources in course order, and the chapters that could not be read.
    public func sources() throws -> (chapters: [ChapterSource], problems: [Problem]) {
        var chapters: [ChapterSource] = [], problems: [Problem] = []
        for folder in try folders() {
            do { chapters.append(try ChapterSource(directory: self.chapters.appendingPathComponent(folder))) }
            catch { problems.append(Problem(chapter: folder, section: nil, message: "\(error)")) }
        }
        return (chapters, problems)
    }

    /// The page of `chapters[index]` with `regions`, linked to its neighbours and to its exercise sheet
    /// (`Exercises/ChNN.md` beside `Chapters/`, when there is one).
    public func page(_ index: Int, of chapters: [ChapterSource], regions: [String: String]) -> String {
        let link = { (i: Int) -> PageRenderer.Link? in
            chapters.indices.contains(i) ? (chapters[i].title, Book.pageName(chapters[i].folder)) : nil
        }
        let sheet = "Ch\(chapters[index].number).md"
        let root = self.chapters.deletingLastPathComponent()
        let exercises = FileManager.default.fileExists(atPath: root.appendingPathComponent("Exercises/\(sheet)").path)
            ? Book.relativePath(from: pages, to: root.appendingPathComponent("Exercises/\(sheet)")) : nil
        return PageRenderer.page(chapters[index], regions: regions, previous: link(index - 1),
                                 next: link(index + 1), exercises: exercises)
    }

    /// The path of `file` relative to the folder `directory` ("../../Exercises/Ch08.md").
    static func relativePath(from directory: URL, to file: URL) -> String {
        let from = directory.standardizedFileURL.pathComponents, to = file.standardizedFileURL.pathComponents
        let common = zip(from, to).prefix { $0 == $1 }.count
        return (Array(repeating: "..", count: from.count - common) + to[common...]).joined(separator: "/")
    }

    /// Writes the pages of `only` (chapter numbers such as "08"; nil: every chapter) and returns what went wrong.
    @discardableResult
    public func write(only: Set<String>? = nil) throws -> [Problem] {
        var (chapters, problems) = try sources()
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for (index, source) in chapters.enumerated() where only?.contains(source.number) ?? true {
            let page = pages.appendingPathComponent(Book.pageName(source.folder))
            var regions: [String: String]
            var found = Book.proseProblems(source)
            if let runner {
                log("▶ \(source.executable) \(arguments.joined(separator: " "))")
                let result = runner.run(source.executable, arguments: arguments)
                (regions, found) = collect(source, result, found)
                log("  \(result.status == 0 ? "done" : "FAILED") in \(Book.duration(result.seconds))")
            } else {
                regions = (try? String(contentsOf: page, encoding: .utf8)).map(PageRenderer.regions) ?? [:]
            }
            problems += found
            let text = self.page(index, of: chapters, regions: regions)
            do { try Data(text.utf8).write(to: page, options: .atomic) }
            catch { problems.append(Problem(chapter: source.folder, section: nil,
                                            message: "cannot write \(page.path): \(error.localizedDescription)")) }
        }
        return problems
    }

    /// A chapter without an introduction, or a section without a word of prose, is a lesson missing its text.
    public static func proseProblems(_ source: ChapterSource) -> [Problem] {
        var found: [Problem] = []
        if source.introduction.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            found.append(Problem(chapter: source.folder, section: nil,
                                 message: "the @main file opens with no //: introduction (what the chapter builds, " +
                                          "how to run it)"))
        }
        for cell in source.cells where !cell.hasProse {
            found.append(Problem(chapter: source.folder, section: cell.heading,
                                 message: "no //: prose in this section (\(cell.file)): say what the code shows " +
                                          "above it"))
        }
        if source.cells.isEmpty {
            found.append(Problem(chapter: source.folder, section: nil,
                                 message: "no // MARK: - N.M sections: the page would have no body"))
        }
        return found
    }

    /// Turns one run into the page's regions, copying plots next to the pages.
    func collect(_ source: ChapterSource, _ result: RunResult, _ problems: [Problem]) -> ([String: String], [Problem]) {
        var problems = problems
        let capture = RunCapture(result.output)
        let failed = result.status != 0
        let cellsByNumber = Dictionary(source.cells.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a })
        var regions: [String: String] = [:]
        var head = String(format: "> Output of `swift run -c release %@%@` (%@), %@ on a %d-core machine, %@.",
                          source.executable, shownFlags.isEmpty ? "" : " " + shownFlags, runLabel,
                              Book.duration(result.seconds), ProcessInfo.processInfo.activeProcessorCount, date)
        if failed {
            let stopped = capture.last.map { "section \($0.number) \($0.title)" } ?? "before its first section"
            let why = Book.lastLine(result.errorOutput) ?? "exit status \(result.status)"
            head += "\n>\n> **This run failed in \(stopped):** \(why)"
            problems.append(Problem(chapter: source.folder, section: capture.last.map { "\($0.number) \($0.title)" },
                                    message: "the chapter failed (exit status \(result.status)): \(why)"))
        }
        if !capture.banner.isEmpty { head += "\n\n" + PageRenderer.fence(capture.banner, "text") }
        regions["run"] = head
        for number in capture.order where cellsByNumber[number] == nil {
            problems.append(Problem(chapter: source.folder, section: number,
                                    message: "the run printed this section's header but no // MARK: - \(number) cell " +
                                             "exists"))
        }
        for cell in source.cells {
            guard let output = capture.sections[cell.number] else {
                if !failed {
                    problems.append(Problem(chapter: source.folder, section: cell.heading,
                                            message: "the run printed no \"── \(cell.number) …\" header: does the " +
                                                     "section call Console.section?"))
                }
                regions[cell.number] = failed ? "*(Not reached: the run failed before this section.)*" : "*(This section printed nothing.)*"
                continue
            }
            var body: [String] = []
            if !output.text.isEmpty { body.append(PageRenderer.fence(output.text, "text")) }
            for path in output.plots {
                let from = URL(fileURLWithPath: path,
                               relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                let name = "\(source.slug)-\((path as NSString).lastPathComponent)"
                let to = images.appendingPathComponent(name)
                do {
                    guard FileManager.default.fileExists(atPath: from.path) else {
                        throw BookError.unreadable(from.path, "the chapter announced this plot but the file is missing")
                    }
                    if FileManager.default.fileExists(atPath: to.path) { try FileManager.default.removeItem(at: to) }
                    try FileManager.default.copyItem(at: from, to: to)
                    let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                    body.append("![\(stem)](img/\(name))")
                } catch {
                    problems.append(Problem(chapter: source.folder, section: cell.heading,
                                            message: "plot \(path): \(error)"))
                    body.append("*(Plot `\(path)` is missing from this run.)*")
                }
            }
            for path in output.unrendered {
                problems.append(Problem(chapter: source.folder, section: cell.heading,
                                        message: "plot \(path) was not rendered (is gnuplot installed? `make deps` " +
                                                 "installs it)"))
                body.append("*(Plot `\(path)` was not rendered in this run.)*")
            }
            if output.title != cell.title {
                problems.append(Problem(chapter: source.folder, section: cell.heading,
                                        message: "the run's header says \"\(output.title)\": make the " +
                                                 "Console.section title match the MARK"))
            }
            regions[cell.number] = body.isEmpty ? "*(This section printed nothing.)*" : body.joined(separator: "\n\n")
        }
        return (regions, problems)
    }

    static func lastLine(_ text: String) -> String? {
        text.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// "28 s", "7 min 26 s".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s < 60 ? "\(s) s" : "\(s / 60) min \(s % 60) s"
    }
}

/// Runs `<directory>/<executable>` as a child process, echoing its output lines as they come (if asked).
public struct ProcessRunner: ChapterRunner {
    public let directory: URL
    public var echo: Bool

    public init(directory: URL, echo: Bool) {
        self.directory = directory
        self.echo = echo
    }

    public func run(_ executable: String, arguments: [String]) -> RunResult {
        let process = Process()
        process.executableURL = directory.appendingPathComponent(executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("book-\(executable)-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try? FileHandle(forWritingTo: errors)
        let start = Date()
        do { try process.run() } catch {
            return RunResult(output: "",
                             errorOutput: "cannot start \(process.executableURL!.path): " +
                                          "\(error.localizedDescription) (build it: make build)", status: 127)
        }
        var data = Data()
        let reader = output.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
            if echo { FileHandle.standardOutput.write(chunk) }
        }
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        return RunResult(output: String(decoding: data, as: UTF8.self), errorOutput: errorText,
                         status: process.terminationStatus, seconds: Date().timeIntervalSince(start))
    }
}
