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
