import Foundation
import Neural
import Geometry
import Spectral

/// Pointwise maps between two discretizations of one surface from their eigenbases alone:
/// ZoomOut (Melzi, Ren, Rodolà, Sharma, Wonka, Ovsjanikov, "ZoomOut: Spectral Upsampling for
/// Efficient Shape Correspondence", SIGGRAPH Asia 2019) with no correspondence given: the start
/// is a search over the signs of the first eigenfunctions (each sign pattern refined by a short
/// ZoomOut and scored by its spectral nearest-neighbour distance), restricted to maps that keep
/// the surface's orientation — an intrinsic method cannot tell a mirror-symmetric shape (spot) from
/// its mirror image, and the mirror map scores within 0.2 % of the right one there.
///
/// Convention: the map goes from the target to the source — `map[i]` is the source vertex of
/// target vertex i — and the functional map C (k × k) carries coefficients on the source basis to
/// coefficients on the target basis, Φ_T C ≈ Φ_S[map].
public enum ZoomOut {
    /// What a run did.
    public struct Result: Sendable {
        /// For each target vertex, its source vertex.
        public var map: [Int32]
        /// The last functional map (size × size, row-major).
        public var c: [Double]
        public var size: Int
        /// Basis sizes visited.
        public var steps: [Int]
    }

    /// ZoomOut from the best sign pattern: for each of the 2^signs patterns of eigenfunctions
    /// 1…signs, the map matching Φ_T diag(±) to Φ_S in those columns, refined by ZoomOut up to
    /// `searchSize`; the pattern with the least mean spectral distance among those whose map keeps
    /// the orientation (more than half of the target's triangles land on the source with the
    /// source's normal; both meshes consistently oriented) wins, and is refined from there up to
    /// `end`. k grows by 10 % (at least 1) per step; at each k, C = Φ_T,kᵀ M_T Φ_S,k[map], then map =
    /// nearest rows of Φ_T,k C among the rows of Φ_S,k. Column 0 (the constant) is part of the bases.
    public static func map(source: Eigenbasis, target: Eigenbasis, sourceMesh: Mesh, targetMesh: Mesh,
                           end: Int? = nil, signs: Int = 5, searchSize: Int = 40) throws -> Result {
        let kMax = min(source.count, target.count)
        let top = min(end ?? kMax, kMax)
        guard top >= 2 else { throw FieldError.invalid("ZoomOut needs at least 2 eigenfunctions on both meshes, got \(kMax)") }
        let s = max(1, min(signs, top - 1, 12)), start = s + 1
        var best: (energy: Double, map: [Int32])? = nil, fallback: (energy: Double, map: [Int32])? = nil
        let phiS = columns(source, start), phiT = columns(target, start)
        for pattern in 0..<(1 << s) {
            var flipped = phiT
            for i in 0..<(phiT.count / start) { for j in 1...s where pattern & (1 << (j - 1)) != 0 { flipped[i * start + j] = -flipped[i * start + j] } }
            let initial = nearestRows(flipped, phiS, dimension: start)
            let r = refine(source: source, target: target, map: initial, from: start, to: min(searchSize, top))
            if fallback == nil || r.energy < fallback!.energy { fallback = (r.energy, r.map) }
            if keepsOrientation(r.map, source: sourceMesh, target: targetMesh), best == nil || r.energy < best!.energy { best = (r.energy, r.map) }
        }
        let chosen = (best ?? fallback)!
        var r = refine(source: source, target: target, map: chosen.map, from: min(searchSize, top), to: top)
        r.steps = r.steps.isEmpty ? [top] : r.steps
        return Result(map: r.map, c: r.c, size: top, steps: r.steps)
    }

    /// ZoomOut from `map` with k from `from` to `to`: the final map, C and the mean distance of the
    /// last nearest-neighbour step.
    static func refine(source: Eigenbasis, target: Eigenbasis, map start: [Int32], from: Int, to: Int)
        -> (map: [Int32], c: [Double], energy: Double, steps: [Int]) {
        var map = start, k = min(from, to), steps = [Int](), c = [Double](), energy = 0.0
        while true {
            c = functionalMap(source: source, target: target, map: map, size: k)
            let moved = transported(target: target, c: c, size: k), phiS = columns(source, k)
            map = nearestRows(moved, phiS, dimension: k)
            var sum = 0.0
            for i in 0..<map.count {
                var d = 0.0
                for j in 0..<k { let x = Double(moved[i * k + j] - phiS[Int(map[i]) * k + j]); d += x * x }
                sum += d.squareRoot()
            }
            energy = sum / Double(max(map.count, 1))
            steps.append(k)
            if k >= to { break }
            k = min(to, k + max(1, k / 10))
        }
        return (map, c, energy, steps)
    }

    /// True when more than half of the target's non-degenerate mapped triangles (π(a), π(b), π(c))
    /// face the way the source's surface does at π(a) (its area-weighted vertex normal).
    static func keepsOrientation(_ map: [Int32], source: Mesh, target: Mesh) -> Bool {
        var normals = [SIMD3<Double>](repeating: .zero, count: source.vertexCount)
        func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
            SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
        }
        for f in 0..<source.triangleCount {
            let v = (0..<3).map { Int(source.triangles[3 * f + $0]) }
            let n = cross(source.position(v[1]) - source.position(v[0]), source.position(v[2]) - source.position(v[0]))
            for x in v { normals[x] += n }
        }
        var agree = 0, disagree = 0
        for f in 0..<target.triangleCount {
            let v = (0..<3).map { Int(map[Int(target.triangles[3 * f + $0])]) }
            if v[0] == v[1] || v[1] == v[2] || v[0] == v[2] { continue }
            let n = cross(source.position(v[1]) - source.position(v[0]), source.position(v[2]) - source.position(v[0]))
            let d = (n * normals[v[0]]).sum()
            if d > 0 { agree += 1 } else if d < 0 { disagree += 1 }
        }
        return agree > disagree
    }

    /// The map made precise: each target vertex goes to the point of a source triangle around its
    /// matched vertex (barycentric weights on the simplex) whose interpolated eigenfunctions are
    /// nearest to the vertex's transported ones, Φ_T[i] C (least squares in k dimensions;
    /// "deblurring" of a vertex-to-vertex map, after Ezuz & Ben-Chen 2017). A vertex-to-vertex map
    /// is off by up to half an edge even when it is right.
    public static func pointMap(_ map: [Int32], size: Int, source: Eigenbasis, target: Eigenbasis, sourceMesh: Mesh)
        -> (faces: [Int32], weights: [Float]) {
        let k = min(size, source.count, target.count), nT = map.count
        let c = functionalMap(source: source, target: target, map: map, size: k)
        let moved = transported(target: target, c: c, size: k), phiS = columns(source, k)
        var around = [[Int]](repeating: [], count: sourceMesh.vertexCount)
        for f in 0..<sourceMesh.triangleCount { for c in 0..<3 { around[Int(sourceMesh.triangles[3 * f + c])].append(f) } }
        var faces = [Int32](repeating: -1, count: nT), weights = [Float](repeating: 0, count: 3 * nT)
        func dist2(_ q: Int, _ w: SIMD3<Double>, _ v: (Int, Int, Int)) -> Double {
            var s = 0.0
            for j in 0..<k {
                let x = Double(moved[q * k + j]) - (w.x * Double(phiS[v.0 * k + j]) + w.y * Double(phiS[v.1 * k + j]) + w.z * Double(phiS[v.2 * k + j]))
                s += x * x
            }
            return s
        }
        for i in 0..<nT {
            let s = Int(map[i])
            var best = Double.infinity
            for f in around[s] {
                let v = (Int(sourceMesh.triangles[3 * f]), Int(sourceMesh.triangles[3 * f + 1]), Int(sourceMesh.triangles[3 * f + 2]))
                // min ‖q − a − u (b − a) − t (c − a)‖² over u, t; then the simplex's edges if outside.
                var g = SIMD3<Double>(0, 0, 0), h = SIMD3<Double>(0, 0, 0)  // [eb·eb, eb·ec, ec·ec], [eb·d, ec·d, 0]
                for j in 0..<k {
                    let a = Double(phiS[v.0 * k + j]), eb = Double(phiS[v.1 * k + j]) - a, ec = Double(phiS[v.2 * k + j]) - a
                    let d = Double(moved[i * k + j]) - a
                    g += SIMD3(eb * eb, eb * ec, ec * ec); h += SIMD3(eb * d, ec * d, 0)
                }
                var candidates = [SIMD3<Double>(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)]
                let det = g.x * g.z - g.y * g.y
                if abs(det) > 1e-300 {
                    let u = (h.x * g.z - h.y * g.y) / det, t = (g.x * h.y - g.y * h.x) / det
                    if u >= 0, t >= 0, u + t <= 1 { candidates.append(SIMD3(1 - u - t, u, t)) }
                }
                // Edges a–b (t = 0), a–c (u = 0), b–c (u + t = 1).
                if g.x > 0 { let u = min(max(h.x / g.x, 0), 1); candidates.append(SIMD3(1 - u, u, 0)) }
                if g.z > 0 { let t = min(max(h.y / g.z, 0), 1); candidates.append(SIMD3(1 - t, 0, t)) }
                let den = g.x - 2 * g.y + g.z
                if den > 0 { let t = min(max((h.y - h.x + g.x - g.y) / den, 0), 1); candidates.append(SIMD3(0, 1 - t, t)) }
                for w in candidates {
                    let e = dist2(i, w, v)
                    if e < best {
                        best = e
                        faces[i] = Int32(f)
                        weights[3 * i] = Float(w.x); weights[3 * i + 1] = Float(w.y); weights[3 * i + 2] = Float(w.z)
                    }
                }
            }
        }
        return (faces, weights)
    }

    /// C = Φ_T,kᵀ M_T Φ_S,k[map] (k × k).
    static func functionalMap(source: Eigenbasis, target: Eigenbasis, map: [Int32], size k: Int) -> [Double] {
        let nT = target.vectors.count / target.count, kt = target.count, ks = source.count
        var c = [Double](repeating: 0, count: k * k)
        var mt = [Double](repeating: 0, count: nT * k), sp = [Double](repeating: 0, count: nT * k)
        for i in 0..<nT {
            let s = Int(map[i])
            for j in 0..<k {
                mt[i * k + j] = target.mass[i] * target.vectors[i * kt + j]
                sp[i * k + j] = source.vectors[s * ks + j]
            }
        }
        mt.withUnsafeBufferPointer { a in
            sp.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { cp in
                    Double.gemm(transA: true, transB: false, m: k, n: k, k: nT, alpha: 1, a: a.baseAddress!, lda: k,
                                b: b.baseAddress!, ldb: k, beta: 0, c: cp.baseAddress!, ldc: k)
                }
            }
        }
        return c
    }

    /// Φ_T,k C as Float rows (n_T × k).
    static func transported(target: Eigenbasis, c: [Double], size k: Int) -> [Float] {
        let nT = target.vectors.count / target.count
        var phi = columns(target, k).map { Double($0) }
        var out = [Double](repeating: 0, count: nT * k)
        phi.withUnsafeMutableBufferPointer { a in
            c.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    Double.gemm(transA: false, transB: false, m: nT, n: k, k: k, alpha: 1, a: a.baseAddress!, lda: k,
                                b: b.baseAddress!, ldb: k, beta: 0, c: o.baseAddress!, ldc: k)
                }
            }
        }
        return out.map { Float($0) }
    }

    /// The first k columns of a basis as Float rows.
    static func columns(_ b: Eigenbasis, _ k: Int) -> [Float] {
        let n = b.vectors.count / b.count
        var out = [Float](repeating: 0, count: n * k)
        for i in 0..<n { for j in 0..<k { out[i * k + j] = Float(b.vectors[i * b.count + j]) } }
        return out
    }

    /// For each row of `a` (n_a × d), the index of the nearest row of `b` (n_b × d), Euclidean;
    /// through one matrix product per block of 512 rows of `a`, both cores.
    public static func nearestRows(_ a: [Float], _ b: [Float], dimension d: Int) -> [Int32] {
        let na = a.count / d, nb = b.count / d
        var normB = [Float](repeating: 0, count: nb)
        for j in 0..<nb { var s: Float = 0; for c in 0..<d { s += b[j * d + c] * b[j * d + c] }; normB[j] = s }
        var result = [Int32](repeating: 0, count: na)
        let block = 512
        let blocks = (na + block - 1) / block
        result.withUnsafeMutableBufferPointer { rp in
            nonisolated(unsafe) let out = rp.baseAddress!
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    nonisolated(unsafe) let pa = ap.baseAddress!, pb = bp.baseAddress!
                    for blk in 0..<blocks {
                        let r0 = blk * block, rows = min(block, na - r0)
                        var dots = [Float](repeating: 0, count: rows * nb)
                        dots.withUnsafeMutableBufferPointer { dp in
                            Float.gemm(transA: false, transB: true, m: rows, n: nb, k: d, alpha: 1, a: pa + r0 * d, lda: d,
                                       b: pb, ldb: d, beta: 0, c: dp.baseAddress!, ldc: nb)
                        }
                        for r in 0..<rows {
                            var best = Float.infinity, arg = 0
                            for j in 0..<nb {
                                let dist = normB[j] - 2 * dots[r * nb + j]
                                if dist < best { best = dist; arg = j }
                            }
                            out[r0 + r] = Int32(arg)
                        }
                    }
                }
            }
        }
        return result
    }
}
