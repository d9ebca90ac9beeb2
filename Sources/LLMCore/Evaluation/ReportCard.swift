// Introduced in Chapter 10. The report card: every course model in a row, every measurement in a column,
// each figure with its 95 % interval and the number of test items behind it, and the models that do not
// exist yet listed with the command that makes them — never silently left out. Written as Markdown (a
// model card a reader can open) and JSON (what a script compares).

import Foundation

public struct ReportCard: Codable, Sendable, Equatable {
    public struct Figure: Codable, Sendable, Equatable {
        public let interval: Bootstrap.Interval
        /// Test items behind the figure (the n a reader needs to judge the interval).
        public let items: Int

        public init(_ interval: Bootstrap.Interval, items: Int) {
            (self.interval, self.items) = (interval, items)
        }
    }

    public struct Row: Codable, Sendable, Equatable {
        public let model: String
        /// figures[column]: absent when the measurement does not apply to this model.
        public let figures: [String: Figure]
        /// For a model that does not exist yet: the command that makes it (and no figures).
        public let missingCommand: String?
    }

    public struct Column: Codable, Sendable, Equatable {
        public let name: String
        /// How to read it: "lower is better", the protocol, the baseline.
        public let note: String
        /// Decimal places in the table.
        public let digits: Int
    }

    public private(set) var columns: [Column] = []
    public private(set) var rows: [Row] = []

    public init() {}

    public mutating func addColumn(_ name: String, note: String, digits: Int = 3) {
        if !columns.contains(where: { $0.name == name }) {
            columns.append(Column(name: name, note: note, digits: digits))
        }
    }

    /// A measured model. Throws when a figure names a column that was not added.
    public mutating func add(model: String, figures: [String: Figure]) throws {
        if let unknown = figures.keys.sorted().first(where: { name in !columns.contains { $0.name == name } }) {
            throw CourseError.invalidValue(name: "report-card column", value: "'\(unknown)'",
                                           expected: "one added with addColumn (\(columns.map(\.name)))")
        }
        rows.append(Row(model: model, figures: figures, missingCommand: nil))
    }

    /// A model that is not there, with the command that makes it.
    public mutating func addMissing(model: String, command: String) {
        rows.append(Row(model: model, figures: [:], missingCommand: command))
    }

    /// The table: "value [lower, upper]" per cell, "—" where a measurement does not apply; then each
    /// column's note and item count, then the missing models with their commands.
    /// `images`: (caption, file) pairs shown after the table (plots beside the card).
    public func markdown(title: String, images: [(caption: String, file: String)] = []) -> String {
        var lines = ["# \(title)", ""]
        let measured = rows.filter { $0.missingCommand == nil }
        lines.append("| model | " + columns.map(\.name).joined(separator: " | ") + " |")
        lines.append("|---|" + columns.map { _ in "---|" }.joined())
        for row in measured {
            let cells = columns.map { column -> String in
                guard let f = row.figures[column.name] else { return "—" }
                let d = column.digits, i = f.interval
                return String(format: "%.\(d)f [%.\(d)f, %.\(d)f]", i.value, i.lower, i.upper)
            }
            lines.append("| \(row.model) | " + cells.joined(separator: " | ") + " |")
        }
        lines += ["", "Brackets: 95 % bootstrap intervals over the test items.", ""]
        for image in images { lines += ["![\(image.caption)](\(image.file))", ""] }
        for column in columns {
            let counts = Set(measured.compactMap { $0.figures[column.name]?.items }).sorted()
            let n = counts.isEmpty ? "" : " (n = " + counts.map(String.init).joined(separator: ", ") + ")"
            lines.append("- **\(column.name)**\(n): \(column.note)")
        }
        let missing = rows.filter { $0.missingCommand != nil }
        if !missing.isEmpty {
            lines += ["", "Not measured — the model does not exist yet:", ""]
            for row in missing { lines.append("- \(row.model): make it with `\(row.missingCommand ?? "")`") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// JSON; a NaN figure (an interval over no items) is written as the string "nan".
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        return try encoder.encode(self)
    }

    public static func read(json data: Data) throws -> ReportCard {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf",
                                                                        negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(ReportCard.self, from: data)
    }
}
