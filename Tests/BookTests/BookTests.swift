import Foundation
import Testing
@testable import BookKit

/// The repository root (this file is Tests/BookTests/BookTests.swift).
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private let mainFile = """
//: # Chapter 99 — A test chapter
//:
//: What we build: nothing much.

import Foundation

@main
struct TestChapter {
    static func main() {
        Self.first()   // 99.1
    }

    // MARK: - 99.1 The first section

    //: Prose above the code, with `code` in it.
    static func first() {
        Console.section("99.1 The first section")
        print("one")
        //: Prose in the middle of the function.
        print("two")
    }
}
"""

private let partFile = """
//: ## Chapter 99, part two — more

import Foundation

extension TestChapter {
    // MARK: - 99.10 The tenth section

    //: Ten comes after nine.
    static func tenth() {
        print("ten")
    }

    // MARK: - 99.11 The eleventh section

    static func eleventh() {
        print("eleven")
    }
}
"""

/// Sorts before Part.swift by name, and its first cell 99.9 sorts before 99.10 by number, not as text.
private let extraFile = """
import Foundation

extension TestChapter {
    // MARK: - 99.9 The ninth section

    //: Nine.
    static func ninth() { print("nine") }
}
"""

/// Canned runs, by executable.
private struct StubRunner: ChapterRunner {
    var results: [String: RunResult]
    func run(_ executable: String, arguments: [String]) -> RunResult {
        results[executable] ?? RunResult(output: "", errorOutput: "no such chapter", status: 127)
    }
}

/// A scratch course: Chapters/<folders> with the given files, and docs/chapters/.
private func scratchCourse(_ chapters: [String: [String: String]]) throws -> (chapters: URL, pages: URL) {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("book-test-\(UUID().uuidString)")
    for (folder, files) in chapters {
        let directory = base.appendingPathComponent("Chapters/\(folder)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    }
    let pages = base.appendingPathComponent("docs/chapters")
    try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
    return (base.appendingPathComponent("Chapters"), pages)
}

private func section(_ number: String, _ title: String, _ body: String) -> String {
    "\n── \(number) \(title) " + String(repeating: "─", count: 20) + "\n" + body + "\n"
}

@Suite("The course book")
struct BookTests {
    @Test("sources: introduction, outline, cells in numeric order (99.9 before 99.10), prose and code split, indentation and closing braces dropped")
    func parsing() throws {
        let source = try ChapterSource(folder: "99-Test", files: [("Part.swift", partFile), ("Main.swift", mainFile), ("Extra.swift", extraFile)])
        #expect(source.title == "Chapter 99 — A test chapter")
        #expect(source.executable == "ch99" && source.slug == "99-test")
        #expect(source.introduction == "# Chapter 99 — A test chapter\n\nWhat we build: nothing much.")
        #expect(source.outline.hasPrefix("import Foundation\n\n@main\nstruct TestChapter {"))
        // The @main file first, then the others by their first cell's number: 99.9 before 99.10.
        #expect(source.cells.map(\.number) == ["99.1", "99.9", "99.10", "99.11"])
        #expect(source.parts.map(\.opening) == ["", "", "## Chapter 99, part two — more"])
        #expect(ChapterSource.order("99.9", before: "99.10") && !ChapterSource.order("99.10", before: "99.9"))
        let first = source.cells[0]
        #expect(first.blocks == [
            .prose("Prose above the code, with `code` in it."),
            .code("static func first() {\n    Console.section(\"99.1 The first section\")\n    print(\"one\")"),
            .prose("Prose in the middle of the function."),
            .code("    print(\"two\")\n}"),
        ])
        let eleventh = source.cells.last!
        #expect(eleventh.blocks == [.code("static func eleventh() {\n    print(\"eleven\")\n}")])   // the extension's `}` is gone
        #expect(!eleventh.hasProse && first.hasProse)
        #expect(source.cells[1].blocks == [.prose("Nine."), .code("static func ninth() { print(\"nine\") }")])
    }

    @Test("a run's output splits at section headers; plot lines become plots; carriage-return redraws keep their last state")
    func capture() {
        let output = "═══\n  Chapter 99\n═══\n" + section("99.1", "The first section", "  one\r  two\n  plot: runs/x/99-test/a.png\n  plot data: runs/x/99-test/b.gp (not rendered)")
            + section("99.9", "The ninth section", "")
        let capture = RunCapture(output)
        #expect(capture.banner == "═══\n  Chapter 99\n═══")
        #expect(capture.order == ["99.1", "99.9"])
        #expect(capture.sections["99.1"] == SectionOutput(title: "The first section", text: "  two", plots: ["runs/x/99-test/a.png"], unrendered: ["runs/x/99-test/b.gp"]))
        #expect(capture.sections["99.9"]?.text == "")
        #expect(capture.last?.number == "99.9")
    }

    @Test("regions round-trip through a page, and the skeleton does not depend on them")
    func regions() throws {
        let source = try ChapterSource(folder: "99-Test", files: [("Main.swift", mainFile), ("Part.swift", partFile)])
        let filled = ["run": "> ran", "99.1": "```text\none\n```", "99.11": "x", "99.10": "![a](img/a.png)"]
        let page = PageRenderer.page(source, regions: filled)
        #expect(PageRenderer.regions(in: page) == filled)
        #expect(PageRenderer.skeleton(page) == PageRenderer.skeleton(PageRenderer.page(source, regions: [:])))
        #expect(PageRenderer.skeleton(page) != PageRenderer.skeleton(PageRenderer.page(try ChapterSource(folder: "99-Test", files: [
            ("Main.swift", mainFile.replacingOccurrences(of: "Prose above", with: "Changed prose above")), ("Part.swift", partFile)]), regions: [:])))
        #expect(page.contains("## 99.1 The first section") && page.contains("```swift\nstatic func first() {"))
        #expect(PageRenderer.fence("a ``` b", "text").hasPrefix("````text"))
    }

    @Test("a file split off for size adds no empty heading: a bare 'part two' heading is dropped, one with prose kept")
    func splitFileHeadings() throws {
        #expect(PageRenderer.visibleOpening("## Chapter 04, part two — the course run") == "")
        #expect(PageRenderer.visibleOpening("## Part two\n\n") == "")
        #expect(PageRenderer.visibleOpening("## Part two\n\nWhy it matters.") == "## Part two\n\nWhy it matters.")
        // And no committed page has a heading followed directly by another heading.
        for name in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs/chapters").path)
        where name.hasSuffix(".md") {
            let lines = try String(contentsOf: root.appendingPathComponent("docs/chapters/\(name)"), encoding: .utf8)
                .split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
            for (line, next) in zip(lines, lines.dropFirst()) where line.hasPrefix("## ") && next.hasPrefix("## ") {
                Issue.record("docs/chapters/\(name): the heading '\(line)' is empty (next: '\(next)')")
            }
        }
    }

    @Test("the committed pages match the chapter sources: prose and code cannot drift from the code (run `make docs-text` after editing a chapter)")
    func committedPagesMatchSources() throws {
        let book = Book(chapters: root.appendingPathComponent("Chapters"), pages: root.appendingPathComponent("docs/chapters"),
                        runner: nil, arguments: [], runLabel: "", date: "")
        let (chapters, problems) = try book.sources()
        #expect(problems.isEmpty, "\(problems)")
        #expect(chapters.count >= 6)
        for (index, chapter) in chapters.enumerated() {
            let file = book.pages.appendingPathComponent(Book.pageName(chapter.folder))
            let committed = try String(contentsOf: file, encoding: .utf8)
            let expected = book.page(index, of: chapters, regions: [:])
            #expect(PageRenderer.skeleton(committed) == PageRenderer.skeleton(expected),
                    "docs/chapters/\(Book.pageName(chapter.folder)) is out of date with Chapters/\(chapter.folder): run `make docs-text` (or `make docs`)")
            // Every page shows a real run and at least one plot, and every image it shows is committed.
            let regions = PageRenderer.regions(in: committed)
            #expect(regions["run"]?.contains("full run") == true, "docs/chapters/\(Book.pageName(chapter.folder)) has no full-size run")
            let images = committed.split(separator: "\n").filter { $0.hasPrefix("![") }.compactMap { line in
                line.split(separator: "(").last.map { String($0.dropLast()) }
            }
            #expect(!images.isEmpty, "docs/chapters/\(Book.pageName(chapter.folder)) shows no plot")
            for image in images {
                #expect(FileManager.default.fileExists(atPath: book.pages.appendingPathComponent(image).path), "\(image) is not committed")
            }
            #expect(Book.proseProblems(chapter).isEmpty, "\(Book.proseProblems(chapter))")
        }
    }

    @Test("a chapter that fails, one without prose, one with a missing plot and one without @main: each named with its section, every other page still written")
    func problemsAreNamedAndOtherPagesWritten() throws {
        let noProse = mainFile.replacingOccurrences(of: "    //: Prose above the code, with `code` in it.\n", with: "")
            .replacingOccurrences(of: "        //: Prose in the middle of the function.\n", with: "")
        let course = try scratchCourse([
            "97-Fails": ["Main.swift": mainFile.replacingOccurrences(of: "99", with: "97")],
            "98-NoProse": ["Main.swift": noProse.replacingOccurrences(of: "99", with: "98")],
            "99-Plots": ["Main.swift": mainFile, "Part.swift": partFile],
            "96-NoMain": ["Part.swift": partFile.replacingOccurrences(of: "99", with: "96")],
            "notes": ["Readme.swift": "// not a chapter folder"],
        ])
        let plot = course.pages.appendingPathComponent("../../runs/99-plots/good.png").standardizedFileURL
        try FileManager.default.createDirectory(at: plot.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: plot)
        let runner = StubRunner(results: [
            "ch97": RunResult(output: "banner\n" + section("97.1", "The first section", "  one"), errorOutput: "error: the tokenizer file is missing\n", status: 1),
            "ch98": RunResult(output: section("98.1", "The first section", "  one")),
            "ch99": RunResult(output: section("99.1", "The first section", "  one\n  plot: \(plot.path)\n  plot: /nonexistent/lost.png")
                              + section("99.10", "The tenth section", "  ten") + section("99.11", "The eleventh section", "  eleven")),
        ])
        let book = Book(chapters: course.chapters, pages: course.pages, runner: runner, arguments: [], runLabel: "full run, 1 thread", date: "today")
        let problems = try book.write()
        let text = problems.map(\.description)
        #expect(text.contains("Chapters/96-NoMain: Chapters/96-NoMain has no file with @main: the book starts a chapter's page from it"))
        #expect(text.contains("Chapters/97-Fails, section 97.1 The first section: the chapter failed (exit status 1): error: the tokenizer file is missing"))
        #expect(text.contains { $0.hasPrefix("Chapters/98-NoProse, section 98.1 The first section: no //: prose in this section (Main.swift)") })
        #expect(text.contains { $0.hasPrefix("Chapters/99-Plots, section 99.1 The first section: plot /nonexistent/lost.png:") })
        #expect(text.contains { $0.hasPrefix("Chapters/99-Plots, section 99.11 The eleventh section: no //: prose") })
        #expect(problems.count == 5, "\(text)")
        #expect(!problems.contains { $0.chapter == "notes" })
        // Every readable chapter's page exists; the failed one says where it stopped; the good plot was copied.
        let written = try FileManager.default.contentsOfDirectory(atPath: course.pages.path).sorted()
        #expect(written == ["97-fails.md", "98-noprose.md", "99-plots.md", "img"])
        let failed = try String(contentsOf: course.pages.appendingPathComponent("97-fails.md"), encoding: .utf8)
        #expect(failed.contains("**This run failed in section 97.1 The first section:** error: the tokenizer file is missing"))
        let plots = try String(contentsOf: course.pages.appendingPathComponent("99-plots.md"), encoding: .utf8)
        #expect(plots.contains("![good](img/99-plots-good.png)") && plots.contains("*(Plot `/nonexistent/lost.png` is missing from this run.)*"))
        #expect(FileManager.default.fileExists(atPath: course.pages.appendingPathComponent("img/99-plots-good.png").path))
        #expect(plots.contains("[← Chapter 98 — A test chapter](98-noprose.md)"))
        #expect(plots.contains("**Sections:** [99.1 The first section](#991-the-first-section) · [99.10 The tenth section](#9910-the-tenth-section)"))
        #expect(!plots.contains("**Exercises:**"))   // the scratch course has no Exercises/Ch99.md
        // --keep-outputs: prose and code refreshed from the sources, outputs kept from the page.
        let kept = Book(chapters: course.chapters, pages: course.pages, runner: nil, arguments: [], runLabel: "", date: "")
        _ = try kept.write(only: ["99"])
        let again = try String(contentsOf: course.pages.appendingPathComponent("99-plots.md"), encoding: .utf8)
        #expect(again == plots)
    }

    @Test("a section whose printed header differs from its MARK, or that prints none, is reported")
    func headerMismatch() throws {
        let course = try scratchCourse(["99-Test": ["Main.swift": mainFile, "Part.swift": partFile]])
        let runner = StubRunner(results: ["ch99": RunResult(output: section("99.1", "The first sectoin", "  one") + section("99.10", "The tenth section", "") + section("99.12", "Extra", ""))])
        let problems = try Book(chapters: course.chapters, pages: course.pages, runner: runner, arguments: [], runLabel: "", date: "").write().map(\.description)
        #expect(problems.contains("Chapters/99-Test, section 99.1 The first section: the run's header says \"The first sectoin\": make the Console.section title match the MARK"))
        #expect(problems.contains("Chapters/99-Test, section 99.11 The eleventh section: the run printed no \"── 99.11 …\" header: does the section call Console.section?"))
        #expect(problems.contains("Chapters/99-Test, section 99.12: the run printed this section's header but no // MARK: - 99.12 cell exists"))
    }
}

@Suite("The course book's links")
struct BookLinkTests {
    @Test("heading anchors follow GitHub's rule")
    func anchors() {
        #expect(PageRenderer.anchor("## 8.1 From logits to probabilities") == "81-from-logits-to-probabilities")
        #expect(PageRenderer.anchor("## 2.2 Why divide by √D") == "22-why-divide-by-d")
        #expect(PageRenderer.anchor("## 3.4 Decoder-only, encoder-only, encoder–decoder") == "34-decoder-only-encoder-only-encoderdecoder")
        #expect(PageRenderer.anchor("## 术语表 Glossary") == "术语表-glossary")
        #expect(PageRenderer.anchors(in: "# A\n```swift\n# not a heading\n```\n## B c") == ["a", "b-c"])
    }

    @Test("every relative link in docs/ and the README points to a file that exists, and to a heading on it when it names one")
    func linksResolve() throws {
        let docs = root.appendingPathComponent("docs")
        var pages = [root.appendingPathComponent("README.md")]
        for case let url as URL in FileManager.default.enumerator(at: docs, includingPropertiesForKeys: nil)! where url.pathExtension == "md" {
            pages.append(url)
        }
        #expect(pages.count >= 10)
        let link = try Regex(#"\]\(([^)\s]+)\)"#)
        var checked = 0
        for page in pages {
            let text = try String(contentsOf: page, encoding: .utf8)
            for match in text.matches(of: link) {
                let target = String(match.output[1].substring ?? "")
                if target.hasPrefix("http") || target.hasPrefix("mailto:") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let file = parts[0].isEmpty ? page : page.deletingLastPathComponent().appendingPathComponent(String(parts[0])).standardizedFileURL
                let name = page.path.replacingOccurrences(of: root.path + "/", with: "")
                #expect(FileManager.default.fileExists(atPath: file.path), "\(name) links to \(target), which does not exist")
                if parts.count == 2, file.pathExtension == "md", let linked = try? String(contentsOf: file, encoding: .utf8) {
                    #expect(PageRenderer.anchors(in: linked).contains(String(parts[1])), "\(name) links to \(target): no such heading")
                }
                checked += 1
            }
        }
        #expect(checked > 100)
    }
}
