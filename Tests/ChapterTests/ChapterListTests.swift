// The one list of chapters: Package.swift's `chapters` must match the Chapters/ folders, which the
// Makefile and the book read; every chapter has a quick smoke test and a README row; LLMCore links
// neither plots nor benchmarks.

import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func repositoryText(_ path: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
}

@Suite("Chapter list")
struct ChapterListTests {
    /// ("04", "Pretraining") for every Chapters/04-Pretraining folder.
    static func folders() throws -> [(String, String)] {
        try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Chapters").path).sorted()
            .compactMap { name in
                guard let dash = name.firstIndex(of: "-"), Int(name[..<dash]) != nil else { return nil }
                return (String(name[..<dash]), String(name[name.index(after: dash)...]))
            }
    }

    @Test("Package.swift's chapter list is the Chapters/ folders, in order")
    func packageMatchesFolders() throws {
        let manifest = try repositoryText("Package.swift")
        let listText = try #require(manifest.range(of: "let chapters = [").map { manifest[$0.upperBound...] }?.prefix { $0 != "]" })
        let listed = listText.matches(of: /\("(\d+)", "([A-Za-z]+)"\)/).map { (String($0.output.1), String($0.output.2)) }
        let folders = try Self.folders()
        #expect(listed.map { "\($0.0)-\($0.1)" } == folders.map { "\($0.0)-\($0.1)" })
        #expect(!folders.isEmpty)
    }

    @Test("the Makefile's course order comes from the folders, and every chapter has a smoke test and a README row")
    func everyChapterIsWired() throws {
        let makefile = try repositoryText("Makefile")
        #expect(makefile.contains("CHAPTERS := $(shell ls Chapters"), "the course order must be derived from Chapters/")
        let tests = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Tests/ChapterTests").path)
            .map { try repositoryText("Tests/ChapterTests/\($0)") }.joined()
        let readme = try repositoryText("README.md")
        for (number, _) in try Self.folders() {
            #expect(tests.contains("runQuickChapter(\"ch\(number)\"") || tests.contains("runProduct(\"ch\(number)\""),
                    "chapter \(number) has no smoke test in Tests/ChapterTests")
            #expect(readme.contains("| \(number) |"), "chapter \(number) has no row in the README's table")
            #expect(readme.contains("ch\(number)"), "the README does not give chapter \(number)'s command")
        }
    }

    @Test("LLMCore depends on OpenBLAS and the stdout helper only: no gnuplot, no Boost, no benchmarks")
    func coreLinksNoPlots() throws {
        let manifest = try repositoryText("Package.swift")
        let core = try #require(manifest.firstMatch(of: /\.target\(name: "LLMCore", dependencies: \[([^\]]*)\]/))
        #expect(core.output.1 == "\"CBLAS\", \"CStdout\"")
        let sources = try FileManager.default.subpathsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Sources/LLMCore").path)
            .filter { $0.hasSuffix(".swift") }
        for file in sources {
            let text = try repositoryText("Sources/LLMCore/\(file)")
            #expect(!text.contains("import GnuplotBridge") && !text.contains("import LLMPlot") && !text.contains("import LLMBench"), "\(file)")
        }
    }
}
