import Foundation

/// Quadric-error-metric decimation (Garland & Heckbert, "Surface Simplification Using Quadric
/// Error Metrics", SIGGRAPH 1997).
extension Mesh {
    /// What a decimation did.
    public struct DecimationReport: Sendable {
        public var collapses = 0
        /// Vertices that may not move (boundary, seams) and so were never removed.
        public var fixedVertices = 0
        /// True when the target could not be reached (every remaining edge is fixed or would
        /// fold the surface).
        public var stopped = false
    }

    /// The mesh reduced to about `targetVertices` vertices by edge collapses in order of the
    /// quadric error (area-weighted plane quadrics). Boundary vertices never move and are
    /// never removed (`keepBoundary`); with texture coordinates and `keepSeams`, vertices on a UV
    /// seam neither, collapses keep one endpoint's position (half-edge collapses) and the texture
    /// coordinates follow exactly. Otherwise a collapse moves to the quadric's optimum (or the
    /// better endpoint or the midpoint when the quadric is singular). A collapse is refused when
    /// it would break the link condition (a non-manifold edge) or turn a face over (its normal
    /// rotating by more than 90°). Unreferenced vertices are dropped.
    public func decimated(toVertices target: Int, keepBoundary: Bool = true, keepSeams: Bool = true) throws -> (Mesh, DecimationReport) {
        guard target >= 4 else { throw MeshError.invalid("a decimation target needs at least 4 vertices, got \(target)") }
        let n = vertexCount, m = triangleCount
        guard m > 0 else { throw MeshError.invalid("the mesh has no faces to decimate") }
        let withUV = hasTexcoords && keepSeams
        var pos = (0..<n).map { position($0) }
        var faceV = triangles.map { Int($0) }
        var faceT = withUV ? cornerTexcoords.map { Int($0) } : []
        var faceAlive = [Bool](repeating: true, count: m)
        var vertexFaces = [[Int32]](repeating: [], count: n)
        for f in 0..<m { for c in 0..<3 { vertexFaces[faceV[3 * f + c]].append(Int32(f)) } }
        var report = DecimationReport()

        // Fixed vertices: boundary (an edge with one face) and UV seams.
        var fixed = [Bool](repeating: false, count: n)
        var edgeFaces = [UInt64: Int]()
        func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(min(a, b)) << 32 | UInt64(max(a, b)) }
        for f in 0..<m { for c in 0..<3 { edgeFaces[key(faceV[3 * f + c], faceV[3 * f + (c + 1) % 3]), default: 0] += 1 } }
        if keepBoundary {
            for (k, count) in edgeFaces where count != 2 { fixed[Int(k >> 32)] = true; fixed[Int(k & 0xFFFF_FFFF)] = true }
        }
        if withUV {
            var uvOf = [SIMD2<Double>?](repeating: nil, count: n)
            for i in 0..<(3 * m) {
                let t = faceT[i], v = faceV[i]
                let uv = SIMD2(texcoords[2 * t], texcoords[2 * t + 1])
                if let u = uvOf[v], u != uv { fixed[v] = true } else { uvOf[v] = uv }
            }
        }
        report.fixedVertices = fixed.filter { $0 }.count

        // Quadrics: the symmetric 4 × 4 matrices of area-weighted planes.
        var quadric = [Quadric](repeating: Quadric(), count: n)
        func normal(_ a: SIMD3<Double>, _ b: SIMD3<Double>, _ c: SIMD3<Double>) -> SIMD3<Double> {
            let e1 = b - a, e2 = c - a
            return SIMD3(e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x)
        }
        for f in 0..<m {
            let a = pos[faceV[3 * f]], b = pos[faceV[3 * f + 1]], c = pos[faceV[3 * f + 2]]
            let nn = normal(a, b, c), len = (nn * nn).sum().squareRoot()
            guard len > 0, len.isFinite else { continue }
            let u = nn / len
            let q = Quadric(plane: u, d: -(u * a).sum(), weight: 0.5 * len)
            for c in 0..<3 { quadric[faceV[3 * f + c]].add(q) }
        }
        /// 4√3 area / Σ edge² (1 for an equilateral triangle, 0 for a degenerate one).
        func quality(_ a: SIMD3<Double>, _ b: SIMD3<Double>, _ c: SIMD3<Double>) -> Double {
            let nn = normal(a, b, c)
            let l2 = ((b - a) * (b - a)).sum() + ((c - b) * (c - b)).sum() + ((a - c) * (a - c)).sum()
            return l2 > 0 ? 2 * 3.0.squareRoot() * (nn * nn).sum().squareRoot() / l2 : 0
        }

        // The collapse of edge (a, b): which vertex survives, where it goes, and the cost.
        func plan(_ a: Int, _ b: Int) -> (keep: Int, remove: Int, at: SIMD3<Double>, cost: Double)? {
            if fixed[a] && fixed[b] { return nil }
            var q = quadric[a]
            q.add(quadric[b])
            if fixed[a] { return (a, b, pos[a], q.error(pos[a])) }
            if fixed[b] { return (b, a, pos[b], q.error(pos[b])) }
            let ea = q.error(pos[a]), eb = q.error(pos[b])
            var best = ea <= eb ? (a, b, pos[a], ea) : (b, a, pos[b], eb)
            if !withUV {
                let mid = 0.5 * (pos[a] + pos[b]), em = q.error(mid)
                if em < best.3 { best = (a, b, mid, em) }
                if let o = q.optimum() { let e = q.error(o); if e < best.3 { best = (a, b, o, e) } }
            }
            return best
        }

        // Neighbour sets by marking: mark[v] == token means "seen in this query".
        var mark = [UInt32](repeating: 0, count: n)
        var token: UInt32 = 0
        func nextToken() -> UInt32 {
            token &+= 1
            if token == 0 { for i in mark.indices { mark[i] = 0 }; token = 1 }
            return token
        }
        /// The number of distinct vertices adjacent to both `a` and `b` (other than a and b).
        func commonNeighbours(_ a: Int, _ b: Int) -> Int {
            let ta = nextToken()
            for f in vertexFaces[a] where faceAlive[Int(f)] { for c in 0..<3 { mark[faceV[3 * Int(f) + c]] = ta } }
            let tb = nextToken()
            var common = 0
            for f in vertexFaces[b] where faceAlive[Int(f)] {
                for c in 0..<3 {
                    let v = faceV[3 * Int(f) + c]
                    if v != a && v != b && mark[v] == ta { common += 1; mark[v] = tb }
                }
            }
            return common
        }
        func hasVertex(_ f: Int, _ v: Int) -> Bool { faceV[3 * f] == v || faceV[3 * f + 1] == v || faceV[3 * f + 2] == v }
        func allowed(_ keep: Int, _ remove: Int, _ at: SIMD3<Double>) -> Bool {
            var shared = 0
            for f in vertexFaces[remove] where faceAlive[Int(f)] && hasVertex(Int(f), keep) { shared += 1 }
            guard shared == 2 || (shared == 1 && !keepBoundary) else { return false }
            // Link condition: the common neighbours are exactly the shared faces' third vertices.
            guard commonNeighbours(keep, remove) == shared else { return false }
            for v in [keep, remove] {
                for f32 in vertexFaces[v] where faceAlive[Int(f32)] {
                    let f = Int(f32)
                    if hasVertex(f, keep) && hasVertex(f, remove) { continue }
                    var p0 = pos[faceV[3 * f]], p1 = pos[faceV[3 * f + 1]], p2 = pos[faceV[3 * f + 2]]
                    let before = normal(p0, p1, p2), qb = quality(p0, p1, p2)
                    if faceV[3 * f] == keep || faceV[3 * f] == remove { p0 = at }
                    if faceV[3 * f + 1] == keep || faceV[3 * f + 1] == remove { p1 = at }
                    if faceV[3 * f + 2] == keep || faceV[3 * f + 2] == remove { p2 = at }
                    let after = normal(p0, p1, p2)
                    if (before * after).sum() <= 0 { return false }
                    // No sliver: a triangle may not end below quality 0.1 unless it was already worse.
                    if quality(p0, p1, p2) < min(0.1, 0.5 * qb) { return false }
                }
            }
            return true
        }

        struct Candidate { var cost: Double; var a: Int32; var b: Int32; var stampA: UInt32; var stampB: UInt32 }
        var stamp = [UInt32](repeating: 0, count: n)
        var heap = Heap<Candidate> { $0.cost < $1.cost || ($0.cost == $1.cost && ($0.a, $0.b) < ($1.a, $1.b)) }
        func push(_ a: Int, _ b: Int) {
            guard let p = plan(a, b) else { return }
            heap.push(Candidate(cost: p.cost, a: Int32(min(a, b)), b: Int32(max(a, b)), stampA: stamp[min(a, b)], stampB: stamp[max(a, b)]))
        }
        for k in edgeFaces.keys.sorted() { push(Int(k >> 32), Int(k & 0xFFFF_FFFF)) }

        var alive = Set<Int>()
        for f in 0..<m { for c in 0..<3 { alive.insert(faceV[3 * f + c]) } }
        var vertices = alive.count
        while vertices > target {
            guard let e = heap.pop() else { report.stopped = true; break }
            let a = Int(e.a), b = Int(e.b)
            guard e.stampA == stamp[a], e.stampB == stamp[b], !vertexFaces[a].isEmpty, !vertexFaces[b].isEmpty,
                  let p = plan(a, b), allowed(p.keep, p.remove, p.at) else { continue }
            let keep = p.keep, remove = p.remove
            // The texture coordinate the kept vertex has in the faces along the edge.
            var keepT = -1
            if withUV {
                for f in vertexFaces[remove] where faceAlive[Int(f)] {
                    for c in 0..<3 where faceV[3 * Int(f) + c] == keep { keepT = faceT[3 * Int(f) + c] }
                }
            }
            for f32 in vertexFaces[remove] where faceAlive[Int(f32)] {
                let f = Int(f32)
                if (0..<3).contains(where: { faceV[3 * f + $0] == keep }) { faceAlive[f] = false; continue }
                for c in 0..<3 where faceV[3 * f + c] == remove {
                    faceV[3 * f + c] = keep
                    if withUV { faceT[3 * f + c] = keepT }
                }
                vertexFaces[keep].append(f32)
            }
            vertexFaces[keep].removeAll { !faceAlive[Int($0)] }
            vertexFaces[remove] = []
            pos[keep] = p.at
            quadric[keep].add(quadric[remove])
            vertices -= 1
            report.collapses += 1
            // Only the edges at the kept vertex change cost (its quadric and place); the others'
            // entries stay valid, and whether a collapse folds the surface is checked when popped.
            stamp[keep] &+= 1
            stamp[remove] &+= 1
            let t = nextToken()
            for f in vertexFaces[keep] {
                for c in 0..<3 {
                    let v = faceV[3 * Int(f) + c]
                    if v != keep && mark[v] != t { mark[v] = t; push(keep, v) }
                }
            }
        }

        // Compact: alive faces, referenced vertices in their old order.
        var newIndex = [Int32](repeating: -1, count: n)
        var outPos = [Double](), outTri = [Int32](), outCornerT = [Int32]()
        var used = [Bool](repeating: false, count: n)
        for f in 0..<m where faceAlive[f] { for c in 0..<3 { used[faceV[3 * f + c]] = true } }
        for v in 0..<n where used[v] {
            newIndex[v] = Int32(outPos.count / 3)
            outPos += [pos[v].x, pos[v].y, pos[v].z]
        }
        for f in 0..<m where faceAlive[f] {
            for c in 0..<3 { outTri.append(newIndex[faceV[3 * f + c]]); if withUV { outCornerT.append(Int32(faceT[3 * f + c])) } }
        }
        var out = Mesh(positions: outPos, triangles: outTri, texcoords: withUV ? texcoords : [], cornerTexcoords: outCornerT)
        out.diffuseTexturePath = diffuseTexturePath
        return (out, report)
    }
}

/// A symmetric 4 × 4 quadric: Σ w (n·x + d)² over planes.
struct Quadric {
    var a11 = 0.0, a12 = 0.0, a13 = 0.0, a14 = 0.0, a22 = 0.0, a23 = 0.0, a24 = 0.0, a33 = 0.0, a34 = 0.0, a44 = 0.0

    init() {}
    init(plane n: SIMD3<Double>, d: Double, weight w: Double) {
        a11 = w * n.x * n.x; a12 = w * n.x * n.y; a13 = w * n.x * n.z; a14 = w * n.x * d
        a22 = w * n.y * n.y; a23 = w * n.y * n.z; a24 = w * n.y * d
        a33 = w * n.z * n.z; a34 = w * n.z * d; a44 = w * d * d
    }

    mutating func add(_ q: Quadric) {
        a11 += q.a11; a12 += q.a12; a13 += q.a13; a14 += q.a14; a22 += q.a22
        a23 += q.a23; a24 += q.a24; a33 += q.a33; a34 += q.a34; a44 += q.a44
    }

    /// xᵀ Q x for x = (p, 1), never below 0.
    func error(_ p: SIMD3<Double>) -> Double {
        let x = p.x, y = p.y, z = p.z
        let s = a11 * x * x + a22 * y * y + a33 * z * z + 2 * (a12 * x * y + a13 * x * z + a23 * y * z)
            + 2 * (a14 * x + a24 * y + a34 * z) + a44
        return max(0, s)
    }

    /// The minimiser of the quadric, when its 3 × 3 part is well conditioned.
    func optimum() -> SIMD3<Double>? {
        let b = SIMD3(-a14, -a24, -a34)
        let c11 = a22 * a33 - a23 * a23, c12 = a13 * a23 - a12 * a33, c13 = a12 * a23 - a13 * a22
        let det = a11 * c11 + a12 * c12 + a13 * c13
        let scale = max(abs(a11), abs(a22), abs(a33))
        guard scale > 0, abs(det) > 1e-10 * scale * scale * scale else { return nil }
        let c22 = a11 * a33 - a13 * a13, c23 = a12 * a13 - a11 * a23, c33 = a11 * a22 - a12 * a12
        let x = SIMD3(c11 * b.x + c12 * b.y + c13 * b.z, c12 * b.x + c22 * b.y + c23 * b.z, c13 * b.x + c23 * b.y + c33 * b.z) / det
        return x.x.isFinite && x.y.isFinite && x.z.isFinite ? x : nil
    }
}
