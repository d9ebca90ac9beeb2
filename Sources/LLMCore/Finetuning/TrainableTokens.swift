// Introduced in Chapter 06. Trainable token rows: new values for a few rows of the token embedding and of
// the LM head, trained while both tables stay frozen (Hugging Face PEFT's "trainable tokens",
// `trainable_token_indices`). LoRA adapts the blocks' matrices; it cannot teach the model a token the base
// never saw as a target. The chat template's `<|im_end|>` is one: pretraining never predicts it, so its head
// row is whatever initialisation left, and a low-rank update of the blocks cannot lift its logit the way
// full fine-tuning (which trains that row) does. Training those few rows costs 2·C numbers per token.
//
// The rows start as copies of the table's rows (a fresh adapter changes nothing); the forward pass looks
// them up instead of the table's (embedding) or scores them instead (head: the columns of those ids in the
// logits). Merging writes them into the table, unmerging puts the originals back.

/// Replacement rows for a few ids of one table (the token embedding or the LM head), trainable.
public final class TokenRows {
    /// "tok_embeddings" or "lm_head": the table's name without ".weight" (PEFT's module name).
    public let module: String
    /// The ids whose rows are replaced, in the order of `rows`.
    public let ids: [Int]
    /// (ids.count, C): the rows used instead of the table's (PEFT's `trainable_tokens_delta`, which holds
    /// the new rows themselves, not a difference).
    public let rows: Variable
    /// The frozen table these rows replace rows of.
    public let table: Variable
    /// Whether the rows are written into the table (then the forward pass uses the table as it is).
    public private(set) var merged = false
    private let slot: [Int: Int]
    private var originals: Tensor

    /// Rows for `ids` of `table` (V, C), starting as copies of the table's rows. The ids must be distinct
    /// and in 0..<V (the caller checks user input; see `LoRAAdapter.apply`).
    init(table: Variable, module: String, ids: [Int]) {
        let c = table.shape[1]
        var copy = Tensor(zeros: [ids.count, c])
        copy.withUnsafeMutableBufferPointer { dst in
            table.value.withUnsafeBufferPointer { src in
                for (k, id) in ids.enumerated() {
                    for j in 0..<c { dst[k * c + j] = src[id * c + j] }
                }
            }
        }
        (self.module, self.ids, self.table, originals) = (module, ids, table, copy)
        rows = .parameter(copy, name: TokenRows.tensorName(module))
        slot = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
    }

    /// Our name for the rows of `module` (PEFT's, without its "base_model.model." prefix).
    public static func tensorName(_ module: String) -> String { module + ".token_adapter.trainable_tokens_delta" }

    /// Token embeddings (shape + [C]) for `ids`: the table's rows, ours for the ids we replace.
    func embed(_ tokens: [Int], shape: [Int], _ tape: Tape) -> Variable {
        let hits = merged ? [] : tokens.indices.filter { slot[tokens[$0]] != nil }
        if hits.isEmpty { return tape.embedding(table, ids: tokens, shape: shape) }
        let c = table.shape[1]
        let plain = tape.embedding(table, ids: tokens, shape: [tokens.count])                     // (N, C)
        let ours = tape.embedding(rows, ids: hits.map { slot[tokens[$0]]! }, shape: [hits.count])  // (hits, C)
        return tape.reshape(tape.overwrite(plain, axis: 0, at: hits, with: ours), shape + [c])
    }

    /// Logits (…, V) of hidden states (…, C) against the table, with our rows scoring our ids.
    func logits(_ hidden: Variable, _ tape: Tape) -> Variable {
        merged ? tape.matmul(hidden, table, transposeB: true) : tape.logits(hidden, table: table, replacing: ids,
                                                                            with: rows)     // (…, V)
    }

    /// Writes the rows into the table (keeping the table's own rows for `unmerge`).
    public func merge() {
        guard !merged else { return }
        originals = exchange(rows.value)
        merged = true
    }

    /// Puts the table's own rows back.
    public func unmerge() {
        guard merged else { return }
        _ = exchange(originals)
        merged = false
    }

    /// Writes `incoming` (ids.count, C) into the table's rows at `ids`; returns the rows that were there.
    private func exchange(_ incoming: Tensor) -> Tensor {
        let c = table.shape[1]
        var previous = Tensor(zeros: [ids.count, c]), w = table.value
        w.withUnsafeMutableBufferPointer { wp in
            previous.withUnsafeMutableBufferPointer { pp in
                incoming.withUnsafeBufferPointer { ip in
                    for (k, id) in ids.enumerated() {
                        for j in 0..<c { (pp[k * c + j], wp[id * c + j]) = (wp[id * c + j], ip[k * c + j]) }
                    }
                }
            }
        }
        table.value = w
        return previous
    }
}
