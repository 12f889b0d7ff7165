/// A dense matrix, row-major and contiguous: `values[row * columns + column]`.
/// A batch of samples is a matrix with one sample per row.
public struct Matrix<T: GEMMScalar>: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public var values: [T]

    public init(rows: Int, columns: Int, values: [T]) {
        precondition(values.count == rows * columns, "\(values.count) values for a \(rows)×\(columns) matrix")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, fill: T = 0) {
        self.init(rows: rows, columns: columns, values: [T](repeating: fill, count: rows * columns))
    }

    @inlinable public subscript(r: Int, c: Int) -> T {
        get { values[r * columns + c] }
        set { values[r * columns + c] = newValue }
    }

    /// C = alpha · op(A) op(B) + beta · C through BLAS; shapes are checked.
    @_specialize(where T == Float)
    public static func multiply(_ a: Matrix, _ b: Matrix, transposeA ta: Bool = false, transposeB tb: Bool = false,
                                into c: inout Matrix, alpha: T = 1, beta: T = 0) {
        let m = ta ? a.columns : a.rows, k = ta ? a.rows : a.columns
        let kb = tb ? b.columns : b.rows, n = tb ? b.rows : b.columns
        precondition(k == kb && c.rows == m && c.columns == n, "shape mismatch in multiply")
        // Empty operands (an empty array has no base address): C = βC, or nothing at all.
        guard m > 0, n > 0 else { return }
        guard k > 0 else { for i in c.values.indices { c.values[i] = beta == 0 ? 0 : beta * c.values[i] }; return }
        a.values.withUnsafeBufferPointer { ap in
            b.values.withUnsafeBufferPointer { bp in
                c.values.withUnsafeMutableBufferPointer { cp in
                    T.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: a.columns,
                           b: bp.baseAddress!, ldb: b.columns, beta: beta, c: cp.baseAddress!, ldc: c.columns)
                }
            }
        }
    }
}
