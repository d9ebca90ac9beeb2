// Introduced in Chapter 04 (next-token loss); the others serve Chapters 05 and 11. The objectives a
// `Trainer` minimises: each is a function (model, batch, tape) → scalar loss, so a new objective is a new
// function handed to the one trainer, not a new training loop.

public enum Losses {
    /// Next-token cross-entropy, averaged over every target that is not −100: pretraining (every
    /// position scored) and SFT (only the response scored) alike.
    public static func nextToken(_ model: GPT, _ batch: TokenBatch, _ tape: Tape) -> Variable {
        tape.crossEntropy(model(batch.inputs, tape), targets: batch.targets, ignoreIndex: TokenBatch.ignoreIndex)
    }

    /// The mean next-token loss over `batches` (each batch weighs the same), without recording: how a chapter
    /// scores a model on held-out batches.
    public static func meanNextToken(_ model: GPT, _ batches: [TokenBatch]) -> Double {
        batches.map { Double(nextToken(model, $0, .inference).value.item) }.reduce(0, +) / Double(max(batches.count, 1))
    }

    /// Classification: `head` (classes ← C) reads the final hidden state at each row's last real token;
    /// cross-entropy against the labels. Train the head alone (model frozen) or both.
    public static func classification(head: Linear) -> (GPT, LabelledBatch, Tape) -> Variable {
        { model, batch, tape in
            let hidden = model.hiddenStates(batch.inputs, tape)                                // (B, T, C)
            let last = tape.gatherPositions(hidden, batch.lastPositions)                       // (B, C)
            return tape.crossEntropy(head(last, tape), targets: batch.labels)                  // over (B, classes)
        }
    }

    /// The class scores (B, classes) a classifier trained with `classification(head:)` gives.
    public static func classScores(_ model: GPT, head: Linear, _ batch: LabelledBatch) -> Tensor {
        let tape = Tape.inference
        return head(tape.gatherPositions(model.hiddenStates(batch.inputs, tape), batch.lastPositions), tape).value
    }

    /// DPO against a frozen `reference` model (usually the SFT model the policy starts from), strength β.
    public static func dpo(reference: GPT, beta: Float) -> (GPT, PreferenceBatch, Tape) -> Variable {
        { model, batch, tape in
            func logProbabilities(_ m: GPT, _ rows: TokenBatch, _ t: Tape) -> Variable {
                t.sequenceLogProbabilities(m(rows.inputs, t), targets: rows.targets)          // (B)
            }
            let chosenReference = logProbabilities(reference, batch.chosen, .inference).value
            let rejectedReference = logProbabilities(reference, batch.rejected, .inference).value
            let margins = (0..<chosenReference.count).map { chosenReference.base[$0] - rejectedReference.base[$0] }
            return tape.dpoLoss(chosen: logProbabilities(model, batch.chosen, tape),
                                rejected: logProbabilities(model, batch.rejected, tape),
                                referenceMargins: margins, beta: beta)
        }
    }
}
