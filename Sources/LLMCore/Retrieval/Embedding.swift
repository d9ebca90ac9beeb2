// Introduced in Chapter 09. Dense retrieval: a text becomes one vector, and similar texts get vectors pointing the
// same way (cosine similarity).
//
// Mean pooling. Run the language model over the text and average its final hidden states over the text's tokens:
// a vector of C numbers. Causal attention means padding on the right changes nothing before it, so a batch of
// texts is padded there and each row is averaged over its own tokens only.
//
// Those vectors were never trained to be compared; averaged hidden states of a language model share a large
// common direction (every cosine is close to 1). Two cheap fixes, each measured in the chapter: subtract the
// mean vector of the corpus (centring), then train a linear map W (C × C, starting from the identity, the model
// frozen) with the contrastive InfoNCE loss on (question, chunk) pairs:
//
//   q̂ᵢ = normalize((qᵢ − μ) W),  d̂ⱼ = normalize((dⱼ − μ) W),  Sᵢⱼ = q̂ᵢ · d̂ⱼ / τ
//   loss = mean over i of cross-entropy(Sᵢ, i)   — each question must pick its own chunk among the batch's
//
// The other chunks of the batch are the negatives ("in-batch negatives"), so a batch of B pairs gives B − 1
// negatives per question for free. τ (the temperature) sharpens the softmax; 0.05 is the usual figure.

import Foundation

/// Turns texts into unit vectors: mean-pooled hidden states of `model`, centred on `mean`, mapped by `projection`.
public final class TextEncoder {
    public let model: GPT
    public let tokenizer: BPETokenizer
    /// The vector subtracted before the projection (C), or nil.
    public var mean: [Float]?
    /// The learned map (C, E), or nil for the identity.
    public var projection: Tensor?

    public init(model: GPT, tokenizer: BPETokenizer, mean: [Float]? = nil, projection: Tensor? = nil) {
        (self.model, self.tokenizer, self.mean, self.projection) = (model, tokenizer, mean, projection)
    }

    /// The model's width C.
    public var width: Int { model.config.embeddingSize }
    /// The vectors' length E.
    public var dimension: Int { projection?.columns ?? width }

    /// The token ids the model reads for `text`: its first `contextLength` tokens (at least one).
    public func tokens(_ text: String) -> [Int] {
        let ids = tokenizer.encode(bytes: Array(text.utf8))
        let limited = Array(ids.prefix(model.config.contextLength))
        return limited.isEmpty ? [tokenizer.specialId("<|endoftext|>") ?? 0] : limited
    }

    /// Mean-pooled final hidden states, (n, C), row i for `texts[i]`. Texts are batched by length.
    public func pooled(_ texts: [String], batchSize: Int = 32) -> Tensor {
        let c = width
        var out = [Float](repeating: 0, count: texts.count * c)
        let rows = texts.map(tokens)
        let order = rows.indices.sorted { (rows[$0].count, $0) < (rows[$1].count, $1) }
        let padding = tokenizer.specialId("<|endoftext|>") ?? 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let batch = Array(order[start..<min(start + batchSize, order.count)])
            let t = batch.map { rows[$0].count }.max() ?? 1
            let ids = batch.map { rows[$0] + [Int](repeating: padding, count: t - rows[$0].count) }
            let hidden = model.hiddenStates(ids, Tape(recording: false)).value   // (B, T, C)
            hidden.withUnsafeBufferPointer { h in
                for (r, index) in batch.enumerated() {
                    let n = rows[index].count, scale = 1 / Float(n)
                    for position in 0..<n {
                        let row = (r * t + position) * c
                        for j in 0..<c { out[index * c + j] += h[row + j] * scale }
                    }
                }
            }
        }
        return Tensor(shape: [texts.count, c], values: out)
    }

    /// `features` (n, C) minus the centring mean (unchanged without one).
    public func centred(_ features: Tensor) -> Tensor {
        guard let mean else { return features }
        var values = features.scalars
        for i in values.indices { values[i] -= mean[i % mean.count] }
        return Tensor(shape: features.shape, values: values)
    }

    /// The encoder's unit vectors for `features` (n, C) already pooled: centre, project, normalise.
    public func vectors(fromPooled features: Tensor) -> Tensor {
        let tape = Tape(recording: false)
        var v = Variable(centred(features))
        if let projection { v = tape.matmul(v, Variable(projection)) }
        return tape.normalizeRows(v).value
    }

    /// Unit vectors (n, E) for `texts`.
    public func encode(_ texts: [String], batchSize: Int = 32) -> Tensor {
        vectors(fromPooled: pooled(texts, batchSize: batchSize))
    }

    /// The column means of `features` (n, C): the centring vector.
    public static func columnMeans(_ features: Tensor) -> [Float] {
        let (n, c) = (features.rows, features.columns)
        var mean = [Float](repeating: 0, count: c)
        features.withUnsafeBufferPointer { f in
            for i in 0..<n { for j in 0..<c { mean[j] += f[i * c + j] } }
        }
        return mean.map { $0 / Float(max(n, 1)) }
    }
}

public enum Contrastive {
    /// The InfoNCE loss of matched rows: `queries` (B, E) and `documents` (B, E), row i of each a pair, the other
    /// rows of `documents` the negatives of query i; cosine similarities divided by `temperature`.
    public static func infoNCE(_ tape: Tape, queries: Variable, documents: Variable, temperature: Float) -> Variable {
        let q = tape.normalizeRows(queries), d = tape.normalizeRows(documents)
        let similarities = tape.scale(tape.matmul(q, d, transposeB: true), by: 1 / temperature)   // (B, B)
        return tape.crossEntropy(similarities, targets: Array(0..<queries.value.rows))
    }

    /// What training a projection gave: the map and the loss of each step.
    public struct Result: Sendable {
        public let projection: Tensor
        public let losses: [Float]
    }

    /// Trains W (C, C), from the identity, on pairs (`queries[i]`, `documents[i]`) of centred pooled features,
    /// with AdamW on batches of `batchSize` pairs drawn without replacement within each pass.
    public static func trainProjection(queries: Tensor, documents: Tensor, steps: Int, batchSize: Int = 64,
                                       temperature: Float = 0.05, learningRate: Float = 1e-3,
                                       seed: UInt64) -> Result {
        let (n, c) = (queries.rows, queries.columns)
        var identity = [Float](repeating: 0, count: c * c)
        for j in 0..<c { identity[j * c + j] = 1 }
        let w = Variable.parameter(Tensor(shape: [c, c], values: identity), name: "projection")
        let optimizer = AdamW([w], learningRate: learningRate, weightDecay: 0)
        var random = SeededGenerator(seed: seed)
        var order: [Int] = [], losses: [Float] = []
        let b = min(batchSize, n)
        let (qs, ds) = (queries.scalars, documents.scalars)
        for _ in 0..<steps where b >= 2 {
            if order.count < b { order += Array(0..<n).shuffled(using: &random) }
            let batch = Array(order.prefix(b))
            order.removeFirst(b)
            func rows(_ values: [Float]) -> Variable {
                Variable(Tensor(shape: [b, c], values: batch.flatMap { values[($0 * c)..<(($0 + 1) * c)] }))
            }
            let tape = Tape()
            w.grad = nil
            let loss = infoNCE(tape, queries: tape.matmul(rows(qs), w), documents: tape.matmul(rows(ds), w),
                               temperature: temperature)
            tape.backward(loss)
            optimizer.update()
            losses.append(loss.value.item)
        }
        return Result(projection: w.value, losses: losses)
    }
}

extension Contrastive {
    /// The course's dense encoder: `model` mean-pooled, centred on the chunks' mean, and a projection trained
    /// with InfoNCE on (`questions[i]`, chunk `gold[i]`) pairs. `chunkFeatures`: the chunks' pooled features.
    public static func tunedEncoder(model: GPT, tokenizer: BPETokenizer, chunkFeatures: Tensor, questions: [String],
                                    gold: [Int], steps: Int, seed: UInt64) -> (encoder: TextEncoder, losses: [Float]) {
        let raw = TextEncoder(model: model, tokenizer: tokenizer)
        let centring = TextEncoder(model: model, tokenizer: tokenizer, mean: TextEncoder.columnMeans(chunkFeatures))
        let c = chunkFeatures.columns, values = chunkFeatures.scalars
        let goldFeatures = Tensor(shape: [gold.count, c], values: gold.flatMap { values[($0 * c)..<(($0 + 1) * c)] })
        let result = trainProjection(queries: centring.centred(raw.pooled(questions)),
                                     documents: centring.centred(goldFeatures), steps: steps, batchSize: 64,
                                     temperature: 0.05, learningRate: 1e-3, seed: seed)
        let encoder = TextEncoder(model: model, tokenizer: tokenizer, mean: centring.mean,
                                  projection: result.projection)
        return (encoder, result.losses)
    }
}
