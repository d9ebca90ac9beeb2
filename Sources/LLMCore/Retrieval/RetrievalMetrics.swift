// Introduced in Chapter 09. How well a retriever ranks: for each question, the ranked chunk indices it returned
// and the set of gold chunks that answer it.
//
//   recall@k  the fraction of questions with a gold chunk among the first k (with one gold chunk per question,
//             as for attribution and poem questions, this is the usual recall; for a topic request, whose gold
//             set is every chunk of the topic, it is success@k — "did one of them come back")
//   MRR       the mean over questions of 1 / rank of the first gold chunk (0 when none is returned)
//   nDCG@10   binary relevance: DCG = Σ_{rank r ≤ 10, gold} 1 / log₂(r + 1), divided by the DCG of the ideal
//             ranking (min(|gold|, 10) gold chunks first), so 1 means the gold chunks fill the top

import Foundation

public struct RetrievalScores: Sendable, Equatable, Codable {
    /// recall@k for each k asked (keys "1", "5", …).
    public var recall: [String: Double]
    public var mrr: Double
    public var ndcg10: Double
    public var questions: Int

    public func recall(at k: Int) -> Double { recall["\(k)"] ?? 0 }
}

public enum RetrievalMetrics {
    /// 1 / rank of the first gold index in `ranked` (ranks from 1), 0 when none is there.
    public static func reciprocalRank(_ ranked: [Int], gold: Set<Int>) -> Double {
        guard let r = ranked.firstIndex(where: gold.contains) else { return 0 }
        return 1 / Double(r + 1)
    }

    /// nDCG@`k` with binary relevance.
    public static func ndcg(_ ranked: [Int], gold: Set<Int>, k: Int = 10) -> Double {
        guard !gold.isEmpty else { return 0 }
        var dcg = 0.0
        for (r, index) in ranked.prefix(k).enumerated() where gold.contains(index) { dcg += 1 / log2(Double(r + 2)) }
        let ideal = (0..<min(gold.count, k)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
        return dcg / ideal
    }

    /// The scores of many questions: `rankings[i]` against `gold[i]`, recall at each of `ks`.
    public static func score(_ rankings: [[Int]], gold: [Set<Int>], ks: [Int] = [1, 5, 10]) -> RetrievalScores {
        let n = Double(max(rankings.count, 1))
        var recall: [String: Double] = [:]
        for k in ks {
            let hits = zip(rankings, gold).filter { ranked, gold in ranked.prefix(k).contains(where: gold.contains) }
            recall["\(k)"] = Double(hits.count) / n
        }
        let mrr = zip(rankings, gold).reduce(0.0) { $0 + reciprocalRank($1.0, gold: $1.1) } / n
        let meanNDCG = zip(rankings, gold).reduce(0.0) { $0 + Self.ndcg($1.0, gold: $1.1) } / n
        return RetrievalScores(recall: recall, mrr: mrr, ndcg10: meanNDCG, questions: rankings.count)
    }
}

/// Token F1 of SQuAD: precision and recall of the answer's words (after `TaskEvaluation.normalized`, split on
/// spaces; Chinese by character) over the prediction's, as a multiset.
public enum AnswerF1 {
    public static func tokens(_ text: String) -> [String] {
        let normalized = TaskEvaluation.normalized(text)
        if normalized.unicodeScalars.contains(where: RetrievalTerms.isCJK) {
            return normalized.unicodeScalars.filter { !$0.properties.isWhitespace }.map { String($0) }
        }
        return normalized.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }

    public static func f1(_ prediction: String, _ answer: String) -> Double {
        let p = tokens(prediction), a = tokens(answer)
        guard !p.isEmpty, !a.isEmpty else { return p.isEmpty && a.isEmpty ? 1 : 0 }
        var counts: [String: Int] = [:]
        for t in a { counts[t, default: 0] += 1 }
        var common = 0
        for t in p where counts[t, default: 0] > 0 {
            counts[t]! -= 1
            common += 1
        }
        guard common > 0 else { return 0 }
        let precision = Double(common) / Double(p.count), recall = Double(common) / Double(a.count)
        return 2 * precision * recall / (precision + recall)
    }
}
