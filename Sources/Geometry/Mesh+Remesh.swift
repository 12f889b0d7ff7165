import Foundation

/// Isotropic remeshing (Botsch & Kobbelt, "A Remeshing Approach to Multiresolution Modeling",
/// SGP 2004): repeated rounds of edge splits, collapses, valence-improving flips, tangential
/// relaxation and projection back onto the input surface.
extension Mesh {
    /// A mesh of the same surface whose edges are close to `edgeLength`: each round splits edges
    /// longer than 4/3 h at their midpoints, collapses edges shorter than 4/5 h to their midpoints
    /// (unless that makes an edge longer than 4/3 h, breaks the link condition or turns a face
    /// over), flips edges towards valence 6 (4 on the boundary), moves every vertex towards the
    /// centroid of its neighbours within its tangent plane, and projects it onto the input with
    /// `project` (a closest-point query; `SurfaceProjection` in Render gives one). Boundary
    /// vertices stay where they are; boundary edges are split but not flipped. Texture coordinates
    /// are not carried over.
    public func remeshed(edgeLength h: Double, iterations: Int = 10,
                         project: (([SIMD3<Double>]) -> [SIMD3<Double>])? = nil) throws -> Mesh {
        guard h.isFinite, h > 0 else { throw MeshError.invalid("the target edge length must be a positive number, got \(h)") }
        guard (1...100).contains(iterations) else { throw MeshError.invalid("iterations \(iterations) is outside 1...100") }
        guard triangleCount > 0 else { throw MeshError.invalid("the mesh has no faces to remesh") }
        let area = (0..<triangleCount).reduce(0.0) { $0 + triangleArea($1) }
        // An equilateral triangle of side h has area √3/4 h²: refuse what would not fit in memory.
        let expected = area / (3.0.squareRoot() / 4 * h * h)
        guard expected < 20_000_000 else {
            throw MeshError.invalid("an edge length of \(h) would make about \(Int(expected)) triangles (at most 20,000,000); choose a longer one")
        }
        var e = EditableMesh(self)
        let high = 4.0 / 3 * h, low = 4.0 / 5 * h
        for _ in 0..<iterations {
            e.splitLongEdges(longerThan: high)
            e.collapseShortEdges(shorterThan: low, maxResult: high)
            e.flipForValence()
            e.relaxTangentially()
            if let project {
                let free = (0..<e.pos.count).filter { !e.fixed[$0] && !e.vertexFaces[$0].isEmpty }
                let moved = project(free.map { e.pos[$0] })
                for (k, v) in free.enumerated() { e.pos[v] = moved[k] }
            }
        }
        return e.compacted()
    }
}

/// A triangle mesh under local edits: faces with alive flags, the faces of each vertex and of
/// each edge.
struct EditableMesh {
    var pos: [SIMD3<Double>]
    var fixed: [Bool]
    var faces: [SIMD3<Int32>] = []
    var alive: [Bool] = []
    var vertexFaces: [[Int32]]
    var edgeFaces: [UInt64: [Int32]] = [:]

    init(_ m: Mesh) {
        pos = (0..<m.vertexCount).map { m.position($0) }
        fixed = [Bool](repeating: false, count: m.vertexCount)
        vertexFaces = [[Int32]](repeating: [], count: m.vertexCount)
        for f in 0..<m.triangleCount {
            let (a, b, c) = (Int(m.triangles[3 * f]), Int(m.triangles[3 * f + 1]), Int(m.triangles[3 * f + 2]))
            if a != b && b != c && a != c { addFace(a, b, c) }
        }
        for (k, fs) in edgeFaces where fs.count != 2 { fixed[Int(k >> 32)] = true; fixed[Int(k & 0xFFFF_FFFF)] = true }
    }

    static func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(min(a, b)) << 32 | UInt64(max(a, b)) }

    @discardableResult mutating func addFace(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let f = faces.count
        faces.append(SIMD3(Int32(a), Int32(b), Int32(c)))
        alive.append(true)
        for v in [a, b, c] { vertexFaces[v].append(Int32(f)) }
        for (x, y) in [(a, b), (b, c), (c, a)] { edgeFaces[Self.key(x, y), default: []].append(Int32(f)) }
        return f
    }

    mutating func removeFace(_ f: Int) {
        guard alive[f] else { return }
        alive[f] = false
        let t = faces[f]
        for k in 0..<3 { vertexFaces[Int(t[k])].removeAll { $0 == Int32(f) } }
        for k in 0..<3 {
            let key = Self.key(Int(t[k]), Int(t[(k + 1) % 3]))
            edgeFaces[key]?.removeAll { $0 == Int32(f) }
            if edgeFaces[key]?.isEmpty == true { edgeFaces[key] = nil }
        }
    }

    func neighbours(_ v: Int) -> [Int] {
        var s = [Int]()
        for f in vertexFaces[v] { let t = faces[Int(f)]; for k in 0..<3 where Int(t[k]) != v { s.append(Int(t[k])) } }
        s.sort()
        var out = [Int]()
        for x in s where out.last != x { out.append(x) }
        return out
    }

    func length(_ a: Int, _ b: Int) -> Double { let d = pos[a] - pos[b]; return (d * d).sum().squareRoot() }

    func normal(_ a: SIMD3<Double>, _ b: SIMD3<Double>, _ c: SIMD3<Double>) -> SIMD3<Double> {
        let e1 = b - a, e2 = c - a
        return SIMD3(e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x)
    }

    /// Face `f`'s vertices rotated so that the directed edge a → b or b → a comes first: (x, y, z)
    /// with x → y the edge.
    func rotated(_ f: Int, _ a: Int, _ b: Int) -> (Int, Int, Int) {
        let t = faces[f]
        for k in 0..<3 {
            let x = Int(t[k]), y = Int(t[(k + 1) % 3])
            if (x == a && y == b) || (x == b && y == a) { return (x, y, Int(t[(k + 2) % 3])) }
        }
        return (Int(t[0]), Int(t[1]), Int(t[2]))
    }

    mutating func splitLongEdges(longerThan high: Double) {
        var queue = edgeFaces.keys.filter { length(Int($0 >> 32), Int($0 & 0xFFFF_FFFF)) > high }
        queue.sort()
        while let k = queue.popLast() {
            let a = Int(k >> 32), b = Int(k & 0xFFFF_FFFF)
            guard let fs = edgeFaces[k], !fs.isEmpty, length(a, b) > high else { continue }
            let m = pos.count
            pos.append(0.5 * (pos[a] + pos[b]))
            fixed.append(fs.count != 2 && fixed[a] && fixed[b])
            vertexFaces.append([])
            for f in fs {
                let (x, y, z) = rotated(Int(f), a, b)
                removeFace(Int(f))
                addFace(x, m, z)
                addFace(m, y, z)
            }
            for (u, v) in [(a, m), (m, b)] where length(u, v) > high { queue.append(Self.key(u, v)) }
        }
    }

    /// Whether removing `remove` into `keep` at `at` keeps the surface manifold and unfolded and
    /// makes no edge longer than `maxResult`.
    func collapsible(_ keep: Int, _ remove: Int, _ at: SIMD3<Double>, maxResult: Double) -> Bool {
        let shared = edgeFaces[Self.key(keep, remove)] ?? []
        guard shared.count == 2 else { return false }
        let nk = neighbours(keep), nr = neighbours(remove)
        var common = 0, i = 0, j = 0
        while i < nk.count && j < nr.count { if nk[i] == nr[j] { common += 1; i += 1; j += 1 } else if nk[i] < nr[j] { i += 1 } else { j += 1 } }
        guard common == 2 else { return false }
        for v in nk + nr where v != keep && v != remove {
            let d = pos[v] - at
            if (d * d).sum() > maxResult * maxResult { return false }
        }
        for v in [keep, remove] {
            for f32 in vertexFaces[v] where !shared.contains(f32) {
                let t = faces[Int(f32)]
                var p = [pos[Int(t[0])], pos[Int(t[1])], pos[Int(t[2])]]
                let before = normal(p[0], p[1], p[2])
                for k in 0..<3 where Int(t[k]) == keep || Int(t[k]) == remove { p[k] = at }
                let after = normal(p[0], p[1], p[2])
                if (before * after).sum() <= 0.1 * (before * before).sum().squareRoot() * (after * after).sum().squareRoot() { return false }
            }
        }
        return true
    }

    mutating func collapseShortEdges(shorterThan low: Double, maxResult: Double) {
        var queue = edgeFaces.keys.filter { length(Int($0 >> 32), Int($0 & 0xFFFF_FFFF)) < low }
        queue.sort()
        while let k = queue.popLast() {
            let a = Int(k >> 32), b = Int(k & 0xFFFF_FFFF)
            guard edgeFaces[k] != nil, length(a, b) < low, !(fixed[a] && fixed[b]) else { continue }
            let (keep, remove) = fixed[a] ? (a, b) : (b, a)
            let at = fixed[keep] ? pos[keep] : 0.5 * (pos[a] + pos[b])
            guard collapsible(keep, remove, at, maxResult: maxResult) else { continue }
            for f in edgeFaces[Self.key(keep, remove)] ?? [] { removeFace(Int(f)) }
            for f in vertexFaces[remove] {
                let t = faces[Int(f)]
                let v = (0..<3).map { Int(t[$0]) == remove ? keep : Int(t[$0]) }
                removeFace(Int(f))
                addFace(v[0], v[1], v[2])
            }
            pos[keep] = at
            for v in neighbours(keep) where length(keep, v) < low { queue.append(Self.key(keep, v)) }
        }
    }

    mutating func flipForValence() {
        var valence = vertexFaces.map { _ in 0 }
        for (k, _) in edgeFaces { valence[Int(k >> 32)] += 1; valence[Int(k & 0xFFFF_FFFF)] += 1 }
        func target(_ v: Int) -> Int { fixed[v] ? 4 : 6 }
        for k in edgeFaces.keys.sorted() {
            guard let fs = edgeFaces[k], fs.count == 2 else { continue }
            let a = Int(k >> 32), b = Int(k & 0xFFFF_FFFF)
            let (x1, y1, c) = rotated(Int(fs[0]), a, b), (_, _, d) = rotated(Int(fs[1]), a, b)
            guard c != d, edgeFaces[Self.key(c, d)] == nil else { continue }
            let before = [a, b, c, d].map { abs(valence[$0] - target($0)) }.reduce(0, +)
            let after = abs(valence[a] - 1 - target(a)) + abs(valence[b] - 1 - target(b)) + abs(valence[c] + 1 - target(c)) + abs(valence[d] + 1 - target(d))
            guard after < before else { continue }
            // (x1, y1, c) runs along the edge; the other face runs y1 → x1 with d opposite.
            let n1 = normal(pos[x1], pos[d], pos[c]), n2 = normal(pos[d], pos[y1], pos[c])
            let n0 = normal(pos[x1], pos[y1], pos[c]) + normal(pos[y1], pos[x1], pos[d])
            guard (n1 * n0).sum() > 0, (n2 * n0).sum() > 0,
                  (n1 * n1).sum() > 1e-24 * (n0 * n0).sum(), (n2 * n2).sum() > 1e-24 * (n0 * n0).sum() else { continue }
            removeFace(Int(fs[0])); removeFace(Int(fs[1]))
            addFace(x1, d, c); addFace(d, y1, c)
            valence[a] -= 1; valence[b] -= 1; valence[c] += 1; valence[d] += 1
        }
    }

    mutating func relaxTangentially() {
        var moved = pos
        for v in 0..<pos.count where !fixed[v] && !vertexFaces[v].isEmpty {
            let nb = neighbours(v)
            guard !nb.isEmpty else { continue }
            var q = SIMD3<Double>(0, 0, 0)
            for u in nb { q += pos[u] }
            q /= Double(nb.count)
            var n = SIMD3<Double>(0, 0, 0)
            for f in vertexFaces[v] { let t = faces[Int(f)]; n += normal(pos[Int(t[0])], pos[Int(t[1])], pos[Int(t[2])]) }
            let l = (n * n).sum().squareRoot()
            let d = q - pos[v]
            moved[v] = l > 0 ? pos[v] + d - ((d * n).sum() / (l * l)) * n : q
        }
        pos = moved
    }

    func compacted() -> Mesh {
        var index = [Int32](repeating: -1, count: pos.count)
        var p = [Double](), t = [Int32]()
        for (f, face) in faces.enumerated() where alive[f] {
            for k in 0..<3 {
                let v = Int(face[k])
                if index[v] < 0 { index[v] = Int32(p.count / 3); p += [pos[v].x, pos[v].y, pos[v].z] }
                t.append(index[v])
            }
        }
        return Mesh(positions: p, triangles: t)
    }
}
