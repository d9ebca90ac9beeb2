// Introduced in Chapter 05. Instruction data made from the corpus: requests a user might type, paired
// with answers the corpus already holds — a fortune of a topic, the author of a quote, the end of a
// fortune, the author of a poem, the next line of a poem, a poem by a poet.
//
// Splits are by source entry, so no entry reaches two splits through different tasks: entries Chapter 04
// held out (`Corpus.isHeldOut`, every 10th) are the test split — neither the base model nor the chat model
// has read them — entries with index % 10 == 4 are validation, the rest train. Everything is a pure
// function of the corpus: the same corpus gives the same examples, in the same order, with the same
// phrasings.

import Foundation

/// The kinds of request, English and Chinese.
public enum InstructionTask: String, Sendable, Codable, CaseIterable {
    /// "Tell me a fortune about computers." → an entry of that topic.
    case topic
    /// "Who said: “…”?" → the author of an attributed fortune.
    case attribution
    /// "Finish this fortune: <first half>" → the second half.
    case continuation
    /// 《静夜思》的作者是谁？ → 李白
    case poemAuthor
    /// 续写：床前明月光， → 疑是地上霜。
    case poemNextLine
    /// 写一首李白的诗 → a poem by that poet.
    case poemByAuthor
}

/// Which split an example belongs to (by its source entry).
public enum InstructionSplit: String, Sendable, Codable, CaseIterable {
    case train, validation, test

    /// The split of corpus entry `index`: test = Chapter 04's held-out entries.
    public static func of(entry index: Int) -> InstructionSplit {
        if Corpus.isHeldOut(index) { return .test }
        return index % 10 == 4 ? .validation : .train
    }
}

/// One request and its answer, and the corpus entry it was made from.
public struct InstructionExample: Sendable, Equatable {
    public let task: InstructionTask
    /// The index of the source entry in the corpus.
    public let entry: Int
    public let request: String
    public let answer: String
    /// For topic requests: the topic file asked for.
    public let topic: String?

    /// The conversation: the request from the user, the answer from the assistant.
    public var messages: [ChatMessage] { [ChatMessage(.user, request), ChatMessage(.assistant, answer)] }
}

/// A poem of tang300 or song100: 《title》, 作者：author (dates dropped), and its lines split into clauses.
public struct Poem: Sendable, Equatable {
    public let title: String
    public let author: String
    /// Each clause with its closing punctuation: "床前明月光，", "疑是地上霜。".
    public let clauses: [String]

    /// The body as the file writes it (one couplet per line), for "write a poem" answers.
    public let body: String

    /// Reads an entry of the form "《title》⏎作者：author⏎line⏎…"
    /// (or "题目:《title》⏎作者:author（dates）⏎…").
    public init?(_ text: String) {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.count >= 3, let open = lines[0].firstIndex(of: "《"),
              let close = lines[0][open...].firstIndex(of: "》") else { return nil }
        let title = String(lines[0][lines[0].index(after: open)..<close])
        var author = lines[1]
        guard author.hasPrefix("作者") else { return nil }
        author = String(author.dropFirst(2).drop { $0 == "：" || $0 == ":" })
        if let paren = author.firstIndex(where: { $0 == "（" || $0 == "(" }) { author = String(author[..<paren]) }
        author = author.trimmingCharacters(in: .whitespaces)
        guard !title.isEmpty, !author.isEmpty else { return nil }
        let bodyLines = lines.dropFirst(2).filter { !$0.isEmpty }
        var clauses: [String] = [], current = ""
        for character in bodyLines.joined() {
            current.append(character)
            if "，。？！；、".contains(character) {
                clauses.append(current)
                current = ""
            }
        }
        if !current.isEmpty { clauses.append(current) }
        (self.title, self.author, self.clauses, body) = (title, author, clauses, bodyLines.joined(separator: "\n"))
    }
}

public struct InstructionSplits: Sendable {
    public var train: [InstructionExample] = []
    public var validation: [InstructionExample] = []
    public var test: [InstructionExample] = []

    public init() {}

    public subscript(split: InstructionSplit) -> [InstructionExample] { self[keyPath: Self.path(split)] }

    /// Where a split lives: `splits[keyPath: path(s)].append(…)` changes it in place (a get/set subscript
    /// would copy the whole split on every append).
    public static func path(_ split: InstructionSplit) -> WritableKeyPath<InstructionSplits, [InstructionExample]> {
        switch split { case .train: \.train; case .validation: \.validation; case .test: \.test }
    }
}

public enum InstructionData {
    /// The topics topic requests ask for, with the words a user would write for them.
    public static let topicNames: [String: String] = [
        "art": "art", "computers": "computers", "education": "education", "food": "food", "law": "the law",
        "linux": "Linux", "literature": "literature", "love": "love", "medicine": "medicine",
        "men-women": "men and women", "politics": "politics", "science": "science", "sports": "sports",
        "startrek": "Star Trek", "work": "work", "kids": "children", "drugs": "drugs", "pets": "pets",
    ]

    /// The longest answer or quote used, in characters: longer entries do not fit a short context.
    public static let maxCharacters = 300

    static let topicPhrasings = ["Tell me a fortune about %@.", "Give me a quote about %@.",
                                 "Say something wise about %@.", "A fortune on %@, please."]
    static let poemByAuthorPhrasings = ["写一首%@的诗", "请写一首%@的诗。"]

    /// The request a user types for a fortune about `topic` (phrasing `variant`, cycling through four).
    public static func topicRequest(_ topic: String, variant: Int = 0) -> String {
        topicPhrasings[variant % topicPhrasings.count].replacingOccurrences(of: "%@", with: topicNames[topic] ?? topic)
    }

    /// The attribution request for a quote (the entry without its `-- Author` line).
    public static func attributionRequest(_ quote: String) -> String { "Who said: “\(quote)”?" }

    /// The entry's text without its last line when that line is an attribution.
    public static func quote(of entry: CorpusEntry) -> String {
        guard entry.attribution != nil else { return entry.text }
        return entry.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every example the corpus gives, split by source entry. `topics`: which topic files topic requests
    /// use (default: those in `topicNames`).
    public static func build(_ corpus: Corpus, topics: Set<String>? = nil) -> InstructionSplits {
        let topics = topics ?? Set(topicNames.keys)
        var splits = InstructionSplits()
        for (index, entry) in corpus.entries.enumerated() {
            splits[keyPath: InstructionSplits.path(InstructionSplit.of(entry: index))]
                .append(contentsOf: examples(entry, index: index, topics: topics))
        }
        return splits
    }

    /// The examples one entry gives (phrasing variants chosen by the entry index, so they are fixed).
    static func examples(_ entry: CorpusEntry, index: Int, topics: Set<String>) -> [InstructionExample] {
        if Corpus.poemTopics.contains(entry.topic) {
            guard let poem = Poem(entry.text) else { return [] }
            var out = [InstructionExample(task: .poemAuthor, entry: index,
                                          request: "《\(poem.title)》的作者是谁？",
                                          answer: poem.author, topic: nil)]
            // Up to three next-clause requests per poem, spread over the poem.
            let starts = Array(poem.clauses.indices.dropLast())
            for k in stride(from: index % 2, to: starts.count, by: max(1, starts.count / 3)).prefix(3) {
                out.append(InstructionExample(task: .poemNextLine, entry: index, request: "续写：\(poem.clauses[k])",
                                              answer: poem.clauses[k + 1], topic: nil))
            }
            if poem.body.count <= maxCharacters {
                let phrasing = poemByAuthorPhrasings[index % poemByAuthorPhrasings.count]
                out.append(InstructionExample(task: .poemByAuthor, entry: index,
                                              request: phrasing.replacingOccurrences(of: "%@", with: poem.author),
                                              answer: poem.body, topic: nil))
            }
            return out
        }
        if Corpus.chineseTopics.contains(entry.topic) || entry.text.count > maxCharacters { return [] }
        var out: [InstructionExample] = []
        if topics.contains(entry.topic) {
            out.append(InstructionExample(task: .topic, entry: index,
                                          request: topicRequest(entry.topic, variant: index),
                                          answer: entry.text, topic: entry.topic))
        }
        if let author = entry.attribution {
            let quote = quote(of: entry)
            if !quote.isEmpty && author.count <= 40 {
                out.append(InstructionExample(task: .attribution, entry: index, request: attributionRequest(quote),
                                              answer: author, topic: nil))
            }
        }
        let body = quote(of: entry)
        let words = body.split(separator: " ", omittingEmptySubsequences: false)
        if words.count >= 8 {
            let half = words.count / 2
            out.append(InstructionExample(task: .continuation, entry: index,
                                          request: "Finish this fortune: \(words[..<half].joined(separator: " "))",
                                          answer: words[half...].joined(separator: " "), topic: nil))
        }
        return out
    }
}
