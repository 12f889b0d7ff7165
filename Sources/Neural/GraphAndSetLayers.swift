/// An undirected graph's adjacency in compressed rows (neighbours of node i at
/// `neighbours[offsets[i]..<offsets[i+1]]`), for message passing.
public struct Adjacency: Sendable, Equatable {
    public let nodes: Int
    public let offsets: [Int]
    public let neighbours: [Int32]
    /// A label per entry of `neighbours` (an edge type, e.g. a bond order; 0 when none was given).
    public let labels: [Int32]

    /// From undirected edges (each listed once, in either direction; self-loops ignored), with an
    /// optional label per edge that both directions carry.
    public init(nodes: Int, edges: [(Int, Int)], labels edgeLabels: [Int]? = nil) {
        precondition(edgeLabels == nil || edgeLabels!.count == edges.count, "one label per edge")
        var degree = [Int](repeating: 0, count: nodes)
        for (a, b) in edges where a != b { degree[a] += 1; degree[b] += 1 }
        var offsets = [0]
        offsets.reserveCapacity(nodes + 1)
        for d in degree { offsets.append(offsets.last! + d) }
        var fill = offsets
        var nb = [Int32](repeating: 0, count: offsets.last!)
        var lb = [Int32](repeating: 0, count: offsets.last!)
        for (e, (a, b)) in edges.enumerated() where a != b {
            let t = Int32(edgeLabels?[e] ?? 0)
            nb[fill[a]] = Int32(b); lb[fill[a]] = t; fill[a] += 1
            nb[fill[b]] = Int32(a); lb[fill[b]] = t; fill[b] += 1
        }
        self.nodes = nodes
        self.offsets = offsets
        neighbours = nb
        labels = lb
    }

    init(nodes: Int, offsets: [Int], neighbours: [Int32], labels: [Int32]) {
        self.nodes = nodes; self.offsets = offsets; self.neighbours = neighbours; self.labels = labels
    }

    /// The disjoint union of these graphs: graph g's node i becomes node (offset of g) + i.
    public static func union(_ parts: [Adjacency]) -> Adjacency {
        var offsets = [0], nb = [Int32](), lb = [Int32]()
        offsets.reserveCapacity(parts.reduce(1) { $0 + $1.nodes })
        nb.reserveCapacity(parts.reduce(0) { $0 + $1.neighbours.count }); lb.reserveCapacity(nb.capacity)
        var base = 0
        for p in parts {
            let shift = offsets.last!
            for v in 0..<p.nodes { offsets.append(shift + p.offsets[v + 1]) }
            for u in p.neighbours { nb.append(u + Int32(base)) }
            lb += p.labels
            base += p.nodes
        }
        return Adjacency(nodes: base, offsets: offsets, neighbours: nb, labels: lb)
    }

    /// `count` disjoint copies of this graph (copy c's node i is c · nodes + i).
    public func replicated(_ count: Int) -> Adjacency {
        Adjacency.union([Adjacency](repeating: self, count: count))
    }

    /// y_v = (1 + eps) x_v + Σ_{u ∈ N(v)} x_u for every node (rows of x).
    /// The adjacency is symmetric, so this map is its own adjoint: GIN's backward is the same call.
    @_specialize(where T == Float)
    public func aggregate<T: GEMMScalar>(_ x: Matrix<T>, eps: T) -> Matrix<T> {
        precondition(x.rows == nodes)
        var y = x
        let c = x.columns
        if eps != 0 { y.values.withUnsafeMutableBufferPointer { yp in for i in yp.indices { yp[i] *= 1 + eps } } }
        x.values.withUnsafeBufferPointer { xs in
            y.values.withUnsafeMutableBufferPointer { ys in
                for v in 0..<nodes {
                    for p in offsets[v]..<offsets[v + 1] {
                        let u = Int(neighbours[p])
                        for j in 0..<c { ys[v * c + j] += xs[u * c + j] }
                    }
                }
            }
        }
        return y
    }
}

/// Encoders of eigenvector inputs other than SignNet: the absolute value (sign invariant, but
/// loses information) and random sign flips (an augmentation, not an invariance).
public enum EigenEncoding {
    /// |x| element-wise; the gradient at 0 is 0.
    public static func absolute<T: GEMMScalar>(_ x: Matrix<T>) -> Matrix<T> {
        Matrix(rows: x.rows, columns: x.columns, values: x.values.map { abs($0) })
    }

    public static func absoluteBackward<T: GEMMScalar>(_ dy: Matrix<T>, input x: Matrix<T>) -> Matrix<T> {
        Matrix(rows: dy.rows, columns: dy.columns,
               values: zip(dy.values, x.values).map { g, v in v > 0 ? g : (v < 0 ? -g : 0) })
    }

    /// One random sign per eigenvector (column group of `features` columns, of which the first
    /// `signed` are negated), the same for the whole batch: the reference "random sign flip"
    /// augmentation. Returns the signs used.
    @discardableResult
    public static func randomSignFlip<T: GEMMScalar, G: RandomNumberGenerator>(
        _ x: inout Matrix<T>, features: Int = 1, signed: Int = 1, using rng: inout G) -> [T] {
        let k = x.columns / features
        let signs: [T] = (0..<k).map { _ in Bool.random(using: &rng) ? 1 : -1 }
        for r in 0..<x.rows {
            for i in 0..<k where signs[i] < 0 {
                for c in 0..<signed { x.values[r * x.columns + i * features + c] = -x.values[r * x.columns + i * features + c] }
            }
        }
        return signs
    }
}

/// DeepSets pooling (Zaheer et al. 2017): the sum over k set elements of q features each,
/// batch × (k·q) → batch × q; invariant to the order of the elements.
public enum SetSum {
    public static func forward<T: GEMMScalar>(_ x: Matrix<T>, elements k: Int) -> Matrix<T> {
        let q = x.columns / k
        var y = Matrix<T>(rows: x.rows, columns: q)
        for r in 0..<x.rows { for i in 0..<k { for c in 0..<q { y.values[r * q + c] += x.values[r * x.columns + i * q + c] } } }
        return y
    }

    public static func backward<T: GEMMScalar>(_ dy: Matrix<T>, elements k: Int) -> Matrix<T> {
        let q = dy.columns
        var dx = Matrix<T>(rows: dy.rows, columns: k * q)
        for r in 0..<dy.rows { for i in 0..<k { for c in 0..<q { dx.values[r * k * q + i * q + c] = dy.values[r * q + c] } } }
        return dx
    }
}
