import Support
import Dynamics
import Foundation
import Neural
import Testing

@Suite struct MapTests {
    /// GD on f = x²/2 (L = 1) converges iff η < 2/L, with Lyapunov exponent log|1 − η|.
    @Test func quadraticConvergesBelowTwoOverL() {
        for eta in [0.3, 1.0 - 1e-3, 1.5, 1.95] {
            let s = OrbitAnalysis.summarize(Objective.quadratic.gradientDescent(eta: eta), from: [1], burnIn: 2000, window: 50)
            #expect(!s.diverged && s.period == 1, "η = \(eta)")
            #expect(abs(s.lyapunov - log(abs(1 - eta))) < 1e-9, "η = \(eta): λ = \(s.lyapunov)")
        }
        #expect(OrbitAnalysis.summarize(Objective.quadratic.gradientDescent(eta: 2.05), from: [1], burnIn: 2000, window: 10).diverged)
    }

    /// The logistic map: fixed point below r = 3, period 2 just above, period 4 at 3.5, chaos at 4
    /// with λ = ln 2; the tent map's λ = ln μ.
    @Test func logisticAndTentMaps() {
        func s(_ r: Double) -> OrbitSummary { OrbitAnalysis.summarize(.logistic(r: r), from: [0.2], burnIn: 20000, window: 2000) }
        #expect(s(2.9).period == 1)
        #expect(s(3.1).period == 2)
        #expect(s(3.5).period == 4)
        let c = OrbitAnalysis.summarize(.logistic(r: 4), from: [0.2], burnIn: 100, window: 200_000)
        #expect(c.period == 0 && abs(c.lyapunov - log(2)) < 0.02, "λ = \(c.lyapunov)")
        let t = OrbitAnalysis.summarize(.tent(mu: 1.9), from: [0.2137], burnIn: 100, window: 20000)
        #expect(abs(t.lyapunov - log(1.9)) < 1e-9)
    }

    /// GD on the double well (curvature 2 at the minima): converges below η = 1, a 2-cycle above.
    @Test func doubleWellDoublesAtOne() {
        let o = Objective.doubleWell
        #expect(OrbitAnalysis.summarize(o.gradientDescent(eta: 0.99), from: o.start, burnIn: 20000, window: 200).period == 1)
        #expect(OrbitAnalysis.summarize(o.gradientDescent(eta: 1.02), from: o.start, burnIn: 20000, window: 200).period == 2)
        // Jacobians of the 2-D objectives against central differences of their gradients.
        for obj in [Objective.factorization, .tinyNet] {
            let x = [0.8, -0.6], h = obj.hessian(x)
            for j in 0..<2 {
                var p = x, q = x; p[j] += 1e-6; q[j] -= 1e-6
                let gp = obj.gradient(p), gq = obj.gradient(q)
                for i in 0..<2 { #expect(abs((gp[i] - gq[i]) / 2e-6 - h[i * 2 + j]) < 1e-6, "\(obj) H[\(i),\(j)]") }
            }
        }
    }
}

@Suite struct SeriesTests {
    /// AR(1) x_t = φ x_{t−1} + ε_t: autocorrelation φ^k, mixing time −1/ln φ.
    @Test func ar1Autocorrelation() {
        var rng = SplitMix64(seed: 5)
        let phi = 0.7
        var x = [Double](), v = 0.0
        for _ in 0..<100_000 {
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &rng), u2 = Double.random(in: 0..<1, using: &rng)
            v = phi * v + (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            x.append(v)
        }
        let acf = SeriesStatistics.autocorrelation(x, maxLag: 10)
        for k in 0...10 { #expect(abs(acf[k] - pow(phi, Double(k))) < 0.02, "lag \(k)") }
        let tau = SeriesStatistics.mixingTime(acf)!
        #expect(abs(tau - (-1 / log(phi))) < 0.15, "mixing time \(tau)")
        // A pure sinusoid's periodogram peaks at its frequency.
        let s = (0..<256).map { sin(2 * Double.pi * 8 * Double($0) / 256) }
        let p = SeriesStatistics.spectralDensity(s)
        #expect(p.firstIndex(of: p.max()!) == 8)
    }

    /// Time averages, β̂ and the bound on numbers small enough to check by hand.
    @Test func timeAveragesAndStabilityByHand() throws {
        var c = TrainingConfiguration()
        c.burnIn = 1
        // 3 epochs, 2 training and 2 test samples; epoch 0 is burn-in.
        let r = TrainingRecord(configuration: c, trainLoss: [[9, 9], [1, 3], [3, 1]], testLoss: [[9, 9], [2, 4], [4, 6]],
                               trainAccuracy: [0, 0, 0], testAccuracy: [0, 0, 0], weightNorm: [1, 1, 1], stepDistance: [0, 1, 1])
        #expect(r.timeAveragedTrain == [2, 2] && r.timeAveragedTest == [3, 5])
        #expect(r.empiricalRisk == 2 && r.testRisk == 4 && r.generalizationGap == 2)
        let other = TrainingRecord(configuration: c, trainLoss: [[0, 0], [2, 2], [2, 2]], testLoss: [[0, 0], [3, 3], [3, 4]],
                                   trainAccuracy: [0, 0, 0], testAccuracy: [0, 0, 0], weightNorm: [1, 1, 1], stepDistance: [0, 1, 1])
        let e = StabilityEstimate.estimate(base: RunSummary(r, replaced: -1), perturbed: [RunSummary(other, replaced: 0)], delta: 0.05)
        // ⟨ℓ⟩_test: S (3, 5), S' (3, 3.5): sup |Δ| = 1.5; means 4 and 3.25: 0.75.
        #expect(e.betaSup == 1.5 && e.betaMean == 0.75)
        #expect(e.lossBound == 5)
        let expected = 2 + 1.5 + 2 * (2 * 1.5 + 5) * (log(2 / 0.05) / 4).squareRoot()
        #expect(abs(e.bound - expected) < 1e-12)
    }
}

@Suite struct TrainingTests {
    /// Label noise flips exactly the fraction asked, always to another class; CSV errors name
    /// the line; S^(i) differs from S in one sample; training is deterministic and, at a
    /// constant step, keeps moving.
    @Test func dataNoiseAndTraining() throws {
        let d = Dataset.synthetic(count: 400, dimension: 6, classes: 4, seed: 3)
        let noisy = d.withLabelNoise(0.25, seed: 1)
        let changed = zip(d.labels, noisy.labels).filter { $0 != $1 }.count
        #expect(changed == 100)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-dyn-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a,b,label\n1,2,0\n3,x,1\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        #expect { try Dataset.csv(path: dir + "/bad.csv") } throws: { "\($0)".contains("line 3") && "\($0)".contains("'x'") }
        #expect { try Dataset.csv(path: dir + "/none.csv") } throws: { "\($0)".contains("none.csv") }

        let split = try DataSplit(d, trainCount: 200, testCount: 100, seed: 2)
        var c = TrainingConfiguration()
        c.epochs = 8; c.burnIn = 2; c.hidden = 16; c.learningRate = 0.2; c.batch = 16
        let p = SweepPoint(labelNoise: 0.1, training: c, perturbations: 1)
        let (s, none) = p.trainingSet(split, run: 0), (s1, i) = p.trainingSet(split, run: 1)
        #expect(none == -1 && i >= 0)
        #expect(zip(s.labels, s1.labels).enumerated().filter { $0.offset != i }.allSatisfy { $0.element.0 == $0.element.1 })
        let a = try Trainer.train(s, test: split.test, configuration: c), b = try Trainer.train(s, test: split.test, configuration: c)
        #expect(a.trainLoss == b.trainLoss && a.weightNorm == b.weightNorm)
        #expect(a.stepDistance.dropFirst().allSatisfy { $0 > 0 })
        #expect(a.trainAccuracy.last! > 0.6 && a.meanTrainLoss.last! < a.meanTrainLoss.first!)
        c.batchNorm = true; c.optimizer = .adam; c.learningRate = 0.01
        let bn = try Trainer.train(s, test: split.test, configuration: c)
        #expect(bn.testAccuracy.last! > 0.5)
        // Interrupted after 4 of 8 epochs and resumed from the checkpoint: the same record.
        var half = c
        half.epochs = 4
        _ = try Trainer.train(s, test: split.test, configuration: half, checkpoint: dir + "/ck.json")
        let resumed = try Trainer.train(s, test: split.test, configuration: c, checkpoint: dir + "/ck.json")
        #expect(resumed.trainLoss == bn.trainLoss && resumed.stepDistance == bn.stepDistance)
        #expect(throws: DynamicsError.self) { _ = try Trainer.train(s1, test: split.test, configuration: c, checkpoint: dir + "/ck.json") }
    }
}
