import Support
import Neural
import Testing

@Suite struct IGNTests {
    private func permute2(_ x: [Double], _ p: [Int]) -> [Double] {
        let n = p.count
        var y = x
        for i in 0..<n { for j in 0..<n { y[i * n + j] = x[p[i] * n + p[j]] } }
        return y
    }

    @Test func adjointsAreAdjoint() {
        var rng = SplitMix64(seed: 60)
        let n = 5
        let x = (0..<(n * n)).map { _ in Double.random(in: -1...1, using: &rng) }
        let g2 = (0..<(n * n)).map { _ in Double.random(in: -1...1, using: &rng) }
        let g1 = (0..<n).map { _ in Double.random(in: -1...1, using: &rng) }
        for k in 0..<15 {
            let lhs = zip(IGNBasis.apply2to2(k, x, n: n, normalized: true), g2).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x, IGNBasis.adjoint2to2(k, g2, n: n, normalized: true)).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(lhs - rhs) < 1e-12, "2→2 op \(k)")
        }
        for k in 0..<5 {
            let lhs = zip(IGNBasis.apply2to1(k, x, n: n, normalized: false), g1).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x, IGNBasis.adjoint2to1(k, g1, n: n, normalized: false)).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(lhs - rhs) < 1e-12, "2→1 op \(k)")
        }
    }

    /// The 15 maps are linearly independent as linear maps (they span the 15-dimensional space
    /// of equivariant maps): each map's matrix, applied to every unit matrix E_ab, flattened.
    @Test func basisIsIndependent() {
        let n = 4
        let vs: [[Double]] = (0..<15).map { k in
            var m = [Double]()
            for e in 0..<(n * n) {
                var unit = [Double](repeating: 0, count: n * n)
                unit[e] = 1
                m += IGNBasis.apply2to2(k, unit, n: n, normalized: false)
            }
            return m
        }
        var basis = [[Double]]()
        for v in vs {
            var w = v
            for b in basis { let d = zip(w, b).reduce(0) { $0 + $1.0 * $1.1 }; for i in w.indices { w[i] -= d * b[i] } }
            let nrm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(nrm > 1e-8)
            basis.append(w.map { $0 / nrm })
        }
    }

    @Test(arguments: [IGNLayer<Double>.Kind.twoToTwo, .twoToOne])
    func equivarianceAndGradients(_ kind: IGNLayer<Double>.Kind) {
        var rng = SplitMix64(seed: 62)
        let n = 4
        var layer = IGNLayer<Double>(kind, inChannels: 2, outChannels: 3, using: &rng)
        layer.bias = [0.1, -0.2, 0.3]
        let x = (0..<2).map { _ in (0..<(n * n)).map { _ in Double.random(in: -1...1, using: &rng) } }
        let y = layer.forward(x, n: n)
        let p = [2, 0, 3, 1]
        let yp = layer.forward(x.map { permute2($0, p) }, n: n)
        for o in 0..<3 {
            if kind == .twoToTwo {
                let expected = permute2(y[o], p)
                #expect(zip(yp[o], expected).allSatisfy { abs($0 - $1) < 1e-12 })
            } else {
                #expect((0..<n).allSatisfy { abs(yp[o][$0] - y[o][p[$0]]) < 1e-12 })
            }
        }
        // Gradient check with respect to the input and the weights.
        let outSize = kind == .twoToTwo ? n * n : n
        let w = (0..<3).map { _ in (0..<outSize).map { _ in Double.random(in: -1...1, using: &rng) } }
        func loss(_ l: IGNLayer<Double>, _ input: [[Double]]) -> Double {
            var m = l
            return zip(m.forward(input, n: n), w).reduce(0) { acc, pair in acc + zip(pair.0, pair.1).reduce(0) { $0 + $1.0 * $1.1 } }
        }
        _ = layer.forward(x, n: n)
        let dx = layer.backward(w)
        for c in 0..<2 {
            for i in 0..<(n * n) {
                var a = x, b = x
                a[c][i] += 1e-6; b[c][i] -= 1e-6
                let num = (loss(layer, a) - loss(layer, b)) / 2e-6
                #expect(abs(num - dx[c][i]) < 1e-7 * max(1, abs(num)))
            }
        }
        for i in layer.weights.indices {
            var a = layer, b = layer
            a.weights[i] += 1e-6; b.weights[i] -= 1e-6
            let num = (loss(a, x) - loss(b, x)) / 2e-6
            #expect(abs(num - layer.weightGradient[i]) < 1e-7 * max(1, abs(num)))
        }
    }
}
