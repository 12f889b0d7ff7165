import CBLASControl
import Foundation

public enum LaplacianKind: String, Sendable, Codable, CaseIterable {
    /// I − D^−½ A D^−½; an isolated node gets a zero row (eigenvalue 0, like a component).
    case normalized
    /// D − A.
    case combinatorial
}

/// All eigenpairs of a small graph's Laplacian, ascending, with eigenspaces grouped.
public struct GraphSpectrum: Sendable {
    public let n: Int
    public let values: [Double]
    /// n × n, column j = eigenvector j (orthonormal).
    public let vectors: [Double]
    /// Index ranges of eigenspaces (eigenvalues equal up to the tolerance, grouped by chaining
    /// consecutive gaps so that a cluster is never split at a rounding boundary).
    public let eigenspaces: [Range<Int>]

    /// A spectrum given directly (tests use it to rotate bases inside eigenspaces).
    public init(n: Int, values: [Double], vectors: [Double], eigenspaces: [Range<Int>]) {
        self.n = n; self.values = values; self.vectors = vectors; self.eigenspaces = eigenspaces
    }

    public init(_ g: Graph, kind: LaplacianKind = .normalized, tolerance: Double = 1e-6) {
        n = g.nodeCount
        var L = [Double](repeating: 0, count: n * n)
        let deg = g.degrees
        var A = [Double](repeating: 0, count: n * n)
        for (a, b) in g.edges where a != b { A[a * n + b] = 1; A[b * n + a] = 1 }
        for i in 0..<n {
            for j in 0..<n {
                switch kind {
                case .combinatorial: L[i * n + j] = (i == j ? Double(deg[i]) : 0) - A[i * n + j]
                case .normalized:
                    let s = deg[i] > 0 && deg[j] > 0 ? A[i * n + j] / (Double(deg[i]) * Double(deg[j])).squareRoot() : 0
                    L[i * n + j] = (i == j && deg[i] > 0 ? 1 : 0) - s
                }
            }
        }
        let (vals, vecs) = GraphSpectrum.symmetricEigen(L, n: n)
        values = vals; vectors = vecs
        var spaces = [Range<Int>](), start = 0
        for j in 1...max(1, n) where j == n || abs(vals[j] - vals[j - 1]) > tolerance * max(1, abs(vals[j])) {
            if n > 0 { spaces.append(start..<j); start = j }
        }
        eigenspaces = n == 0 ? [] : spaces
    }

    /// All eigenpairs of a symmetric matrix by LAPACK (dsyevd, from OpenBLAS): eigenvalues
    /// ascending, eigenvectors as columns (row-major n × n), signs fixed as in `jacobi`. Falls back
    /// to `jacobi` if LAPACK reports a failure.
    public static func symmetricEigen(_ matrix: [Double], n: Int) -> ([Double], [Double]) {
        guard n > 0 else { return ([], []) }
        var a = matrix  // symmetric: row-major = column-major
        var w = [Double](repeating: 0, count: n)
        let status = a.withUnsafeMutableBufferPointer { ap in w.withUnsafeMutableBufferPointer { tfk_symmetric_eigen(Int32(n), ap.baseAddress, $0.baseAddress, 0) } }
        guard status == Int32(TFK_OK) else { return jacobi(matrix, n: n) }
        // a is column-major: a[j * n + i] = component i of eigenvector j
        return (w, signFixed(n: n) { i, j in a[j * n + i] })
    }

    /// Cyclic Jacobi for a symmetric matrix (the simple reference for `symmetricEigen`): eigenvalues ascending, eigenvectors as columns;
    /// signs fixed so that each vector's largest-magnitude entry (first among ties within 1e-9) is positive.
    public static func jacobi(_ matrix: [Double], n: Int) -> ([Double], [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] < a[$1 * n + $1] }
        let vals = order.map { a[$0 * n + $0] }
        return (vals, signFixed(n: n) { i, j in v[i * n + order[j]] })
    }

    /// Row-major n × n eigenvectors (column j = `entry(·, j)`), each signed so that its
    /// largest-magnitude entry (the first among ties within 1e-9) is positive.
    static func signFixed(n: Int, _ entry: (Int, Int) -> Double) -> [Double] {
        var vecs = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var big = 0.0
            for i in 0..<n { big = max(big, abs(entry(i, j))) }
            var sign = 1.0
            for i in 0..<n where abs(entry(i, j)) >= big - 1e-9 { sign = entry(i, j) < 0 ? -1 : 1; break }
            for i in 0..<n { vecs[i * n + j] = sign * entry(i, j) }
        }
        return vecs
    }

    /// The first k eigenvectors as n × k (row-major), zero-padded beyond n, and the mask of
    /// the real columns.
    public func padded(_ k: Int) -> (vectors: [Float], mask: [Bool]) {
        var out = [Float](repeating: 0, count: n * k)
        for i in 0..<n { for j in 0..<min(k, n) { out[i * k + j] = Float(vectors[i * n + j]) } }
        return (out, (0..<k).map { $0 < n })
    }

    /// The eigenvalue of eigenspace s (that of its first eigenvector).
    public func eigenspaceValue(_ s: Int) -> Double { values[eigenspaces[s].lowerBound] }

    /// The projector V_s V_sᵀ (n × n) of eigenspace s.
    public func projector(_ s: Int) -> [Double] {
        var p = [Double](repeating: 0, count: n * n)
        for j in eigenspaces[s] { for a in 0..<n { for b in 0..<n { p[a * n + b] += vectors[a * n + j] * vectors[b * n + j] } } }
        return p
    }
}
