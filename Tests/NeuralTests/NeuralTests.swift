import Support
import Neural
import Testing

/// Relative error of the style guide: max|a − b| / max(1e-8, |a| + |b|).
private func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) { num = max(num, abs(x - y)); den = max(den, abs(x) + abs(y)) }
    return num / max(1e-8, den)
}

@Suite struct GEMMTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func blasMatchesReference(_ t: (Bool, Bool)) {
        var rng = SplitMix64(seed: 3)
        let m = 7, n = 5, k = 9
        let a = (0..<(m * k)).map { _ in Double.random(in: -1...1, using: &rng) }
        let b = (0..<(k * n)).map { _ in Double.random(in: -1...1, using: &rng) }
        let c0 = (0..<(m * n)).map { _ in Double.random(in: -1...1, using: &rng) }
        var fast = c0, slow = c0
        let lda = t.0 ? m : k, ldb = t.1 ? k : n
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in fast.withUnsafeMutableBufferPointer { cp in
            Double.gemm(transA: t.0, transB: t.1, m: m, n: n, k: k, alpha: 0.7, a: ap.baseAddress!, lda: lda,
                        b: bp.baseAddress!, ldb: ldb, beta: 0.3, c: cp.baseAddress!, ldc: n)
        } } }
        referenceGEMM(transA: t.0, transB: t.1, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                      beta: 0.3, c: &slow, ldc: n)
        #expect(relativeError(fast, slow) < 1e-14)
    }
}

@Suite struct GradientCheckTests {
    /// Centred differences in Double of the loss sum(w ⊙ f(x)) against the analytic gradients.
    @Test func linearAndActivations() {
        var rng = SplitMix64(seed: 11)
        var layer = Linear<Double>(inputs: 4, outputs: 3, using: &rng)
        let x = Matrix<Double>(rows: 5, columns: 4, values: (0..<20).map { _ in Double.random(in: -1...1, using: &rng) })
        let w = (0..<15).map { _ in Double.random(in: -1...1, using: &rng) }
        for kind in [Activation<Double>.Kind.sigmoid, .tanh, .relu] {
            var act = Activation<Double>(kind)
            func loss(_ l: inout Linear<Double>, _ input: Matrix<Double>) -> Double {
                var a = act
                let y = a.forward(l.forward(input))
                return zip(y.values, w).reduce(0) { $0 + $1.0 * $1.1 }
            }
            layer.zeroGradients()
            let y = act.forward(layer.forward(x))
            _ = y
            let dx = layer.backward(act.backward(Matrix(rows: 5, columns: 3, values: w)))
            let h = 1e-6
            var numW = [Double](), numX = [Double]()
            for i in layer.weight.values.indices {
                var p = layer, q = layer
                p.weight.values[i] += h; q.weight.values[i] -= h
                numW.append((loss(&p, x) - loss(&q, x)) / (2 * h))
            }
            for i in x.values.indices {
                var xp = x, xq = x
                xp.values[i] += h; xq.values[i] -= h
                var l1 = layer, l2 = layer
                numX.append((loss(&l1, xp) - loss(&l2, xq)) / (2 * h))
            }
            #expect(relativeError(layer.weightGradient.values, numW) < 1e-7, "\(kind) weights")
            #expect(relativeError(dx.values, numX) < 1e-7, "\(kind) input")
        }
    }

    @Test func wholeReferenceNetwork() {
        var rng = SplitMix64(seed: 5)
        var net = ReferenceMLP<Double>(inputs: 6, width: 8, using: &rng)
        let x = Matrix<Double>(rows: 4, columns: 6, values: (0..<24).map { _ in Double.random(in: -1...1, using: &rng) })
        let target = Matrix<Double>(rows: 4, columns: 3, values: (0..<12).map { _ in Double.random(in: 0...1, using: &rng) })
        func lossOf(_ n: ReferenceMLP<Double>) -> Double {
            var m = n
            return Loss.mse.evaluate(m.forward(x), target).0
        }
        net.zeroGradients()
        let (_, g, _) = Loss.mse.evaluate(net.forward(x), target)
        net.backward(g)
        let h = 1e-6
        // Skip layer and first hidden layer weights: the paths through the input skip.
        for (name, get, set) in [
            ("skip", { (n: ReferenceMLP<Double>) in n.skip.weight.values }, { (n: inout ReferenceMLP<Double>, i: Int, d: Double) in n.skip.weight.values[i] += d }),
            ("hidden0", { (n: ReferenceMLP<Double>) in n.hidden[0].weight.values }, { (n: inout ReferenceMLP<Double>, i: Int, d: Double) in n.hidden[0].weight.values[i] += d }),
            ("output", { (n: ReferenceMLP<Double>) in n.output.weight.values }, { (n: inout ReferenceMLP<Double>, i: Int, d: Double) in n.output.weight.values[i] += d }),
        ] {
            var numeric = [Double]()
            for i in get(net).indices {
                var p = net, q = net
                set(&p, i, h); set(&q, i, -h)
                numeric.append((lossOf(p) - lossOf(q)) / (2 * h))
            }
            let analytic = name == "skip" ? net.skip.weightGradient.values
                : (name == "hidden0" ? net.hidden[0].weightGradient.values : net.output.weightGradient.values)
            #expect(relativeError(analytic, numeric) < 1e-6, "\(name)")
        }
    }

    @Test func lossesAndPerSampleValues() {
        let p = Matrix<Double>(rows: 2, columns: 2, values: [1, 2, 3, 4])
        let t = Matrix<Double>(rows: 2, columns: 2, values: [0, 2, 5, 4])
        let (l1, g1, s1) = Loss.l1.evaluate(p, t)
        #expect(l1 == 0.75 && s1 == [0.5, 1] && g1.values == [0.25, 0, -0.25, 0])
        let (l2, g2, s2) = Loss.mse.evaluate(p, t)
        #expect(l2 == 1.25 && s2 == [0.5, 2] && g2.values == [0.5, 0, -1, 0])
    }
}

@Suite struct ReferenceMLPTests {
    @Test func parameterCountMatchesThePaper() {
        var rng = SplitMix64(seed: 1)
        let net = ReferenceMLP<Float>(inputs: 1023, using: &rng)
        // 4h² + (2d + 9)h + 3 with h = 128, d = 1023 (docs/ARCHITECTURE.md, the reference protocol).
        #expect(net.parameterCount == 328_579)
    }
}
