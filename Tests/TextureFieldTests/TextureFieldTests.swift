import Support
import CNetworkKernels
import Foundation
import Geometry
import Imaging
import Neural
import Render
import Testing
import TextureField

/// A small configuration: seconds per test.
func smallConfig(_ e: Encoding = .eigen, k: Int = 16) -> FieldConfiguration {
    var c = FieldConfiguration()
    c.encoding = e; c.eigenfunctions = k; c.batch = 256; c.imageSize = 40; c.width = 32
    c.testViews = 4; c.validationViews = 2; c.validateEvery = 50; c.seconds = 1e9; c.learningRate = 3e-3
    c.rffFeatures = 8; c.rffSigma = 1
    return c
}

/// A texture: red where u < 0.5, blue elsewhere (or one colour).
func texture(split: Bool, size: Int = 32) -> Image {
    var img = Image(width: size, height: size, channels: 3)
    for r in 0..<size { for c in 0..<size {
        let col: [Float] = !split ? [0.3, 0.6, 0.9] : (c < size / 2 ? [0.9, 0.1, 0.1] : [0.1, 0.2, 0.9])
        for ch in 0..<3 { img[r, c, ch] = col[ch] }
    } }
    return img
}

func fit(_ c: FieldConfiguration, tex: Image, steps: Int) throws -> (FieldScene, FieldModel, Trainer) {
    let mesh = Mesh.torus(segments: 24, rings: 12)
    var c = c
    c.steps = steps
    let scene = try FieldScene(mesh: mesh, texture: tex, configuration: c, cache: nil)
    let model = FieldModel(configuration: c, surface: scene.surface)
    let trainer = Trainer(model: model, train: scene.rays(scene.train), validation: scene.rays(scene.validation))
    trainer.run()
    model.restore(trainer.best)
    return (scene, model, trainer)
}

@Suite struct TextureFieldTests {
    /// A constant texture is learned almost exactly; a two-colour texture well above the
    /// constant predictor.
    @Test func learnsConstantAndTwoColours() throws {
        let (s1, m1, _) = try fit(smallConfig(), tex: texture(split: false), steps: 300)
        let (r1, _) = try Evaluation.evaluate(m1, scene: s1)
        #expect(r1.meanPSNR > 35, "constant texture: \(r1.meanPSNR) dB")
        let (s2, m2, t2) = try fit(smallConfig(), tex: texture(split: true), steps: 600)
        let (r2, _) = try Evaluation.evaluate(m2, scene: s2)
        #expect(r2.meanPSNR > 20, "two colours: \(r2.meanPSNR) dB")
        #expect(t2.state.history.count >= 12 && t2.state.bestStep > 0)
        #expect(r2.meanDSSIM100 >= 0 && r2.meanSSIMGaussian > 0.5 && r2.meanSSIMGaussian <= 1)
        // Baking: every covered texel from the field, the gaps filled, PSNR against the texture.
        let baked = Baker.bake(m2, mesh: s2.mesh, width: 32, height: 32, reference: s2.texture)
        #expect(baked.covered.filter { $0 }.count > 900)
        #expect(baked.psnr > 18, "texture-space PSNR \(baked.psnr)")
    }

    /// Every encoding trains (loss falls) and its parameter count at the reference scale is
    /// within 2% of the eigen model's.
    @Test(arguments: Encoding.allCases)
    func encodingsTrainAndMatchParameterCounts(_ e: Encoding) throws {
        let (_, _, t) = try fit(smallConfig(e), tex: texture(split: true), steps: 150)
        let h = t.state.history
        #expect(h.last!.validationL1! < h.first!.validationL1! * 1.01 || h.last!.validationL1! < 0.08, "\(e): \(h.map { $0.validationL1! })")
        var big = FieldConfiguration()
        big.encoding = e
        let n = 8
        let surf = SurfaceData(vertexCount: n, k: e.usesEigenfunctions ? 1023 : 0, phi: [Float](repeating: 0, count: e.usesEigenfunctions ? n * 1023 : 0),
                               lambda: [Float](repeating: 0.5, count: e.usesEigenfunctions ? 1023 : 0), positions: [Float](repeating: 0, count: 3 * n))
        big.batch = 8
        let model = FieldModel(configuration: big, surface: surf)
        #expect(abs(Double(model.parameterCount) / 328_579 - 1) < 0.02, "\(e): \(model.parameterCount) parameters")
    }

    /// Interrupt after 40 steps, save, load into fresh objects, continue: identical to 80 steps
    /// in one go (weights, optimiser state, history), for encodings with their own randomness.
    @Test(arguments: [Encoding.eigen, .signflip, .signnetLambda])
    func resumeIsBitIdentical(_ e: Encoding) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-fit-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = smallConfig(e)
        c.validateEvery = 30
        c.steps = 80
        let scene = try FieldScene(mesh: Mesh.torus(segments: 24, rings: 12), texture: texture(split: true), configuration: c, cache: nil)
        func trainer() -> Trainer {
            Trainer(model: FieldModel(configuration: c, surface: scene.surface), train: scene.rays(scene.train), validation: scene.rays(scene.validation))
        }
        let wt = trainer()
        wt.run()
        // The same run, interrupted (as by Ctrl-C) after step 40.
        let first = trainer()
        #expect(first.run(shouldStop: { first.state.step >= 40 }) == .interrupted)
        try FieldCheckpoint.save(first, to: dir + "/ck.safetensors")
        let model = FieldModel(configuration: c, surface: scene.surface)
        let second = Trainer(model: model, train: scene.rays(scene.train), validation: scene.rays(scene.validation))
        try FieldCheckpoint.load(second, from: dir + "/ck.safetensors")
        second.run()
        #expect(second.state.step == 80)
        #expect(model.mlp.parameters == wt.model.mlp.parameters, "weights differ")
        #expect(model.phi?.parameters == wt.model.phi?.parameters, "φ differs")
        #expect(second.best.0 == wt.best.0, "best models differ")
        let (h1, h2) = (second.state.history.map(\.validationL1), wt.state.history.map(\.validationL1))
        #expect(h1 == h2)
    }

    /// Sign invariance: flipping the sign of any eigenfunctions leaves SignNet's and abs's
    /// network input unchanged (to the bit: φ(v) + φ(−v) is computed symmetrically).
    @Test(arguments: [Encoding.signnet, .signnetLambda, .abs])
    func signInvariance(_ e: Encoding) throws {
        var rng = SplitMix64(seed: 9)
        let n = 6, k = 13
        let phi = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        var flipped = phi
        let signs = (0..<k).map { _ in Bool.random(using: &rng) }
        for i in 0..<n { for j in 0..<k where signs[j] { flipped[i * k + j] = -flipped[i * k + j] } }
        var c = FieldConfiguration()
        c.encoding = e; c.eigenfunctions = k; c.batch = 16; c.seed = 3
        let lambda = (0..<k).map { Float($0) / Float(k) }
        let a = FieldModel(configuration: c, surface: SurfaceData(vertexCount: n, k: k, phi: phi, lambda: lambda, positions: [Float](repeating: 0, count: 3 * n)))
        let b = FieldModel(configuration: c, surface: SurfaceData(vertexCount: n, k: k, phi: flipped, lambda: lambda, positions: [Float](repeating: 0, count: 3 * n)))
        var pts = SurfacePoints()
        for _ in 0..<10 {
            let w0 = Float.random(in: 0...1, using: &rng), w1 = Float.random(in: 0...(1 - w0), using: &rng)
            pts.append(Int32.random(in: 0..<6, using: &rng), Int32.random(in: 0..<6, using: &rng), Int32.random(in: 0..<6, using: &rng), w0, w1, 1 - w0 - w1)
        }
        #expect(a.predict(pts) == b.predict(pts))
        if e != .abs { // and the raw eigen encoding is not invariant
            var ce = c; ce.encoding = .eigen
            let ea = FieldModel(configuration: ce, surface: a.surface), eb = FieldModel(configuration: ce, surface: b.surface)
            #expect(ea.predict(pts) != eb.predict(pts))
        }
    }

    /// SignNet φ's gradient (the C kernel, both code paths through the shards) against
    /// central differences of the loss Σ g ⊙ (φ(v) + φ(−v)) in Double.
    @Test func signnetGradientMatchesFiniteDifferences() {
        var rng = SplitMix64(seed: 4)
        let rows = 7, k = 21
        let v = (0..<(rows * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let g = (0..<(rows * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let lambda = (0..<k).map { _ in Float.random(in: 0...1, using: &rng) }
        var phi = SignNetPhi(hidden: 5, usesEigenvalue: true, using: &rng)
        func loss(_ p: [Float]) -> Double {  // Double reference of the forward
            let H = 5
            var s = 0.0
            for r in 0..<rows { for j in 0..<k {
                let x = Double(v[r * k + j])
                var o = 2 * Double(p[3 * H])
                for h in 0..<H {
                    let c = Double(p[H + h]) + Double(p[3 * H + 1 + h]) * Double(lambda[j])
                    o += Double(p[2 * H + h]) * (max(0, Double(p[h]) * x + c) + max(0, -Double(p[h]) * x + c))
                }
                s += o * Double(g[r * k + j])
            } }
            return s
        }
        var out = [Float](repeating: 0, count: rows * k)
        v.withUnsafeBufferPointer { vp in out.withUnsafeMutableBufferPointer { op in
            phi.forward(vp.baseAddress!, rows: rows, k: k, lambda: lambda, into: op.baseAddress!)
        } }
        let fwd = zip(out, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(fwd - loss(phi.parameters)) < 1e-4 * max(1, abs(fwd)))
        v.withUnsafeBufferPointer { vp in g.withUnsafeBufferPointer { gp in
            phi.backward(vp.baseAddress!, gout: gp.baseAddress!, rows: rows, k: k, lambda: lambda)
        } }
        for i in 0..<phi.parameterCount {
            var p = phi.parameters, q = phi.parameters
            p[i] += 1e-3; q[i] -= 1e-3
            let fd = (loss(p) - loss(q)) / (Double(p[i]) - Double(q[i]))
            #expect(abs(fd - Double(phi.gradients[i])) < 2e-3 * max(1, abs(fd)), "parameter \(i): \(fd) vs \(phi.gradients[i])")
        }
    }

    /// The vectorised sin/cos of the Fourier features against Foundation's, over ±400 rad.
    @Test func sinCosAccuracy() {
        let x = (0..<10_001).map { Float(-400 + 0.08 * Double($0)) }
        var s = [Float](repeating: 0, count: x.count), c = s
        tfk_sincos(x, Int64(x.count), &s, &c)
        var worst = 0.0
        for i in x.indices { worst = max(worst, abs(Double(s[i]) - sin(Double(x[i]))), abs(Double(c[i]) - cos(Double(x[i])))) }
        #expect(worst < 3e-7, "max error \(worst)")
    }

    /// Bad inputs give errors that say what is wrong.
    @Test func badInputs() throws {
        var noUV = Mesh.torus(segments: 8, rings: 6)
        noUV.cornerTexcoords = []
        #expect(throws: FieldError.noTexcoords("torus.obj")) {
            _ = try FieldScene(mesh: noUV, texture: texture(split: false), configuration: smallConfig(), meshName: "torus.obj", cache: nil)
        }
        var nan = Mesh.torus(segments: 8, rings: 6)
        nan.texcoords[5] = .nan
        #expect(throws: FieldError.self) { _ = try FieldScene(mesh: nan, texture: texture(split: false), configuration: smallConfig(), cache: nil) }
        var outside = Mesh.torus(segments: 8, rings: 6)
        outside.texcoords[2 * Int(outside.cornerTexcoords[4]) + 1] = 1.25
        do {
            _ = try FieldScene(mesh: outside, texture: texture(split: false), configuration: smallConfig(), meshName: "t.obj", cache: nil)
            Issue.record("a UV outside [0, 1] should be refused")
        } catch let e as FieldError {
            #expect(e.description.contains("outside [0, 1]") && e.description.contains("wrap"))
        }
        var wrapping = smallConfig()
        wrapping.uvBorder = .wrap
        _ = try FieldScene(mesh: outside, texture: texture(split: false), configuration: wrapping, cache: nil)
        // Slightly outside (as on spot): clamped, with a warning; refused when asked to.
        outside.texcoords[2 * Int(outside.cornerTexcoords[4]) + 1] = 1.05
        let s = try FieldScene(mesh: outside, texture: texture(split: false), configuration: smallConfig(), meshName: "t.obj", cache: nil)
        #expect(s.warnings.count == 1 && s.warnings[0].contains("clamped"))
        var strict = smallConfig()
        strict.uvBorder = .error
        #expect(throws: FieldError.self) { _ = try FieldScene(mesh: outside, texture: texture(split: false), configuration: strict, cache: nil) }
        let small = Mesh.torus(segments: 8, rings: 6)  // 48 vertices
        do {
            _ = try FieldScene(mesh: small, texture: texture(split: false), configuration: smallConfig(k: 48), cache: nil)
            Issue.record("k = 48 on 48 vertices should fail")
        } catch let e as FieldError {
            #expect(e == .tooManyEigenfunctions(requested: 48, vertices: 48))
            #expect(e.description.contains("at most 47"))
        }
    }
}
