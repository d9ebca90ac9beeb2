//: ## Chapter 09, part two — dense vectors, the store, and answers

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot
import LLMRetrieval

/// One retrieval method's scores on the test questions, overall and per task.
struct MethodScores {
    let name: String
    let overall: RetrievalScores
    let byTask: [InstructionTask: RetrievalScores]
    /// recall@k for k = 1…20.
    let curve: [Double]
}

/// One reading condition's answers: exact match and token F1 per task.
struct AnswerScores {
    let name: String
    var exact: [InstructionTask: Int] = [:], f1: [InstructionTask: Double] = [:], items: [InstructionTask: Int] = [:]

    func em(_ task: InstructionTask) -> Double {
        Double(exact[task, default: 0]) / Double(max(1, items[task, default: 0]))
    }
    func meanF1(_ task: InstructionTask) -> Double { f1[task, default: 0] / Double(max(1, items[task, default: 0])) }

    /// Counts one answer: exact match and token F1 against the item's.
    mutating func record(_ reply: String, for item: RAGQuestion) {
        items[item.task, default: 0] += 1
        if TaskEvaluation.exactMatch(reply, item.answer) { exact[item.task, default: 0] += 1 }
        f1[item.task, default: 0] += AnswerF1.f1(reply, item.answer)
    }
}

extension RAGLesson {
    /// The mean cosine between `pairs` random pairs of rows of unit `vectors` (n, E).
    func meanCosine(_ vectors: Tensor, pairs: Int) -> Double {
        var random = SeededGenerator(seed: seed)
        let (n, e) = (vectors.rows, vectors.columns), v = vectors.scalars
        var total = 0.0
        for _ in 0..<pairs {
            let (a, b) = (random.integer(below: n), random.integer(below: n))
            total += (0..<e).reduce(0.0) { $0 + Double(v[a * e + $1] * v[b * e + $1]) }
        }
        return total / Double(pairs)
    }

    // MARK: - 9.3 Dense retrieval: vectors from our own model

    //: BM25 only sees shared words. A dense retriever turns every text into a vector and ranks chunks by the
    //: cosine between the question's vector and theirs. Our vectors come from the Chapter 04 base model: run it
    //: over the text and average its final hidden states over the tokens (mean pooling) — C numbers per text.
    //: Those hidden states were trained to predict the next token, not to be compared, and it shows: averaged
    //: states share one large common direction, so any two texts look alike (the mean cosine of random pairs
    //: below). Subtracting the corpus's mean vector (centring) removes that direction. Then a contrastive
    //: fine-tune: a C × C linear map W on top of the frozen model, started at the identity, trained with the
    //: InfoNCE loss on (training question, its chunk) pairs — in a batch of B pairs each question must pick its
    //: own chunk among the B chunks, the other B − 1 being negatives for free:
    //:
    //:     loss = −(1/B) Σᵢ log( exp(q̂ᵢ·d̂ᵢ / τ) / Σⱼ exp(q̂ᵢ·d̂ⱼ / τ) )
    //:     q̂ = normalize((q − μ) W),  τ = 0.05
    //:
    //: The gradient flows through the normalisation (`Tape.normalizeRows`, gradient-checked in the tests) and the
    //: matrix product into W; the model itself stays frozen, so the chunks are embedded once.
    mutating func dense() throws -> Encoders {
        Console.section("9.3 Dense retrieval: vectors from our own model")
        let raw = TextEncoder(model: base, tokenizer: bpe)
        let start = Date()
        let chunkFeatures = raw.pooled(chunks.map(\.text))
        let seconds = Date().timeIntervalSince(start)
        let tokens = chunks.reduce(0) { $0 + raw.tokens($1.text).count }
        print("  mean-pooled \(chunks.count) chunks (\(Format.integer(tokens)) tokens) through the base model in " +
              "\(Format.duration(seconds)) (\(Format.integer(Int(Double(tokens) / max(seconds, 1e-9)))) tokens/s)")
        let mean = TextEncoder.columnMeans(chunkFeatures)
        let centred = TextEncoder(model: base, tokenizer: bpe, mean: mean)
        let pairs = RAGTasks.spread(train.filter { $0.task != .topic }, quick ? 300 : 6000)
        let steps = quick ? 40 : 400
        let (tuned, losses) = Contrastive.tunedEncoder(model: base, tokenizer: bpe, chunkFeatures: chunkFeatures,
                                                       questions: pairs.map(\.request),
                                                       gold: pairs.map { $0.gold.min() ?? 0 }, steps: steps, seed: seed)
        let first = losses.prefix(10), last = losses.suffix(10)
        Console.keyValues([
            ("mean cosine of random chunk pairs",
             "\(Format.fixed(meanCosine(raw.vectors(fromPooled: chunkFeatures), pairs: 2000), 3)) mean-pooled → " +
             "\(Format.fixed(meanCosine(centred.vectors(fromPooled: chunkFeatures), pairs: 2000), 3)) centred → " +
             "\(Format.fixed(meanCosine(tuned.vectors(fromPooled: chunkFeatures), pairs: 2000), 3)) tuned"),
            ("contrastive pairs", "\(pairs.count) (training question, its chunk); batches of 64, \(steps) steps"),
            ("InfoNCE loss", "\(Format.fixed(Double(first.reduce(0, +)) / Double(max(first.count, 1)), 3)) (first 10 " +
             "steps) → \(Format.fixed(Double(last.reduce(0, +)) / Double(max(last.count, 1)), 3)) (last 10); " +
             "chance ln 64 = \(Format.fixed(log(64.0), 3))"),
        ])
        try chapter.plot(.line([Series("InfoNCE loss (batch of 64)", x: losses.indices.map { Double($0 + 1) },
                                       y: losses.map(Double.init))],
                               title: "Contrastive tuning of the projection W (base model frozen)",
                               xLabel: "step", yLabel: "loss (nats)", points: false),
                         as: "contrastive-loss")
        return Encoders(raw: raw, centred: centred, tuned: tuned, chunkFeatures: chunkFeatures,
                        recipe: "mean-pooled, centred, InfoNCE \(steps) steps, seed \(seed)")
    }

    // MARK: - 9.4 Measuring retrieval: BM25, dense, hybrid

    //: On the held-out questions, each method ranks all N chunks. recall@k is the fraction of questions with a
    //: gold chunk in the first k (for a topic request every chunk of the topic is gold, so it reads "did one come
    //: back"); MRR averages 1 / rank of the first gold chunk; nDCG@10 rewards gold chunks near the top (1 = the
    //: gold fills the top). Hybrid fuses BM25's and the tuned dense ranking by reciprocal-rank fusion,
    //: score = Σ 1 / (60 + rank), which needs no common scale between BM25 scores and cosines. The question
    //: quotes only the middle half of a fortune, so the exact words help BM25 — and paraphrase would help dense.
    mutating func evaluate(_ encoders: Encoders) throws -> [MethodScores] {
        Console.section("9.4 Measuring retrieval: BM25, dense, hybrid")
        let questions = test, sparse = retriever!
        let questionFeatures = encoders.raw.pooled(questions.map(\.request))
        let bm25 = try questions.map { try sparse.search($0.request, method: .bm25, k: 100).map(\.index) }
        var methods: [(String, [[Int]])] = [("BM25", bm25.map { Array($0.prefix(20)) })]
        for (name, encoder) in [("dense, mean-pooled", encoders.raw), ("dense, centred", encoders.centred),
                                ("dense, contrastive", encoders.tuned)] {
            let dense = Retriever(chunks: chunks, bm25: sparse.bm25,
                                  vectors: encoder.vectors(fromPooled: encoders.chunkFeatures).scalars,
                                  encoder: encoder)
            let ranked = try dense.denseBatch(encoder.vectors(fromPooled: questionFeatures), k: 100)
                .map { $0.map(\.index) }
            methods.append((name, ranked.map { Array($0.prefix(20)) }))
            if encoder === encoders.tuned {
                retriever = dense          // from here on: BM25, and dense and hybrid with the tuned encoder
                methods.append(("hybrid (BM25 + contrastive, RRF)", zip(bm25, ranked).map { words, vectors in
                    Ranking.reciprocalRankFusion([words, vectors], k: 20).map(\.index)
                }))
            }
        }
        var results: [MethodScores] = []
        for (name, rankings) in methods {
            let gold = questions.map(\.gold)
            var byTask: [InstructionTask: RetrievalScores] = [:]
            for task in [InstructionTask.attribution, .poemAuthor, .topic] {
                let picked = questions.indices.filter { questions[$0].task == task }
                byTask[task] = RetrievalMetrics.score(picked.map { rankings[$0] }, gold: picked.map { gold[$0] })
            }
            let curve = RetrievalMetrics.score(rankings, gold: gold, ks: Array(1...20))
            results.append(MethodScores(name: name, overall: RetrievalMetrics.score(rankings, gold: gold),
                                        byTask: byTask, curve: (1...20).map { curve.recall(at: $0) }))
        }
        func n(_ task: InstructionTask) -> Int { questions.filter { $0.task == task }.count }
        Console.printTable(["method (\(questions.count) questions)", "R@1", "R@5", "R@10", "MRR", "nDCG@10",
                            "attribution R@5 (\(n(.attribution)))", "poem R@5 (\(n(.poemAuthor)))",
                            "topic R@1 (\(n(.topic)))"],
                           results.map { m in
                               [m.name, Format.fixed(m.overall.recall(at: 1), 3),
                                Format.fixed(m.overall.recall(at: 5), 3),
                                Format.fixed(m.overall.recall(at: 10), 3), Format.fixed(m.overall.mrr, 3),
                                Format.fixed(m.overall.ndcg10, 3),
                                Format.fixed(m.byTask[.attribution]?.recall(at: 5) ?? 0, 3),
                                Format.fixed(m.byTask[.poemAuthor]?.recall(at: 5) ?? 0, 3),
                                Format.fixed(m.byTask[.topic]?.recall(at: 1) ?? 0, 3)]
                           })
        print("  chance: recall@10 of a random ranking ≈ 10 / N = \(Format.fixed(10 / Double(chunks.count), 4)) " +
              "for a one-chunk question")
        try chapter.plot(.line(results.map { Series($0.name, x: (1...20).map(Double.init), y: $0.curve) },
                               title: "recall at k on \(questions.count) held-out questions",
                               xLabel: "k (chunks returned)", yLabel: "fraction with a gold chunk in the top k",
                               points: true),
                         as: "recall-at-k")
        return results
    }
}
