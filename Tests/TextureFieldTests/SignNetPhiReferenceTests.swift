import Neural
import Support
import Testing
import TextureField

/// The texture field's SignNet φ (`SignNetPhi`, AVX2/FMA C kernels, Float) against Neural's
/// generic `SignInvariantEncoder` (layer by layer, Double), its reference: same parameters, same
/// outputs and gradients — for φ(v) and for the eigenvalue variant φ(v, λ̃).
@Suite struct SignNetPhiReferenceTests {
    @Test(arguments: [false, true]) func fastKernelEqualsReference(usesEigenvalue: Bool) {
        var rng = SplitMix64(seed: usesEigenvalue ? 91 : 90)
        let H = 8, rows = 37, k = 5, features = usesEigenvalue ? 2 : 1
        var phi = SignNetPhi(hidden: H, usesEigenvalue: usesEigenvalue, using: &rng)
        for i in phi.parameters.indices { phi.parameters[i] = Float.random(in: -1...1, using: &rng) }
        let v = (0..<(rows * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let lambda = (0..<k).map { _ in Float.random(in: 0...1, using: &rng) }
        let gout = (0..<(rows * k)).map { _ in Float.random(in: -1...1, using: &rng) }

        var ref = SignInvariantEncoder<Double>(eigenvectors: k, features: features, signed: 1, hidden: [H], outputs: 1, using: &rng)
        let p = phi.parameters.map(Double.init)
        for h in 0..<H {
            ref.layers[0].weight.values[h * features] = p[h]                              // w1
            if usesEigenvalue { ref.layers[0].weight.values[h * features + 1] = p[3 * H + 1 + h] }  // u1
            ref.layers[0].bias![h] = p[H + h]                                              // b1
            ref.layers[1].weight.values[h] = p[2 * H + h]                                  // w2
        }
        ref.layers[1].bias![0] = p[3 * H]                                                  // b2
        var x = Matrix<Double>(rows: rows, columns: k * features, fill: 0)
        for r in 0..<rows { for j in 0..<k {
            x[r, j * features] = Double(v[r * k + j])
            if usesEigenvalue { x[r, j * features + 1] = Double(lambda[j]) }
        } }

        var out = [Float](repeating: 0, count: rows * k)
        v.withUnsafeBufferPointer { vp in out.withUnsafeMutableBufferPointer { op in
            phi.forward(vp.baseAddress!, rows: rows, k: k, lambda: lambda, into: op.baseAddress!)
        } }
        let y = ref.forward(x)
        let scale = y.values.map { abs($0) }.max()!
        for i in out.indices { #expect(abs(Double(out[i]) - y.values[i]) <= 1e-5 * scale, "output \(i)") }

        v.withUnsafeBufferPointer { vp in gout.withUnsafeBufferPointer { gp in
            phi.backward(vp.baseAddress!, gout: gp.baseAddress!, rows: rows, k: k, lambda: lambda)
        } }
        ref.zeroGradients()
        _ = ref.backward(Matrix(rows: rows, columns: k, values: gout.map(Double.init)))
        var expected = [Double](repeating: 0, count: phi.parameterCount)
        for h in 0..<H {
            expected[h] = ref.layers[0].weightGradient.values[h * features]
            if usesEigenvalue { expected[3 * H + 1 + h] = ref.layers[0].weightGradient.values[h * features + 1] }
            expected[H + h] = ref.layers[0].biasGradient![h]
            expected[2 * H + h] = ref.layers[1].weightGradient.values[h]
        }
        expected[3 * H] = ref.layers[1].biasGradient![0]
        let gscale = expected.map { abs($0) }.max()!
        for i in expected.indices {
            #expect(abs(Double(phi.gradients[i]) - expected[i]) <= 1e-4 * gscale, "gradient \(i): \(phi.gradients[i]) vs \(expected[i])")
        }
    }
}
