// Introduced in Chapter 06. The singular values of a matrix, for "how low-rank is a fine-tuning update?":
// one-sided Jacobi (Hestenes, 1958) in Float64. Pairs of columns are rotated until every pair is
// orthogonal; the columns' lengths are then the singular values. Slow (≈ 10 sweeps of n²/2 rotations of
// length m) but short, exact to rounding, and enough for the 192 × 512 matrices of the course model.

import Foundation

public enum SingularValues {
    /// The singular values of `matrix` (rows, columns), largest first; min(rows, columns) of them.
    public static func of(_ matrix: Tensor, tolerance: Double = 1e-12, maxSweeps: Int = 60) -> [Float] {
        precondition(matrix.shape.count == 2, "SingularValues.of needs a matrix, got \(matrix.shape)")
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        let values = matrix.scalars
        // Work on the smaller side: vector j (of `count`) is column j of A (or of Aᵀ), `length` long,
        // stored at v[j·length ..< (j+1)·length].
        let (count, length) = columns <= rows ? (columns, rows) : (rows, columns)
        var v = [Double](repeating: 0, count: count * length)
        for r in 0..<rows {
            for c in 0..<columns {
                v[columns <= rows ? c * length + r : r * length + c] = Double(values[r * columns + c])
            }
        }
        v.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for _ in 0..<maxSweeps {
                var rotated = false
                for p in 0..<count {
                    let x = base + p * length
                    for q in (p + 1)..<max(count, p + 1) {
                        let y = base + q * length
                        var alpha = 0.0, beta = 0.0, gamma = 0.0
                        for i in 0..<length {
                            alpha += x[i] * x[i]
                            beta += y[i] * y[i]
                            gamma += x[i] * y[i]
                        }
                        guard abs(gamma) > tolerance * (alpha * beta).squareRoot(), gamma != 0 else { continue }
                        rotated = true
                        let zeta = (beta - alpha) / (2 * gamma)
                        let t = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
                        let c = 1 / (1 + t * t).squareRoot(), s = c * t
                        for i in 0..<length {
                            let (a, b) = (x[i], y[i])
                            x[i] = c * a - s * b
                            y[i] = s * a + c * b
                        }
                    }
                }
                if !rotated { break }
            }
        }
        return (0..<count).map { j in
            Float(v[(j * length)..<((j + 1) * length)].reduce(0) { $0 + $1 * $1 }.squareRoot())
        }.sorted(by: >)
    }

    /// The smallest k whose k largest singular values hold `fraction` of the squared (Frobenius) total.
    public static func rank(holding fraction: Double, of values: [Float]) -> Int {
        let total = values.reduce(0.0) { $0 + Double($1) * Double($1) }
        guard total > 0 else { return 0 }
        var sum = 0.0
        for (k, v) in values.enumerated() {
            sum += Double(v) * Double(v)
            if sum >= fraction * total { return k + 1 }
        }
        return values.count
    }
}
