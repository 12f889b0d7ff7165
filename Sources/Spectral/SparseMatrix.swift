/// A sparse matrix in compressed sparse row form (zero-based, column indices ascending
/// within each row), as SciPy's `csr_matrix(data, indices, indptr)`.
public struct SparseMatrix: Sendable, Equatable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// `rows + 1` offsets into `columnIndices` / `values`.
    public var rowPointers: [Int]
    /// Column of each stored entry, ascending within a row.
    public var columnIndices: [Int32]
    /// The stored entries, row by row.
    public var values: [Double]

    /// A matrix from its CSR arrays (not checked: the operators build valid ones).
    public init(rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32], values: [Double]) {
        self.rows = rows
        self.columns = columns
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
    }

    /// Stored entries (explicit zeros included).
    public var nonZeroCount: Int { values.count }

    /// Entry (i, j), zero where none is stored.
    public subscript(i: Int, j: Int) -> Double {
        for p in rowPointers[i]..<rowPointers[i + 1] where Int(columnIndices[p]) == j { return values[p] }
        return 0
    }

    /// y = A x.
    public func multiply(_ x: [Double]) -> [Double] {
        precondition(x.count == columns)
        var y = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            var s = 0.0
            for p in rowPointers[i]..<rowPointers[i + 1] { s += values[p] * x[Int(columnIndices[p])] }
            y[i] = s
        }
        return y
    }

    /// The diagonal.
    public var diagonal: [Double] { (0..<min(rows, columns)).map { self[$0, $0] } }
}
