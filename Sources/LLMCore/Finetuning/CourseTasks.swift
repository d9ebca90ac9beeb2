// Introduced in Chapter 05; Chapters 06 and later score their models the same way. The course's
// instruction tasks as an evaluation: which topics, how many examples of each task train, which held-out
// items every model is asked, how it is asked (sampling, reply length), and the scores.
//
//   topic on target   "Tell me a fortune about food" — is what it writes about food? Judged by the topic
//                     classifier of 5.3 and, as a second opinion, by naive Bayes on word counts
//   attribution EM    "Who said: “…”?" — exact match with the `-- Author` line
//   poem author EM    "谁写了这首诗：…" — exact match with the poet

import Foundation

public enum CourseTasks {
    /// The course's classifier topics, when the corpus has them: distinct enough to tell apart, each with
    /// 200 or so entries.
    public static let courseTopics = ["computers", "education", "food", "law", "literature", "politics", "science",
                                      "startrek"]

    /// The course topics the corpus has (≥ 10 short entries each); for another corpus, its largest topics.
    public static func topics(in corpus: Corpus) throws -> [String] {
        var counts: [String: Int] = [:]
        for entry in corpus.entries where entry.text.count <= InstructionData.maxCharacters
            && !Corpus.chineseTopics.contains(entry.topic) {
            counts[entry.topic, default: 0] += 1
        }
        var topics = courseTopics.filter { counts[$0, default: 0] >= 10 }
        if topics.count < 2 {
            topics = counts.filter { $0.value >= 10 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                .prefix(8).map(\.key).sorted()
        }
        if topics.count < 2 {
            throw CourseError.invalidValue(name: "corpus topics", value: "\(counts.count) with 10+ short entries",
                                           expected: "at least two topic files with 10 or more entries each")
        }
        return topics
    }

    /// Every example the corpus gives (`available`) and the capped splits the course trains on (`used`): at
    /// most 400 per task in training (2,000 topic requests), 32 per task in validation; 40 and 8 with `quick`.
    public static func splits(_ corpus: Corpus, topics: [String], quick: Bool)
        -> (available: InstructionSplits, used: InstructionSplits) {
        let all = InstructionData.build(corpus, topics: Set(topics))
        let cap = quick ? 40 : 400, validationCap = quick ? 8 : 32
        var used = InstructionSplits()
        used.train = capped(all.train, perTask: cap, topicCap: 5 * cap)
        used.validation = capped(all.validation, perTask: validationCap)
        used.test = all.test
        return (all, used)
    }

    /// At most `perTask` examples of each task (`topicCap` of topic requests), spread evenly over the task's.
    public static func capped(_ examples: [InstructionExample], perTask: Int, topicCap: Int? = nil)
        -> [InstructionExample] {
        InstructionTask.allCases.flatMap { task -> [InstructionExample] in
            let of = examples.filter { $0.task == task }, cap = task == .topic ? topicCap ?? perTask : perTask
            guard of.count > cap else { return of }
            return (0..<cap).map { of[$0 * of.count / cap] }
        }
    }

    /// Topic requests are sampled (T = 0.7, top-p 0.9, a seed per item) so that they are not all one
    /// fortune; the short answers are greedy.
    public static func sampling(for item: InstructionExample) -> SamplingSettings {
        item.task == .topic ? SamplingSettings(temperature: 0.7, topP: 0.9) : .greedy
    }

    /// The most tokens an answer may take: 60 for a fortune (24 with `quick`), 16 for a short answer.
    public static func maxTokens(for item: InstructionExample, quick: Bool) -> Int {
        item.task == .topic ? (quick ? 24 : 60) : 16
    }
}

/// The held-out items every model is asked: topic requests (8 per classifier topic), attribution (60) and
/// poem-author questions (40), spread over the test split; 1, 6 and 4 with `quick`. Only items whose request
/// and room for the answer fit the context as a chat prompt (the plain prompt is shorter).
public struct HeldOutTasks {
    public let topic: [InstructionExample], attribution: [InstructionExample], poem: [InstructionExample]
    public let quick: Bool

    public init(_ data: InstructionSplits, topics: [String], template: ChatTemplate, context: Int, quick: Bool) {
        self.quick = quick
        let test = data.test.filter { Self.fits($0, template: template, context: context, quick: quick) }
        let perTopic = quick ? 1 : 8
        topic = topics.flatMap { name in test.filter { $0.task == .topic && $0.topic == name }.prefix(perTopic) }
        func spread(_ task: InstructionTask, _ n: Int) -> [InstructionExample] {
            let of = test.filter { $0.task == task }
            return of.count <= n ? of : (0..<n).map { of[$0 * of.count / n] }
        }
        attribution = spread(.attribution, quick ? 6 : 60)
        poem = spread(.poemAuthor, quick ? 4 : 40)
    }

    private init(topic: [InstructionExample], attribution: [InstructionExample], poem: [InstructionExample],
                 quick: Bool) {
        (self.topic, self.attribution, self.poem, self.quick) = (topic, attribution, poem, quick)
    }

    /// Only the items of `tasks` (nil: all of them).
    public func restricted(to tasks: Set<InstructionTask>?) -> HeldOutTasks {
        guard let tasks else { return self }
        return HeldOutTasks(topic: tasks.contains(.topic) ? topic : [],
                            attribution: tasks.contains(.attribution) ? attribution : [],
                            poem: tasks.contains(.poemAuthor) ? poem : [], quick: quick)
    }

    /// Whether the request as a chat prompt and room for the answer fit `context` tokens.
    public static func fits(_ item: InstructionExample, template: ChatTemplate, context: Int, quick: Bool) -> Bool {
        template.encode([ChatMessage(.user, item.request)], generationPrompt: true).ids.count
            + CourseTasks.maxTokens(for: item, quick: quick) <= context
    }

    /// Scores `answer` (request, its index → text) on the items; topic answers are judged by `judge` (when
    /// given) and by `bayes`.
    public func score(judge: TopicClassifier?, bayes: NaiveBayes, topics: [String],
                      answer: (InstructionExample, Int) throws -> String) throws -> TaskScores {
        var scores = TaskScores()
        var fortunes: [String] = [], wanted: [Int] = []
        for (i, item) in topic.enumerated() {
            guard let name = item.topic, let label = topics.firstIndex(of: name) else { continue }
            fortunes.append(try answer(item, i))
            wanted.append(label)
        }
        if let judge {
            for (predicted, label) in zip(judge.predict(fortunes), wanted) where predicted == label {
                scores.topicHits += 1
            }
        }
        for (fortune, label) in zip(fortunes, wanted) where bayes.predict(fortune) == label { scores.bayesHits += 1 }
        scores.topicItems = wanted.count
        for (i, item) in attribution.enumerated() where TaskEvaluation.exactMatch(try answer(item, i), item.answer) {
            scores.attributionHits += 1
        }
        scores.attributionItems = attribution.count
        for (i, item) in poem.enumerated() where TaskEvaluation.exactMatch(try answer(item, i), item.answer) {
            scores.poemHits += 1
        }
        scores.poemItems = poem.count
        return scores
    }

    /// A chat model's scores: each request as the only user turn, sampled as `CourseTasks.sampling` says with
    /// seed `seed + index`.
    public func score(chat model: GPT, template: ChatTemplate, judge: TopicClassifier?, bayes: NaiveBayes,
                      topics: [String], seed: UInt64) throws -> TaskScores {
        try score(judge: judge, bayes: bayes, topics: topics) { item, i in
            var random = SeededGenerator(seed: seed &+ UInt64(i))
            return try TaskEvaluation.reply(model, template, request: item.request,
                                            maxTokens: CourseTasks.maxTokens(for: item, quick: quick),
                                            settings: CourseTasks.sampling(for: item), random: &random)
        }
    }
}

/// How a model did on the held-out tasks.
public struct TaskScores: Sendable, Equatable {
    /// Topic answers the classifier judged on target; `bayesHits`: naive Bayes did.
    public var topicHits = 0, bayesHits = 0, topicItems = 0
    public var attributionHits = 0, attributionItems = 0
    public var poemHits = 0, poemItems = 0
    /// Mean prompt length (few-shot prompts), when recorded.
    public var promptTokens = 0.0

    public init() {}

    public func rate(_ hits: Int, _ items: Int) -> String {
        items == 0 ? "—" : Format.fixed(Double(hits) / Double(items), 3)
    }
    /// "classifier / naive Bayes" rates.
    public var topic: String { rate(topicHits, topicItems) + " / " + rate(bayesHits, topicItems) }
    public var topicByBayes: String { rate(bayesHits, topicItems) }
    public var attribution: String { rate(attributionHits, attributionItems) }
    public var poem: String { rate(poemHits, poemItems) }
    public var bayesRate: Double { Double(bayesHits) / Double(max(topicItems, 1)) }
}
