import COpenBLAS

/// Scalars with a BLAS matrix product: Float (sgemm) for training, Double (dgemm) for
/// gradient checks.
public protocol GEMMScalar: BinaryFloatingPoint, Sendable {
    /// C = alpha · op(A) · op(B) + beta · C, row-major, as `cblas_?gemm(CblasRowMajor, …)`.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    static func exponential(_ x: Self) -> Self
}

extension Float: GEMMScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func exponential(_ x: Float) -> Float { Float(exp(Double(x))) }
}

extension Double: GEMMScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func exponential(_ x: Double) -> Double { exp(x) }
}

/// The plain triple loop that `GEMMScalar.gemm` must agree with (used by the tests).
public func referenceGEMM<T: GEMMScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                                          a: [T], lda: Int, b: [T], ldb: Int, beta: T, c: inout [T], ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var s: T = 0
            for p in 0..<k {
                let x = transA ? a[p * lda + i] : a[i * lda + p]
                let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                s += x * y
            }
            c[i * ldc + j] = alpha * s + beta * c[i * ldc + j]
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
