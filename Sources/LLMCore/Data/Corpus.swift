// Introduced in Chapter 00 (grown in Chapter 04). Reading a text corpus: the fortune-cookie files
// Debian installs, or any UTF-8 file or folder of files.
//
// A fortune file is a list of entries separated by lines holding only `%`. Many English entries end
// with an attribution line `-- Author`; the file name is the entry's topic (`science`, `tang300`).
// The Chinese files colour their text with terminal escape codes (ESC[…m), which are stripped here.

import Foundation

/// One entry: a fortune, a poem, or (for plain text files) the whole file.
public struct CorpusEntry: Sendable, Equatable {
    public let text: String
    /// The file name it came from: a fortunes topic such as `science`.
    public let topic: String
    /// The `-- Author` line's author, when the entry has one.
    public let attribution: String?
}

public struct Corpus: Sendable {
    public let entries: [CorpusEntry]
    /// The file or folder it was read from.
    public let source: String

    /// Which of the fortune collections to read.
    /// Which fortunes: English, Chinese, all of them, or `pretraining` — the English fortunes with the Tang
    /// poems and Song lyrics (the base model's corpus: bilingual, so fine-tuning can teach Chinese tasks).
    public enum Language: String, Sendable, CaseIterable { case english, chinese, all, pretraining }

    /// The Chinese collections in the pretraining corpus (the 2 MB of Chinese fortunes are left out).
    public static let poemTopics: Set<String> = ["tang300", "song100"]

    /// Where Debian's `fortunes` and `fortunes-zh` packages put their files.
    public static let fortunesDirectory = "/usr/share/games/fortunes"
    /// The Chinese collections of `fortunes-zh`: Tang poems, Song lyrics, and Chinese fortunes.
    public static let chineseTopics: Set<String> = ["chinese", "tang300", "song100"]

    public init(entries: [CorpusEntry], source: String) {
        self.entries = entries
        self.source = source
    }

    /// The course's split, by entry: every 10th entry (index % 10 == 9) is held out, the rest trains;
    /// held-out entries never reach a training set in any chapter. When that holds out nothing (fewer
    /// than ten entries), the last entry is held out.
    public func split() -> (train: [String], heldOut: [String]) {
        var train: [String] = [], heldOut: [String] = []
        for (i, entry) in entries.enumerated() {
            if Corpus.isHeldOut(i) { heldOut.append(entry.text) } else { train.append(entry.text) }
        }
        if heldOut.isEmpty, train.count > 1 { heldOut.append(train.removeLast()) }
        return (train, heldOut)
    }

    /// The held-out entries (of the split above) for which `keep` holds: per-language evaluation.
    public func heldOut(where keep: (CorpusEntry) -> Bool) -> [String] {
        entries.indices.filter { Corpus.isHeldOut($0) && keep(entries[$0]) }.map { entries[$0].text }
    }

    /// Whether entry `index` is held out (every 10th).
    public static func isHeldOut(_ index: Int) -> Bool { index % 10 == 9 }

    /// The default corpus: the fortune collections in `directory`, English, Chinese or both.
    public static func fortunes(_ language: Language = .all, directory: String = fortunesDirectory) throws -> Corpus {
        let all = try load(path: directory)
        let kept = all.entries.filter { entry in
            switch language {
            case .all: return true
            case .english: return !chineseTopics.contains(entry.topic)
            case .chinese: return chineseTopics.contains(entry.topic)
            case .pretraining: return !chineseTopics.contains(entry.topic) || poemTopics.contains(entry.topic)
            }
        }
        if kept.isEmpty { throw CourseError.corpusEmpty(path: directory) }
        return Corpus(entries: kept, source: directory)
    }

    /// Reads a UTF-8 text file, or every regular file in a folder (sorted by name; hidden files,
    /// symbolic links and fortune index files `*.dat` are skipped). Throws a `CourseError` naming the
    /// path when it is missing, empty or not text.
    public static func load(path: String) throws -> Corpus {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CourseError.corpusMissing(path: path)
        }
        var files: [URL] = []
        if isFolder.boolValue {
            let folder = URL(fileURLWithPath: path, isDirectory: true)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".dat") {
                let url = folder.appendingPathComponent(name)
                let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
                if values?.isRegularFile == true && values?.isSymbolicLink != true { files.append(url) }
            }
        } else {
            files = [URL(fileURLWithPath: path)]
        }
        var entries: [CorpusEntry] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw CourseError.corpusMissing(path: file.path)
            }
            guard let text = String(data: data,
                                    encoding: .utf8) else { throw CourseError.corpusNotText(path: file.path) }
            entries += parse(text, topic: file.lastPathComponent)
        }
        if entries.isEmpty { throw CourseError.corpusEmpty(path: path) }
        return Corpus(entries: entries, source: path)
    }

    /// Splits one file's text into entries (on `%` lines when it has them), strips terminal escape
    /// codes and trailing white space, drops empty entries, and reads `-- Author` attributions.
    public static func parse(_ text: String, topic: String) -> [CorpusEntry] {
        let clean = stripEscapeCodes(text).replacingOccurrences(of: "\r\n", with: "\n")
        let lines = clean.split(separator: "\n", omittingEmptySubsequences: false)
        var chunks: [[Substring]] = [[]]
        for line in lines {
            if line == "%" { chunks.append([]) } else { chunks[chunks.count - 1].append(line) }
        }
        return chunks.compactMap { chunk in
            let body = chunk.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if body.isEmpty { return nil }
            return CorpusEntry(text: body, topic: topic, attribution: attribution(of: body))
        }
    }

    /// The author in a last line of the form `-- Author` (or `— Author`), up to a first comma.
    static func attribution(of entry: String) -> String? {
        guard let last = entry.split(separator: "\n").last else { return nil }
        let line = last.trimmingCharacters(in: .whitespaces)
        for dash in ["--", "—"] where line.hasPrefix(dash) {
            let author = line.dropFirst(dash.count).split(separator: ",").first.map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            return (author?.isEmpty ?? true) ? nil : author
        }
        return nil
    }

    /// Removes ANSI escape sequences (ESC [ … letter).
    static func stripEscapeCodes(_ text: String) -> String {
        guard text.contains("\u{1B}") else { return text }
        var out = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            if s == "\u{1B}" {
                // Skip '[' then parameters up to the final letter.
                while let t = scalars.next() { if t.properties.isAlphabetic && t != "[" { break } }
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    /// All entries joined by a blank line: the plain text a character model reads.
    public var text: String { entries.map(\.text).joined(separator: "\n\n") }

    /// The UTF-8 size of `text`.
    public var byteCount: Int { entries.reduce(0) { $0 + $1.text.utf8.count + 2 } - (entries.isEmpty ? 0 : 2) }

    /// The distinct topics in order of first appearance.
    public var topics: [String] {
        var seen = Set<String>()
        return entries.map(\.topic).filter { seen.insert($0).inserted }
    }
}
