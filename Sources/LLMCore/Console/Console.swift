// Introduced in Chapter 00. How chapters print: section headers, aligned tables, key–value lines.
// Output goes to standard output so that a chapter's run reads like an executed notebook.

import Foundation
import CStdout

public enum Console {
    /// Whether standard output is a terminal (progress bars redraw in place only there).
    public static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Line-buffers standard output, so progress shows up in pipes and logs as it happens.
    public static func lineBuffered() { llm_line_buffer_stdout() }

    /// Writes out what `print` buffered (a prompt without a newline, a streamed token).
    public static func flush() { llm_flush_stdout() }

    /// Prints a chapter title block.
    public static func chapter(_ title: String, subtitle: String = "") {
        let rule = String(repeating: "═", count: max(title.count, subtitle.count) + 4)
        print(rule)
        print("  \(title)")
        if !subtitle.isEmpty { print("  \(subtitle)") }
        print(rule)
    }

    /// Prints a section header matching the chapter's `// MARK: - N.M Title` cell.
    public static func section(_ title: String) {
        print("")
        print("── \(title) " + String(repeating: "─", count: max(3, 72 - title.count)))
    }

    /// Prints `label: value` lines with the labels padded to one width.
    public static func keyValues(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (key, value) in pairs { print("  " + key.padding(toLength: width, withPad: " ",
                                                             startingAt: 0) + "  " + value) }
    }

    /// Renders a table with a header rule; numeric-looking columns are right-aligned.
    public static func table(_ headers: [String], _ rows: [[String]]) -> String {
        let columns = headers.count
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.prefix(columns).enumerated() { widths[i] = max(widths[i], cell.count) } }
        let numeric = (0..<columns).map { c in
            !rows.isEmpty && rows.allSatisfy { row in
                c < row.count && Double(row[c].filter { !",%×x ".contains($0) }) != nil
            }
        }
        func line(_ cells: [String]) -> String {
            "  " + (0..<columns).map { i in
                let cell = i < cells.count ? cells[i] : ""
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return numeric[i] ? pad + cell : cell + pad
            }.joined(separator: "  ")
        }
        let rule = "  " + widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n")
    }

    /// Prints `table(headers, rows)`.
    public static func printTable(_ headers: [String], _ rows: [[String]]) {
        print(table(headers, rows))
    }

    /// Writes one line to standard error (warnings and errors, never lesson output).
    public static func warn(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// Formats numbers the way the chapters print them.
public enum Format {
    public static func fixed(_ value: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", value) }
    public static func fixed(_ value: Float, _ digits: Int = 4) -> String { fixed(Double(value), digits) }
    /// 1234567 → "1,234,567".
    public static func integer(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return value < 0 ? "-" + out : out
    }
    /// Bytes as "12.34 MB" (10⁶ bytes).
    public static func megabytes(_ bytes: Int) -> String { String(format: "%.2f MB", Double(bytes) / 1e6) }
    /// Seconds as "12.3 s", "4 min 05 s".
    public static func duration(_ seconds: Double) -> String {
        if !seconds.isFinite { return "–" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let s = Int(seconds.rounded())
        return s < 3600 ? String(format: "%d min %02d s", s / 60,
                                 s % 60) : String(format: "%d h %02d min", s / 3600, (s / 60) % 60)
    }
}
