// Introduced in Chapter 00. Writes plots into a run folder and renders them with gnuplot.
//
// Without gnuplot the data and script are still written, one warning line says how to get the PNGs,
// and the chapter goes on. With `--no-plots` nothing is written at all.

import Foundation
import LLMCore
import GnuplotBridge

public final class Plotter: @unchecked Sendable {
    /// Where NAME.dat, NAME.gp and NAME.png land.
    public let directory: URL
    /// `false` with `--no-plots`: `save` does nothing and returns nil.
    public let enabled: Bool
    /// Also draw each plot as text on standard output (`--text-plots`).
    public let echoText: Bool
    private var warnedMissingGnuplot = false

    public init(directory: URL, enabled: Bool = true, echoText: Bool = false) {
        self.directory = directory
        self.enabled = enabled
        self.echoText = echoText
    }

    /// The gnuplot program on PATH (or $GNUPLOT_IOSTREAM_CMD's), if any.
    public static var gnuplotPath: String? {
        let environment = ProcessInfo.processInfo.environment
        let program = environment["GNUPLOT_IOSTREAM_CMD"].flatMap { $0.split(separator: " ").first.map(String.init) } ?? "gnuplot"
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Writes `name.dat` and `name.gp` and renders `name.png`. Returns the PNG's URL, or nil when plots
    /// are off or gnuplot is missing or failed (a warning line says which and what to do).
    /// Throws only when the files cannot be written.
    @discardableResult
    public func save(_ plot: Plot, as name: String) throws -> URL? {
        guard enabled else { return nil }
        let dataName = "\(name).dat", scriptName = "\(name).gp", pngName = "\(name).png"
        let body = plot.commands.map { $0.replacingOccurrences(of: "'DATA'", with: "'\(dataName)'") }
        let pngScript = (["# \(plot.title) — regenerate with: gnuplot \(scriptName)",
                          "set terminal pngcairo size 960,600 enhanced font 'DejaVu Sans,11'",
                          "set output '\(pngName)'"] + body + ["unset output"]).joined(separator: "\n") + "\n"
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicFile.write(plot.data + "\n", to: directory.appendingPathComponent(dataName))
            try AtomicFile.write(pngScript, to: directory.appendingPathComponent(scriptName))
        } catch {
            throw CourseError.unwritable(path: directory.path,
                                         reason: "cannot write plot '\(name)': \(error.localizedDescription)")
        }
        guard Plotter.gnuplotPath != nil else {
            if !warnedMissingGnuplot {
                warnedMissingGnuplot = true
                Console.warn("warning: gnuplot not found: plot data and scripts are in \(directory.path); install it " +
                             "(make deps) and run 'gnuplot NAME.gp' there")
            }
            return nil
        }
        let png = directory.appendingPathComponent(pngName)
        try? FileManager.default.removeItem(at: png)
        let log = directory.appendingPathComponent("gnuplot.log")
        run(script: "load '\(scriptName)'", log: log)
        let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        if size == 0 {
            Console.warn("warning: gnuplot did not draw \(pngName); see \(log.path) and " +
                         "\(directory.appendingPathComponent(scriptName).path)")
            return nil
        }
        if echoText && plot.hasTextForm { printText(body: body, name: name, log: log) }
        return png
    }

    private func run(script: String, log: URL) {
        var message = [CChar](repeating: 0, count: 512)
        let status = llm_gnuplot_run(directory.path, script, log.path, &message, Int32(message.count))
        if status != 0 {
            Console.warn("warning: could not start gnuplot: " +
                         "\(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
    }

    /// Renders the same commands on gnuplot's `dumb` terminal and prints the text.
    private func printText(body: [String], name: String, log: URL) {
        let textName = "\(name).txt"
        let script = (["set terminal dumb size 100,28", "set output '\(textName)'"] + body + ["unset output"])
            .joined(separator: "\n")
        run(script: script, log: log)
        let url = directory.appendingPathComponent(textName)
        if let text = try? String(contentsOf: url, encoding: .utf8) { print(text) }
        try? FileManager.default.removeItem(at: url)
    }
}
