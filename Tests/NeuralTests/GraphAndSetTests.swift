import Support
import Neural
import Testing

@Suite struct GraphAndSetTests {
    private func rel(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.max()! / max(1e-8, zip(a, b).map { abs($0) + abs($1) }.max()!)
    }

    /// A 6-cycle with one chord.
    private let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)]

    @Test func ginIsPermutationEquivariant() {
        var rng = SplitMix64(seed: 40)
        let g = Adjacency(nodes: 6, edges: edges)
        var gin = GINLayer<Double>(inputs: 3, hidden: 8, outputs: 4, eps: 0.25, using: &rng)
        let x = Matrix<Double>(rows: 6, columns: 3, values: (0..<18).map { _ in Double.random(in: -1...1, using: &rng) })
        let y = gin.forward(x, graph: g)
        let perm = [3, 0, 5, 1, 4, 2]  // new node i is old node perm[i]
        var inv = [Int](repeating: 0, count: 6)
        for (i, p) in perm.enumerated() { inv[p] = i }
        let gp = Adjacency(nodes: 6, edges: edges.map { (inv[$0.0], inv[$0.1]) })
        var xp = x
        for i in 0..<6 { for c in 0..<3 { xp[i, c] = x[perm[i], c] } }
        let yp = gin.forward(xp, graph: gp)
        for i in 0..<6 { for c in 0..<4 { #expect(abs(yp[i, c] - y[perm[i], c]) < 1e-12) } }
    }

    @Test func ginGradients() {
        var rng = SplitMix64(seed: 41)
        let g = Adjacency(nodes: 6, edges: edges)
        var gin = GINLayer<Double>(inputs: 2, hidden: 5, outputs: 3, eps: 0.1, using: &rng)
        let x = Matrix<Double>(rows: 6, columns: 2, values: (0..<12).map { _ in Double.random(in: -1...1, using: &rng) })
        let w = (0..<18).map { _ in Double.random(in: -1...1, using: &rng) }
        _ = gin.forward(x, graph: g)
        let dx = gin.backward(Matrix(rows: 6, columns: 3, values: w), graph: g)
        var num = [Double]()
        for i in x.values.indices {
            var p = x, q = x
            p.values[i] += 1e-6; q.values[i] -= 1e-6
            var a = gin, b = gin
            num.append((zip(a.forward(p, graph: g).values, w).reduce(0) { $0 + $1.0 * $1.1 }
                        - zip(b.forward(q, graph: g).values, w).reduce(0) { $0 + $1.0 * $1.1 }) / 2e-6)
        }
        #expect(rel(dx.values, num) < 1e-7)
    }

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
