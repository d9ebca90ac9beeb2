// Chapter 08 reference solutions. Try the exercises before reading on.

import ExerciseKit
import Foundation

public struct Chapter08Solution: Chapter08Exercises {
    public init() {}

    public func topP(_ probabilities: [Float], p: Float) throws -> [Int] {
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        var mass = 0.0, cut = probabilities[order.last ?? 0]
        for i in order {
            mass += Double(probabilities[i])
            if mass >= Double(p) { cut = probabilities[i]; break }
        }
        return probabilities.indices.filter { probabilities[$0] >= cut }
    }

    public func acceptance(p: [Float], q: [Float], draft: Int) throws -> (accept: Float, residual: [Float]) {
        let accept = q[draft] > 0 ? min(1, p[draft] / q[draft]) : 1
        var residual = zip(p, q).map { max(0, $0 - $1) }
        let total = residual.reduce(0, +)
        residual = total > 0 ? residual.map { $0 / total } : p
        return (accept, residual)
    }

    public func beamStep(beamScores: [Double], logProbabilities: [[Double]], width: Int) throws -> [(beam: Int, token: Int)] {
        var candidates: [(beam: Int, token: Int, total: Double)] = []
        for (beam, row) in logProbabilities.enumerated() {
            for (token, logP) in row.enumerated() { candidates.append((beam, token, beamScores[beam] + logP)) }
        }
        candidates.sort { $0.total != $1.total ? $0.total > $1.total : ($0.beam, $0.token) < ($1.beam, $1.token) }
        return candidates.prefix(width).map { ($0.beam, $0.token) }
    }
}
