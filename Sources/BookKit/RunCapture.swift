// The course book, part two: what a chapter printed, cut at its section headers.
//
// Chapters print `── 8.1 Title ─────` (Console.section) at the start of each cell and
// `  plot: runs/course/08-sampling/temperature.png` for each plot they save, so a run's standard output
// splits cleanly into one block per cell, each with its plots.

import Foundation

/// How one run of a chapter ended.
public struct RunResult: Sendable {
    public var output: String
    public var errorOutput: String
    public var status: Int32
    public var seconds: Double
    public init(output: String, errorOutput: String = "", status: Int32 = 0, seconds: Double = 0) {
        self.output = output
        self.errorOutput = errorOutput
        self.status = status
        self.seconds = seconds
    }
}

/// One section's captured output: its text and the plots it saved.
public struct SectionOutput: Equatable, Sendable {
    /// The title in the printed header.
    public var title: String
    public var text: String
    /// Paths of saved PNG files, as printed (relative to the folder the chapter ran in).
    public var plots: [String]
    /// Plots whose data was written but not rendered (no gnuplot): a problem for the book.
    public var unrendered: [String]
}

/// A chapter run's output by section.
public struct RunCapture: Sendable {
    /// What came before the first section header (the chapter's title block).
    public var banner: String
    /// Section number → its output, and the numbers in the order printed.
    public var sections: [String: SectionOutput]
    public var order: [String]
    /// The section running when the output ended (where a failing chapter stopped).
    public var last: (number: String, title: String)?

    public init(_ output: String) {
        var banner: [Substring] = [], current: (String, String)?, lines: [Substring] = []
        var sections: [String: SectionOutput] = [:], order: [String] = []
        func close() {
            guard let (number, title) = current else { banner = lines; lines = []; return }
            var text: [Substring] = [], plots: [String] = [], unrendered: [String] = []
            for line in lines {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("plot: "), trimmed.hasSuffix(".png") {
                    plots.append(String(trimmed.dropFirst("plot: ".count)))
                } else if trimmed.hasPrefix("plot data: ") {
                    unrendered.append(String(trimmed.dropFirst("plot data: ".count).prefix { $0 != " " }))
                } else {
                    text.append(line)
                }
            }
            sections[number] = SectionOutput(title: title, text: ChapterSource.codeTextKeepingIndent(text),
                                             plots: plots, unrendered: unrendered)
            order.append(number)
            lines = []
        }
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if let header = RunCapture.header(line) {
                close()
                current = header
            } else {
                // Progress bars redraw with carriage returns; keep what a terminal would finally show.
                lines.append(line.split(separator: "\r", omittingEmptySubsequences: false).last ?? line)
            }
        }
        close()
        self.banner = ChapterSource.codeTextKeepingIndent(banner)
        self.sections = sections
        self.order = order
        self.last = current
    }

    /// "── 8.1 Title ───" → ("8.1", "Title").
    static func header(_ line: Substring) -> (String, String)? {
        guard line.hasPrefix("── ") else { return nil }
        let rest = line.dropFirst(3)
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard number.contains("."), number.first?.isNumber == true else { return nil }
        var title = rest.dropFirst(number.count)
        while let last = title.last, last == "─" || last == " " { title = title.dropLast() }
        return (String(number), title.trimmingCharacters(in: .whitespaces))
    }
}

extension ChapterSource {
    /// Lines without blank lines at either end and without trailing spaces; indentation kept.
    static func codeTextKeepingIndent(_ lines: [Substring]) -> String {
        var lines = lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}
