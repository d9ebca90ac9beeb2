// Introduced in Chapter 00. A progress bar for training loops: step, loss, tokens/s, ETA.
//
// On a terminal it redraws one line in place (carriage return). When output goes to a file or a CI
// log it prints a plain line every `plainEvery` fraction of the run instead, so logs stay readable.

import Foundation

public final class ProgressBar {
    public let total: Int
    public let label: String
    private let interactive: Bool
    private let start = Date()
    private var lastPlainStep = -1
    private let plainEvery: Int

    /// - Parameters:
    ///   - interactive: redraw in place; defaults to whether standard output is a terminal.
    ///   - plainLines: how many plain lines a non-interactive run prints at most (≈ every total/plainLines steps).
    public init(total: Int, label: String, interactive: Bool = Console.isTerminal, plainLines: Int = 10) {
        self.total = max(total, 1)
        self.label = label
        self.interactive = interactive
        plainEvery = max(1, self.total / max(plainLines, 1))
    }

    /// The text of the bar after `step` of `total` steps (1-based), with named metrics such as loss.
    public func line(step: Int, metrics: [(String, String)], tokensPerSecond: Double? = nil) -> String {
        let fraction = Double(step) / Double(total)
        let width = 24
        let filled = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let elapsed = Date().timeIntervalSince(start)
        let eta = step > 0 ? elapsed / Double(step) * Double(total - step) : .infinity
        var parts = ["\(label) \(bar) \(step)/\(total)"]
        parts += metrics.map { "\($0.0) \($0.1)" }
        if let tokensPerSecond { parts.append("\(Format.integer(Int(tokensPerSecond))) tok/s") }
        parts.append("ETA \(Format.duration(eta))")
        return parts.joined(separator: "  ")
    }

    /// Shows progress after `step` (1-based).
    public func update(step: Int, metrics: [(String, String)] = [], tokensPerSecond: Double? = nil) {
        let text = line(step: step, metrics: metrics, tokensPerSecond: tokensPerSecond)
        if interactive {
            let ending = step >= total ? "\n" : ""
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + text + ending).utf8))
        } else if step >= total || step - lastPlainStep >= plainEvery || lastPlainStep < 0 {
            lastPlainStep = step
            print("  " + text)
        }
    }
}
