// Introduced in Chapter 00. A plot is a value: what to draw, as data and a gnuplot script.
// `Plotter.save` writes `NAME.dat` and `NAME.gp` and renders `NAME.png` through gnuplot, so a teacher
// can edit the script and re-run `gnuplot NAME.gp` in the run folder.

import Foundation
import LLMCore

/// One named series of (x, y) points.
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]

    public init(_ name: String, x: [Double], y: [Double]) {
        self.name = name
        self.x = x
        self.y = y
    }

    /// y against 1, 2, 3, … (a loss per step).
    public init(_ name: String, y: [Double]) {
        self.init(name, x: (1...max(y.count, 1)).prefix(y.count).map(Double.init), y: y)
    }
}

/// A figure: the data file and the gnuplot commands that draw it.
public struct Plot: Sendable {
    public enum Kind: Sendable { case line, scatter, heatmap, bars, histogram }
    public let kind: Kind
    public let title: String
    /// The contents of NAME.dat; blocks separated by two blank lines are gnuplot's `index 0, 1, …`.
    let data: String
    /// Settings and the plot command; `DATA` stands for the data file's name.
    let commands: [String]
    /// Whether a text rendering makes sense (images do not draw on a dumb terminal).
    let hasTextForm: Bool

    /// Several series as lines (or points with `points: true`), with optional log axes.
    public static func line(_ series: [Series], title: String, xLabel: String, yLabel: String,
                            logX: Bool = false, logY: Bool = false, points: Bool = false) -> Plot {
        let data = series.map { s in zip(s.x, s.y).map { "\($0) \($1)" }.joined(separator: "\n") }
            .joined(separator: "\n\n\n")
        var commands = axes(title: title, xLabel: xLabel, yLabel: yLabel)
        if logX { commands += ["set logscale x", "set format x '10^{%L}'"] }
        if logY { commands += ["set logscale y", "set format y '10^{%L}'"] }
        let style = points ? "linespoints pt 7 ps 0.6" : "lines"
        let parts = series.enumerated().map { i, s in
            "'DATA' index \(i) using 1:2 with \(style) lw 2 title \(quoted(s.name))"
        }
        commands.append("plot " + parts.joined(separator: ", \\\n     "))
        return Plot(kind: .line, title: title, data: data, commands: commands, hasTextForm: true)
    }

    /// Points only, one colour per series.
    public static func scatter(_ series: [Series], title: String, xLabel: String, yLabel: String) -> Plot {
        let data = series.map { s in zip(s.x, s.y).map { "\($0) \($1)" }.joined(separator: "\n") }
            .joined(separator: "\n\n\n")
        var commands = axes(title: title, xLabel: xLabel, yLabel: yLabel)
        let parts = series.enumerated().map { i, s in
            "'DATA' index \(i) using 1:2 with points pt 7 ps 0.8 title \(quoted(s.name))"
        }
        commands.append("plot " + parts.joined(separator: ", \\\n     "))
        return Plot(kind: .scatter, title: title, data: data, commands: commands, hasTextForm: true)
    }

    /// A matrix as coloured cells: `values[row][column]`, with optional tick labels per row/column
    /// (rows drawn top to bottom, as a matrix is read).
    public static func heatmap(_ values: [[Double]], title: String, xLabel: String, yLabel: String,
                               rowLabels: [String]? = nil, columnLabels: [String]? = nil) -> Plot {
        var lines: [String] = []
        for (r, row) in values.enumerated() {
            for (c, v) in row.enumerated() { lines.append("\(c) \(r) \(v)") }
            lines.append("")
        }
        var commands = axes(title: title, xLabel: xLabel, yLabel: yLabel)
        commands += ["unset grid", "set palette rgbformulae 33,13,10",
                     "set xrange [-0.5:\(max(values.first?.count ?? 1, 1)) - 0.5]",
                     "set yrange [\(max(values.count, 1)) - 0.5:-0.5]"]
        if let columnLabels { commands.append("set xtics (" + tics(columnLabels) + ") font ',8'") }
        if let rowLabels { commands.append("set ytics (" + tics(rowLabels) + ") font ',8'") }
        commands.append("plot 'DATA' using 1:2:3 with image notitle")
        return Plot(kind: .heatmap, title: title, data: lines.joined(separator: "\n"), commands: commands,
                    hasTextForm: false)
    }

    /// One bar per label; with `intervals`, (lower, upper) per bar drawn as error bars.
    public static func bars(labels: [String], values: [Double], title: String, yLabel: String,
                            logY: Bool = false, intervals: [(lower: Double, upper: Double)]? = nil) -> Plot {
        let data = zip(labels, values).enumerated().map { i, pair in
            "\(i) \(quoted(pair.0)) \(pair.1)" + (intervals.map { " \($0[i].lower) \($0[i].upper)" } ?? "")
        }.joined(separator: "\n")
        var commands = axes(title: title, xLabel: "", yLabel: yLabel)
        commands += ["set style fill solid 0.8 border -1", "set boxwidth 0.7", "set xtics rotate by -45 font ',9'",
                     "set xrange [-0.7:\(Double(labels.count) - 0.3)]", "set yrange [0:*]"]
        if logY { commands.removeLast(); commands.append("set logscale y") }
        commands.append("plot 'DATA' using 1:3:xtic(2) with boxes notitle" +
                        (intervals == nil ? "" : ", '' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0 notitle"))
        return Plot(kind: .bars, title: title, data: data, commands: commands, hasTextForm: true)
    }

    /// A histogram of `values` in `bins` equal-width bins between their minimum and maximum.
    public static func histogram(_ values: [Double], bins: Int = 40, title: String, xLabel: String) -> Plot {
        let finite = values.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        let count = max(bins, 1)
        let width = high > low ? (high - low) / Double(count) : 1
        var counts = [Int](repeating: 0, count: count)
        for v in finite { counts[min(count - 1, Int((v - low) / width))] += 1 }
        let data = counts.enumerated().map { i, n in "\(low + (Double(i) + 0.5) * width) \(n)" }.joined(separator: "\n")
        var commands = axes(title: title, xLabel: xLabel, yLabel: "count")
        commands += ["set style fill solid 0.7 border -1", "set boxwidth \(width)", "set yrange [0:*]"]
        commands.append("plot 'DATA' using 1:2 with boxes notitle")
        return Plot(kind: .histogram, title: title, data: data, commands: commands, hasTextForm: true)
    }

    private static func axes(title: String, xLabel: String, yLabel: String) -> [String] {
        ["set title \(quoted(title))", "set xlabel \(quoted(xLabel))", "set ylabel \(quoted(yLabel))",
         "set grid", "set key top right"]
    }

    /// A gnuplot double-quoted string: backslashes and quotes escaped, control characters shown.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "⏎"
            case "\t": out += "⇥"
            case " " where text.count == 1: out += "␣"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "�"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func tics(_ labels: [String]) -> String {
        labels.enumerated().map { "\(quoted($1)) \($0)" }.joined(separator: ", ")
    }
}
