//: ## Chapter 00, part two — a bigram language model
//:
//: A language model assigns a probability to the next token given the ones before. The smallest one
//: looks at a single previous character: P(next | current). It is a V×V table. We fill that table two
//: ways — by counting, and by gradient descent through the autograd tape — and see them agree.

import ChapterSupport
import Foundation
import LLMCore
import LLMPlot

/// The corpus as character ids, split into training and validation text.
struct CharacterData {
    let vocabulary: CharacterVocabulary
    let train: [Int]        // ids of the training text
    let validation: [Int]   // ids of held-out text (every 10th entry)
}

extension Lesson {
    /// The chapter's corpus text, split into entries. Throws a one-line error for a missing or empty corpus.
    func loadText(_ corpus: Corpus) throws -> (train: String, validation: String) {
        // Every 10th entry is held out (`Corpus.split`): a deterministic split by entry, so no fortune is in both.
        let (train, validation) = corpus.split()
        let trainText = train.joined(separator: "\n\n"), validationText = validation.joined(separator: "\n\n")
        if trainText.unicodeScalars.count < 2 || validationText.unicodeScalars.count < 2 {
            throw CourseError.corpusEmpty(path: corpus.source)
        }
        return (trainText, validationText)
    }

    // MARK: - 0.6 Characters as numbers

    //: A model sees numbers, not letters. The simplest tokenizer gives each distinct character an id
    //: (Chapter 01 replaces it with byte-pair encoding). Ids here are in order of frequency, so id 0 is
    //: the commonest character. Very rare characters share one id, "�", to keep the table small.
    func characters(_ text: (train: String, validation: String)) -> CharacterData {
        Console.section("0.6 Characters as numbers")
        let vocabulary = CharacterVocabulary(text: text.train, maxSize: 128)
        // Encoding cannot fail: with maxSize the vocabulary maps rare and unseen characters to "�".
        let train = vocabulary.encode(text.train) ?? []
        let validation = vocabulary.encode(text.validation) ?? []
        Console.keyValues([
            ("training characters", Format.integer(train.count)),
            ("validation characters", Format.integer(validation.count)),
            ("vocabulary size V", "\(vocabulary.count) (the last, \"�\", stands for rare and unseen characters)"),
            ("commonest ten", (0..<min(10, vocabulary.count)).map { vocabulary.display($0) }.joined(separator: " ")),
        ])
        let sample = String(text.train.prefix(40))
        print("  \"\(sample.replacingOccurrences(of: "\n", with: "⏎"))\" →")
        print("  \(vocabulary.encode(sample)!.map(String.init).joined(separator: " "))")
        return CharacterData(vocabulary: vocabulary, train: train, validation: validation)
    }

    // MARK: - 0.7 Counting bigrams: the model we can write down

    //: Count how often each character follows each other one, add one to every count (so nothing has
    //: probability zero), and normalise each row: P(next = j | current = i) = (Nᵢⱼ + 1) / Σⱼ(Nᵢⱼ + 1).
    //: This is the maximum-likelihood bigram model (smoothed). Its loss — the average negative log
    //: probability of the validation text, in nats — is the floor that training in 0.8 should approach.
    //: A model that knows nothing (uniform over V characters) scores ln V.
    func countingBigrams(_ data: CharacterData) throws -> Double {
        Console.section("0.7 Counting bigrams: the model we can write down")
        let v = data.vocabulary.count
        var counts = [Double](repeating: 1, count: v * v)                   // (V, V), add-one smoothed
        for (current, next) in zip(data.train, data.train.dropFirst()) { counts[current * v + next] += 1 }
        for row in 0..<v {
            let total = counts[row * v..<(row + 1) * v].reduce(0, +)
            for column in 0..<v { counts[row * v + column] /= total }
        }
        let loss = negativeLogLikelihood(data.validation) { counts[$0 * v + $1] }
        Console.keyValues([
            ("uniform model, ln V", Format.fixed(log(Double(v)))),
            ("counted bigrams, validation loss", Format.fixed(loss) + " nats/char"),
        ])
        let shown = min(28, v)
        let heat = (0..<shown).map { i in (0..<shown).map { j in counts[i * v + j] } }
        let labels = (0..<shown).map { data.vocabulary.display($0) }
        try chapter.plot(.heatmap(heat, title: "P(next | current) for the \(shown) commonest characters",
                                  xLabel: "next character", yLabel: "current character",
                                  rowLabels: labels, columnLabels: labels),
                         as: "bigram-counts")
        return loss
    }

    /// Average −ln P(next | current) over consecutive pairs of `ids`.
    func negativeLogLikelihood(_ ids: [Int], probability: (Int, Int) -> Double) -> Double {
        var total = 0.0
        for (current, next) in zip(ids, ids.dropFirst()) { total -= log(probability(current, next)) }
        return total / Double(max(ids.count - 1, 1))
    }

    // MARK: - 0.8 Training the bigram model with autograd

    //: Now the same table as a parameter W (V, V) of **logits**, trained by gradient descent:
    //:
    //:     logits = W[current]                  embedding lookup: row `current` of W      (B, V)
    //:     loss   = mean −log softmax(logits)[next]   fused cross-entropy                 ()
    //:     W     ← W − η · ∂loss/∂W                   plain stochastic gradient descent
    //:
    //: Each step draws B random positions of the training text. W starts at zero, so the first loss is
    //: exactly ln V. Samples are drawn from softmax(W[current]) one character at a time.
    func trainingBigrams(_ data: CharacterData, steps: Int, learningRate: Float,
                                countedLoss: Double) throws -> Double {
        Console.section("0.8 Training the bigram model with autograd")
        let v = data.vocabulary.count
        let batch = 2048
        let weights = Variable.parameter(Tensor(zeros: [v, v]), name: "bigram.logits")   // (V, V)
        print("  before training: \"\(sample(weights, data.vocabulary, length: 80))\"")

        // A fixed validation sample keeps evaluation cheap and comparable between steps.
        var evaluationGenerator = SeededGenerator(seed: chapter.options.seed &+ 1)
        let validationPositions = (0..<min(20_000, data.validation.count - 1)).map { _ in
            evaluationGenerator.integer(below: data.validation.count - 1)
        }
        func validationLoss() -> Float {
            let tape = Tape.inference
            let logits = tape.embedding(weights, ids: validationPositions.map { data.validation[$0] },
                                        shape: [validationPositions.count])                        // (B, V)
            return tape.crossEntropy(logits, targets: validationPositions.map { data.validation[$0 + 1] }).value.item
        }

        var trainCurve: [Double] = [], validationCurve: [Double] = [], validationSteps: [Double] = []
        let progress = ProgressBar(total: steps, label: "  bigram")
        let start = Date()
        for step in 1...steps {
            let positions = (0..<batch).map { _ in chapter.random.integer(below: data.train.count - 1) }
            let tape = Tape()
            let logits = tape.embedding(weights, ids: positions.map { data.train[$0] }, shape: [batch])  // (B, V)
            let loss = tape.crossEntropy(logits, targets: positions.map { data.train[$0 + 1] })          // ()
            weights.zeroGrad()
            tape.backward(loss)
            let gradient = weights.grad!                                                               // (V, V)
            weights.value.withUnsafeMutableBufferPointer { w in                              // W ← W − η·∂L/∂W
                gradient.withUnsafeBufferPointer { g in Kernels.axpy(-learningRate, g.baseAddress!,
                                                                     w.baseAddress!, count: v * v) }
            }
            trainCurve.append(Double(loss.value.item))
            if step == 1 || step % max(1, steps / 20) == 0 || step == steps {
                validationSteps.append(Double(step))
                validationCurve.append(Double(validationLoss()))
            }
            let tokensPerSecond = Double(step * batch) / Date().timeIntervalSince(start)
            progress.update(step: step, metrics: [("loss", Format.fixed(loss.value.item))],
                            tokensPerSecond: tokensPerSecond)
        }
        let trainedLoss = validationCurve.last ?? .nan
        Console.keyValues([
            ("first step loss", Format.fixed(trainCurve.first ?? .nan) + " (ln V = \(Format.fixed(log(Double(v)))))"),
            ("validation loss after \(steps) steps", Format.fixed(trainedLoss) + " nats/char"),
            ("counted bigrams (0.7)", Format.fixed(countedLoss) + " nats/char"),
        ])
        print("  after training:  \"\(sample(weights, data.vocabulary, length: 80))\"")
        try chapter.plot(.line([Series("training batch", y: trainCurve),
                                Series("validation", x: validationSteps, y: validationCurve),
                                Series("counted bigrams", x: [1, Double(steps)], y: [countedLoss, countedLoss])],
                               title: "Bigram model: loss per step (SGD, η = \(learningRate), B = \(batch))",
                               xLabel: "step", yLabel: "cross-entropy (nats/char)"),
                         as: "bigram-loss")
        return trainedLoss
    }

    /// Draws `length` characters from the model, starting after a newline.
    func sample(_ weights: Variable, _ vocabulary: CharacterVocabulary, length: Int) -> String {
        let v = vocabulary.count
        var current = vocabulary.encode("\n")?.first ?? 0
        var ids: [Int] = []
        var probabilities = [Float](repeating: 0, count: v)
        for _ in 0..<length {
            probabilities.withUnsafeMutableBufferPointer { p in
                weights.value.withUnsafeBufferPointer { w in
                    _ = Kernels.softmaxRow(w.baseAddress! + current * v, p.baseAddress!, count: v)
                }
            }
            current = chapter.random.categorical(probabilities) ?? 0
            ids.append(current)
        }
        return vocabulary.decode(ids).replacingOccurrences(of: "\n", with: "⏎")
    }

    // MARK: - 0.9 What we built

    //: The tensor, the tape and the gradient checker are all the machinery the course needs: Chapter 02
    //: adds attention as one more op with a hand-written backward, and from then on a transformer is
    //: "just" more ops on the same tape.
    func summary(countedLoss: Double, trainedLoss: Double) {
        Console.section("0.9 What we built")
        Console.printTable(["model", "validation loss (nats/char)"], [
            ["counted bigrams", Format.fixed(countedLoss)],
            ["trained bigrams", Format.fixed(trainedLoss)],
        ])
        print("  outputs in \(Chapter.relativePath(chapter.folder.url.path))/")
    }
}
