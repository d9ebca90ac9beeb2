//: ## Chapter 05, part three — prompting, fine-tuning, and what it bought

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

/// What 5.4 leaves for the comparison in 5.6.
struct PromptingResult {
    var zeroShot: TaskScores
    var best: (k: Int, scores: TaskScores)
}

extension Lesson {
    /// The held-out items every model is scored on (`HeldOutTasks`: 8 topic requests per topic, 60
    /// attribution and 40 poem-author questions).
    func testItems(_ data: InstructionSplits, topics: [String]) -> HeldOutTasks {
        HeldOutTasks(data, topics: topics, template: template, context: context, quick: quick)
    }

    /// Whether the request and room for the answer fit the context as a chat prompt.
    func fits(_ item: InstructionExample) -> Bool {
        HeldOutTasks.fits(item, template: template, context: context, quick: quick)
    }

    /// Scores `answer` (request, index → text) on the test items; topic answers are judged by the classifier.
    func score(_ items: HeldOutTasks, judge: TopicClassifier, bayes: NaiveBayes,
               answer: (InstructionExample, Int) throws -> String) throws -> TaskScores {
        try items.score(judge: judge, bayes: bayes, topics: judge.topics, answer: answer)
    }

    func sampling(for item: InstructionExample) -> SamplingSettings { CourseTasks.sampling(for: item) }
    func maxTokens(for item: InstructionExample) -> Int { CourseTasks.maxTokens(for: item, quick: quick) }

    // MARK: - 5.4 Prompting before fine-tuning

    //: Before training anything, ask the base model. It has never seen a chat template, so the request goes
    //: in as plain text — "Q: … A:" — after k solved examples from the training split (few-shot; k = 0 is
    //: zero-shot), and its answer is what it writes up to the next line break. Examples show the format and
    //: the kind of answer, and cost context: the "prompt tokens" column is what each k spends before the
    //: question. Topic requests are judged by the 5.3 classifier (is the fortune it writes about the topic
    //: asked for?) and, as a second opinion, by its naive Bayes baseline; authors are exact match. These
    //: are the numbers fine-tuning has to beat.
    func prompting(_ data: InstructionSplits, judge: TopicClassifier, bayes: NaiveBayes) throws -> PromptingResult {
        Console.section("5.4 Prompting before fine-tuning")
        let items = testItems(data, topics: judge.topics)
        let model = try freshBase()
        let shotsByTask = Dictionary(grouping: data.train, by: \.task).mapValues { examples in
            examples.sorted {
                ($0.request.count + $0.answer.count, $0.entry) < ($1.request.count + $1.answer.count, $1.entry)
            }
        }
        let ks = quick ? [0, 1] : [0, 1, 3, 5]
        var rows: [[String]] = [], results: [(Int, TaskScores)] = []
        for k in ks {
            var promptTokens = 0, prompts = 0
            var scores = try score(items, judge: judge, bayes: bayes) { item, i in
                let shots = (shotsByTask[item.task] ?? []).prefix(k).map { ($0.request, $0.answer) }
                let prompt = TaskEvaluation.fewShotPrompt(shots: Array(shots), request: item.request)
                promptTokens += TaskEvaluation.tokenCount(bpe, prompt)
                prompts += 1
                var random = SeededGenerator(seed: seed &+ UInt64(i))
                return try TaskEvaluation.complete(model, bpe, prompt: prompt, maxTokens: maxTokens(for: item),
                                                   singleLine: item.task != .topic, settings: sampling(for: item),
                                                   random: &random)
            }
            scores.promptTokens = Double(promptTokens) / Double(max(prompts, 1))
            results.append((k, scores))
            rows.append(["\(k)", String(format: "%.0f", scores.promptTokens), scores.topic, scores.attribution,
                         scores.poem])
        }
        Console.printTable(["k shots", "prompt tokens", "topic on target (\(items.topic.count)): classifier / NB",
                            "attribution EM (\(items.attribution.count))",
                            "poem author EM (\(items.poem.count))"], rows)
        print("  chance for the topic: \(Format.fixed(1 / Double(judge.topics.count), 3)) " +
              "(k = \(judge.topics.count) topics)")
        func mean(_ s: TaskScores) -> Double {
            let pairs: [(Int, Int)] = [(s.topicHits, s.topicItems), (s.attributionHits, s.attributionItems),
                                       (s.poemHits, s.poemItems)]
            return pairs.filter { $0.1 > 0 }.map { Double($0.0) / Double($0.1) }.reduce(0, +)
        }
        let best = results.max { (mean($0.1), -$0.0) < (mean($1.1), -$1.0) } ?? results[0]
        func series(_ name: String, _ value: (TaskScores) -> (Int, Int)) -> Series {
            Series(name, x: results.map { Double($0.0) },
                   y: results.map { Double(value($0.1).0) / Double(max(value($0.1).1, 1)) })
        }
        try chapter.plot(.line([series("topic on target (classifier)") { ($0.topicHits, $0.topicItems) },
                                series("attribution exact match") { ($0.attributionHits, $0.attributionItems) },
                                series("poem author exact match") { ($0.poemHits, $0.poemItems) }],
                               title: "The base model, prompted with k solved examples",
                               xLabel: "k (shots in the prompt)",
                               yLabel: "fraction of held-out items", points: true),
                         as: "few-shot")
        return PromptingResult(zeroShot: results[0].1, best: best)
    }

    // MARK: - 5.5 Fine-tuning, with and without the loss mask

    //: Supervised fine-tuning is pretraining's loop on different batches: the same trainer, optimizer and
    //: schedule, now drawing padded conversations from `MaskedExamples` and scoring only the reply tokens.
    //: Every weight trains (full fine-tuning), at two thirds of the pretraining learning rate, from the
    //: Chapter 04 weights. Batches are grouped by length (16 conversations of similar length out of 128 drawn), so
    //: they carry little padding. To see what the mask does, a second run on the same budget scores every
    //: token — the user's request and the template's headers too. Both curves are the loss on the replies
    //: only, so they measure the same thing. On this corpus they end close: the requests are fortune text
    //: too (a quote, half a fortune), so scoring them is extra practice rather than noise. What the mask
    //: buys shows in what the models write: without it, the model has also learned to write the user's side
    //: and the role headers, and sometimes does. The masked model is the course's chat model.
    func fineTune(_ data: InstructionSplits) throws -> GPT {
        Console.section("5.5 Fine-tuning, with and without the loss mask")
        let train = data.train.map(\.messages), validation = data.validation.map(\.messages)
        let padding = bpe.specialId("<|pad|>") ?? template.end
        let validationSet = SFTData.examples(validation, template: template, length: context).examples
        let steps = quick ? 20 : 200
        var curves: [Series] = [], chat: GPT?
        var models: [(String, GPT)] = []
        for masked in [true, false] {
            let examples = SFTData.examples(train, template: template, length: context, masked: masked).examples
            var source = try MaskedExamples(train: examples, validation: validationSet, batchSize: 16, length: context,
                                            padding: padding)
            source.grouping = 8
            var config = TrainingConfig(steps: steps, batchSize: 16)
            (config.learningRate, config.minimumLearningRate, config.warmupSteps) = (2e-3, 2e-4, max(1, steps / 20))
            (config.evaluateEvery, config.seed) = (max(1, steps / 8), seed)
            let model = try freshBase()
            let folder = masked ? chapter.options.artifacts.url(.chatModel) : nil
            let trainer = try Trainer(model: model, source: source, loss: Losses.nextToken, config: config,
                                      checkpointFolder: folder)
            let before = trainer.validationLoss()
            let start = Date()
            try trainer.run(label: masked ? "  masked" : "  no mask", quiet: true)
            let name = masked ? "loss on replies only (masked)" : "loss on every token (no mask)"
            let after = trainer.state.validation.last?.loss ?? .nan
            print("  \(name.padding(toLength: 30, withPad: " ", startingAt: 0)): reply validation loss " +
                  "\(Format.fixed(before)) → \(Format.fixed(after)) in \(steps) steps of 16 conversations " +
                  "(\(Format.duration(Date().timeIntervalSince(start))))")
            curves.append(Series(name, x: [0] + trainer.state.validation.map { Double($0.step) },
                                 y: [before] + trainer.state.validation.map(\.loss)))
            models.append((masked ? "masked" : "no mask", model))
            if masked, let folder {
                chat = model
                try template.writeDescription(to: folder)
                try bpe.save(to: folder.deletingLastPathComponent())      // the chat model travels with its tokenizer
                let tasks = InstructionTask.allCases.map(\.rawValue)
                let json = try JSONSerialization.data(withJSONObject: ["tasks": tasks], options: [.sortedKeys])
                try AtomicFile.write(json, to: folder.appendingPathComponent("tasks.json"))
            }
        }
        try chapter.plot(.line(curves, title: "Fine-tuning with and without the loss mask (validation: replies only)",
                               xLabel: "step", yLabel: "validation loss on replies (nats/token)", points: true),
                         as: "masking")
        print("  what each writes for held-out requests (greedy):")
        for task in [InstructionTask.topic, .attribution, .poemNextLine] {
            guard let item = data.test.first(where: { $0.task == task && fits($0) }) else { continue }
            print("    request: \(shown(item.request, 80))")
            for (name, model) in models {
                var random = SeededGenerator(seed: seed)
                let reply = try TaskEvaluation.reply(model, template, request: item.request,
                                                     maxTokens: maxTokens(for: item),
                                                     random: &random)
                print("      \(name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(shown(reply, 80))")
            }
        }
        let folder = chapter.options.artifacts.url(.chatModel)
        print("  chat model: \(Chapter.relativePath(folder.path)) — talk to it: swift run -c release llm chat")
        guard let chat else { throw CourseError.invalidValue(name: "chat model", value: "none", expected: "one") }
        return chat
    }

    // MARK: - 5.6 What fine-tuning bought

    //: The same held-out items as 5.4, now asked of the chat model in its template. Three measures, with
    //: the number of items: does the fortune written for "Tell me a fortune about food" read as food to the
    //: classifier (against chance, 1/k, and against the base model given the same request as plain text,
    //: zero-shot and with its best k — picked on these same items, so a generous baseline);
    //: and exact match for "Who said …?" and for a poem's author. Authors of held-out entries are hard: the
    //: answer is a fact the model may never have read — expect low numbers, next to the baseline of always
    //: naming the most frequent author. Retrieval (Chapter 09) is the fix. Per task, the loss on reference
    //: replies before and after fine-tuning shows where the training went.
    func results(_ data: InstructionSplits, chat: GPT, judge: TopicClassifier, bayes: NaiveBayes,
                 prompting: PromptingResult) throws {
        Console.section("5.6 What fine-tuning bought")
        let items = testItems(data, topics: judge.topics)
        let chatScores = try score(items, judge: judge, bayes: bayes) { item, i in
            var random = SeededGenerator(seed: seed &+ UInt64(i))
            return try TaskEvaluation.reply(chat, template, request: item.request, maxTokens: maxTokens(for: item),
                                            settings: sampling(for: item), random: &random)
        }
        func mostFrequent(_ task: InstructionTask) -> String {
            let counts = Dictionary(grouping: data.train.filter { $0.task == task }, by: \.answer).mapValues(\.count)
            return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? ""
        }
        let (author, poet) = (mostFrequent(.attribution), mostFrequent(.poemAuthor))
        let hits = { (items: [InstructionExample], answer: String) in
            TaskScores().rate(items.filter { TaskEvaluation.exactMatch(answer, $0.answer) }.count, items.count)
        }
        Console.printTable(["held-out items", "topic on target (\(items.topic.count)): classifier / NB",
                            "attribution EM (\(items.attribution.count))", "poem author EM (\(items.poem.count))"], [
            ["chance / most frequent answer", Format.fixed(1 / Double(judge.topics.count), 3) + " / " +
             Format.fixed(1 / Double(judge.topics.count), 3),
             hits(items.attribution, author) + " (\(shown(author, 16)))", hits(items.poem, poet) + " (\(poet))"],
            ["base model, zero-shot", prompting.zeroShot.topic, prompting.zeroShot.attribution,
             prompting.zeroShot.poem],
            ["base model, \(prompting.best.k)-shot (best k)", prompting.best.scores.topic,
             prompting.best.scores.attribution, prompting.best.scores.poem],
            ["chat model (SFT)", chatScores.topic, chatScores.attribution, chatScores.poem],
        ])
        // Per task: the loss on the reference replies of validation examples, base against chat model.
        let base = try freshBase()
        var labels: [String] = [], values: [Double] = [], rows: [[String]] = []
        for task in InstructionTask.allCases {
            let examples = SFTData.examples(data.validation.filter { $0.task == task }.map(\.messages),
                                            template: template,
                                            length: context).examples
            guard !examples.isEmpty else { continue }
            let source = try MaskedExamples(train: examples, validation: examples, batchSize: 16, length: context,
                                            padding: bpe.specialId("<|pad|>") ?? template.end)
            func loss(_ model: GPT) -> Double { Losses.meanNextToken(model, source.validationBatches(maxBatches: 100)) }
            let (before, after) = (loss(base), loss(chat))
            rows.append([task.rawValue, "\(examples.count)", Format.fixed(before), Format.fixed(after)])
            labels += ["\(task.rawValue): base", "\(task.rawValue): SFT"]
            values += [before, after]
        }
        Console.printTable(["task", "validation examples", "reply loss, base model", "reply loss, chat model"], rows)
        try chapter.plot(.bars(labels: labels, values: values, title: "Loss on the reference replies, per task",
                               yLabel: "nats/token"),
                         as: "task-loss")
        print("  one held-out request per task — base model (zero-shot, plain text) → chat model; reference:")
        for task in InstructionTask.allCases {
            guard let item = data.test.first(where: { $0.task == task && fits($0) }) else { continue }
            var random = SeededGenerator(seed: seed)
            let plain = try TaskEvaluation.complete(base, bpe, prompt: TaskEvaluation.fewShotPrompt(shots: [],
                                                    request: item.request), maxTokens: maxTokens(for: item),
                                                    singleLine: task != .topic,
                                                    random: &random)
            random = SeededGenerator(seed: seed)
            let reply = try TaskEvaluation.reply(chat, template, request: item.request, maxTokens: maxTokens(for: item),
                                                 random: &random)
            print("    \(task.rawValue): \(shown(item.request, 70))")
            print("      base: \(shown(plain, 70))")
            print("      chat: \(shown(reply, 70))")
            print("      reference: \(shown(item.answer, 70))")
        }
    }
}
