// Introduced in Chapter 00. The flags every chapter takes, and the setup they drive: threads,
// seed, run folder, plots. A chapter's `@main` type holds `@OptionGroup var options: ChapterOptions`.

import ArgumentParser
import Foundation
import LLMCore
import LLMPlot

public struct ChapterOptions: ParsableArguments {
    @Flag(help: "Run a seconds-long version of every section (what the tests use).")
    public var quick = false

    @Option(help: "Seed for every random number in the chapter: same seed and threads, same numbers.")
    public var seed: UInt64 = 1337

    @Option(name: .customLong("run-dir"),
            help: "Folder for this run's outputs; the chapter writes into <run-dir>/<chapter>/.")
    public var runDirectory = "runs/course"

    @Option(help: "Worker threads for our loops and for OpenBLAS (default: all cores, \(Parallel.defaultThreads) here).")
    public var threads: Int?

    /// The run folder's artifacts (tokenizer, base model, …; see `RunArtifacts`).
    public var artifacts: RunArtifacts { RunArtifacts(runDirectory: runDirectory) }

    /// `--threads`, or all cores.
    public var threadCount: Int { threads ?? Parallel.defaultThreads }

    @Flag(name: .customLong("no-plots"), help: "Write no plot files (and do not call gnuplot).")
    public var noPlots = false

    @Flag(name: .customLong("text-plots"), help: "Also draw each plot as text in the terminal.")
    public var textPlots = false

    public init() {}

    /// Checks a `--threads` value (shared by the chapters and `llm`).
    public static func validateThreads(_ threads: Int?) throws {
        if let threads { try requireFlag("--threads", threads, in: 1...256) }
    }

    public mutating func validate() throws {
        try ChapterOptions.validateThreads(threads)
        if runDirectory.isEmpty { throw flagError("--run-dir", "''", "a folder path") }
    }
}

/// The one-line error for a flag value: names the flag and the value, says what it accepts.
public func flagError(_ name: String, _ value: String, _ expected: String) -> ValidationError {
    ValidationError(CourseError.invalidValue(name: name, value: value, expected: expected).description)
}

/// Throws `flagError` unless `value` lies in `range` ("a whole number from 1 to 256").
public func requireFlag(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws {
    if !range.contains(value) {
        throw flagError(name, "\(value)", "a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
}

/// What a running chapter needs: its output folder, plotter and seeded generator.
public final class ChapterContext {
    public let options: ChapterOptions
    public let folder: RunFolder
    public let plotter: Plotter
    public var random: SeededGenerator
    public var quick: Bool { options.quick }

    /// Sets the thread count and creates `<run-dir>/<chapter>/` (throws a clear error if it cannot).
    public init(options: ChapterOptions, chapter: String) throws {
        self.options = options
        Parallel.setThreads(options.threadCount)
        folder = try RunFolder(runDirectory: options.runDirectory, chapter: chapter)
        plotter = Plotter(directory: folder.url, enabled: !options.noPlots, echoText: options.textPlots)
        random = SeededGenerator(seed: options.seed)
    }

    /// Prints the chapter's title banner with the seed, the thread count and the run's size.
    public func banner(_ title: String) {
        Console.chapter(title, subtitle: "seed \(options.seed) · \(Parallel.threads) threads · " +
                                         "\(quick ? "quick" : "full") run")
    }

    /// Saves a plot and prints where it went (or that plots are off).
    public func plot(_ plot: Plot, as name: String) throws {
        if let url = try plotter.save(plot, as: name) {
            print("  plot: \(Chapter.relativePath(url.path))")
        } else if !options.noPlots {
            print("  plot data: \(Chapter.relativePath(folder.file(name + ".gp").path)) (not rendered)")
        }
    }
}

public enum Chapter {
    /// Runs a chapter or tool command: parses flags, runs it, and turns any error into one line on
    /// standard error and exit code 1 (bad flags: exit code 64), never a crash trace.
    public static func main<Command: ParsableCommand>(_ type: Command.Type, arguments: [String]? = nil) -> Int32 {
        if arguments == nil { BLASKernels.restartWithBetterKernelsIfNeeded() }    // a CPU OpenBLAS does not know
        Console.lineBuffered()
        do {
            var command = try type.parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as CourseError {
            Console.warn("error: \(error.description)")
            return 1
        } catch let error as TokenizerError {
            Console.warn("error: \(error.description)")
            return 1
        } catch let error as CheckpointError {
            Console.warn("error: \(error.description)")
            return 1
        } catch {
            let code = type.exitCode(for: error)
            if code == .success { // --help, --version
                print(type.fullMessage(for: error))
                return 0
            }
            let message = type.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            let usage = code == .validationFailure ? " (see --help)" : ""
            Console.warn("error: \(message)\(usage)")
            return code == .validationFailure ? 64 : 1
        }
    }

    /// A path relative to the current folder when it is inside it (shorter lines in the lesson).
    public static func relativePath(_ path: String) -> String {
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }
}
