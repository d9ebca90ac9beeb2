// Chapter 05's core: the ChatML template (render, encode with its loss mask, parse back), masked
// positions contributing exactly nothing, instruction data split by entry, JSONL reading with line
// numbers, last-real-token pooling that ignores padding, and the classification scores and baselines.

import Foundation
import Testing
@testable import LLMCore

/// A tokenizer with the course's specials, trained on a little English and Chinese.
func chatTokenizer() throws -> BPETokenizer {
    let documents = ["Tell me a fortune about computers.", "Who said: “To be or not to be”?", "William Shakespeare",
                     "《静夜思》的作者是谁？李白", "床前明月光，疑是地上霜。", "user\nassistant\nsystem\n"]
    return try BPETrainer.train(documents: documents, vocabularySize: 320).tokenizer
}

/// A corpus with topics, attributions and poems in both formats; entry i's text names i.
func instructionCorpus() -> Corpus {
    var entries: [CorpusEntry] = []
    for i in 0..<60 {
        let topic = ["computers", "food", "science"][i % 3]
        let text = i % 3 == 0 ? "Fortune \(i) about \(topic) has more than eight words in it.\n\t\t-- Author \(i % 5)"
                              : "Fortune \(i) about \(topic) is short but has words enough, yes."
        entries.append(CorpusEntry(text: text, topic: topic, attribution: i % 3 == 0 ? "Author \(i % 5)" : nil))
    }
    for i in 60..<80 {
        let text = i % 2 == 0 ? "《诗\(i)》\n作者：诗人\(i % 3)\n床前明月光\(i)，疑是地上霜。\n举头望明月，低头思故乡。"
                              : "题目:《词\(i)》\n作者:词人\(i % 3)（９４６－９９９）\n鸣骹直上一千尺\(i)，天静无风声更干。\n碧眼胡儿三百骑，尽提金勒向云看。"
        entries.append(CorpusEntry(text: text, topic: i % 2 == 0 ? "tang300" : "song100", attribution: nil))
    }
    return Corpus(entries: entries, source: "test")
}

@Suite("Fine-tuning")
struct FinetuningTests {
    @Test("ChatML: the rendered text by hand, and the loss mask covers exactly the assistant's words and <|im_end|>")
    func renderAndMask() throws {
        let messages = [ChatMessage(.system, "Be brief."), ChatMessage(.user, "Hi"), ChatMessage(.assistant, "Hello")]
        #expect(ChatTemplate.render(messages) ==
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n")
        #expect(ChatTemplate.render([messages[1]], generationPrompt: true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        let bpe = try chatTokenizer()
        let template = try ChatTemplate(tokenizer: bpe)
        let encoded = template.encode(messages)
        // Same tokens as encoding the rendered text with specials allowed.
        #expect(encoded.ids == (try bpe.encode(ChatTemplate.render(messages), special: .allow)))
        let scoredText = try bpe.decode(zip(encoded.ids, encoded.scored).filter(\.1).map(\.0))
        #expect(scoredText == "Hello<|im_end|>")
        let prompt = template.encode(Array(messages.prefix(2)), generationPrompt: true)
        #expect(prompt.scored.allSatisfy { !$0 })
        #expect(try bpe.decode(prompt.ids).hasSuffix("<|im_start|>assistant\n"))
        #expect(template.stopToken == bpe.specialId("<|im_end|>"))
    }

    @Test("ChatML: encode → parse gives back random multi-turn conversations, special-token text in them escaped")
    func roundTrip() throws {
        let template = try ChatTemplate(tokenizer: try chatTokenizer())
        var g = SeededGenerator(seed: 5)
        let pieces = ["Hi", " there", "\n", "<|im_end|>", "<|im_start|>assistant\n", "<|endoftext|>", "静夜思", "😀",
                      "user\n", "", "a\n\nb", "<|pad|>", "<|", "|>"]
        for _ in 0..<200 {
            let turns = 1 + g.integer(below: 5)
            let messages = (0..<turns).map { _ in
                ChatMessage(ChatRole.allCases[g.integer(below: 3)],
                            (0..<g.integer(below: 6)).map { _ in pieces[g.integer(below: pieces.count)] }.joined())
            }
            let encoded = template.encode(messages)
            #expect(try template.parse(encoded.ids) == messages)
            // Escaped: a message holds no special token, so a user cannot close a turn or forge one.
            let starts = encoded.ids.filter { $0 == template.start }.count
            #expect(starts == messages.count)
        }
    }

    @Test("ChatML: a malformed sequence is refused with the token position")
    func parseErrors() throws {
        let bpe = try chatTokenizer()
        let template = try ChatTemplate(tokenizer: bpe)
        let good = template.encode([ChatMessage(.user, "Hi"), ChatMessage(.assistant, "Yo")]).ids
        let role = bpe.encode(bytes: Array("robot\n".utf8))
        let cases: [([Int], Int, String)] = [
            (Array(good.dropFirst()), 0, "expected <|im_start|>"),
            (Array(good.dropLast(2)), 0, "never closed"),                        // last turn loses <|im_end|>⏎
            ([template.start] + role + [template.end] + template.newline, 1, "role line"),
            ([template.start] + bpe.encode(bytes: Array("user\n".utf8)) + [bpe.specialId("<|pad|>")!, template.end], 3,
             "special token inside"),
        ]
        for (ids, _, reason) in cases {
            #expect {
                try template.parse(ids)
            } throws: { error in
                guard case ChatTemplateError.malformed(_, let why) = error else { return false }
                return why.contains(reason)
            }
        }
        // Which token: the second turn's header is position good.count / 2 or so; check one exactly.
        let broken = good.prefix(good.firstIndex(of: template.end)! + 1) + [template.start]
        #expect(throws: ChatTemplateError.malformed(position: good.firstIndex(of: template.end)! + 1,
                                                    reason: "expected a newline after <|im_end|>")) {
            try template.parse(Array(broken))
        }
        let noSpecials = try BPETrainer.train(documents: ["plain"], vocabularySize: 260, specialTokens: []).tokenizer
        #expect(throws: ChatTemplateError.missingSpecialToken("<|im_start|>")) { try ChatTemplate(tokenizer: noSpecials) }
    }

    @Test("masked positions contribute exactly zero: their logits get zero gradient, and changing their targets changes nothing")
    func maskedGradientIsZero() throws {
        let bpe = try chatTokenizer()
        let template = try ChatTemplate(tokenizer: bpe)
        let example = template.encode([ChatMessage(.user, "Who said it?"), ChatMessage(.assistant, "Shakespeare")]).example
        let source = try MaskedExamples(train: [example], validation: [example], batchSize: 1, length: 40,
                                        padding: bpe.specialId("<|pad|>")!)
        let batch = source.batch([example])
        let ignored = batch.targets.indices.filter { batch.targets[$0] == TokenBatch.ignoreIndex }
        #expect(!ignored.isEmpty && ignored.count < batch.targets.count)
        // 1. Finite differences through the masked loss agree with the analytic gradient ...
        var g = SeededGenerator(seed: 3)
        let v = bpe.vocabularySize
        let logits = Variable.parameter(Tensor.randomNormal([batch.targets.count, v], using: &g), name: "logits")
        let report = GradientCheck.run([logits]) { tape, x in
            tape.crossEntropy(x[0], targets: batch.targets, ignoreIndex: TokenBatch.ignoreIndex)
        }
        #expect(report.passed, "\(report)")
        // ... and both are exactly zero on every masked row: nudging a masked logit moves the loss by 0.
        let tape = Tape()
        tape.backward(tape.crossEntropy(logits, targets: batch.targets, ignoreIndex: TokenBatch.ignoreIndex))
        let grad = logits.grad!.scalars
        for row in ignored { #expect(grad[(row * v)..<((row + 1) * v)].allSatisfy { $0 == 0 }) }
        func loss() -> Float {
            Tape.inference.crossEntropy(logits, targets: batch.targets, ignoreIndex: TokenBatch.ignoreIndex).value.item
        }
        let before = loss()
        logits.value[flat: ignored[0] * v + 7] += 0.5
        #expect(loss() == before)
        // 2. Through a model: the same inputs with different tokens where the mask is off give the same
        //    gradient on every parameter.
        let model = try GPT(.gpt2Style(vocabularySize: v, contextLength: 40, layers: 1, heads: 2, embeddingSize: 16), seed: 1)
        func gradients(_ targets: [Int]) -> [[Float]] {
            model.parameters.forEach { $0.grad = nil }
            let tape = Tape()
            tape.backward(Losses.nextToken(model, TokenBatch(inputs: batch.inputs, targets: targets), tape))
            return model.parameters.map { $0.grad?.scalars ?? [] }
        }
        let reference = gradients(batch.targets)
        var unmasked = batch.targets
        unmasked[ignored[0]] = 5
        #expect(gradients(unmasked) != reference, "the check can fail: scoring a masked position changes the gradient")
        #expect(gradients(batch.targets) == reference)
    }

    @Test("instruction data: every task appears, splits are by entry, and no test entry reaches a training example")
    func instructionSplits() throws {
        let corpus = instructionCorpus()
        let splits = InstructionData.build(corpus, topics: ["computers", "food", "science"])
        #expect(Set(splits.train.map(\.task)) == Set(InstructionTask.allCases))
        #expect(Set(splits.test.map(\.task)) == Set(InstructionTask.allCases))
        for split in InstructionSplit.allCases {
            #expect(splits[split].allSatisfy { InstructionSplit.of(entry: $0.entry) == split })
        }
        // By text, not only by index: no held-out entry's words are in any training or validation example.
        let heldOut = corpus.entries.indices.filter(Corpus.isHeldOut)
        let seen = (splits.train + splits.validation).map { $0.request + "\n" + $0.answer }.joined(separator: "\n")
        for i in heldOut {
            let marker = Corpus.poemTopics.contains(corpus.entries[i].topic) ? "\(i)，" : "Fortune \(i) "
            #expect(!seen.contains(marker), "entry \(i) leaked")
        }
        // Poems in both formats: title, author without dates, clauses with their punctuation.
        let tang = try #require(Poem(corpus.entries[60].text)), song = try #require(Poem(corpus.entries[61].text))
        #expect(tang.title == "诗60" && tang.author == "诗人0" && tang.clauses.first == "床前明月光60，")
        #expect(song.title == "词61" && song.author == "词人1" && song.clauses.prefix(2) == ["鸣骹直上一千尺61，", "天静无风声更干。"])
        let author = try #require(splits.train.first { $0.task == .poemAuthor && $0.entry == 60 })
        #expect(author.request == "《诗60》的作者是谁？" && author.answer == "诗人0")
        let attribution = try #require(splits.train.first { $0.task == .attribution && $0.entry == 0 })
        #expect(attribution.answer == "Author 0" && !attribution.request.contains("--"))
        #expect(InstructionData.build(corpus, topics: ["computers", "food", "science"]).train == splits.train,
                "deterministic")
    }

    @Test("JSONL: conversations round trip; a bad line is one error naming its number, and nothing is returned")
    func jsonl() throws {
        let conversations = [[ChatMessage(.user, "Hi \"there\"\n"), ChatMessage(.assistant, "静夜思 / 😀")],
                             [ChatMessage(.system, "s"), ChatMessage(.user, "u"), ChatMessage(.assistant, "a")]]
        let text = try ChatJSONL.encode(conversations, extra: [["task": "x"], [:]])
        #expect(text.split(separator: "\n").count == 2)
        #expect(try ChatJSONL.parse(text + "\n\n", path: "f.jsonl") == conversations)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try ChatJSONL.write(conversations, to: url)
        #expect(try ChatJSONL.read(url) == conversations)
        let good = String(text.split(separator: "\n")[0])
        let bad: [(String, String)] = [
            ("{\"messages\": [", "not valid JSON"), ("[1, 2]", "a JSON value that is not an object"), ("{\"msgs\": []}", "no \"messages\" array"),
            ("{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "message 1 has no role system, user or assistant"),
            ("{\"messages\": [{\"role\": \"user\"}]}", "message 1 has no \"content\" string"),
            ("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "no assistant message to learn"),
        ]
        for (line, reason) in bad {
            #expect(throws: ChatJSONLError.badLine(path: "f.jsonl", line: 3, reason: reason)) {
                try ChatJSONL.parse([good, good, line, good].joined(separator: "\n"), path: "f.jsonl")
            }
            #expect(ChatJSONLError.badLine(path: "f.jsonl", line: 3, reason: reason).description.hasPrefix("'f.jsonl' line 3: "))
        }
        #expect(throws: ChatJSONLError.empty(path: "f.jsonl")) { try ChatJSONL.parse("\n \n", path: "f.jsonl") }
        try Data([0xFF, 0xFE]).write(to: url)
        #expect(throws: ChatJSONLError.unreadable(path: url.path)) { try ChatJSONL.read(url) }
    }

    @Test("last-real-token pooling: a text's class scores do not depend on how much padding its batch needs")
    func poolingIgnoresPadding() throws {
        let bpe = try chatTokenizer()
        let model = try GPT(.llamaStyle(vocabularySize: bpe.vocabularySize, contextLength: 64, layers: 2, heads: 2,
                                        kvHeads: 1, embeddingSize: 16), seed: 3)
        let classifier = TopicClassifier(model: model, topics: ["a", "b", "c"], tokenizer: bpe, seed: 4)
        let short = "Hi", long = String(repeating: "Tell me a fortune about computers. ", count: 3)
        let alone = classifier.probabilities([short])[0]
        let padded = classifier.probabilities([short, long])[0]
        expectClose(padded, alone, 1e-6, "padding after the last real token")
        // The classic bug, reading the last position of the padded row instead, would differ:
        let rows = [classifier.tokens(short), classifier.tokens(long)]
        let t = rows.map(\.count).max()!
        let wrong = LabelledBatch(inputs: rows.map { $0 + [Int](repeating: classifier.padding, count: t - $0.count) },
                                  lastPositions: [t - 1, t - 1], labels: [0, 0])
        let wrongScores = Losses.classScores(model, head: classifier.head, wrong).scalars
        let rightScores = Losses.classScores(model, head: classifier.head, try LabelledExamples(
            train: [(rows[0], 0), (rows[1], 0)], validation: [(rows[0], 0)], batchSize: 2, length: 64,
            padding: classifier.padding).batch([(rows[0], 0), (rows[1], 0)])).scalars
        #expect(zip(wrongScores.prefix(3), rightScores.prefix(3)).contains { abs($0 - $1) > 1e-4 })
        // Saved and loaded, the classifier gives the same probabilities; a bad head file is named.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try classifier.save(to: folder)
        let loaded = try TopicClassifier.load(from: folder, tokenizer: bpe)
        #expect(loaded.topics == ["a", "b", "c"] && loaded.probabilities([short, long]) == classifier.probabilities([short, long]))
        try Data("{\"topics\": [\"a\"]}".utf8).write(to: folder.appendingPathComponent(TopicClassifier.topicsFileName))
        #expect(throws: CheckpointError.self) { try TopicClassifier.load(from: folder, tokenizer: bpe) }
    }

    @Test("classification report by hand: accuracy, per-class F1, macro-F1, confusion; errors for bad input")
    func report() throws {
        // labels      0 0 0 1 1 2
        // predictions 0 0 1 1 0 0
        let r = try ClassificationReport(predictions: [0, 0, 1, 1, 0, 0], labels: [0, 0, 0, 1, 1, 2], classes: 3)
        #expect(r.confusion == [[2, 1, 0], [1, 1, 0], [1, 0, 0]])
        #expect(r.accuracy == 3.0 / 6)
        // class 0: P = 2/4, R = 2/3 → F1 = 2·2/(4+3) = 4/7; class 1: P = 1/2, R = 1/2 → 1/2; class 2: 0.
        #expect(r.f1[0]! == 4.0 / 7 && r.f1[1]! == 0.5 && r.f1[2]! == 0)
        #expect(abs(r.macroF1 - (4.0 / 7 + 0.5) / 3) < 1e-12)
        #expect(try ClassificationReport(predictions: [0], labels: [0], classes: 3).f1 == [1, nil, nil])
        #expect(majorityClass([2, 1, 1, 2, 0, 2]) == 2 && majorityClass([1, 0]) == 0)
        #expect(throws: CourseError.self) { try ClassificationReport(predictions: [0, 1], labels: [0], classes: 2) }
        #expect(throws: CourseError.self) { try ClassificationReport(predictions: [3], labels: [0], classes: 2) }
    }

    @Test("naive Bayes by hand: the textbook example, and unseen words are skipped")
    func naiveBayes() {
        // Manning, Raghavan & Schütze, Introduction to Information Retrieval, Example 13.1: class China (0).
        let documents = ["Chinese Beijing Chinese", "Chinese Chinese Shanghai", "Chinese Macao", "Tokyo Japan Chinese"]
        let nb = NaiveBayes(documents: documents, labels: [0, 0, 0, 1], classes: 2)
        // P(c) = 3/4; P(Chinese|c) = (5+1)/(8+6) = 3/7; P(Tokyo|c) = P(Japan|c) = 1/14.
        // P(¬c) = 1/4; P(Chinese|¬c) = (1+1)/(3+6) = 2/9; P(Tokyo|¬c) = P(Japan|¬c) = 2/9.
        let s = nb.scores("Chinese Chinese Chinese Tokyo Japan")
        #expect(abs(s[0] - log(3.0 / 4 * pow(3.0 / 7, 3) * pow(1.0 / 14, 2))) < 1e-9)
        #expect(abs(s[1] - log(1.0 / 4 * pow(2.0 / 9, 5))) < 1e-9)
        #expect(nb.predict("Chinese Chinese Chinese Tokyo Japan") == 0)
        #expect(nb.scores("Chinese unseenword") == nb.scores("Chinese"))
        #expect(nb.predict("Tokyo Japan") == 1)
    }

    @Test("topic classification data: balanced in every split, split by entry like the instruction data")
    func topicData() throws {
        let data = try TopicClassification(instructionCorpus(), topics: ["computers", "food", "science"])
        for split in [data.train, data.validation, data.test] {
            let counts = Dictionary(grouping: split, by: \.label).mapValues(\.count)
            #expect(counts.count == 3 && Set(counts.values).count == 1)
        }
        #expect(data.test.allSatisfy { Corpus.isHeldOut($0.entry) })
        #expect(data.train.allSatisfy { InstructionSplit.of(entry: $0.entry) == .train })
        #expect(throws: CourseError.self) { try TopicClassification(instructionCorpus(), topics: ["computers", "art"]) }
    }

    @Test("length grouping: batches pad less, and every row is still its example's masked row")
    func lengthGrouping() throws {
        var g = SeededGenerator(seed: 9)
        let examples = (0..<200).map { i -> MaskedExample in
            let n = i % 2 == 0 ? 3 + g.integer(below: 3) : 30 + g.integer(below: 10)
            return MaskedExample(prompt: [1], response: (0..<n).map { _ in 2 + g.integer(below: 50) })
        }
        var plain = try MaskedExamples(train: examples, validation: examples, batchSize: 8, length: 64, padding: 0)
        var grouped = plain
        grouped.grouping = 8
        var r1 = SeededGenerator(seed: 1), r2 = SeededGenerator(seed: 1)
        func padded(_ source: MaskedExamples, _ random: inout SeededGenerator) -> Int {
            (0..<20).map { _ in source.trainingBatch(&random) }.reduce(0) { total, batch in
                total + batch.inputs.joined().filter { $0 == 0 }.count
            }
        }
        let (before, after) = (padded(plain, &r1), padded(grouped, &r2))
        #expect(after * 3 < before, "padding \(before) → \(after)")
        var r3 = SeededGenerator(seed: 2)
        let batch = grouped.trainingBatch(&r3)
        let t = batch.inputs[0].count
        for (k, inputs) in batch.inputs.enumerated() {
            let example = try #require(examples.first { MaskedExamples.row($0, length: t, padding: 0).inputs == inputs })
            #expect(Array(batch.targets[(k * t)..<((k + 1) * t)]) == MaskedExamples.row(example, length: t, padding: 0).targets)
        }
        plain.grouping = 1
        #expect(plain.trainingBatch(&r1).inputs.count == 8)
    }

    @Test("chat session: old exchanges are dropped to fit the context and counted; a message too long is an error")
    func chatSessionContext() throws {
        let bpe = try chatTokenizer()
        let model = try GPT(.llamaStyle(vocabularySize: bpe.vocabularySize, contextLength: 64, layers: 1, heads: 2,
                                        kvHeads: 1, embeddingSize: 16), seed: 5)
        let session = ChatSession(model: model, template: try ChatTemplate(tokenizer: bpe), system: "Be brief.")
        var random = SeededGenerator(seed: 1)
        var dropped: [Int] = []
        for turn in 0..<6 {
            let reply = try session.reply(to: "Tell me a fortune about computers \(turn).", maxTokens: 6,
                                          settings: .greedy, random: &random)
            dropped.append(reply.droppedMessages)
            let prompt = session.template.encode([ChatMessage(.system, "Be brief.")] + session.history).ids
            #expect(prompt.count <= 64 + 6, "the kept history fits the context with the reply")
            #expect(session.history.last?.role == .assistant && session.history.first?.role == .user)
        }
        #expect(dropped.first == 0 && dropped.contains { $0 >= 2 }, "\(dropped)")
        #expect(dropped.allSatisfy { $0 % 2 == 0 }, "whole exchanges are dropped: \(dropped)")
        #expect(throws: ChatSessionError.self) {
            try session.reply(to: String(repeating: "computers ", count: 40), maxTokens: 6, settings: .greedy,
                              random: &random)
        }
        session.reset()
        #expect(session.history.isEmpty && session.system == "Be brief.")
        // Streaming hands out whole characters: a 3-byte character split over tokens waits for its last byte.
        let bytes = Array("a静".utf8)
        #expect(ChatSession.completeUTF8Prefix(Array(bytes.prefix(2))) == 1)
        #expect(ChatSession.completeUTF8Prefix(bytes) == bytes.count)
        #expect(ChatSession.completeUTF8Prefix(Array("ab".utf8)) == 2)
    }

    @Test("SFT examples: masked or not, too long ones dropped and counted")
    func sftExamples() throws {
        let template = try ChatTemplate(tokenizer: try chatTokenizer())
        let conversations = [[ChatMessage(.user, "Hi"), ChatMessage(.assistant, "Hello")],
                             [ChatMessage(.user, String(repeating: "long ", count: 50)), ChatMessage(.assistant, "x")]]
        let masked = SFTData.examples(conversations, template: template, length: 20)
        #expect(masked.kept == [0] && masked.dropped == 1)
        #expect(masked.examples[0].scored == template.encode(conversations[0]).scored)
        let plain = SFTData.examples(conversations, template: template, length: 20, masked: false)
        #expect(plain.examples[0].scored == [false] + [Bool](repeating: true, count: plain.examples[0].tokens.count - 1))
    }
}

@Suite("Fine-tuning against Python oracles (optional)")
struct FinetuningOracleTests {
    func write(_ object: Any) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("oracle-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url
    }

    @Test("ChatML: our renderer equals the Jinja template Hugging Face tokenizers would apply (jinja2)")
    func jinja() throws {
        let conversations: [[ChatMessage]] = [
            [ChatMessage(.user, "Hi")],
            [ChatMessage(.system, "Be brief."), ChatMessage(.user, "Who said: “…”?"), ChatMessage(.assistant, "Me.")],
            [ChatMessage(.user, "a\nb <|im_end|>"), ChatMessage(.assistant, ""), ChatMessage(.user, "静夜思")],
        ]
        let input = try write(["template": ChatTemplate.jinja,
                               "conversations": conversations.map { $0.map { ["role": $0.role.rawValue, "content": $0.content] } }])
        defer { try? FileManager.default.removeItem(at: input) }
        guard let data = try runPythonFixture("sft_oracles.py", ["jinja", input.path], needs: "jinja2") else { return }
        let rendered = try #require(try JSONSerialization.jsonObject(with: data) as? [String])
        let ours = conversations.flatMap { [ChatTemplate.render($0), ChatTemplate.render($0, generationPrompt: true)] }
        #expect(rendered == ours)
    }

    @Test("naive Bayes and macro-F1 equal scikit-learn's MultinomialNB and f1_score(average=\"macro\")")
    func sklearn() throws {
        var g = SeededGenerator(seed: 12)
        let vocabulary = [["disk", "bug", "code", "Linux"], ["bread", "soup", "cheese", "apple"], ["star", "atom", "law"]]
        var train: [String] = [], labels: [Int] = []
        for _ in 0..<60 {
            let c = g.integer(below: 3)
            let words = (0..<(3 + g.integer(below: 6))).map { _ in
                g.integer(below: 4) == 0 ? vocabulary[g.integer(below: 3)].randomElement(using: &g)! : vocabulary[c].randomElement(using: &g)!
            }
            train.append(words.joined(separator: " ") + ".")
            labels.append(c)
        }
        let test = ["disk bug soup", "Cheese, apple!", "star atom unseen", "nothing known"]
        let nb = NaiveBayes(documents: train, labels: labels, classes: 3)
        let predictions = [0, 0, 1, 1, 2, 0, 2], truth = [0, 1, 1, 1, 2, 2, 0]
        let input = try write(["train": train, "labels": labels, "test": test, "classes": 3,
                               "predictions": predictions, "truth": truth])
        defer { try? FileManager.default.removeItem(at: input) }
        guard let data = try runPythonFixture("sft_oracles.py", ["sklearn", input.path], needs: "scikit-learn") else { return }
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let joint = try #require(object["joint"] as? [[Double]])
        for (document, theirs) in zip(test, joint) {
            let ours = nb.scores(document)
            #expect(zip(ours, theirs).allSatisfy { abs($0 - $1) < 1e-9 * max(1, abs($1)) }, "\(document): \(ours) vs \(theirs)")
        }
        let f1 = try #require(object["macro_f1"] as? Double)
        #expect(abs(try ClassificationReport(predictions: predictions, labels: truth, classes: 3).macroF1 - f1) < 1e-12)
    }
}
