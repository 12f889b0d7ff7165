import Foundation
import Support

/// Graph families used by the experiments. Every generator takes an explicit seeded generator.
public enum GraphFamilies {
    /// The Circular Skip Link graphs (Murphy et al. 2019): the 41-cycle with every node i also
    /// joined to i + R (mod 41), R ∈ {2, 3, 4, 5, 6, 9, 11, 12, 13, 16} — ten classes of 4-regular
    /// graphs that 1-WL cannot tell apart — each graph a random relabelling of its class's graph.
    public static let skips = [2, 3, 4, 5, 6, 9, 11, 12, 13, 16]

    public static func csl(perClass: Int = 15, seed: UInt64 = 0) -> [Graph] {
        var rng = SplitMix64(seed: seed)
        var out = [Graph]()
        for (label, r) in skips.enumerated() {
            var edges = [(Int, Int)]()
            for i in 0..<41 { edges.append((i, (i + 1) % 41)); edges.append((i, (i + r) % 41)) }
            let base = Graph(nodeCount: 41, edges: edges, label: label)
            for _ in 0..<perClass {
                var p = Array(0..<41)
                p.shuffle(using: &rng)
                out.append(base.permuted(p))
            }
        }
        return out
    }

    /// Erdős–Rényi G(n, p): each of the n(n−1)/2 pairs is an edge with probability p.
    public static func erdosRenyi<G: RandomNumberGenerator>(_ n: Int, p: Double, using rng: inout G) -> Graph {
        var edges = [(Int, Int)]()
        for a in 0..<n { for b in (a + 1)..<max(a + 1, n) where Double.random(in: 0..<1, using: &rng) < p { edges.append((a, b)) } }
        return Graph(nodeCount: n, edges: edges)
    }

    /// A uniform-ish random d-regular simple graph on n nodes (n·d even, d < n): stubs paired at
    /// random, a pair that would make a loop or a double edge is redrawn, and a dead end restarts.
    public static func randomRegular<G: RandomNumberGenerator>(_ n: Int, degree d: Int, using rng: inout G) -> Graph {
        precondition(d >= 0 && d < n && (n * d) % 2 == 0, "no \(d)-regular graph on \(n) nodes")
        while true {
            var stubs = [Int]()
            for v in 0..<n { for _ in 0..<d { stubs.append(v) } }
            var present = Set<Int>(), edges = [(Int, Int)](), stuck = false
            while !stubs.isEmpty && !stuck {
                stuck = true
                for _ in 0..<200 {
                    let i = Int.random(in: 0..<stubs.count, using: &rng), j = Int.random(in: 0..<stubs.count, using: &rng)
                    let a = stubs[i], b = stubs[j]
                    guard i != j, a != b, !present.contains(min(a, b) * n + max(a, b)) else { continue }
                    present.insert(min(a, b) * n + max(a, b)); edges.append((a, b))
                    for x in [max(i, j), min(i, j)] { stubs.swapAt(x, stubs.count - 1); stubs.removeLast() }
                    stuck = false
                    break
                }
            }
            if !stuck { return Graph(nodeCount: n, edges: edges) }
        }
    }

    /// A uniformly random labelled tree (a random Prüfer sequence).
    public static func randomTree<G: RandomNumberGenerator>(_ n: Int, using rng: inout G) -> Graph {
        guard n > 2 else { return Graph(nodeCount: n, edges: n == 2 ? [(0, 1)] : []) }
        let seq = (0..<(n - 2)).map { _ in Int.random(in: 0..<n, using: &rng) }
        var degree = [Int](repeating: 1, count: n)
        for s in seq { degree[s] += 1 }
        var edges = [(Int, Int)]()
        for s in seq {
            let leaf = degree.firstIndex(of: 1)!
            edges.append((leaf, s)); degree[leaf] -= 1; degree[s] -= 1
        }
        let last = degree.indices.filter { degree[$0] == 1 }
        edges.append((last[0], last[1]))
        return Graph(nodeCount: n, edges: edges)
    }

    /// Barabási–Albert preferential attachment: each new node joins m distinct earlier nodes
    /// chosen with probability proportional to degree (starting from a star on m + 1 nodes).
    public static func barabasiAlbert<G: RandomNumberGenerator>(_ n: Int, m: Int, using rng: inout G) -> Graph {
        precondition(m >= 1 && n > m)
        var edges = (1...m).map { (0, $0) }
        var ends = edges.flatMap { [$0.0, $0.1] }
        for v in (m + 1)..<max(m + 1, n) {
            var chosen = Set<Int>()
            while chosen.count < m { chosen.insert(ends[Int.random(in: 0..<ends.count, using: &rng)]) }
            for u in chosen.sorted() { edges.append((u, v)); ends += [u, v] }
        }
        return Graph(nodeCount: n, edges: edges)
    }

    /// Two equal blocks, edges with probability `inside` within a block and `across` between.
    public static func stochasticBlocks<G: RandomNumberGenerator>(_ n: Int, inside: Double, across: Double, using rng: inout G) -> Graph {
        var edges = [(Int, Int)]()
        for a in 0..<n { for b in (a + 1)..<max(a + 1, n) {
            if Double.random(in: 0..<1, using: &rng) < ((a < n / 2) == (b < n / 2) ? inside : across) { edges.append((a, b)) }
        } }
        return Graph(nodeCount: n, edges: edges)
    }

    /// The r × c grid.
    public static func grid(rows r: Int, columns c: Int) -> Graph {
        var edges = [(Int, Int)]()
        for i in 0..<r { for j in 0..<c {
            if j + 1 < c { edges.append((i * c + j, i * c + j + 1)) }
            if i + 1 < r { edges.append((i * c + j, (i + 1) * c + j)) }
        } }
        return Graph(nodeCount: r * c, edges: edges)
    }

    public static func cycle(_ n: Int) -> Graph { Graph(nodeCount: n, edges: (0..<n).map { ($0, ($0 + 1) % n) }) }
    public static func path(_ n: Int) -> Graph { Graph(nodeCount: n, edges: (0..<max(0, n - 1)).map { ($0, $0 + 1) }) }
    public static func star(_ n: Int) -> Graph { Graph(nodeCount: n, edges: (1..<max(1, n)).map { (0, $0) }) }

    /// A caterpillar: a path of `spine` nodes, the other n − spine nodes hung on random spine nodes.
    public static func caterpillar<G: RandomNumberGenerator>(_ n: Int, spine: Int, using rng: inout G) -> Graph {
        var edges = (0..<max(0, spine - 1)).map { ($0, $0 + 1) }
        for v in spine..<max(spine, n) { edges.append((Int.random(in: 0..<spine, using: &rng), v)) }
        return Graph(nodeCount: n, edges: edges)
    }

    /// The graph with its nodes in a random order (generators number nodes structurally).
    public static func shuffled<G: RandomNumberGenerator>(_ g: Graph, using rng: inout G) -> Graph {
        var p = Array(0..<g.nodeCount)
        p.shuffle(using: &rng)
        return g.permuted(p)
    }

    /// The substructure-counting data set: `count` graphs, alternately Erdős–Rényi G(n, p) with
    /// n uniform in 10…30 and p uniform in [0.1, 0.3), and random d-regular graphs with n uniform in
    /// 10…30 and d uniform in {3, 4, 5, 6} (n·d even); targets = [triangles, tailed triangles,
    /// 3-stars, 4-cycles] (`SubstructureCounts`, subgraph counts, not induced).
    public static func substructureDataset(count: Int, seed: UInt64) -> [Graph] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            var g: Graph
            if i % 2 == 0 {
                g = erdosRenyi(Int.random(in: 10...30, using: &rng), p: Double.random(in: 0.1..<0.3, using: &rng), using: &rng)
            } else {
                let d = Int.random(in: 3...6, using: &rng)
                var n = Int.random(in: 10...30, using: &rng)
                if (n * d) % 2 == 1 { n += 1 }
                g = randomRegular(n, degree: d, using: &rng)
            }
            g.targets = SubstructureCounts(g).all
            return g
        }
    }

    /// Names of the graph-property targets, in order.
    public static let propertyNames = ["connected", "diameter", "spectral radius"]
    /// Names of the substructure targets, in order.
    public static let substructureNames = ["triangles", "tailed triangles", "3-stars", "4-cycles"]

    /// The graph-property data set: `count` graphs on n uniform in 10…30 nodes from a mixture of
    /// ten families picked uniformly — Erdős–Rényi (p in [0.05, 0.3), sparse ones are often
    /// disconnected), random d-regular (d ∈ 2…5; d = 2 gives unions of cycles), random trees, grids,
    /// cycles, paths, stars, Barabási–Albert (m ∈ 1…3), two-block SBM (inside p in [0.3, 0.6),
    /// across in [0, 0.05)) and caterpillars — nodes shuffled. Targets = [connected (0/1),
    /// diameter (largest over components), spectral radius of the adjacency].
    public static func propertyDataset(count: Int, seed: UInt64) -> [Graph] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            var n = Int.random(in: 10...30, using: &rng)
            var g: Graph
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: g = erdosRenyi(n, p: Double.random(in: 0.05..<0.3, using: &rng), using: &rng)
            case 1:
                let d = Int.random(in: 2...5, using: &rng)
                if (n * d) % 2 == 1 { n += 1 }
                g = randomRegular(n, degree: d, using: &rng)
            case 2: g = randomTree(n, using: &rng)
            case 3:
                let r = Int.random(in: 2...5, using: &rng)
                g = grid(rows: r, columns: max(2, n / r))
            case 4: g = cycle(n)
            case 5: g = path(n)
            case 6: g = star(n)
            case 7: g = barabasiAlbert(n, m: Int.random(in: 1...3, using: &rng), using: &rng)
            case 8: g = stochasticBlocks(n, inside: Double.random(in: 0.3..<0.6, using: &rng), across: Double.random(in: 0..<0.05, using: &rng), using: &rng)
            default: g = caterpillar(n, spine: Int.random(in: 3...(n / 2), using: &rng), using: &rng)
            }
            g = shuffled(g, using: &rng)
            let p = GraphProperties(g)
            g.targets = [p.connected ? 1 : 0, Double(p.diameter), p.spectralRadius]
            return g
        }
    }
}

/// Exact subgraph counts (not induced) from walks and degrees, O(n³):
/// triangles = tr(A³)/6; tailed triangles = Σ_v t_v (d_v − 2) with t_v = (A³)_vv / 2 the triangles
/// at v; 3-stars = Σ_v C(d_v, 3); 4-cycles = (tr(A⁴) − 2 Σ_v d_v² + 2m) / 8 (closed 4-walks minus
/// those that retrace an edge).
public struct SubstructureCounts: Sendable, Equatable {
    public var triangles = 0, tailedTriangles = 0, stars = 0, fourCycles = 0
    public var all: [Double] { [triangles, tailedTriangles, stars, fourCycles].map(Double.init) }

    public init(_ g: Graph) {
        let n = g.nodeCount
        var a = [Int](repeating: 0, count: n * n)
        for (x, y) in g.edges where x != y { a[x * n + y] = 1; a[y * n + x] = 1 }
        let d = (0..<n).map { v in (0..<n).reduce(0) { $0 + a[v * n + $1] } }
        let m = d.reduce(0, +) / 2
        var a2 = [Int](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n where a[i * n + k] != 0 { for j in 0..<n { a2[i * n + j] += a[k * n + j] } } }
        var tr3 = 0, tr4 = 0, tailed = 0
        for v in 0..<n {
            var c3 = 0
            for k in 0..<n { c3 += a2[v * n + k] * a[k * n + v]; tr4 += a2[v * n + k] * a2[k * n + v] }
            tr3 += c3
            tailed += (c3 / 2) * (d[v] - 2)
        }
        triangles = tr3 / 6
        tailedTriangles = max(0, tailed)
        stars = d.reduce(0) { $0 + $1 * ($1 - 1) * ($1 - 2) / 6 }
        fourCycles = (tr4 - 2 * d.reduce(0) { $0 + $1 * $1 } + 2 * m) / 8
    }
}

/// Global properties: connectedness (breadth-first search), diameter (the largest eccentricity
/// within a component; 0 for a graph without edges) and spectral radius (largest adjacency
/// eigenvalue, Jacobi).
public struct GraphProperties: Sendable {
    public let connected: Bool
    public let diameter: Int
    public let spectralRadius: Double

    public init(_ g: Graph) {
        let n = g.nodeCount
        var nb = [[Int]](repeating: [], count: n)
        for (a, b) in g.edges where a != b { nb[a].append(b); nb[b].append(a) }
        var diam = 0, reachedFromZero = 0
        for s in 0..<n {
            var dist = [Int](repeating: -1, count: n)
            dist[s] = 0
            var queue = [s], head = 0
            while head < queue.count {
                let v = queue[head]; head += 1
                for u in nb[v] where dist[u] < 0 { dist[u] = dist[v] + 1; queue.append(u) }
            }
            diam = max(diam, dist.max() ?? 0)
            if s == 0 { reachedFromZero = queue.count }
        }
        connected = n <= 1 || reachedFromZero == n
        diameter = diam
        var a = [Double](repeating: 0, count: n * n)
        for (x, y) in g.edges where x != y { a[x * n + y] = 1; a[y * n + x] = 1 }
        spectralRadius = n == 0 ? 0 : (GraphSpectrum.symmetricEigen(a, n: n).0.map { Swift.abs($0) }.max() ?? 0)
    }
}
