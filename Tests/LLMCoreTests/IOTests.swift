// Corpus reading, run folders, atomic writes, plots and console output — and their error messages.

import Foundation
import Testing
@testable import LLMCore
@testable import LLMPlot

func temporaryFolder(_ name: String = #function) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("llm-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name.filter(\.isLetter))-\(UInt32.random(in: 0...UInt32.max))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `object` changed by `edit` as JSON to `url`: how the tests hand-edit config files.
func writeEdited(_ object: [String: Any], to url: URL, _ edit: (inout [String: Any]) -> Void) throws {
    var edited = object
    edit(&edited)
    try JSONSerialization.data(withJSONObject: edited).write(to: url)
}

/// Runs Tests/Fixtures/`script` with python3 and returns its standard output; nil (after printing why)
/// when python3 or the Python package `needs` is missing — the script exits with 3 then.
func runPythonFixture(_ script: String, _ arguments: [String], needs package: String) throws -> Data? {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(script)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", url.path] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = Pipe()
    do { try process.run() } catch {
        print("skipped: python3 not found (\(error))")
        return nil
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus == 3 || process.terminationStatus == 127 {
        print("skipped: Python \(package) is not installed (make deps installs it)")
        return nil
    }
    #expect(process.terminationStatus == 0, "\(script) exited with \(process.terminationStatus)")
    return data
}

@Suite("Corpus")
struct CorpusTests {
    @Test("fortune entries, topics, attributions and escape codes")
    func parse() {
        let text = "Be brief.\n\t-- Anon, 1999\n%\n\u{1B}[1;32m春眠不覺曉\u{1B}[0m\n%\n\n%\nNo author here.\n"
        let entries = Corpus.parse(text, topic: "wisdom")
        #expect(entries.count == 3)
        #expect(entries[0].attribution == "Anon" && entries[0].topic == "wisdom")
        #expect(entries[1].text == "春眠不覺曉" && entries[1].attribution == nil)
        #expect(entries[2].text == "No author here.")
    }

    @Test("a folder reads its files in name order and skips .dat index files")
    func folder() throws {
        let folder = temporaryFolder()
        try "b1\n%\nb2\n".write(to: folder.appendingPathComponent("b"), atomically: true, encoding: .utf8)
        try "a1\n".write(to: folder.appendingPathComponent("a"), atomically: true, encoding: .utf8)
        try Data([0, 1, 2]).write(to: folder.appendingPathComponent("a.dat"))
        let corpus = try Corpus.load(path: folder.path)
        #expect(corpus.entries.map(\.text) == ["a1", "b1", "b2"])
        #expect(corpus.topics == ["a", "b"])
        #expect(corpus.text == "a1\n\nb1\n\nb2" && corpus.byteCount == corpus.text.utf8.count)
    }

    @Test("missing, empty and non-UTF-8 corpora give errors naming the path")
    func errors() throws {
        let folder = temporaryFolder()
        let missing = folder.appendingPathComponent("nope.txt").path
        #expect(throws: CourseError.corpusMissing(path: missing)) { try Corpus.load(path: missing) }
        let empty = folder.appendingPathComponent("empty.txt")
        try "  \n%\n\n".write(to: empty, atomically: true, encoding: .utf8)
        #expect(throws: CourseError.corpusEmpty(path: empty.path)) { try Corpus.load(path: empty.path) }
        let binary = folder.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x66, 0xE9, 0xFF]).write(to: binary)
        #expect(throws: CourseError.corpusNotText(path: binary.path)) { try Corpus.load(path: binary.path) }
        let emptyFolder = folder.appendingPathComponent("nothing")
        try FileManager.default.createDirectory(at: emptyFolder, withIntermediateDirectories: true)
        #expect(throws: CourseError.corpusEmpty(path: emptyFolder.path)) { try Corpus.load(path: emptyFolder.path) }
        // The messages name the path and say what to do.
        #expect(CourseError.corpusMissing(path: missing).description.contains(missing))
        #expect(CourseError.corpusEmpty(path: "x").description.contains("--corpus"))
    }
}

@Suite("Files")
struct FileTests {
    @Test("a run folder that cannot be created is a clear error")
    func unwritableRunFolder() throws {
        let folder = temporaryFolder()
        let file = folder.appendingPathComponent("a-file")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try RunFolder(runDirectory: file.path, chapter: "00-tensors")
            Issue.record("expected an error for a run folder under a file")
        } catch let error as CourseError {
            guard case .unwritable(let path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path.hasPrefix(file.path))
            #expect(error.description.contains("--run-dir"))
        }
        let good = try RunFolder(runDirectory: folder.path, chapter: "00-tensors")
        #expect(FileManager.default.fileExists(atPath: good.url.path))
    }

    @Test("atomic writes replace the whole file and leave no temporary behind")
    func atomic() throws {
        let folder = temporaryFolder()
        let url = folder.appendingPathComponent("f.txt")
        try AtomicFile.write("old", to: url)
        try AtomicFile.write("new", to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["f.txt"])
        #expect(throws: CourseError.self) { try AtomicFile.write("x", to: url.appendingPathComponent("under-a-file")) }
    }
}

@Suite("Plots", .serialized)
struct PlotTests {
    @Test("a line plot writes data, a script and (with gnuplot) a PNG")
    func line() throws {
        let folder = temporaryFolder()
        let plotter = Plotter(directory: folder)
        let plot = Plot.line([Series("loss", y: [3, 2, 1.5]), Series("val", x: [1, 3], y: [3.1, 1.7])],
                             title: "loss \"quoted\"", xLabel: "step", yLabel: "nats", logY: true)
        let png = try plotter.save(plot, as: "loss")
        let data = try String(contentsOf: folder.appendingPathComponent("loss.dat"), encoding: .utf8)
        #expect(data.hasPrefix("1.0 3.0\n2.0 2.0\n3.0 1.5\n\n\n1.0 3.1"))
        let script = try String(contentsOf: folder.appendingPathComponent("loss.gp"), encoding: .utf8)
        #expect(script.contains("set output 'loss.png'") && script.contains("'loss.dat' index 1"))
        #expect(script.contains("loss \\\"quoted\\\""))
        if Plotter.gnuplotPath != nil {
            let size = try FileManager.default.attributesOfItem(atPath: try #require(png).path)[.size] as? Int
            #expect((size ?? 0) > 1000)
        }
    }

    @Test("every plot kind renders", arguments: ["heatmap", "bars", "histogram", "scatter"])
    func kinds(kind: String) throws {
        let folder = temporaryFolder(kind)
        let plot: Plot
        switch kind {
        case "heatmap": plot = .heatmap([[1, 2], [3, 4]], title: "h", xLabel: "x", yLabel: "y", rowLabels: ["a", " "], columnLabels: ["\n", "b"])
        case "bars": plot = .bars(labels: ["a", "b"], values: [1, 2], title: "b", yLabel: "n")
        case "histogram": plot = .histogram([1, 2, 2, 3, 3, 3], bins: 3, title: "h", xLabel: "v")
        default: plot = .scatter([Series("s", x: [1, 2], y: [2, 1])], title: "s", xLabel: "x", yLabel: "y")
        }
        let png = try Plotter(directory: folder).save(plot, as: kind)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(kind).gp").path))
        if Plotter.gnuplotPath != nil { #expect(png != nil) }
    }

    @Test("without gnuplot: data and script are still written and save returns nil")
    func missingGnuplot() throws {
        let folder = temporaryFolder()
        setenv("GNUPLOT_IOSTREAM_CMD", "/nonexistent/gnuplot", 1)
        defer { unsetenv("GNUPLOT_IOSTREAM_CMD") }
        #expect(Plotter.gnuplotPath == nil)
        let png = try Plotter(directory: folder).save(.histogram([1, 2, 3], title: "t", xLabel: "x"), as: "h")
        #expect(png == nil)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("h.dat").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("h.gp").path))
    }

    @Test("--no-plots writes nothing")
    func disabled() throws {
        let folder = temporaryFolder()
        #expect(try Plotter(directory: folder, enabled: false).save(.histogram([1], title: "t", xLabel: "x"), as: "h") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}

@Suite("Console")
struct ConsoleTests {
    @Test("tables align columns; numbers to the right")
    func table() {
        let text = Console.table(["name", "value"], [["a", "1.5"], ["longer", "10.25"]])
        #expect(text.split(separator: "\n").map(String.init) == [
            "  name    value", "  ──────  ─────", "  a         1.5", "  longer  10.25",
        ])
    }

    @Test("formatting integers and durations")
    func format() {
        #expect(Format.integer(1_234_567) == "1,234,567" && Format.integer(-1000) == "-1,000" && Format.integer(12) == "12")
        #expect(Format.duration(5.25) == "5.2 s" || Format.duration(5.25) == "5.3 s")
        #expect(Format.duration(125) == "2 min 05 s")
    }

    @Test("progress line shows step, metrics, throughput and ETA")
    func progress() {
        let bar = ProgressBar(total: 10, label: "train", interactive: false)
        let line = bar.line(step: 5, metrics: [("loss", "2.5000")], tokensPerSecond: 12345)
        #expect(line.contains("5/10") && line.contains("loss 2.5000") && line.contains("12,345 tok/s") && line.contains("ETA"))
    }
}
