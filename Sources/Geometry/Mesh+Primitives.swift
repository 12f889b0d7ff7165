import Support
import Foundation

extension Mesh {
    /// A geodesic sphere of radius 1: the icosahedron with each face split into
    /// `subdivisions²` triangles, projected to the sphere; `10 f² + 2` vertices.
    /// - Parameters:
    ///   - subdivisions: f >= 1.
    ///   - jitter: each vertex is moved in its tangent plane, in a random direction, by a
    ///     distance uniform in [0, jitter × mean edge length], then put back on the sphere.
    ///     This makes triangles irregular (some obtuse) and breaks exact multiplicities.
    ///   - seed: seed of the jitter.
    public static func icosphere(subdivisions f: Int, jitter: Double = 0, seed: UInt64 = 1) -> Mesh {
        precondition(f >= 1, "subdivisions must be at least 1")
        let t = (1.0 + 5.0.squareRoot()) / 2
        let base: [SIMD3<Double>] = [
            [-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
            [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1],
        ]
        let faces: [(Int, Int, Int)] = [
            (0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
            (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
            (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1),
        ]
        // A point is identified by its integer barycentric weights over icosahedron vertices.
        struct Key: Hashable { var a: Int32, wa: Int32, b: Int32, wb: Int32, c: Int32, wc: Int32 }
        var index = [Key: Int32]()
        var positions = [Double]()
        var triangles = [Int32]()
        func vertex(_ ws: [(Int, Int)]) -> Int32 {
            let s = ws.filter { $0.1 != 0 }.sorted { $0.0 < $1.0 }
            var k = Key(a: -1, wa: 0, b: -1, wb: 0, c: -1, wc: 0)
            if s.count > 0 { k.a = Int32(s[0].0); k.wa = Int32(s[0].1) }
            if s.count > 1 { k.b = Int32(s[1].0); k.wb = Int32(s[1].1) }
            if s.count > 2 { k.c = Int32(s[2].0); k.wc = Int32(s[2].1) }
            if let i = index[k] { return i }
            var p = SIMD3<Double>(0, 0, 0)
            for (v, w) in s { p += Double(w) * base[v] }
            p /= (p * p).sum().squareRoot()
            let i = Int32(positions.count / 3)
            positions += [p.x, p.y, p.z]
            index[k] = i
            return i
        }
        for (a, b, c) in faces {
            // Grid point (i, j): weights (f - i - j, i, j) over (a, b, c).
            func g(_ i: Int, _ j: Int) -> Int32 { vertex([(a, f - i - j), (b, i), (c, j)]) }
            for i in 0..<f {
                for j in 0..<(f - i) {
                    triangles += [g(i, j), g(i + 1, j), g(i, j + 1)]
                    if i + j + 1 < f { triangles += [g(i + 1, j), g(i + 1, j + 1), g(i, j + 1)] }
                }
            }
        }
        var mesh = Mesh(positions: positions, triangles: triangles)
        if jitter > 0 { mesh.jitterOnSphere(jitter, seed: seed) }
        return mesh
    }

    /// Mean edge length over the triangles' edges (each interior edge counted twice).
    public func meanEdgeLength() -> Double {
        var s = 0.0
        for f in 0..<triangleCount {
            let (a, b, c) = triangle(f)
            for (u, v) in [(a, b), (b, c), (c, a)] {
                let d = position(u) - position(v)
                s += (d * d).sum().squareRoot()
            }
        }
        return s / Double(3 * max(1, triangleCount))
    }

    mutating func jitterOnSphere(_ amount: Double, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let h = meanEdgeLength()
        for i in 0..<vertexCount {
            let p = position(i)
            // Orthonormal tangent frame at p.
            let helper: SIMD3<Double> = abs(p.x) < 0.9 ? [1, 0, 0] : [0, 1, 0]
            var u = SIMD3(p.y * helper.z - p.z * helper.y, p.z * helper.x - p.x * helper.z, p.x * helper.y - p.y * helper.x)
            u /= (u * u).sum().squareRoot()
            let v = SIMD3(p.y * u.z - p.z * u.y, p.z * u.x - p.x * u.z, p.x * u.y - p.y * u.x)
            let angle = Double.random(in: 0..<(2 * Double.pi), using: &rng)
            let r = Double.random(in: 0...1, using: &rng) * amount * h
            var q = p + r * (cos(angle) * u + sin(angle) * v)
            q /= (q * q).sum().squareRoot()
            positions[3 * i] = q.x; positions[3 * i + 1] = q.y; positions[3 * i + 2] = q.z
        }
    }

    /// A torus around the z axis (major radius `R`, minor radius `r`) with `segments × rings`
    /// vertices and texture coordinates u along the major circle, v along the minor one. The
    /// UV seams are per corner: no vertex is split.
    public static func torus(majorRadius R: Double = 1, minorRadius r: Double = 0.4,
                             segments: Int = 48, rings: Int = 24) -> Mesh {
        var positions = [Double]()
        for i in 0..<segments {
            let a = 2 * Double.pi * Double(i) / Double(segments)
            for j in 0..<rings {
                let b = 2 * Double.pi * Double(j) / Double(rings)
                positions += [(R + r * cos(b)) * cos(a), (R + r * cos(b)) * sin(a), r * sin(b)]
            }
        }
        return periodicGrid(positions: positions, segments: segments, rings: rings)
    }

    /// A tube of radius `tube` around the (p, q) torus knot (p turns around the z axis, q through
    /// the hole; the knot's own torus has radii 1 and 0.4), `segments` rings of `sides` vertices,
    /// with texture coordinates u along the knot and v around the tube (seams per corner). A
    /// thin, self-occluding shape: the (2, 3) knot is the trefoil.
    public static func torusKnot(p: Int = 2, q: Int = 3, tube: Double = 0.12, segments: Int = 256, sides: Int = 16) -> Mesh {
        func centre(_ t: Double) -> SIMD3<Double> {
            let r = 1 + 0.4 * cos(Double(q) * t)
            return SIMD3(r * cos(Double(p) * t), r * sin(Double(p) * t), 0.4 * sin(Double(q) * t))
        }
        var positions = [Double]()
        for i in 0..<segments {
            let t = 2 * Double.pi * Double(i) / Double(segments), dt = 1e-4
            let c = centre(t)
            var tangent = centre(t + dt) - centre(t - dt)
            tangent /= (tangent * tangent).sum().squareRoot()
            // A frame around the tangent: the normal from the second difference, then the binormal.
            var n = centre(t + dt) + centre(t - dt) - 2 * c
            n -= (n * tangent).sum() * tangent
            n /= max((n * n).sum().squareRoot(), 1e-300)
            let b = SIMD3(tangent.y * n.z - tangent.z * n.y, tangent.z * n.x - tangent.x * n.z, tangent.x * n.y - tangent.y * n.x)
            for j in 0..<sides {
                let a = 2 * Double.pi * Double(j) / Double(sides)
                let x = c + tube * (cos(a) * n + sin(a) * b)
                positions += [x.x, x.y, x.z]
            }
        }
        return periodicGrid(positions: positions, segments: segments, rings: sides)
    }

    /// The triangles of a grid that is periodic in both directions (vertex (i, j) at
    /// `positions[3 * (i * rings + j)]`), with texture coordinates u = i / segments, v = j / rings
    /// on a (segments + 1) × (rings + 1) grid, so the seams are per corner and no vertex is split.
    static func periodicGrid(positions: [Double], segments: Int, rings: Int) -> Mesh {
        var texcoords = [Double](), tris = [Int32](), ctex = [Int32]()
        for i in 0...segments { for j in 0...rings { texcoords += [Double(i) / Double(segments), Double(j) / Double(rings)] } }
        func v(_ i: Int, _ j: Int) -> Int32 { Int32((i % segments) * rings + (j % rings)) }
        func t(_ i: Int, _ j: Int) -> Int32 { Int32(i * (rings + 1) + j) }
        for i in 0..<segments {
            for j in 0..<rings {
                tris += [v(i, j), v(i + 1, j), v(i + 1, j + 1)]; ctex += [t(i, j), t(i + 1, j), t(i + 1, j + 1)]
                tris += [v(i, j), v(i + 1, j + 1), v(i, j + 1)]; ctex += [t(i, j), t(i + 1, j + 1), t(i, j + 1)]
            }
        }
        return Mesh(positions: positions, triangles: tris, texcoords: texcoords, cornerTexcoords: ctex)
    }

    /// The unit square [0,1]² in the z = 0 plane, split into `cells × cells` squares of two
    /// triangles each, with texture coordinates equal to (x, y).
    public static func grid(cells: Int) -> Mesh {
        var positions = [Double](), texcoords = [Double](), tris = [Int32]()
        for j in 0...cells { for i in 0...cells {
            let x = Double(i) / Double(cells), y = Double(j) / Double(cells)
            positions += [x, y, 0]; texcoords += [x, y]
        } }
        func v(_ i: Int, _ j: Int) -> Int32 { Int32(j * (cells + 1) + i) }
        for j in 0..<cells { for i in 0..<cells {
            tris += [v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j), v(i + 1, j + 1), v(i, j + 1)]
        } }
        return Mesh(positions: positions, triangles: tris, texcoords: texcoords, cornerTexcoords: tris)
    }
}
