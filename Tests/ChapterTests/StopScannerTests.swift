// The server's stop sequences while streaming: text is held back only while it could still be the start of a
// stop sequence, and nothing after the first stop is sent.

import Foundation
import LLMCore
import LLMServer
import Testing

@Suite("Stop sequences in a stream")
struct StopScannerTests {
    /// What a client receives when `text` arrives in `pieces`-sized bits.
    static func stream(_ text: String, stops: [String], cuts: [Int]) -> (sent: String, stopped: Bool) {
        var scanner = StopScanner(stops: stops), sent = "", start = text.startIndex
        for cut in cuts where start < text.endIndex {
            let end = text.index(start, offsetBy: cut, limitedBy: text.endIndex) ?? text.endIndex
            sent += scanner.feed(String(text[start..<end]))
            start = end
        }
        if start < text.endIndex { sent += scanner.feed(String(text[start...])) }
        sent += scanner.finish()
        return (sent, scanner.stopped)
    }

    @Test("a stop sequence split across pieces is caught and cut; text before it is sent, nothing after")
    func splitStop() {
        var scanner = StopScanner(stops: ["world.", "END"])
        #expect(scanner.feed("Hello wor") == "Hello ")        // "wor" might begin "world.": held back
        #expect(scanner.feed("ld. More") == "" && scanner.stopped)
        #expect(scanner.feed("ignored") == "" && scanner.finish() == "")
        var near = StopScanner(stops: ["END"])
        #expect(near.feed("THE EN") == "THE " && near.feed("D") == "" && near.stopped)
        var miss = StopScanner(stops: ["END"])
        #expect(miss.feed("EN") == "" && miss.feed("x") == "ENx" && !miss.stopped && miss.finish() == "")
    }

    @Test("whatever the piece boundaries, the client gets the text up to the first stop sequence, exactly")
    func anyBoundaries() {
        var g = SeededGenerator(seed: 17)
        let text = "The cat sat. 世界 and the cat sat again. END of story"
        for _ in 0..<200 {
            let cuts = (0..<40).map { _ in 1 + g.integer(below: 5) }
            let none = Self.stream(text, stops: ["dog"], cuts: cuts)
            #expect(none.sent == text && !none.stopped)
            let cut = Self.stream(text, stops: ["sat again", "END"], cuts: cuts)
            #expect(cut.sent == "The cat sat. 世界 and the cat " && cut.stopped, "\(cuts): \(cut.sent)")
        }
    }
}
