import Support
import Neural
import Testing

@Suite struct GraphAndSetTests {
    private func rel(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.max()! / max(1e-8, zip(a, b).map { abs($0) + abs($1) }.max()!)
    }

    /// A 6-cycle with one chord.
    private let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)]

    @Test func encodingsAndSetSum() {
        var rng = SplitMix64(seed: 42)
        var x = Matrix<Double>(rows: 2, columns: 4, values: [1, -2, 3, -4, -5, 6, -7, 8])
        let a = EigenEncoding.absolute(x)
        #expect(a.values == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(EigenEncoding.absoluteBackward(Matrix(rows: 2, columns: 4, fill: 1), input: x).values == [1, -1, 1, -1, -1, 1, -1, 1])
        let original = x
        let signs = EigenEncoding.randomSignFlip(&x, using: &rng)
        for r in 0..<2 { for c in 0..<4 { #expect(x[r, c] == signs[c] * original[r, c]) } }
        // Set sum: order of the k elements does not matter; backward broadcasts.
        let s = SetSum.forward(Matrix<Double>(rows: 1, columns: 6, values: [1, 2, 3, 4, 5, 6]), elements: 3)
        #expect(s.values == [9, 12])
        let s2 = SetSum.forward(Matrix<Double>(rows: 1, columns: 6, values: [5, 6, 1, 2, 3, 4]), elements: 3)
        #expect(s2.values == s.values)
        #expect(SetSum.backward(Matrix<Double>(rows: 1, columns: 2, values: [7, 8]), elements: 3).values == [7, 8, 7, 8, 7, 8])
    }
}
