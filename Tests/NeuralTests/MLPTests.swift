import Support
import Neural
import Testing

@Suite struct MLPBuilderTests {
    @Test func expressesTheReferenceNetwork() {
        var rng = SplitMix64(seed: 70)
        let mlp = MLP<Float>(inputs: 1023, hidden: [128, 128, 128, 128, 128], outputs: 3, activation: .relu,
                             outputActivation: .sigmoid, skipInputAt: 3, using: &rng)
        #expect(mlp.parameterCount == 328_579)
    }

    @Test func sameFunctionAndGradientsAsReferenceMLP() {
        var rng = SplitMix64(seed: 71)
        var ref = ReferenceMLP<Double>(inputs: 5, width: 6, using: &rng)
        var mlp = MLP<Double>(inputs: 5, hidden: [6, 6, 6, 6, 6], outputs: 3, outputActivation: .sigmoid,
                              skipInputAt: 3, using: &rng)
        for l in 0..<5 { mlp.layers[l].weight = ref.hidden[l].weight; mlp.layers[l].bias = ref.hidden[l].bias }
        mlp.layers[5].weight = ref.output.weight; mlp.layers[5].bias = ref.output.bias
        mlp.skip!.weight = ref.skip.weight; mlp.skip!.bias = ref.skip.bias
        let x = Matrix<Double>(rows: 4, columns: 5, values: (0..<20).map { _ in Double.random(in: -1...1, using: &rng) })
        let a = ref.forward(x), b = mlp.forward(x)
        #expect(a.values == b.values)
        let g = Matrix<Double>(rows: 4, columns: 3, values: (0..<12).map { _ in Double.random(in: -1...1, using: &rng) })
        ref.zeroGradients(); mlp.zeroGradients()
        ref.backward(g)
        let dx = mlp.backward(g)
        #expect(ref.skip.weightGradient.values == mlp.skip!.weightGradient.values)
        #expect(ref.hidden[0].weightGradient.values == mlp.layers[0].weightGradient.values)
        // Input gradient by centred differences (both paths: first layer and skip).
        let w = g.values
        var num = [Double]()
        for i in x.values.indices {
            var p = x, q = x
            p.values[i] += 1e-6; q.values[i] -= 1e-6
            var m1 = mlp, m2 = mlp
            num.append((zip(m1.forward(p).values, w).reduce(0) { $0 + $1.0 * $1.1 }
                        - zip(m2.forward(q).values, w).reduce(0) { $0 + $1.0 * $1.1 }) / 2e-6)
        }
        let err = zip(dx.values, num).map { abs($0 - $1) }.max()! / max(1e-8, num.map(abs).max()!)
        #expect(err < 1e-7)
    }
}
