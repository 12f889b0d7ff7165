import Support
import Foundation
import Neural
import Testing

@Suite struct FieldMLPTests {
    /// The fused Float kernel against the layer-by-layer Double network with the same weights.
    @Test func matchesTheReferenceNetwork() {
        var rng = SplitMix64(seed: 21)
        let d = 10, h = 16, rows = 33
        let fast = FieldMLP(inputs: d, width: h, batch: 64, using: &rng)
        var slow = ReferenceMLP<Double>(inputs: d, width: h, using: &rng)
        // Copy the flat parameters into the reference network (hidden 1…5, skip, output).
        var offset = 0
        func take(_ n: Int) -> [Double] {
            defer { offset += n }
            return fast.parameters[offset..<(offset + n)].map { Double($0) }
        }
        // Layout: [W1; Ws], b1, bs, then hidden 2…5 and the output (weight, bias).
        slow.hidden[0].weight.values = take(d * h)
        slow.skip.weight.values = take(d * h)
        slow.hidden[0].bias = take(h)
        slow.skip.bias = take(h)
        for l in 1..<5 {
            slow.hidden[l].weight.values = take(h * h)
            slow.hidden[l].bias = take(h)
        }
        slow.output.weight.values = take(3 * h); slow.output.bias = take(3)
        #expect(offset == fast.parameterCount && slow.parameterCount == fast.parameterCount)

        let x = (0..<(rows * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        let y = (0..<(rows * 3)).map { _ in Float.random(in: 0...1, using: &rng) }
        let loss = x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in fast.lossAndGradients(xp.baseAddress!, target: yp.baseAddress!, rows: rows) }
        }
        slow.zeroGradients()
        let pred = slow.forward(Matrix(rows: rows, columns: d, values: x.map(Double.init)))
        let (ref, grad, _) = Loss.l1.evaluate(pred, Matrix(rows: rows, columns: 3, values: y.map(Double.init)))
        slow.backward(grad)
        #expect(abs(Double(loss) - ref) < 1e-5 * ref)
        var refGrad = slow.hidden[0].weightGradient.values + slow.skip.weightGradient.values
        refGrad += slow.hidden[0].biasGradient! + slow.skip.biasGradient!
        for l in 1..<5 { refGrad += slow.hidden[l].weightGradient.values + slow.hidden[l].biasGradient! }
        refGrad += slow.output.weightGradient.values + slow.output.biasGradient!
        let scale = refGrad.map { abs($0) }.max()!
        let worst = zip(fast.gradients, refGrad).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-4 * scale, "max gradient difference \(worst) (scale \(scale))")
    }

    /// A small network learns a smooth colour function of its inputs.
    @Test func learnsAKnownFunction() {
        var rng = SplitMix64(seed: 2)
        let d = 4, rows = 256
        let net = FieldMLP(inputs: d, width: 32, batch: rows, using: &rng)
        var adam = Adam(parameterCount: net.parameterCount, learningRate: 3e-3)
        let x = (0..<(rows * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        var y = [Float]()
        for r in 0..<rows {
            let a = x[r * d], b = x[r * d + 1]
            y += [0.5 + 0.4 * a * b, 0.5 + 0.3 * a, 0.5 - 0.3 * b]
        }
        var first: Float = 0, last: Float = 0
        for step in 0..<600 {
            let l = x.withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { yp in net.lossAndGradients(xp.baseAddress!, target: yp.baseAddress!, rows: rows) }
            }
            if step == 0 { first = l }
            last = l
            adam.update(&net.parameters, gradients: net.gradients)
        }
        #expect(last < 0.03 && last < first / 4, "L1 loss \(first) → \(last)")
    }
}

@Suite struct OptimizerTests {
    /// Adam against the textbook form in Double (Kingma & Ba with PyTorch's ε placement):
    /// m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ), p ← p − η m̂ / (√v̂ + ε).
    @Test(arguments: [false, true])
    func adamMatchesTheFormula(_ decoupled: Bool) {
        var p: [Float] = [0.5, -1.25, 2, 0]
        var pd = p.map(Double.init)
        var m = [Double](repeating: 0, count: 4), v = m
        var adam = Adam(parameterCount: 4, learningRate: 0.01, decoupled: decoupled, weightDecay: 0.1)
        for t in 1...5 {
            let g: [Float] = [0.3, -0.2, 0.05 * Float(t), -1]
            adam.update(&p, gradients: g)
            for i in 0..<4 {
                var gi = Double(g[i])
                if decoupled { pd[i] *= 1 - 0.01 * 0.1 } else { gi += 0.1 * pd[i] }
                m[i] = 0.9 * m[i] + 0.1 * gi
                v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let mh = m[i] / (1 - pow(0.9, Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                pd[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        for i in 0..<4 { #expect(abs(Double(p[i]) - pd[i]) < 1e-6, "\(i)") }
    }

    @Test func sgdWithNesterovMomentum() {
        var p: [Float] = [1]
        var sgd = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        sgd.update(&p, gradients: [1])   // b = 1, g = 1 + 0.9 = 1.9 → p = 0.81
        #expect(abs(p[0] - 0.81) < 1e-6)
        sgd.update(&p, gradients: [1])   // b = 1.9, g = 1 + 1.71 = 2.71 → p = 0.539
        #expect(abs(p[0] - 0.539) < 1e-6)
    }
}

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CheckpointTests {
    /// Train 6 steps; or 3, save (weights + Adam state), load into fresh objects, 3 more:
    /// the results are identical to the bit.
    @Test func resumeIsExact() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-ckpt-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(seed: 4)
        let d = 6, rows = 32
        let x = (0..<(rows * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        let y = (0..<(rows * 3)).map { _ in Float.random(in: 0...1, using: &rng) }
        func train(_ net: FieldMLP, _ adam: inout Adam, steps: Int) {
            for _ in 0..<steps {
                _ = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
                    net.lossAndGradients(xp.baseAddress!, target: yp.baseAddress!, rows: rows) } }
                adam.update(&net.parameters, gradients: net.gradients)
            }
        }
        var r1 = SplitMix64(seed: 9), r2 = SplitMix64(seed: 9), r3 = SplitMix64(seed: 100)
        let a = FieldMLP(inputs: d, width: 8, batch: rows, using: &r1)
        var adamA = Adam(parameterCount: a.parameterCount, learningRate: 1e-2)
        train(a, &adamA, steps: 6)

        let b = FieldMLP(inputs: d, width: 8, batch: rows, using: &r2)
        var adamB = Adam(parameterCount: b.parameterCount, learningRate: 1e-2)
        train(b, &adamB, steps: 3)
        let (opt, meta) = adamB.stored()
        try Safetensors.write(path: dir + "/model.safetensors", tensors: b.namedParameters().merging(opt) { $1 }, metadata: meta)

        let (tensors, metadata) = try Safetensors.read(path: dir + "/model.safetensors")
        let c = FieldMLP(inputs: d, width: 8, batch: rows, using: &r3)  // different initial weights
        try c.load(tensors)
        var adamC = try Adam(tensors: tensors, metadata: metadata)
        train(c, &adamC, steps: 3)
        #expect(c.parameters == a.parameters)
        #expect(adamC == adamA)
    }

    @Test func badFiles() throws {
        #expect(throws: CheckpointError.self) { try Safetensors.decode(Data([1, 2, 3])) }
        #expect(throws: CheckpointError.self) { try Safetensors.decode(Data([255, 0, 0, 0, 0, 0, 0, 0, 0x7b])) }
        #expect(throws: CheckpointError.self) { try Safetensors.read(path: "/nonexistent.safetensors") }
        var rng = SplitMix64(seed: 1)
        let net = FieldMLP(inputs: 5, width: 8, batch: 4, using: &rng)
        let other = FieldMLP(inputs: 6, width: 8, batch: 4, using: &rng)
        #expect { try net.load(other.namedParameters()) } throws: { "\($0)".contains("hidden1.weight") || "\($0)".contains("skip.weight") }
    }
}
