//: # Chapter 05 — Supervised fine-tuning
//:
//: What we build: a chat model from the Chapter 04 base model. A base model continues text; a chat model
//: answers requests. Between them lie data (requests paired with answers, made here from the corpus
//: itself), a chat template (how a conversation becomes one token sequence), a loss mask (the model is
//: graded only on what the assistant says) and a few minutes of the same training loop. Before that, the
//: simplest fine-tuning of all: a topic classifier, a linear head on the model's last hidden state —
//: which then grades whether the chat model writes on the topic it was asked for. And for comparison,
//: what prompting alone gets out of the base model, with 0 to 5 solved examples in the prompt.
//:
//: What we leave out: preference tuning (RLHF, DPO: Chapter 11), parameter-efficient fine-tuning
//: (LoRA: Chapter 06), multi-turn training data (the template handles it; our tasks are single-turn).
//:
//: Run it: `swift run -c release ch05` (about 3 minutes on 2 cores; `--quick` under 30 seconds). Needs the
//: Chapter 01 tokenizer and the Chapter 04 base model; with `--quick` it trains tiny stand-ins when they
//: are missing. Writes the chat model to `runs/course/sft/checkpoint/` (with `chat_template.json` and
//: `tasks.json`) and the topic classifier to `runs/course/sft/classifier/`, for Chapters 06–12; the
//: instruction data as `sft-train.jsonl`, `sft-validation.jsonl`, `sft-test.jsonl` and plots in
//: `runs/course/05-sft/`: `classifier-regimes.png`, `confusion.png`, `few-shot.png`, `masking.png`,
//: `task-loss.png`.
//:
//: Legend: k shots in a prompt (or k topics), B batch, T context length, EM exact match.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

@main
struct SFTChapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch05",
        abstract: "Chapter 05 — Supervised fine-tuning: instruction data, ChatML and loss masking, a classifier, " +
                  "a chat model.")

    @OptionGroup var options: ChapterOptions

    @OptionGroup var corpus: CorpusOption   // default: the pretraining corpus (English fortunes + poems)
    @OptionGroup var tokenizer: TokenizerOption

    @Option(help: "The base model (default: <run-dir>/pretrain/checkpoint, written by Chapter 04).")
    var checkpoint: String?

    static func main() { Foundation.exit(Chapter.main(Self.self)) }

    func run() throws {
        let chapter = try ChapterContext(options: options, chapter: "05-sft")
        let text = try corpus.load(default: .pretraining)
        let bpe = try tokenizer.load(options, corpus: text)
        let baseFolder = checkpoint.map { URL(fileURLWithPath: $0) } ?? options.artifacts.url(.baseModel)
        let base = try ChapterInputs.baseModel(baseFolder, corpus: text, tokenizer: bpe, quick: options.quick,
                                               seed: options.seed)
        chapter.banner("Chapter 05 — Supervised fine-tuning")
        let lesson = try Lesson(chapter: chapter, bpe: bpe, corpus: text, base: base)
        let data = try lesson.instructionData()                                   // 5.1
        try lesson.chatTemplate(data)                                             // 5.2
        let (classifier, bayes) = try lesson.classifier()                         // 5.3
        let prompting = try lesson.prompting(data, judge: classifier, bayes: bayes)   // 5.4
        let chat = try lesson.fineTune(data)                                      // 5.5
        try lesson.results(data, chat: chat, judge: classifier, bayes: bayes, prompting: prompting)   // 5.6
    }
}

/// What the sections share: the base model's weights (each run starts from a fresh copy), the tokenizer
/// and template, the corpus, and the chapter's run folder.
struct Lesson {
    let chapter: ChapterContext
    let bpe: BPETokenizer
    let template: ChatTemplate
    let corpus: Corpus
    let baseConfig: GPTConfig
    let baseWeights: [Tensor]
    var quick: Bool { chapter.quick }
    var seed: UInt64 { chapter.options.seed }
    var context: Int { baseConfig.contextLength }

    init(chapter: ChapterContext, bpe: BPETokenizer, corpus: Corpus, base: GPT) throws {
        self.chapter = chapter
        self.bpe = bpe
        template = try ChatTemplate(tokenizer: bpe)
        self.corpus = corpus
        baseConfig = base.config
        baseWeights = base.parameters.map(\.value)
    }

    /// A fresh copy of the base model.
    func freshBase() throws -> GPT {
        let model = try GPT(baseConfig, seed: seed)
        for (parameter, weights) in zip(model.parameters, baseWeights) { parameter.value = weights }
        return model
    }

    func shown(_ text: String, _ limit: Int = 90) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }

    // MARK: - 5.1 Instruction data from the corpus

    //: A chat model learns from conversations: a request, and the answer we want. The corpus already holds
    //: thousands of answers; we only have to ask the questions. From each fortune: "Tell me a fortune about
    //: <its topic>" (four phrasings; for the eight topics the classifier of 5.3 knows, so that it can
    //: grade the answers), "Who said: “<the quote>”?" when it has an `-- Author` line, and
    //: "Finish this fortune: <its first half>". From each poem: who wrote it, the clause that follows a
    //: clause, and "write a poem by <poet>". The split is by source entry, never by example: the entries
    //: Chapter 04 held out are the test split (neither model has read them), every tenth of the rest is
    //: validation. A held-out fortune therefore appears in no training example of any task. Tasks are capped
    //: so that the rare Chinese ones are not drowned by the English ones; topic requests, the task we can
    //: grade best, may have five times as many. The same examples are written as
    //: JSONL in the chat-messages format other tools read — `llm sft --data` takes such a file.
    func instructionData() throws -> InstructionSplits {
        Console.section("5.1 Instruction data from the corpus")
        let (all, splits) = CourseTasks.splits(corpus, topics: try classifierTopics(), quick: quick)
        let rows = InstructionTask.allCases.map { task in
            [task.rawValue] + [all.train, splits.train, splits.validation, splits.test].map { split in
                Format.integer(split.filter { $0.task == task }.count)
            }
        }
        Console.printTable(["task", "available", "train (capped)", "validation", "test"], rows)
        print("  examples, one per task (from the training split):")
        for task in InstructionTask.allCases {
            guard let example = splits.train.first(where: { $0.task == task }) else { continue }
            print("    \(task.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)) " +
                  "\(shown(example.request, 60))  →  \(shown(example.answer, 40))")
        }
        for (name, split) in [("train", splits.train), ("validation", splits.validation), ("test", splits.test)] {
            try ChatJSONL.write(split.map { $0.messages }, extra: split.map { ["task": $0.task.rawValue] },
                                to: chapter.folder.file("sft-\(name).jsonl"))
        }
        print("  written: \(Chapter.relativePath(chapter.folder.file("sft-train.jsonl").path)) (and validation, test)")
        return splits
    }

    // MARK: - 5.2 The chat template and the loss mask

    //: The model reads one token sequence, so a conversation must become one. ChatML marks each turn with
    //: two special tokens the tokenizer has had since Chapter 01: `<|im_start|>role⏎ … <|im_end|>⏎`. To ask
    //: for a reply, the prompt ends with an open `<|im_start|>assistant⏎`; the model's `<|im_end|>` ends it.
    //: A user who types "<|im_end|>" gets it encoded as plain text, so no message can close its own turn.
    //:
    //: The loss mask: the targets are the assistant's tokens and its `<|im_end|>` — everything else gets
    //: the ignore index −100, which `crossEntropy` skips, so the model is not trained to write the user's
    //: side. Below, one training example with its scored tokens in [brackets]. Batches are padded, not
    //: packed: each conversation is its own row, right-padded with `<|pad|>` (targets −100) to the longest
    //: in the batch.
    func chatTemplate(_ data: InstructionSplits) throws {
        Console.section("5.2 The chat template and the loss mask")
        guard let example = data.train.first(where: { $0.task == .poemAuthor }) ?? data.train.first else { return }
        print("  rendered: \(shown(ChatTemplate.render(example.messages), 110))")
        let encoded = template.encode(example.messages)
        var pieces: [String] = [], run: [Int] = [], scoring = false
        func flush() {
            guard !run.isEmpty else { return }
            let text = shown((try? bpe.decode(run)) ?? "?", 200)
            pieces.append(scoring ? "[\(text)]" : text)
            run = []
        }
        for (id, scored) in zip(encoded.ids, encoded.scored) {
            if scored != scoring { flush(); scoring = scored }
            run.append(id)
        }
        flush()
        print("  targets:  \(pieces.joined())")
        let scored = encoded.scored.filter { $0 }.count
        print("  \(encoded.ids.count) tokens, \(scored) of them scored")
        let conversations = data.train.map(\.messages)
        let kept = SFTData.examples(conversations, template: template, length: context)
        let lengths = kept.examples.map(\.tokens.count)
        let mean = Double(lengths.reduce(0, +)) / Double(max(lengths.count, 1))
        let scoredShare = Double(kept.examples.map { $0.scored.filter { $0 }.count }.reduce(0, +)) /
                          Double(max(lengths.reduce(0, +), 1))
        Console.keyValues([
            ("training conversations", "\(Format.integer(kept.examples.count)) fit the \(context)-token context, " +
                                       "\(kept.dropped) do not (left out: a cut answer teaches a cut ending)"),
            ("mean length", String(format: "%.0f tokens, %.0f%% of them scored", mean, 100 * scoredShare)),
        ])
    }
}
