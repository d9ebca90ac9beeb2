// `book` — writes the course book's chapter pages (docs/chapters/) from the chapter sources and a run
// of each chapter. `make docs` runs it; see Sources/BookKit for how a page is made.

import ArgumentParser
import BookKit
import Foundation

struct BookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "book",
        abstract: "Write docs/chapters/NN-name.md for every chapter: prose, code, and what a run printed and plotted.")

    @Flag(help: "Run each chapter with --quick (seconds) instead of full size.")
    var quick = false

    @Flag(name: .customLong("keep-outputs"),
          help: "Run nothing: refresh prose and code, keep the outputs already on each page.")
    var keepOutputs = false

    @Option(help: "Only these chapters, by number (e.g. --only 00,08).")
    var only: String?

    @Option(help: "Worker threads passed to each chapter (default: the chapter's default, all cores).")
    var threads: Int?

    @Option(name: .customLong("run-dir"),
            help: "Run folder passed to each chapter (later chapters read earlier ones' outputs there).")
    var runDirectory = "runs/course"

    @Option(help: "Folder with the chapter executables.")
    var bin = ".build/release"

    @Option(help: "Folder with the chapter sources.")
    var chapters = "Chapters"

    @Option(help: "Folder the pages are written to (images go to its img/).")
    var pages = "docs/chapters"

    @Flag(help: "Echo each chapter's output while it runs.")
    var verbose = false

    mutating func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads \(threads): expected a whole " +
                                                                             "number from 1 to 256") }
        if let only, only.split(separator: ",").contains(where: { $0.isEmpty || !$0.allSatisfy(\.isNumber) }) {
            throw ValidationError("--only \(only): expected chapter numbers separated by commas, e.g. 00,08")
        }
    }

    func run() throws {
        var arguments = ["--run-dir", runDirectory]
        if quick { arguments.append("--quick") }
        if let threads { arguments += ["--threads", String(threads)] }
        let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        var book = Book(chapters: URL(fileURLWithPath: chapters), pages: URL(fileURLWithPath: pages),
                        runner: keepOutputs ? nil : ProcessRunner(directory: URL(fileURLWithPath: bin), echo: verbose),
                        arguments: arguments, runLabel: "\(quick ? "quick" : "full") run, \(cores) " +
                                                        "thread\(cores == 1 ? "" : "s")",
                        date: formatter.string(from: Date()))
        book.shownFlags = quick ? "--quick" : ""
        book.log = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }   // unbuffered: progress shows in pipes
        let wanted = only.map { Set($0.split(separator: ",").map { $0.count == 1 ? "0" + $0 : String($0) }) }
        let problems = try book.write(only: wanted)
        book.log("pages: \(pages)/")
        guard !problems.isEmpty else { return }
        for problem in problems { FileHandle.standardError.write(Data("problem: \(problem)\n".utf8)) }
        throw ExitCode(1)
    }
}

do {
    var command = try BookCommand.parseAsRoot()
    try command.run()
} catch let error as BookError {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
} catch {
    BookCommand.exit(withError: error)
}
