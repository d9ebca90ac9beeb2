// Chapter 08's exercises: the interface a solution implements, and the checks that grade it.

import Foundation
import LLMCore

public protocol Chapter08Exercises: Sendable {
    /// 08.1 — Top-p (nucleus) filtering: the indices (ascending) of the smallest most-probable set whose
    /// probabilities sum to ≥ p. Every token tied with the last one taken is kept too.
    func topP(_ probabilities: [Float], p: Float) throws -> [Int]

    /// 08.2 — Speculative sampling's rule for one draft token d: the probability of accepting it,
    /// min(1, p(d)/q(d)), and the distribution to draw the replacement from if it is rejected,
    /// max(0, p − q) renormalised.
    func acceptance(p: [Float], q: [Float], draft: Int) throws -> (accept: Float, residual: [Float])

    /// 08.3 — One beam-search step: beams with total log-probabilities `beamScores`, and each beam's
    /// next-token log-probabilities `logProbabilities[beam]`. Return the `width` best (beam, token)
    /// extensions by total log-probability, best first; ties go to the lower beam, then the lower token.
    func beamStep(beamScores: [Double], logProbabilities: [[Double]], width: Int) throws -> [(beam: Int, token: Int)]
}

public enum Chapter08Checks {
    public static let chapter = "08 — Sampling and fast inference"

    public static let all: [Exercise<any Chapter08Exercises>] = [
        Exercise(id: "08.1", title: "top-p filtering",
                 hint: "sort by probability (descending), add until the sum reaches p, then keep every token ≥ the last one added") { solution in
            let cases: [([Float], Float, [Int])] = [
                ([0.1, 0.5, 0.2, 0.2], 0.5, [1]),
                ([0.1, 0.5, 0.2, 0.2], 0.6, [1, 2, 3]),     // the tie at the cut comes along
                ([0.1, 0.5, 0.2, 0.2], 1.0, [0, 1, 2, 3]),
                ([0.25, 0.25, 0.25, 0.25], 0.3, [0, 1, 2, 3]),
            ]
            for (probabilities, p, expected) in cases {
                let kept = try solution.topP(probabilities, p: p)
                try require(kept == expected, "topP(\(probabilities), p: \(p)): expected \(expected), got \(kept)")
            }
            var generator = SeededGenerator(seed: 81)           // against the core on random distributions
            for _ in 0..<50 {
                let weights = (0..<12).map { _ in Float(1 + generator.integer(below: 5)) }
                let total = weights.reduce(0, +)
                let probabilities = weights.map { $0 / total }
                let p = Float(1 + generator.integer(below: 99)) / 100
                let cut = Sampling.nucleusThreshold(probabilities, p)
                let expected = probabilities.indices.filter { probabilities[$0] >= cut }
                let kept = try solution.topP(probabilities, p: p)
                try require(kept == expected, "topP(\(probabilities), p: \(p)): expected \(expected), got \(kept)")
            }
        },
        Exercise(id: "08.2", title: "the speculative accept/reject rule",
                 hint: "accept = min(1, p[d]/q[d]); residual[j] = max(0, p[j] − q[j]) / Σ max(0, p − q)") { solution in
            let p: [Float] = [0.5, 0.3, 0.2], q: [Float] = [0.2, 0.6, 0.2]
            let (accept, residual) = try solution.acceptance(p: p, q: q, draft: 1)
            try requireClose([accept], [0.5], tolerance: 1e-6, "accept probability of draft 1")
            try requireClose(residual, [1, 0, 0], tolerance: 1e-6, "residual")
            let sure = try solution.acceptance(p: p, q: q, draft: 0)
            try requireClose([sure.accept], [1], tolerance: 1e-6, "a draft the target likes more than the drafter is always kept")
            // The rule's point: draft from q, accept or redraw — the result is distributed as p.
            var generator = SeededGenerator(seed: 82)
            let target: [Float] = [0.1, 0.4, 0.3, 0.2], drafter: [Float] = [0.4, 0.1, 0.1, 0.4]
            var counts = [Double](repeating: 0, count: 4)
            for _ in 0..<20_000 {
                let d = generator.categorical(drafter) ?? 0
                let (a, r) = try solution.acceptance(p: target, q: drafter, draft: d)
                counts[generator.uniform() < a ? d : (generator.categorical(r) ?? 0)] += 1
            }
            let distance = zip(counts, target).map { abs($0 / 20_000 - Double($1)) }.reduce(0, +) / 2
            try require(distance < 0.02, "drafted-then-verified tokens should follow the target \(target); got \(counts.map { $0 / 20_000 })")
        },
        Exercise(id: "08.3", title: "one beam-search step",
                 hint: "score every (beam, token) by beamScore + logProbability, keep the best `width`; ties: lower beam, then lower token") { solution in
            let scores = [-1.0, -3.0]
            let rows = [[-0.5, -0.6, -3.0], [-0.1, -0.2, -5.0]]
            let step = try solution.beamStep(beamScores: scores, logProbabilities: rows, width: 3)
            try require(step.map { [$0.beam, $0.token] } == [[0, 0], [0, 1], [1, 0]],
                        "expected (0, 0) −1.5, (0, 1) −1.6, (1, 0) −3.1 — the beam's own score counts; got \(step)")
            let tied = try solution.beamStep(beamScores: [0, 0], logProbabilities: [[-1, -1], [-1, -1]], width: 3)
            try require(tied.map { [$0.beam, $0.token] } == [[0, 0], [0, 1], [1, 0]], "ties: lower beam, then lower token; got \(tied)")
            let greedy = try solution.beamStep(beamScores: [0], logProbabilities: [[-2, -0.5, -0.5, -1]], width: 1)
            try require(greedy.map { [$0.beam, $0.token] } == [[0, 1]], "width 1 is greedy (ties to the lower token); got \(greedy)")
        },
    ]
}
