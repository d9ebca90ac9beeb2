//: ## Chapter 06, part two — LoRA against full fine-tuning, ranks, targets, merging, swapping

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

extension LoRALesson {
    // MARK: - 6.3 LoRA against full fine-tuning

    //: The same data, batches and number of steps as the full fine-tune of 6.1, now with r = 8 adapters on
    //: every linear layer and everything else frozen. LoRA gets a higher learning rate (1e-2 against
    //: 2e-3): its update starts at zero and lives in a small space, so it has further to go per step — the
    //: usual practice (`--lora-learning-rate` changes it). What it saves is in the first table: trainable
    //: numbers, the optimizer's two moment buffers (AdamW keeps m and v for every trainable number: 8 bytes
    //: each), and the step time — the three taking turns one step at a time on the same batches, twelve
    //: rounds, in this run (the median). A LoRA step still runs the whole forward and backward pass through
    //: the frozen network (the gradient has to reach the adapters of the first block); it skips the weight
    //: gradients of the frozen matrices (a third of their products) and the optimizer update of every frozen
    //: weight. On this small model the rest of the step (attention, norms, the loss over 4,096 logits per
    //: position) is the same for both, so the saving is a fifth at most, and the trainable token rows
    //: below give some of it back: their gradient has to travel on to the embedding, back through the
    //: first block's frozen products too. Step times on a shared machine move by a tenth between runs;
    //: `llm bench --only train` measures the same three on fixed batches.
    //:
    //: The second table is what the models learned, and plain LoRA (the middle row) ends well above full
    //: fine-tuning in reply loss. The columns after it split the loss by token: on the replies' own text
    //: LoRA is as good as full fine-tuning or better, but the closing `<|im_end|>` stays expensive. That
    //: token never occurred in pretraining — its embedding and its row of the output head are still their
    //: random initial values — and plain LoRA freezes both, so the adapters must learn to point the last
    //: hidden state at a random vector; full fine-tuning simply trains the row. (A chat model that has not
    //: learned its stop token rambles to the token limit.) The remedy is PEFT's *trainable tokens*
    //: (`trainable_token_indices`): train the rows of `<|im_start|>` and `<|im_end|>` in the embedding and
    //: in the head too — 2 tokens × 2 tables × 192 = 768 numbers more — while both tables stay frozen
    //: (`TokenRows`; `llm sft --lora 8 --lora-tokens chat`). The last row: with them LoRA matches full
    //: fine-tuning. Every LoRA run after this one trains the two rows as well. The topic score moves in steps
    //: of 1/64 and the exact-match scores hardly move at all at this size; the loss is the measure to trust.
    func againstFull(_ full: Run) throws -> Run {
        Console.section("6.3 LoRA against full fine-tuning")
        let plain = try train("LoRA r = 8", lora: loraConfig(rank: 8, chatRows: false), steps: steps)
        let lora = try train("LoRA r = 8 + rows", lora: loraConfig(rank: 8), steps: steps)
        let runs = [full, plain, lora]
        let times = try stepTimes()
        let scores = try runs.map { try self.scores($0.model) }
        let total = full.trainableCount
        Console.printTable(["\(steps) steps", "trainable", "share", "AdamW state", "step time"],
                           zip(runs, times).map { run, step in
            [run.name, Format.integer(run.trainableCount),
             String(format: "%.2f %%", 100 * Double(run.trainableCount) / Double(total)),
             String(format: "%.2f MB", Double(run.optimizerBytes) / 1e6), String(format: "%.0f ms", 1000 * step)]
        })
        let splits = runs.map { lossSplit($0.model) }
        Console.printTable(["\(steps) steps", "reply val. loss", "reply text", "<|im_end|>",
                            "topic (\(items.topic.count), NB)", "attribution EM (\(items.attribution.count))",
                            "poem author EM (\(items.poem.count))"],
                           zip(runs, zip(scores, splits)).map { run, result in
            [run.name, Format.fixed(run.validation), Format.fixed(result.1.text, 3), Format.fixed(result.1.end, 3),
             result.0.topicByBayes, result.0.attribution, result.0.poem]
        })
        func gap(_ run: Run) -> Double { 100 * (run.validation - full.validation) / full.validation }
        Console.keyValues([
            ("LoRA r = 8 against full", String(format: "validation loss %+.1f %%", gap(plain))),
            ("LoRA r = 8 + rows against full", String(format: "validation loss %+.1f %%; step time %.2f×; " +
                                                      "optimizer state %.3f×; trainable %.2f %%", gap(lora),
                                                      times[2] / times[0],
                                                      Double(lora.optimizerBytes) / Double(full.optimizerBytes),
                                                      100 * Double(lora.trainableCount) / Double(total))),
            ("chance for the topic", Format.fixed(1 / Double(topics.count), 3) + " (k = \(topics.count) topics)"),
        ])
        try chapter.plot(.line(runs.map(\.curve), title: "Full fine-tuning against LoRA r = 8 (same data)",
                               xLabel: "step", yLabel: "validation loss on replies (nats/token)", points: true),
                         as: "lora-vs-full")
        if let adapter = lora.adapter {
            let folder = chapter.options.artifacts.url(.adapters).appendingPathComponent("sft-r8")
            try adapter.save(to: folder)
            print("  adapter (with the rows): \(Chapter.relativePath(folder.path)) (PEFT's files: " +
                  "\(LoRAAdapter.configFileName), \(LoRAAdapter.weightsFileName))")
        }
        return lora
    }

    /// Mean loss on the validation replies' text tokens and on their closing `<|im_end|>` (token-weighted).
    func lossSplit(_ model: GPT) -> (text: Double, end: Double) {
        var sums = (text: 0.0, end: 0.0), counts = (text: 0, end: 0)
        let vocabulary = model.config.vocabularySize
        for batch in (try? source())?.validationBatches(maxBatches: 8) ?? [] {
            let logits = model(batch.inputs, .inference).value.scalars
            for (position, target) in batch.targets.enumerated() where target != TokenBatch.ignoreIndex {
                let row = logits[(position * vocabulary)..<((position + 1) * vocabulary)]
                let top = Double(row.max() ?? 0)
                let sum = row.reduce(0.0) { $0 + exp(Double($1) - top) }
                let loss = top + log(sum) - Double(row[row.startIndex + target])
                if target == template.end { (sums.end, counts.end) = (sums.end + loss, counts.end + 1) } else {
                    (sums.text, counts.text) = (sums.text + loss, counts.text + 1)
                }
            }
        }
        return (sums.text / Double(max(counts.text, 1)), sums.end / Double(max(counts.end, 1)))
    }

    /// Seconds per step of full fine-tuning, LoRA r = 8 and LoRA r = 8 with the chat tokens' rows: one step of
    /// each in turn (so round k gives all three the same batch), 12 rounds with the order rotated, after one
    /// warm-up step each; the median per run.
    func stepTimes() throws -> [Double] {
        let rounds = quick ? 2 : 12
        var trainers: [Trainer<MaskedExamples>] = []
        for lora in [nil, loraConfig(rank: 8, chatRows: false), loraConfig(rank: 8)] {
            let model = try freshBase()
            if let lora { _ = try LoRAAdapter.apply(to: model, config: lora, seed: seed) }
            let trainer = try Trainer(model: model, source: try source(), loss: Losses.nextToken,
                                      config: trainingConfig(steps: 1_000, lora: lora != nil), checkpointFolder: nil)
            try trainer.step()
            trainers.append(trainer)
        }
        var times: [[Double]] = trainers.map { _ in [] }
        for round in 0..<rounds {
            for k in 0..<trainers.count {
                let i = (k + round) % trainers.count
                let start = Date()
                try trainers[i].step()
                times[i].append(Date().timeIntervalSince(start))
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    // MARK: - 6.4 The rank

    //: How small can r be? The same LoRA run at r = 1, 2, 4, 8, 16 and 32 (α = 16, so the scale α/r goes
    //: from 16 to 0.5 and the update's size stays comparable), with the chat tokens' rows, on two fifths of
    //: 6.3's budget. The loss falls with r up to about 8 and then flattens: each doubling buys less than the
    //: one before, as 6.1's steep-then-long spectra suggest, and past r = 8 the extra directions add
    //: numbers, not quality, at this budget. The topic score on 64 items moves in steps of 1/64 and stays
    //: within its noise.
    func rankSweep() throws -> (validation: Double, topic: TaskScores)? {
        Console.section("6.4 The rank")
        let ranks = quick ? [1, 4] : [1, 2, 4, 8, 16, 32]
        var rows: [[String]] = [], losses: [Double] = [], rates: [Double] = []
        var eight: (validation: Double, topic: TaskScores)?
        for rank in ranks {
            let run = try train("r = \(rank)", lora: loraConfig(rank: rank), steps: sweepSteps, curve: false)
            let topic = try scores(run.model, only: [.topic])
            if rank == 8 { eight = (run.validation, topic) }
            rows.append(["\(rank)", Format.fixed(loraConfig(rank: rank).scale, 2), Format.integer(run.trainableCount),
                         Format.fixed(run.validation), topic.topicByBayes, Format.duration(run.seconds)])
            losses.append(run.validation)
            rates.append(topic.bayesRate)
        }
        Console.printTable(["r", "α/r", "trainable", "reply val. loss (\(sweepSteps) steps)",
                            "topic (\(items.topic.count), NB)", "time"], rows)
        let x = ranks.map(Double.init)
        try chapter.plot(.line([Series("reply validation loss", x: x, y: losses)],
                               title: "LoRA rank sweep: validation loss after \(sweepSteps) steps",
                               xLabel: "rank r", yLabel: "nats/token", logX: true, points: true),
                         as: "rank-sweep")
        try chapter.plot(.line([Series("topic on target (naive Bayes judge)", x: x, y: rates),
                                Series("chance", x: x, y: x.map { _ in 1 / Double(topics.count) })],
                               title: "LoRA rank sweep: held-out topic requests on target",
                               xLabel: "rank r", yLabel: "fraction of \(items.topic.count) items", logX: true,
                               points: true),
                         as: "rank-sweep-topic")
        return eight
    }

    // MARK: - 6.5 Which layers to adapt

    //: The original paper adapted only the attention's query and value matrices; PEFT's examples often do
    //: the same, and later work (QLoRA among it) found that adapting every linear layer matters more than
    //: the rank. Here at r = 8: the attention's two matrices (q|k|v and the projection), the MLP's three,
    //: or all five (the r = 8 run of 6.4) — same steps as 6.4, each with the chat tokens' rows. Either half
    //: alone gets most of the way, and the two end close to each other although the MLP's adapters hold more
    //: than twice the numbers; both together are best — the finding that made "every linear layer" the
    //: usual choice.
    func targets(both: (validation: Double, topic: TaskScores)?) throws {
        Console.section("6.5 Which layers to adapt")
        var rows: [[String]] = [], labels: [String] = [], values: [Double] = []
        for (name, targets) in [("attention", LoRAConfig.attentionOnly), ("MLP", LoRAConfig.mlpOnly),
                                ("both", LoRAConfig.allLinear)] {
            let count = try LoRAAdapter.apply(to: freshBase(), config: loraConfig(rank: 8, targets: targets),
                                              seed: seed).parameterCount
            let (validation, topic): (Double, TaskScores)
            if targets == LoRAConfig.allLinear, let both {
                (validation, topic) = both
            } else {
                let run = try train(name, lora: loraConfig(rank: 8, targets: targets), steps: sweepSteps,
                                    curve: false)
                (validation, topic) = (run.validation, try scores(run.model, only: [.topic]))
            }
            rows.append([name, Format.integer(count), Format.fixed(validation), topic.topicByBayes])
            labels.append(name)
            values.append(validation)
        }
        Console.printTable(["targets (r = 8)", "trainable", "reply val. loss (\(sweepSteps) steps)",
                            "topic (\(items.topic.count), NB)"], rows)
        try chapter.plot(.bars(labels: labels, values: values, title: "Which layers LoRA adapts (r = 8)",
                               yLabel: "reply validation loss (nats/token)"),
                         as: "targets")
    }

    // MARK: - 6.6 Merging the update into W

    //: For serving, the adapter can disappear: W ← W + (α/r)·B·A turns the adapted model into an ordinary
    //: dense one (`llm lora merge` writes it as a checkpoint every other command loads), with the base
    //: model's speed — unmerged, each adapted layer does two more small products per token, and at batch 1
    //: on this small model those cost more than their FLOPs suggest (one more call per product). The logits
    //: agree up to float rounding (the sum is formed in another order). Unmerging subtracts the update
    //: again, which is how one base can serve several adapters without keeping copies of W.
    func merging(_ lora: Run) throws {
        Console.section("6.6 Merging the update into W")
        guard let adapter = lora.adapter else { return }
        let request = items.topic.first?.request ?? "Tell me a fortune."
        let ids = template.encode([ChatMessage(.user, request)], generationPrompt: true).ids
        let unmerged = lora.model([ids], .inference).value.scalars
        let unmergedSpeed = try decodeSpeed(lora.model, ids)
        try adapter.merge()
        let merged = lora.model([ids], .inference).value.scalars
        let mergedSpeed = try decodeSpeed(lora.model, ids)
        try adapter.unmerge()
        let worst = zip(merged, unmerged).map { abs($0 - $1) }.max() ?? .nan
        let scale = unmerged.map(abs).max() ?? 1
        Console.keyValues([
            ("merged against unmerged", String(format: "max |logit difference| %.2e over %d logits (%.1e of the " +
                                               "largest logit, %.1f)", worst, merged.count, worst / scale, scale)),
            ("decoding (greedy, KV cache)", String(format: "unmerged %.0f tokens/s, merged %.0f tokens/s",
                                                   unmergedSpeed, mergedSpeed)),
        ])
        print("  the adapter's files (\(LoRAAdapter.weightsFileName), names as PEFT writes them):")
        for (name, parameter) in adapter.namedParameters.prefix(4) {
            print("    \(LoRAAdapter.peftName(name))  \(parameter.shape)")
        }
        print("    … \(adapter.namedParameters.count) tensors, \(Format.integer(adapter.parameterCount)) numbers " +
              String(format: "(%.2f MB as Float32)", Double(4 * adapter.parameterCount) / 1e6))
    }

    /// Tokens per second decoding 48 tokens greedily after `prompt` (the better of two tries).
    func decodeSpeed(_ model: GPT, _ prompt: [Int]) throws -> Double {
        let generator = Generator(model: model)
        var best = 0.0
        for _ in 0..<2 {
            var random = SeededGenerator(seed: seed)
            let result = try generator.generate(prompt: prompt, maxTokens: quick ? 8 : 48, settings: .greedy,
                                                generator: &random)
            best = max(best, result.tokensPerSecond)
        }
        return best
    }

    // MARK: - 6.7 One base, many skills: swapping adapters

    //: An adapter is small (the files of 6.6), so a server can keep one base model in memory and many
    //: adapters beside it, choosing one per request. Two adapters, each trained only on its own tasks
    //: (half of 6.3's steps each): an English-fortune adapter (topic requests, attribution, continuation)
    //: and a Tang-poem adapter (the poem tasks). The table scores each on both halves of the validation
    //: set; then the same model object answers requests with one adapter, the other and none — switching
    //: swaps which weight each layer computes with, and nothing is copied.
    func swapping() throws {
        Console.section("6.7 One base, many skills: swapping adapters")
        let english: Set<InstructionTask> = [.topic, .attribution, .continuation]
        func split(_ examples: [InstructionExample], _ wanted: Bool) -> [InstructionExample] {
            examples.filter { english.contains($0.task) == wanted }
        }
        let folder = chapter.options.artifacts.url(.adapters)
        let validation = (english: try source(split(data.train, true), validation: split(data.validation, true)),
                          poems: try source(split(data.train, false), validation: split(data.validation, false)))
        for (name, source) in [("english", validation.english), ("poems", validation.poems)] {
            let run = try train(name, lora: loraConfig(rank: 8), steps: sweepSteps, source: source, curve: false)
            try run.adapter?.save(to: folder.appendingPathComponent(name))
        }
        let model = try freshBase()
        let library = AdapterLibrary(model: model)
        for name in ["english", "poems"] { try library.load(folder.appendingPathComponent(name)) }
        func loss(_ source: MaskedExamples) -> Double {
            Losses.meanNextToken(model, source.validationBatches(maxBatches: 100))
        }
        var rows: [[String]] = []
        for name in [nil, "english", "poems"] as [String?] {
            try library.use(name)
            rows.append([name ?? "none (the base model)", Format.fixed(loss(validation.english)),
                         Format.fixed(loss(validation.poems))])
        }
        Console.printTable(["adapter in use", "reply val. loss, English tasks", "reply val. loss, poem tasks"], rows)
        let requests = [data.test.first { $0.task == .topic }, data.test.first { $0.task == .poemNextLine }]
            .compactMap { $0 }
        var switches: [Double] = []
        for item in requests {
            print("  request: \(shown(item.request, 80))")
            for name in ["english", "poems", nil] as [String?] {
                let start = Date()
                try library.use(name)
                switches.append(Date().timeIntervalSince(start))
                var random = SeededGenerator(seed: seed)
                let reply = try TaskEvaluation.reply(model, template, request: item.request,
                                                     maxTokens: CourseTasks.maxTokens(for: item, quick: quick),
                                                     random: &random)
                print("    \((name ?? "none").padding(toLength: 8, withPad: " ", startingAt: 0)) \(shown(reply, 80))")
            }
        }
        print(String(format: "  a switch took %.0f µs at most (no weights copied); the adapters: %@ — chat with " +
                     "both: llm chat --checkpoint %@ --adapter %@ --adapter %@, then /adapter poems",
                     1e6 * (switches.max() ?? 0), Chapter.relativePath(folder.path),
                     Chapter.relativePath(baseFolder.path),
                     Chapter.relativePath(folder.appendingPathComponent("english").path),
                     Chapter.relativePath(folder.appendingPathComponent("poems").path)))
    }

    // MARK: - 6.8 A note on QLoRA

    //: LoRA leaves W alone, so W does not have to be Float32: QLoRA (Dettmers et al. 2023) stores the frozen
    //: base in 4 bits and trains Float32 adapters on top, which is how a large model is fine-tuned on one
    //: small GPU. Here `LoRAWeight` wraps any `LinearWeight`, not only a dense matrix; Chapter 07 adds the
    //: int8 and int4 kinds, and an adapter over them is that chapter's last step. What cannot be done over
    //: a quantized W is merging (6.6): the sum would have to be quantized again, losing what the adapter
    //: added — a QLoRA model is served with its adapter unmerged, or merged into a dequantized copy.
    func qloraNote() {
        Console.section("6.8 A note on QLoRA")
        print("  LoRAWeight wraps any LinearWeight: Chapter 07's quantized weights take adapters the same way; " +
              "merging needs a dense W.")
    }
}
