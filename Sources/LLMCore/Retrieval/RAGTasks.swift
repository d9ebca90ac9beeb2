// Introduced in Chapter 09. The questions retrieval is measured on, and how a chat model is shown what was found.
//
// Questions come from the corpus, split by entry as in Chapter 05 (test = the entries Chapter 04 held out, which
// no model has trained on; the index holds every entry — it is a library, not a training set):
//
//   attribution   "Who said: “… the middle half of the quote …”?" → the `-- Author`; gold: the entry's
//                 chunks.
//                 Only part of the quote is given, so the retriever must match words, not the whole entry.
//   poem author   《静夜思》的作者是谁？ → 李白; gold: the poem's chunks.
//   topic         "Tell me a fortune about food." → gold: every chunk of the topic file.
//
// The reader's prompt (one user turn in the chat template), chunks best first, each cut to its last
// `chunkTokens` tokens (an attribution is the last line of a fortune, so the end is what to keep):
//
//   Context:
//   [1] <chunk>
//   [2] <chunk>
//   Question: Who said: “…”?

import Foundation

public struct RAGQuestion: Sendable, Equatable {
    public let task: InstructionTask
    public let request: String
    public let answer: String
    /// The corpus entry the question is about (−1 for topic requests).
    public let entry: Int
    /// The chunks that answer it.
    public let gold: Set<Int>
}

public enum RAGTasks {
    /// "Who said: “… middle …”?" for a quote of eight or more words (its middle half, at least six words),
    /// else the whole quote.
    public static func partialAttributionRequest(_ quote: String) -> String {
        let words = quote.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count >= 8 else { return InstructionData.attributionRequest(quote) }
        let length = max(6, words.count / 2), start = (words.count - length) / 2
        return "Who said: “… \(words[start..<(start + length)].joined(separator: " ")) …”?"
    }

    /// The questions of `split` with their gold chunks: attribution and poem-author for every entry that has one,
    /// and one topic request per phrasing for each of `topics`.
    public static func questions(_ corpus: Corpus, chunks: [Chunk], split: InstructionSplit, topics: [String])
        -> [RAGQuestion] {
        var byEntry: [Int: Set<Int>] = [:], bySource: [String: Set<Int>] = [:]
        for (i, chunk) in chunks.enumerated() {
            byEntry[chunk.entry, default: []].insert(i)
            bySource[chunk.source, default: []].insert(i)
        }
        var out: [RAGQuestion] = []
        for (index, entry) in corpus.entries.enumerated() where InstructionSplit.of(entry: index) == split {
            guard let gold = byEntry[index] else { continue }
            if Corpus.poemTopics.contains(entry.topic), let poem = Poem(entry.text) {
                out.append(RAGQuestion(task: .poemAuthor, request: "《\(poem.title)》的作者是谁？",
                                       answer: poem.author, entry: index, gold: gold))
            } else if let author = entry.attribution, author.count <= 40,
                      entry.text.count <= InstructionData.maxCharacters {
                let quote = InstructionData.quote(of: entry)
                guard !quote.isEmpty else { continue }
                out.append(RAGQuestion(task: .attribution, request: partialAttributionRequest(quote), answer: author,
                                       entry: index, gold: gold))
            }
        }
        for topic in topics {
            guard let gold = bySource[topic] else { continue }
            for variant in 0..<4 {
                out.append(RAGQuestion(task: .topic, request: InstructionData.topicRequest(topic, variant: variant),
                                       answer: "", entry: -1, gold: gold))
            }
        }
        return out
    }

    /// `count` items spread evenly over `items` (all of them when there are fewer).
    public static func spread<T>(_ items: [T], _ count: Int) -> [T] {
        items.count <= count ? items : (0..<count).map { items[$0 * items.count / count] }
    }

    /// The reader's user turn: the chunks (each its last `chunkTokens` tokens), then the question.
    public static func prompt(question: String, chunks: [String], tokenizer: BPETokenizer, chunkTokens: Int = 48)
        -> String {
        var lines = ["Context:"]
        for (i, chunk) in chunks.enumerated() {
            let ids = tokenizer.encode(bytes: Array(chunk.utf8))
            var text = chunk
            if ids.count > chunkTokens {
                let tail = (try? tokenizer.decodeBytes(Array(ids.suffix(chunkTokens)))) ?? []
                text = "…" + String(decoding: tail, as: UTF8.self)
            }
            lines.append("[\(i + 1)] " + text.replacingOccurrences(of: "\n", with: " "))
        }
        lines.append("Question: " + question)
        return lines.joined(separator: "\n")
    }

    /// The reader's prompt cut to fit: chunks of at most 48 tokens each, fewer tokens per chunk (down to 8), then
    /// fewer chunks, until the chat prompt and `answerTokens` fit `context`.
    public static func fittedPrompt(question: String, chunks: [String], tokenizer: BPETokenizer,
                                    template: ChatTemplate, context: Int, answerTokens: Int) -> String {
        var kept = chunks, perChunk = 48
        while true {
            let text = kept.isEmpty ? question : prompt(question: question, chunks: kept, tokenizer: tokenizer,
                                                        chunkTokens: perChunk)
            let length = template.encode([ChatMessage(.user, text)], generationPrompt: true).ids.count
            if length + answerTokens <= context || kept.isEmpty { return text }
            if perChunk > 8 { perChunk -= 8 } else { kept.removeLast() }
        }
    }

    /// The answer a chunk carries for the course's questions: a fortune's `-- Author`, a poem's author.
    public static func candidate(of chunk: String) -> String? {
        Poem(chunk)?.author ?? Corpus.attribution(of: chunk)
    }

    /// log p(`answer` then `<|im_end|>` | the user turn `prompt`) under a chat model: one forward pass over the
    /// rendered conversation, the log-probabilities of the reply's tokens summed. Nil when it does not fit.
    public static func replyLogProbability(_ model: GPT, _ template: ChatTemplate, prompt: String, answer: String)
        -> Double? {
        let encoded = template.encode([ChatMessage(.user, prompt), ChatMessage(.assistant, answer)])
        let ids = encoded.ids
        guard ids.count >= 2, ids.count <= model.config.contextLength + 1 else { return nil }
        let inputs = Array(ids.dropLast())
        let targets = (1..<ids.count).map { encoded.scored[$0] ? ids[$0] : -100 }
        let tape = Tape(recording: false)
        return Double(tape.sequenceLogProbabilities(model([inputs], tape), targets: targets).value.scalars[0])
    }

    /// Extractive reading: of the distinct answers the chunks carry (in rank order), the one the model finds
    /// most likely as its reply to `prompt` (nil when no chunk carries one). Ties go to the higher-ranked chunk.
    public static func chooseAnswer(_ model: GPT, _ template: ChatTemplate, prompt: String, chunks: [String])
        -> String? {
        var seen = Set<String>(), best: (answer: String, score: Double)?
        for answer in chunks.compactMap(candidate) where seen.insert(answer).inserted {
            guard let score = replyLogProbability(model, template, prompt: prompt, answer: answer) else { continue }
            if score > (best?.score ?? -.infinity) { best = (answer, score) }
        }
        return best?.answer
    }
}
