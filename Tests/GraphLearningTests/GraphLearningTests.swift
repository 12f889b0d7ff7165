import Foundation
import Geometry
import GraphLearning
import Testing

func cycle(_ n: Int) -> Graph { Graph(nodeCount: n, edges: (0..<n).map { ($0, ($0 + 1) % n) }) }

@Suite struct SpectrumTests {
    /// The normalised Laplacian of the cycle C_n has eigenvalues 1 − cos(2πj/n), in pairs.
    @Test func cycleSpectrum() {
        let n = 12
        let s = GraphSpectrum(cycle(n))
        let expected = (0..<n).map { 1 - cos(2 * Double.pi * Double($0) / Double(n)) }.sorted()
        for j in 0..<n { #expect(abs(s.values[j] - expected[j]) < 1e-12) }
        // eigenspaces: 1 (λ=0), five pairs, 1 (λ=2)
        #expect(s.eigenspaces.map(\.count) == [1, 2, 2, 2, 2, 2, 1])
        // orthonormal eigenvectors that satisfy L v = λ v
        for a in 0..<n { for b in 0..<n {
            var d = 0.0
            for i in 0..<n { d += s.vectors[i * n + a] * s.vectors[i * n + b] }
            #expect(abs(d - (a == b ? 1 : 0)) < 1e-12)
        } }
        let proj = s.projector(1)
        var trace = 0.0
        for i in 0..<n { trace += proj[i * n + i] }
        #expect(abs(trace - 2) < 1e-12)
        // isolated nodes and components: zero eigenvalue once per component
        var g = cycle(5); g.nodeCount = 7; g.features += [1, 1]
        let s2 = GraphSpectrum(g)
        #expect(s2.values.prefix(3).allSatisfy { abs($0) < 1e-12 } && s2.values[3] > 0.1)
        let (pad, mask) = GraphSpectrum(cycle(4)).padded(6)
        #expect(pad.count == 24 && mask == [true, true, true, true, false, false])
    }
}

@Suite struct SMILESTests {
    @Test func parsesMolecules() throws {
        let (a, b) = try SMILES.parse("c1ccccc1")
        #expect(a.count == 6 && b.count == 6 && b.allSatisfy { $0.2 == 4 } && a.allSatisfy(\.aromatic))
        let (e, eb) = try SMILES.parse("CCO")
        #expect(e.map(\.element) == ["C", "C", "O"] && eb.count == 2)
        let (s, sb) = try SMILES.parse("[NH4+].[O-]C(=O)C")
        #expect(s[0].charge == 1 && s[0].hydrogens == 4 && s[1].charge == -1 && sb.count == 3 && sb.contains { $0.2 == 2 })
        let (r, rb) = try SMILES.parse("C%12CC1CCCC1C%12.[nH]1cc[se]c1")
        _ = r; _ = rb
        #expect(throws: GraphError.self) { _ = try SMILES.parse("C1CC") }
        #expect { try SMILES.parse("C(C", context: "row 3") } throws: { "\($0)".contains("row 3") }
        #expect { try SMILES.parse("C$C", context: "row 9") } throws: { "\($0)".contains("row 9") && "\($0)".contains("'$'") }
    }

    /// Every molecule of ../shared/data/zinc_micro parses (skipped without ../shared).
    @Test func microZINC() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data/zinc_micro/micro_ZINC.csv").standardized.path
        guard FileManager.default.fileExists(atPath: path) else {
            print("skipped: \(path) is absent (../shared not mounted)")
            return
        }
        let graphs = try SMILES.readCSV(path: path)
        #expect(graphs.count == 1002)  // the file holds 1002 rows (its README says 1000)
        #expect(graphs.allSatisfy { $0.nodeCount > 0 && $0.edges.allSatisfy { $0.0 < $0.1 || $0.0 > $0.1 } })
        let sizes = graphs.map(\.nodeCount)
        #expect(sizes.max()! < 100 && sizes.min()! >= 1)
    }
}

@Suite struct InvarianceTests {
    /// A graph without symmetries (distinct eigenvalues), with two node features.
    func sample() -> Graph {
        var g = cycle(10)
        g.edges += [(0, 5), (2, 7), (1, 4), (3, 9), (6, 8)]
        var rng = SplitMix64(seed: 3)
        g.featureCount = 2
        g.features = (0..<20).map { _ in Float.random(in: -1...1, using: &rng) }
        return g
    }

    func output(_ e: PositionalEncoding, _ g: PreparedGraph, k: Int = 6, full: Bool = false) -> [Float] {
        var c = GraphModelConfiguration()
        c.encoding = e; c.k = k; c.outputs = 3; c.seed = 1; c.basisNetFull = full
        var m = GraphModel(configuration: c, featureCount: g.graph.featureCount)
        var rng = SplitMix64(seed: 0)
        return m.forward(g, training: false, using: &rng)
    }

    func close(_ a: [Float], _ b: [Float]) -> Bool {
        let scale = max(1, a.map { Swift.abs($0) }.max()!)
        return zip(a, b).allSatisfy { Swift.abs($0 - $1) <= 1e-5 * scale }
    }

    /// SignNet and abs are unchanged by any sign flips of the eigenvectors; raw eigenvectors are not.
    @Test func signInvariance() {
        let g = sample()
        let s = GraphSpectrum(g)
        var flipped = s.vectors
        for j in [1, 2, 4] { for i in 0..<s.n { flipped[i * s.n + j] = -flipped[i * s.n + j] } }
        let a = PreparedGraph(g, spectrum: s), b = PreparedGraph(g, spectrum: GraphSpectrum(n: s.n, values: s.values, vectors: flipped, eigenspaces: s.eigenspaces))
        #expect(close(output(.signnet, a), output(.signnet, b)))
        #expect(close(output(.abs, a), output(.abs, b)))
        #expect(!close(output(.eigen, a), output(.eigen, b)))
    }

    /// BasisNet is unchanged by any orthogonal change of basis inside each eigenspace (the cycle
    /// C_12 has five 2-dimensional eigenspaces); SignNet is not.
    @Test func basisInvariance() {
        let g = cycle(12)
        let s = GraphSpectrum(g)
        var rotated = s.vectors
        var rng = SplitMix64(seed: 8)
        for space in s.eigenspaces where space.count == 2 {
            let t = Double.random(in: 0..<(2 * Double.pi), using: &rng)
            let (a, b) = (space.lowerBound, space.lowerBound + 1)
            for i in 0..<s.n {
                let x = s.vectors[i * s.n + a], y = s.vectors[i * s.n + b]
                rotated[i * s.n + a] = cos(t) * x - sin(t) * y
                rotated[i * s.n + b] = sin(t) * x + cos(t) * y
            }
        }
        let p = PreparedGraph(g, spectrum: s), q = PreparedGraph(g, spectrum: GraphSpectrum(n: s.n, values: s.values, vectors: rotated, eigenspaces: s.eigenspaces))
        #expect(close(output(.basisnet, p, k: 6), output(.basisnet, q, k: 6)))
        #expect(close(output(.basisnet, p, k: 6, full: true), output(.basisnet, q, k: 6, full: true)))
        #expect(!close(output(.signnet, p, k: 6), output(.signnet, q, k: 6)))
    }

    /// Relabelling the nodes leaves the graph-level output unchanged, for every encoding that is
    /// invariant by construction (eigenvectors are recomputed, so their signs may change).
    @Test(arguments: [PositionalEncoding.none, .signnet, .basisnet, .abs])
    func permutationInvariance(_ e: PositionalEncoding) {
        let g = sample()
        var rng = SplitMix64(seed: 11)
        var p = Array(0..<g.nodeCount)
        p.shuffle(using: &rng)
        let s = GraphSpectrum(g)
        #expect(s.eigenspaces.allSatisfy { $0.count == 1 }, "the sample graph should have distinct eigenvalues")
        let a = output(e, PreparedGraph(g)), b = output(e, PreparedGraph(g.permuted(p)))
        #expect(close(a, b), "\(e): \(a) vs \(b)")
    }

    /// The model's gradient against central differences of the loss, for SignNet and BasisNet.
    @Test(arguments: [(PositionalEncoding.signnet, false), (.basisnet, false), (.basisnet, true), (.eigen, false)])
    func gradientMatchesFiniteDifferences(_ e: PositionalEncoding, _ full: Bool) {
        var g = sample(); g.label = 1
        let pg = PreparedGraph(g)
        var c = GraphModelConfiguration()
        c.encoding = e; c.k = 4; c.outputs = 3; c.seed = 2; c.phiHidden = 4; c.hidden = 8; c.positionalDimension = 3; c.basisNetFull = full
        var m = GraphModel(configuration: c, featureCount: 2)
        var rng = SplitMix64(seed: 0)
        func loss(_ m: inout GraphModel) -> Double {
            let o = m.forward(pg, training: false, using: &rng).map(Double.init)
            let mx = o.max()!
            return log(o.map { exp($0 - mx) }.reduce(0, +)) + mx - o[1]
        }
        m.zeroGradients()
        let o = m.forward(pg, training: false, using: &rng)
        let ex = o.map { exp(Double($0 - o.max()!)) }, z = ex.reduce(0, +)
        m.backward((0..<3).map { Float(ex[$0] / z - ($0 == 1 ? 1 : 0)) }, pg)
        let grad = m.gradients, p0 = m.parameters
        var checked = 0, failed = [String]()
        for i in stride(from: 0, to: p0.count, by: max(1, p0.count / 80)) where Swift.abs(grad[i]) > 1e-3 {
            var a = m, b = m
            var pa = p0, pb = p0
            pa[i] += 3e-3; pb[i] -= 3e-3
            a.setParameters(pa); b.setParameters(pb)
            let fd = (loss(&a) - loss(&b)) / (Double(pa[i]) - Double(pb[i]))
            if Swift.abs(fd - Double(grad[i])) > 0.05 * max(0.05, Swift.abs(fd)) { failed.append("\(i): \(fd) vs \(grad[i])") }
            checked += 1
        }
        // Float differences across a ReLU kink can miss; nearly all must agree.
        #expect(failed.count * 10 <= checked, "\(e): \(failed.count) of \(checked) differ: \(failed.prefix(4))")
        #expect(checked > 5)
    }
}

@Suite struct GraphTaskTests {
    /// CSL: 150 graphs, 10 classes, 4-regular, relabelled copies with the same spectrum.
    @Test func cslGraphs() {
        let g = GraphFamilies.csl(perClass: 3, seed: 1)
        #expect(g.count == 30 && g.allSatisfy { $0.nodeCount == 41 && $0.degrees.allSatisfy { $0 == 4 } })
        let a = GraphSpectrum(g[0]).values, b = GraphSpectrum(g[1]).values, c = GraphSpectrum(g[3]).values
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-9 })   // same class: isomorphic
        #expect(!zip(a, c).allSatisfy { abs($0 - $1) < 1e-9 })  // R = 2 vs R = 3
    }

    /// The regression path runs end to end and beats nothing worse than 3× the median predictor.
    @Test func regressionRuns() throws {
        var graphs = [Graph]()
        for (i, s) in ["CCO", "CCCC", "c1ccccc1", "CC(=O)O", "CCN", "C1CCCCC1", "CCOCC", "c1ccncc1", "CC#N", "CCCl"].enumerated() {
            graphs.append(try SMILES.graph(s, target: Double(i % 3)))
        }
        let r = GraphTraining.zinc(graphs, encoding: .signnet, seed: 0, epochs: 3, k: 4)
        #expect(r.testMAE.isFinite && r.trainMAE.isFinite && r.testMAE < 3 * max(r.baselineMAE, 0.5))
    }
}
