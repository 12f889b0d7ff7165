/// What `Mesh.report()` finds: counts, extent, and every defect that matters for the
/// Laplace–Beltrami operator.
public struct MeshReport: Sendable, Equatable, Codable {
    /// Vertices (the `v` lines), referenced or not.
    public var vertices: Int
    /// Triangles (polygons split into fans).
    public var triangles: Int
    /// Unique undirected edges.
    public var edges: Int
    /// Smallest x, y, z over all vertices.
    public var boundingBoxMin: [Double]
    /// Largest x, y, z over all vertices.
    public var boundingBoxMax: [Double]
    /// Sum of the triangles' areas, in the mesh's units squared.
    public var surfaceArea: Double
    /// Connected components (through shared vertices) among the faces.
    public var components: Int
    /// Boundary edges (used by one face) and the loops they form.
    public var boundaryEdges: Int
    /// Closed loops the boundary edges form.
    public var boundaryLoops: Int
    /// Edges used by more than two faces.
    public var nonManifoldEdges: Int
    /// Vertices whose faces form more than one fan (e.g. two cones touching at a tip).
    public var nonManifoldVertices: Int
    /// Faces with zero area (repeated or collinear vertices).
    public var degenerateFaces: Int
    /// Faces with the same vertex set as an earlier face.
    public var duplicateFaces: Int
    /// Vertices no face uses (they get zero mass: an error for the eigensolver).
    public var unreferencedVertices: Int
    /// V - E + F over referenced vertices.
    public var eulerCharacteristic: Int
    /// Total genus, (2C - chi - B) / 2, when the mesh is an edge-manifold; nil otherwise.
    public var genus: Int?
    /// Whether every face corner has a texture coordinate.
    public var hasTexcoords: Bool

    /// True when the mesh is a clean manifold surface: no degenerate, duplicate or
    /// non-manifold elements and no unreferenced vertices.
    public var isClean: Bool {
        nonManifoldEdges == 0 && nonManifoldVertices == 0 && degenerateFaces == 0 && duplicateFaces == 0
            && unreferencedVertices == 0
    }
}

/// Union-find with path halving.
struct UnionFind {
    var parent: [Int32]
    init(_ n: Int) { parent = (0..<n).map { Int32($0) } }
    mutating func find(_ x: Int) -> Int {
        var x = x
        while Int(parent[x]) != x {
            parent[x] = parent[Int(parent[x])]
            x = Int(parent[x])
        }
        return x
    }
    mutating func union(_ a: Int, _ b: Int) {
        let ra = find(a), rb = find(b)
        if ra != rb { parent[max(ra, rb)] = Int32(min(ra, rb)) }
    }
}

extension Mesh {
    /// Relative threshold below which a face counts as degenerate: area <= 1e-14 times the sum
    /// of its squared edge lengths (the same rule the cotangent operators use).
    public static let degenerateAreaTolerance = 1e-14

    /// True if triangle `f` has repeated vertices or (numerically) zero area.
    public func isDegenerate(_ f: Int) -> Bool {
        let (a, b, c) = triangle(f)
        if a == b || b == c || a == c { return true }
        let p = position(a), q = position(b), r = position(c)
        let l2 = ((q - p) * (q - p)).sum() + ((r - q) * (r - q)).sum() + ((p - r) * (p - r)).sum()
        return !(triangleArea(f) > Mesh.degenerateAreaTolerance * l2)
    }

    /// Checks the mesh and counts its defects.
    public func report() -> MeshReport {
        let n = vertexCount, m = triangleCount
        let box = boundingBox
        let lo = [box.min.x, box.min.y, box.min.z], hi = [box.max.x, box.max.y, box.max.z]
        var area = 0.0, degenerate = 0
        var referenced = [Bool](repeating: false, count: n)
        for f in 0..<m {
            area += triangleArea(f)
            if isDegenerate(f) { degenerate += 1 }
            let (a, b, c) = triangle(f)
            referenced[a] = true; referenced[b] = true; referenced[c] = true
        }
        let (edges, boundary, loops, nonManifold, nonManifoldVertices) = edgeStatistics()
        let components = componentCount(referenced: referenced)
        let duplicates = duplicateFaceCount()
        let usedVertices = referenced.filter { $0 }.count
        let chi = usedVertices - edges + m
        let genus: Int? = nonManifold == 0 ? (2 * components - chi - loops) / 2 : nil
        return MeshReport(
            vertices: n, triangles: m, edges: edges, boundingBoxMin: lo, boundingBoxMax: hi,
            surfaceArea: area, components: components, boundaryEdges: boundary, boundaryLoops: loops,
            nonManifoldEdges: nonManifold, nonManifoldVertices: nonManifoldVertices,
            degenerateFaces: degenerate, duplicateFaces: duplicates, unreferencedVertices: n - usedVertices,
            eulerCharacteristic: chi, genus: genus, hasTexcoords: hasTexcoords)
    }

    /// Unique edges, boundary edges and the loops they form, edges with more than two faces, and
    /// vertices whose faces form more than one fan. O(m log m).
    func edgeStatistics() -> (edges: Int, boundary: Int, loops: Int, nonManifoldEdges: Int, nonManifoldVertices: Int) {
        let n = vertexCount, m = triangleCount
        // Edges: (key, face) pairs sorted by key; key = lo << 32 | hi.
        var half = [(UInt64, Int32)]()
        half.reserveCapacity(3 * m)
        for f in 0..<m {
            let (a, b, c) = triangle(f)
            for (u, v) in [(a, b), (b, c), (c, a)] where u != v {
                half.append((UInt64(min(u, v)) << 32 | UInt64(max(u, v)), Int32(f)))
            }
        }
        half.sort { $0.0 < $1.0 }
        var edges = 0, boundary = 0, nonManifold = 0
        var boundaryUF = UnionFind(n)
        var boundaryVertex = [Bool](repeating: false, count: n)
        var corners = UnionFind(3 * m)  // fans: corners joined across manifold edges
        func cornerOf(_ f: Int, _ v: Int) -> Int {
            let (a, b, _) = triangle(f)
            return 3 * f + (v == a ? 0 : (v == b ? 1 : 2))
        }
        var i = 0
        while i < half.count {
            var j = i + 1
            while j < half.count && half[j].0 == half[i].0 { j += 1 }
            edges += 1
            let u = Int(half[i].0 >> 32), v = Int(half[i].0 & 0xFFFF_FFFF)
            switch j - i {
            case 1:
                boundary += 1
                boundaryUF.union(u, v)
                boundaryVertex[u] = true; boundaryVertex[v] = true
            case 2:
                let f1 = Int(half[i].1), f2 = Int(half[i + 1].1)
                corners.union(cornerOf(f1, u), cornerOf(f2, u))
                corners.union(cornerOf(f1, v), cornerOf(f2, v))
            default:
                nonManifold += 1
            }
            i = j
        }
        var loops = 0
        for v in 0..<n where boundaryVertex[v] && boundaryUF.find(v) == v { loops += 1 }
        // Fans per vertex.
        var fanRoot = [Int](repeating: -1, count: n)
        var nonManifoldVertex = [Bool](repeating: false, count: n)
        for f in 0..<m {
            let (a, b, c) = triangle(f)
            for (k, v) in [a, b, c].enumerated() {
                let r = corners.find(3 * f + k)
                if fanRoot[v] == -1 { fanRoot[v] = r } else if fanRoot[v] != r { nonManifoldVertex[v] = true }
            }
        }
        return (edges, boundary, loops, nonManifold, nonManifoldVertex.filter { $0 }.count)
    }

    /// Connected components (through shared vertices) among the referenced vertices.
    func componentCount(referenced: [Bool]) -> Int {
        let n = vertexCount, m = triangleCount
        var uf = UnionFind(n)
        for f in 0..<m { let (a, b, c) = triangle(f); uf.union(a, b); uf.union(b, c) }
        var components = 0
        for v in 0..<n where referenced[v] && uf.find(v) == v { components += 1 }
        return components
    }

    /// Faces with the same vertex set as an earlier face.
    func duplicateFaceCount() -> Int {
        let m = triangleCount
        var keys = [(Int32, Int32, Int32)]()
        keys.reserveCapacity(m)
        for f in 0..<m {
            let t = [triangles[3 * f], triangles[3 * f + 1], triangles[3 * f + 2]].sorted()
            keys.append((t[0], t[1], t[2]))
        }
        keys.sort { $0.0 != $1.0 ? $0.0 < $1.0 : ($0.1 != $1.1 ? $0.1 < $1.1 : $0.2 < $1.2) }
        var duplicates = 0
        for k in 1..<max(1, keys.count) where keys[k] == keys[k - 1] { duplicates += 1 }
        return duplicates
    }
}
