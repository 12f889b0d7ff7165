import Support
import Neural
import Testing

@Suite struct NormalizationTests {
    private func rel(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.max()! / max(1e-8, zip(a, b).map { abs($0) + abs($1) }.max()!)
    }

    private func check<L>(_ layer: L, forward: (inout L, Matrix<Double>) -> Matrix<Double>,
                          backward: (inout L, Matrix<Double>) -> Matrix<Double>, seed: UInt64) -> Double {
        var rng = SplitMix64(seed: seed)
        let x = Matrix<Double>(rows: 5, columns: 4, values: (0..<20).map { _ in Double.random(in: -2...2, using: &rng) })
        let w = (0..<20).map { _ in Double.random(in: -1...1, using: &rng) }
        var l = layer
        _ = forward(&l, x)
        let dx = backward(&l, Matrix(rows: 5, columns: 4, values: w))
        var num = [Double]()
        for i in x.values.indices {
            var p = x, q = x
            p.values[i] += 1e-6; q.values[i] -= 1e-6
            var a = layer, b = layer
            num.append((zip(forward(&a, p).values, w).reduce(0) { $0 + $1.0 * $1.1 }
                        - zip(forward(&b, q).values, w).reduce(0) { $0 + $1.0 * $1.1 }) / 2e-6)
        }
        return rel(dx.values, num)
    }


    @Test func batchNormGradientsAndRunningStatistics() {
        var bn = BatchNorm<Double>(features: 4)
        bn.gamma = [1.5, 0.5, -1, 2]
        #expect(check(bn, forward: { $0.forward($1) }, backward: { $0.backward($1) }, seed: 51) < 1e-7)
        // Running statistics as PyTorch: mean and unbiased variance blended with momentum 0.1.
        var b2 = BatchNorm<Double>(features: 1)
        _ = b2.forward(Matrix(rows: 4, columns: 1, values: [1, 2, 3, 4]))
        #expect(abs(b2.runningMean[0] - 0.25) < 1e-15)
        #expect(abs(b2.runningVariance[0] - (0.9 + 0.1 * 5.0 / 3.0)) < 1e-15)
        b2.training = false
        let y = b2.forward(Matrix(rows: 1, columns: 1, values: [0.25]))
        #expect(abs(y.values[0]) < 1e-15)
    }
}
