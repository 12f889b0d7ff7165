import Support
import Neural
import Testing

@Suite struct SignInvariantEncoderTests {
    @Test func invariantUnderEverySignFlip() {
        var rng = SplitMix64(seed: 8)
        var enc = SignInvariantEncoder<Double>(eigenvectors: 5, features: 2, signed: 1, hidden: [16, 16], outputs: 4, using: &rng)
        let x = Matrix<Double>(rows: 7, columns: 10, values: (0..<70).map { _ in Double.random(in: -1...1, using: &rng) })
        let y = enc.forward(x)
        for _ in 0..<10 {
            var flipped = x
            for i in 0..<5 where Bool.random(using: &rng) {
                for r in 0..<7 { flipped[r, 2 * i] = -flipped[r, 2 * i] }  // the value, not the eigenvalue
            }
            let z = enc.forward(flipped)
            let worst = zip(y.values, z.values).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-12 * y.values.map(abs).max()!)
        }
        // Flipping the unsigned feature (the eigenvalue) does change the output.
        var other = x
        other[0, 1] = -other[0, 1] + 0.5
        #expect(enc.forward(other).values != y.values)
    }

    @Test func gradientsMatchCentredDifferences() {
        var rng = SplitMix64(seed: 12)
        var enc = SignInvariantEncoder<Double>(eigenvectors: 3, features: 2, signed: 1, hidden: [6], outputs: 3, using: &rng)
        let x = Matrix<Double>(rows: 4, columns: 6, values: (0..<24).map { _ in Double.random(in: -1...1, using: &rng) })
        let w = (0..<36).map { _ in Double.random(in: -1...1, using: &rng) }
        func loss(_ e: SignInvariantEncoder<Double>, _ input: Matrix<Double>) -> Double {
            var m = e
            return zip(m.forward(input).values, w).reduce(0) { $0 + $1.0 * $1.1 }
        }
        enc.zeroGradients()
        _ = enc.forward(x)
        let dx = enc.backward(Matrix(rows: 4, columns: 9, values: w))
        let h = 1e-6
        var numX = [Double]()
        for i in x.values.indices {
            var p = x, q = x
            p.values[i] += h; q.values[i] -= h
            numX.append((loss(enc, p) - loss(enc, q)) / (2 * h))
        }
        var numW = [Double]()
        for i in enc.layers[0].weight.values.indices {
            var p = enc, q = enc
            p.layers[0].weight.values[i] += h; q.layers[0].weight.values[i] -= h
            numW.append((loss(p, x) - loss(q, x)) / (2 * h))
        }
        func rel(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).map { abs($0 - $1) }.max()! / max(1e-8, zip(a, b).map { abs($0) + abs($1) }.max()!)
        }
        #expect(rel(dx.values, numX) < 1e-7)
        #expect(rel(enc.layers[0].weightGradient.values, numW) < 1e-7)
    }
}
