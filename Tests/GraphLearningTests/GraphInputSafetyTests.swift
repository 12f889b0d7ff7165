import Foundation
import GraphLearning
import Testing

private func write(_ text: String, _ name: String) throws -> (String, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-graphs-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    return (dir, dir + "/" + name)
}

@Suite struct GraphInputSafetyTests {
    /// A 400 KB SMILES of 100000 atoms used to ask for 80 GB (dense spectra); a `nan` score
    /// used to end in an internal JSON error.
    @Test func moleculesAndScores() throws {
        #expect(throws: GraphError.self) { _ = try SMILES.graph(String(repeating: "C", count: 100_000)) }
        #expect(try SMILES.graph(String(repeating: "C", count: SMILES.maxAtoms)).nodeCount == SMILES.maxAtoms)
        let (dir, path) = try write("SMILES,score\nCCO,0.5\n\nCC,nan\n", "z.csv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do { _ = try SMILES.readCSV(path: path); Issue.record("read") } catch {
            #expect("\(error)".contains("line 4") && "\(error)".contains("not a finite number"), "\(error)")
        }
        let (dir2, path2) = try write("CCO,0.5\nCC,1\n", "h.csv")
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        #expect(throws: GraphError.self) { _ = try SMILES.readCSV(path: path2) }
    }

    /// Found by the fuzzer (smiles): a digit with a combining mark sorts between "0" and "9" as a
    /// Character and was force-converted to an Int.
    @Test func digitWithCombiningMark() throws {
        #expect(throws: GraphError.self) { _ = try SMILES.graph("C5\u{301}CC5") }
        #expect(try SMILES.graph("C1CC1").nodeCount == 3)
    }

    /// Counts from a file are bounded before they become sizes.
    @Test func jsonLinesBounds() throws {
        for (line, expected) in [(#"{"nodes": 1000000000000}"#, "nodes"),
                                 (#"{"nodes": 2, "edges": [[0, 1]], "edge_types": [100000000000]}"#, "edge_types"),
                                 (#"{"nodes": 2, "features": [[1e308], [0]]}"#, "float32"),
                                 (#"{"nodes": 2, "edges": [[0, 5]]}"#, "edge")] {
            let (dir, path) = try write("\n" + line + "\n", "g.jsonl")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            do { _ = try Graph.readJSONLines(path: path); Issue.record("read \(line)") } catch {
                #expect("\(error)".contains("line 2") && "\(error)".contains(expected), "\(error)")
            }
        }
    }
}
