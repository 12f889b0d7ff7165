import CTexfieldShim
import Dispatch
import Geometry

/// The point-cloud Laplacian of Sharp & Crane ("A Laplacian for Nonmanifold Triangle Meshes",
/// SGP 2020, section 5), as robust_laplacian's `point_cloud_laplacian`: each point's k nearest
/// neighbours are projected onto its tangent plane (the normal: the least singular direction of
/// the neighbours' offsets, by Eigen's JacobiSVD as there, because its sign orients the local
/// triangles and the tufted cover of repeated triangles depends on their orientation), the Delaunay triangles around the point in that plane are kept, the
/// union of all points' triangles (each appears about three times) gets the robust Laplacian
/// (mollification, tufted cover, intrinsic Delaunay flips), and L and M are divided by 3.
///
/// Clouds in general position give robust_laplacian's matrices to rounding (tested); where four
/// or more projected neighbours lie on one circle (points on a regular grid) the local
/// triangulation is one of the Delaunay ones, chosen by index, which another implementation may
/// choose otherwise.
public enum PointCloudLaplacian {
    /// robust_laplacian's default neighbour count.
    public static let defaultNeighbors = 30

    /// The union of the local triangulations: 3 vertex indices per triangle, each around its
    /// point counter-clockwise in that point's tangent plane.
    public static func localTriangles(points: [Double], neighbors k: Int = defaultNeighbors) throws -> [Int32] {
        let n = points.count / 3
        guard points.count % 3 == 0, n >= 3 else { throw SpectralError.invalidInput("a point cloud needs at least 3 points, got \(n)") }
        guard (2...1024).contains(k) else { throw SpectralError.invalidInput("neighbours = \(k) is outside 2...1024") }
        for (i, x) in points.enumerated() where !x.isFinite {
            throw SpectralError.invalidInput("point index \(i / 3) (0-based) has a non-finite coordinate")
        }
        let tree = KDTree(points: points)
        let chunks = max(1, min(n / 512, 64))
        var parts = [[Int32]](repeating: [], count: chunks)
        parts.withUnsafeMutableBufferPointer { buf in
            nonisolated(unsafe) let out = buf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var tris = [Int32]()
                var coords = [SIMD2<Double>]()
                for i in (c * n / chunks)..<((c + 1) * n / chunks) {
                    let centre = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
                    let neigh = [i] + tree.nearest(to: centre, k: min(k, n - 1), excluding: i)
                    star(points: points, neighbours: neigh, coords: &coords) { a, b in
                        tris += [Int32(i), Int32(neigh[a]), Int32(neigh[b])]
                    }
                }
                out[c] = tris
            }
        }
        return parts.flatMap { $0 }
    }

    /// The operators of a cloud: L and M (barycentric, as robust_laplacian) of its local
    /// triangulations' union, divided by 3.
    public static func operators(points: [Double], neighbors k: Int = defaultNeighbors,
                                 mollifyFactor: Double = LaplacianKind.defaultMollifyFactor,
                                 mass: MassKind = .barycentric) throws -> CotanOperators {
        let tris = try localTriangles(points: points, neighbors: k)
        guard !tris.isEmpty else { throw SpectralError.invalidInput("the point cloud gave no triangles (are all points on one line?)") }
        return try CotanOperators(mesh: Mesh(positions: points, triangles: tris), mass: mass, laplacian: .robust,
                                  mollifyFactor: mollifyFactor, scale: 1.0 / 3)
    }

    /// The Delaunay triangles around neighbour 0 (the centre) of the projected neighbourhood,
    /// reported as pairs of neighbour positions (a, b), counter-clockwise.
    static func star(points: [Double], neighbours neigh: [Int], coords: inout [SIMD2<Double>], emit: (Int, Int) -> Void) {
        let m = neigh.count
        guard m >= 3 else { return }
        let c = SIMD3(points[3 * neigh[0]], points[3 * neigh[0] + 1], points[3 * neigh[0] + 2])
        var offsets = [SIMD3<Double>]()
        offsets.reserveCapacity(m)
        for j in neigh { offsets.append(SIMD3(points[3 * j], points[3 * j + 1], points[3 * j + 2]) - c) }
        var nv = [Double](repeating: 0, count: 3)
        let flat = offsets.dropFirst().flatMap { [$0.x, $0.y, $0.z] }
        guard tf_neighbourhood_normal(flat, Int64(m - 1), &nv) == TF_OK, nv.allSatisfy({ $0.isFinite }) else { return }
        let normal = SIMD3(nv[0], nv[1], nv[2])
        let (bx, by) = tangentBasis(normal)
        coords.removeAll(keepingCapacity: true)
        for o in offsets {
            let v = o - (o * normal).sum() * normal
            coords.append(SIMD2((bx * v).sum(), (by * v).sum()))
        }
        let scale = (coords[m - 1] * coords[m - 1]).sum().squareRoot()
        guard scale > 0 else { return }
        for j in 1..<m where (coords[j] * coords[j]).sum().squareRoot() < 1e-6 * scale { coords[j].x += 1e-6 * scale }

        func cross(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double { a.x * b.y - a.y * b.x }
        // The centre of the circle through 0, q and p lies at q/2 + t·perp(q); Delaunay's
        // neighbour of edge (0, q) on its left is the point with the least t, on its right the
        // greatest (ties: the lower position).
        func side(_ q: Int, left: Bool) -> Int? {
            var best: Int? = nil, bestT = 0.0
            let qv = coords[q]
            for j in 1..<m where j != q {
                let p = coords[j], cr = cross(qv, p)
                guard left ? cr > 0 : cr < 0 else { continue }
                let t = ((p * p).sum() - (qv * p).sum()) / (2 * cr)
                if best == nil || (left ? t < bestT : t > bestT) { best = j; bestT = t }
            }
            return best
        }
        var first = 1
        for j in 2..<m where (coords[j] * coords[j]).sum() < (coords[first] * coords[first]).sum() { first = j }
        var cur = first, closed = false
        for _ in 0..<m {
            guard let b = side(cur, left: true) else { break }
            emit(cur, b)
            if b == first { closed = true; break }
            cur = b
        }
        if !closed {
            cur = first
            for _ in 0..<m {
                guard let a = side(cur, left: false) else { break }
                emit(a, cur)
                cur = a
            }
        }
    }

    /// geometry-central's Vector3::buildTangentBasis.
    static func tangentBasis(_ n: SIMD3<Double>) -> (SIMD3<Double>, SIMD3<Double>) {
        func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
            SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
        }
        func unit(_ a: SIMD3<Double>) -> SIMD3<Double> { a / (a * a).sum().squareRoot() }
        var test = SIMD3<Double>(1, 0, 0)
        if abs((test * n).sum()) > 0.9 { test = SIMD3(0, 1, 0) }
        let x = unit(cross(test, n))
        return (x, unit(cross(n, x)))
    }
}
