import Support
import Foundation
import Neural
import Testing

@Suite struct MoreGradientChecks {
    private func rel(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.max()! / max(1e-8, zip(a, b).map { abs($0) + abs($1) }.max()!)
    }

    @Test func leakyReluAndSiLU() {
        var rng = SplitMix64(seed: 31)
        let x = Matrix<Double>(rows: 3, columns: 5, values: (0..<15).map { _ in Double.random(in: -2...2, using: &rng) })
        let w = (0..<15).map { _ in Double.random(in: -1...1, using: &rng) }
        for kind in [Activation<Double>.Kind.leakyRelu(slope: 0.1), .silu] {
            var act = Activation<Double>(kind)
            _ = act.forward(x)
            let dx = act.backward(Matrix(rows: 3, columns: 5, values: w))
            var num = [Double]()
            for i in x.values.indices {
                var p = x, q = x
                p.values[i] += 1e-6; q.values[i] -= 1e-6
                var a1 = Activation<Double>(kind), a2 = Activation<Double>(kind)
                let lp = zip(a1.forward(p).values, w).reduce(0) { $0 + $1.0 * $1.1 }
                let lq = zip(a2.forward(q).values, w).reduce(0) { $0 + $1.0 * $1.1 }
                num.append((lp - lq) / 2e-6)
            }
            #expect(rel(dx.values, num) < 1e-7, "\(kind)")
        }
    }

    @Test func huberAndCrossEntropy() {
        var rng = SplitMix64(seed: 32)
        let p = Matrix<Double>(rows: 4, columns: 3, values: (0..<12).map { _ in Double.random(in: -2...2, using: &rng) })
        let t = Matrix<Double>(rows: 4, columns: 3, values: (0..<12).map { _ in Double.random(in: -2...2, using: &rng) })
        let labels = [0, 2, 1, 2]
        let (_, gh, _) = Loss.huber(delta: 0.7).evaluate(p, t)
        let (_, gc, per) = CrossEntropy.evaluate(p, labels: labels)
        var numH = [Double](), numC = [Double]()
        for i in p.values.indices {
            var a = p, b = p
            a.values[i] += 1e-6; b.values[i] -= 1e-6
            numH.append((Loss.huber(delta: 0.7).evaluate(a, t).0 - Loss.huber(delta: 0.7).evaluate(b, t).0) / 2e-6)
            numC.append((CrossEntropy.evaluate(a, labels: labels).0 - CrossEntropy.evaluate(b, labels: labels).0) / 2e-6)
        }
        #expect(rel(gh.values, numH) < 1e-7)
        #expect(rel(gc.values, numC) < 1e-7)
        // Per-sample cross-entropy = −log softmax of the label, by hand for row 0.
        let row = (0..<3).map { p[0, $0] }
        let lse = log(row.map { exp($0) }.reduce(0, +))
        #expect(abs(per[0] - (lse - row[0])) < 1e-12)
    }

    @Test func schedules() {
        #expect(Schedule.step(every: 10, gamma: 0.5).factor(at: 25) == 0.25)
        #expect(abs(Schedule.cosine(total: 100, floor: 0).factor(at: 50) - 0.5) < 1e-12)
        #expect(Schedule.cosine(total: 100, floor: 0.1).factor(at: 100) == 0.1)
        var plateau = ReduceOnPlateau(gamma: 0.5, patience: 2)
        let factors = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8].map { plateau.observe($0) }
        #expect(factors == [1, 1, 1, 1, 0.5, 0.5])
        #expect(Schedule.cosineFactor(progress: 0, floor: 0.01) == 1 && Schedule.cosineFactor(progress: 2, floor: 0.01) == 0.01)
    }
}
