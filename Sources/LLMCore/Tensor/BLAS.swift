// Introduced in Chapter 00. Every matrix product in the course goes through `cblas_sgemm`.
// Transposes are flags, never materialised: BLAS reads a (K, M) row-major array as its transpose
// for free, so Aᵀ·B costs the same as A·B.

import CBLAS
import Foundation

public enum BLAS {
    /// Whether big products are split over our workers (OpenBLAS single-threaded in each) instead of
    /// left to OpenBLAS's own threads. See `Parallel` for why; `LLM_BLAS_THREADS=openblas` turns it off.
    nonisolated(unsafe) public static var splitProducts =
        ProcessInfo.processInfo.environment["LLM_BLAS_THREADS"] != "openblas"

    /// `C = α · op(A) · op(B) + β · C` on row-major arrays, where op(A) is (M, K) and op(B) is (K, N).
    ///
    /// - Parameters:
    ///   - transposeA: A is stored as (K, M) and used transposed.
    ///   - transposeB: B is stored as (N, K) and used transposed.
    ///   - beta: 0 overwrites C; 1 accumulates into C (how backward passes add gradients).
    ///   - lda, ldb, ldc: row strides, when the matrices are column blocks of wider arrays (one attention
    ///     head's columns inside the packed q|k|v rows); by default the rows are packed.
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                            b: UnsafePointer<Float>, ldb: Int? = nil,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        if m == 0 || n == 0 { return }
        let ldc = ldc ?? n
        if k == 0 {  // an empty sum: C = β·C
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let lda = lda ?? (transposeA ? m : k), ldb = ldb ?? (transposeB ? k : n)
        if m <= 16 && !transposeA && transposeB && splitProducts {
            matrixVector(m: m, n: n, k: k, alpha: alpha, x: a, ldx: lda, w: b, ldw: ldb, beta: beta, y: c, ldy: ldc)
            return
        }
        if splitProducts && !Parallel.insideWorker && m * n * k >= 1 << 21 && Parallel.threads > 1 {
            // Split C's rows (or columns, when it has few rows) over our workers, OpenBLAS single-threaded in each.
            if m >= n || m >= 2 * Parallel.threads {
                Parallel.forEach(m, minimumPerWorker: 16, callsBLAS: true) { rows in
                    let aStart = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
                    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans,
                                Int32(rows.count), Int32(n), Int32(k), alpha, aStart, Int32(lda), b, Int32(ldb),
                                beta, c + rows.lowerBound * ldc, Int32(ldc))
                }
            } else {
                Parallel.forEach(n, minimumPerWorker: 16, callsBLAS: true) { columns in
                    let bStart = transposeB ? b + columns.lowerBound * ldb : b + columns.lowerBound
                    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(columns.count), Int32(k), alpha, a, Int32(lda), bStart, Int32(ldb),
                                beta, c + columns.lowerBound, Int32(ldc))
                }
            }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda),
                    b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// Y = α·X·Wᵀ + β·Y for a few rows X (M ≤ 16, each K) and W (N, K) row-major: a linear layer on one
    /// token (batch-1 decoding) or a handful (speculative decoding's verification). Each weight row is
    /// read from memory once and dotted with every row of X, which stays in cache; rows of W are split
    /// over our workers. Reading W is the whole cost, so this runs at memory speed — OpenBLAS's sgemm
    /// packs all of W first for M this small, and reached ~18 GFLOP/s on M = 1 here.
    static func matrixVector(m: Int, n: Int, k: Int, alpha: Float, x: UnsafePointer<Float>, ldx: Int,
                             w: UnsafePointer<Float>, ldw: Int, beta: Float, y: UnsafeMutablePointer<Float>, ldy: Int) {
        Parallel.forEach(n, minimumPerWorker: max(1, (1 << 15) / max(k, 1)), fineGrained: true) { rows in
            for row in rows {
                let weights = w + row * ldw
                func store(_ i: Int, _ dot: Float) {
                    let value = alpha * dot, out = y + i * ldy + row
                    out.pointee = beta == 0 ? value : value + beta * out.pointee
                }
                var i = 0
                while i + 4 <= m {   // four rows of X per pass over the weight row
                    let (s0, s1, s2, s3) = Kernels.dot4(weights, x + i * ldx, stride: ldx, count: k)
                    store(i, s0); store(i + 1, s1); store(i + 2, s2); store(i + 3, s3)
                    i += 4
                }
                while i < m {
                    store(i, Kernels.dot(weights, x + i * ldx, count: k))
                    i += 1
                }
            }
        }
    }

    /// `groups` independent products `C[g] = α · op(A[g]) · op(B[g]) + β · C[g]` over contiguous
    /// (M,K)/(K,N)/(M,N) blocks, split over our workers with OpenBLAS single-threaded: small products
    /// (attention heads) run faster that way than one after another on OpenBLAS's threads.
    /// A stride of 0 for `b` reuses one B for every group.
    public static func batchedGemm(groups: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                   alpha: Float = 1, a: UnsafePointer<Float>, strideA: Int,
                                   b: UnsafePointer<Float>, strideB: Int,
                                   beta: Float, c: UnsafeMutablePointer<Float>, strideC: Int) {
        Parallel.forEach(groups, callsBLAS: true) { range in
            for g in range {
                gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                     a: a + g * strideA, b: b + g * strideB, beta: beta, c: c + g * strideC)
            }
        }
    }
}
