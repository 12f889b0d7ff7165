import Support
import Foundation

public enum GraphError: Error, CustomStringConvertible, Equatable {
    case bad(String)
    public var description: String { if case .bad(let s) = self { return s }; return "" }
}

/// An undirected graph with node features (n × featureCount, row-major), edges listed once
/// with an optional type each (e.g. bond order), and a graph-level label or targets (one or more
/// regression values; `target` is the first).
public struct Graph: Sendable, Equatable {
    public var nodeCount: Int
    public var featureCount: Int
    public var features: [Float]
    public var edges: [(Int, Int)]
    public var edgeTypes: [Int]
    public var label: Int
    public var targets: [Double]
    public var target: Double {
        get { targets.first ?? 0 }
        set { if targets.isEmpty { targets = [newValue] } else { targets[0] = newValue } }
    }

    public init(nodeCount: Int, edges: [(Int, Int)], features: [Float]? = nil, featureCount: Int = 1,
                edgeTypes: [Int]? = nil, label: Int = 0, target: Double = 0, targets: [Double]? = nil) {
        self.nodeCount = nodeCount
        self.featureCount = features == nil ? 1 : featureCount
        self.features = features ?? [Float](repeating: 1, count: nodeCount)
        self.edges = edges
        self.edgeTypes = edgeTypes ?? [Int](repeating: 0, count: edges.count)
        self.label = label
        self.targets = targets ?? [target]
    }

    public static func == (a: Graph, b: Graph) -> Bool {
        a.nodeCount == b.nodeCount && a.features == b.features && a.edges.map { [$0.0, $0.1] } == b.edges.map { [$0.0, $0.1] }
            && a.edgeTypes == b.edgeTypes && a.label == b.label && a.targets == b.targets
    }

    /// Node degrees.
    public var degrees: [Int] {
        var d = [Int](repeating: 0, count: nodeCount)
        for (a, b) in edges where a != b { d[a] += 1; d[b] += 1 }
        return d
    }

    /// The graph with its nodes renumbered: node i becomes permutation[i].
    public func permuted(_ p: [Int]) -> Graph {
        var f = [Float](repeating: 0, count: features.count)
        for i in 0..<nodeCount { for c in 0..<featureCount { f[p[i] * featureCount + c] = features[i * featureCount + c] } }
        return Graph(nodeCount: nodeCount, edges: edges.map { (p[$0.0], p[$0.1]) }, features: f, featureCount: featureCount,
                     edgeTypes: edgeTypes, label: label, targets: targets)
    }

    /// The most nodes a graph read from a file may have.
    public static let maxNodes = 10_000

    /// Reads JSON lines: one graph per line, {"nodes": n, "edges": [[a, b], …], optional
    /// "features": [[…], …] (n rows), "edge_types": […], "label": int, "target": number or
    /// "targets": [numbers]}.
    /// Errors name the file and line.
    public static func readJSONLines(path: String) throws -> [Graph] {
        let text: String
        do { text = try InputFile.readText(path, limit: 1 << 30) } catch let e as FileReadError { throw GraphError.bad(e.description) }
        var out = [Graph]()
        for (i, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let where_ = "\(path): line \(i + 1)"
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { throw GraphError.bad("\(where_): not a JSON object") }
            guard let n = obj["nodes"] as? Int, (1...maxNodes).contains(n) else {
                throw GraphError.bad("\(where_): \"nodes\" must be a count in 1...\(maxNodes) (spectral encodings are dense in the node count)")
            }
            let rawEdges = obj["edges"] as? [[Int]] ?? []
            guard rawEdges.count <= 64 * max(n, 1) else { throw GraphError.bad("\(where_): \(rawEdges.count) edges for \(n) nodes (at most 64 per node)") }
            var edges = [(Int, Int)]()
            for e in rawEdges {
                guard e.count == 2, (0..<n).contains(e[0]), (0..<n).contains(e[1]) else { throw GraphError.bad("\(where_): edge \(e) is not two node indices in 0..<\(n)") }
                edges.append((e[0], e[1]))
            }
            var feats: [Float]? = nil, fc = 1
            if let f = obj["features"] as? [[Double]] {
                guard f.count == n, let w = f.first?.count, f.allSatisfy({ $0.count == w }) else { throw GraphError.bad("\(where_): \"features\" must have \(n) rows of equal length") }
                if let bad = f.joined().first(where: { !(Swift.abs($0) <= Double(Float.greatestFiniteMagnitude)) }) {
                    throw GraphError.bad("\(where_): feature \(bad) is \(bad.isFinite ? "beyond the float32 range (±3.4e38)" : "not finite")")
                }
                feats = f.flatMap { $0.map(Float.init) }; fc = w
            }
            let types = obj["edge_types"] as? [Int]
            if let t = types, t.count != edges.count || t.contains(where: { !(0...255).contains($0) }) {
                throw GraphError.bad("\(where_): \"edge_types\" must hold one type in 0...255 per edge (\(edges.count))")
            }
            let targets = obj["targets"] as? [Double] ?? [obj["target"] as? Double ?? 0]
            if let bad = targets.first(where: { !$0.isFinite }) { throw GraphError.bad("\(where_): target \(bad) is not finite") }
            out.append(Graph(nodeCount: n, edges: edges, features: feats, featureCount: fc, edgeTypes: types,
                             label: obj["label"] as? Int ?? 0, targets: targets))
        }
        return out
    }
}
