import CTexfieldShim
import Dispatch
import Foundation
import Geometry

/// How a cloud point's normal is estimated: the least singular direction of its k neighbours'
/// offsets from a centre point.
public enum PointCloudNormals: String, CaseIterable, Codable, Sendable {
    /// From the centroid of the point and its k neighbours: translation-invariant (the default).
    case centroid
    /// robust_laplacian 1.1.0's rule, for comparisons digit for digit: the neighbours' sum
    /// divided by k + 1 without the point itself, a "centroid" pulled towards the coordinate
    /// origin by |p| / (k + 1). It makes that package depend on where the cloud sits: a unit
    /// sphere of 2,000 points has total mass 12.536 at the origin and 12.226 moved by 10 (4π =
    /// 12.566), and 20,000 points at the origin lose 7 % of their triangles (mass 11.73).
    case robustLaplacian110 = "robust-laplacian-1.1"
}

/// The point-cloud Laplacian of Sharp & Crane ("A Laplacian for Nonmanifold Triangle Meshes",
/// SGP 2020, section 5), as robust_laplacian 1.1.0's `point_cloud_laplacian` builds it: each
/// point's k nearest neighbours are projected onto its tangent plane (the normal: the least
/// singular direction of the neighbours' offsets, by Eigen's JacobiSVD as there, because its sign
/// orients the local triangles and the tufted cover of repeated triangles depends on their
/// orientation); the triangles around the point come from that package's angular walk (sort the
/// neighbours by angle, start at the nearest one, or after a gap of π, and from each leg take the
/// first later neighbour whose circumcircle is empty up to 1e-4 of the neighbourhood's radius);
/// the union of all points' triangles (each appears about three times) gets the robust Laplacian
/// (mollification, tufted cover, intrinsic Delaunay flips), and L and M are divided by 3.
///
/// With `normals: .robustLaplacian110` the matrices equal that package's to rounding (tested
/// against its output); the default `.centroid` differs only in the normal's centre point (see
/// `PointCloudNormals`).
public enum PointCloudLaplacian {
    /// robust_laplacian's default neighbour count.
    public static let defaultNeighbors = 30

    /// The union of the local triangulations: 3 vertex indices per triangle, each around its
    /// point counter-clockwise in that point's tangent plane.
    public static func localTriangles(points: [Double], neighbors k: Int = defaultNeighbors,
                                      normals: PointCloudNormals = .centroid) throws -> [Int32] {
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
                var walk = Walk()
                for i in (c * n / chunks)..<((c + 1) * n / chunks) {
                    let centre = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
                    let neigh = tree.nearest(to: centre, k: min(k, n - 1), excluding: i)
                    guard project(points: points, centre: i, neighbours: neigh, normals: normals, into: &walk.coords) else { continue }
                    walk.triangles { a, b in tris += [Int32(i), Int32(neigh[a]), Int32(neigh[b])] }
                }
                out[c] = tris
            }
        }
        return parts.flatMap { $0 }
    }

    /// The operators of a cloud: L and M (barycentric, as robust_laplacian) of its local
    /// triangulations' union, divided by 3. A point in no triangle gets L_ii = 1 and a mass of
    /// 1e-3 times the smallest entry of M, as robust_laplacian does.
    public static func operators(points: [Double], neighbors k: Int = defaultNeighbors,
                                 mollifyFactor: Double = LaplacianKind.defaultMollifyFactor,
                                 mass: MassKind = .barycentric, normals: PointCloudNormals = .centroid) throws -> CotanOperators {
        let tris = try localTriangles(points: points, neighbors: k, normals: normals)
        guard !tris.isEmpty else { throw SpectralError.invalidInput("the point cloud gave no triangles (are all points on one line?)") }
        return try CotanOperators(mesh: Mesh(positions: points, triangles: tris), mass: mass, laplacian: .robust,
                                  mollifyFactor: mollifyFactor, scale: 1.0 / 3)
    }

    /// The neighbours of point `centre` in its tangent plane (the point at the origin), or false
    /// when the normal cannot be estimated.
    static func project(points: [Double], centre i: Int, neighbours neigh: [Int], normals: PointCloudNormals,
                        into coords: inout [SIMD2<Double>]) -> Bool {
        let m = neigh.count
        guard m >= 2 else { return false }
        func point(_ j: Int) -> SIMD3<Double> { SIMD3(points[3 * j], points[3 * j + 1], points[3 * j + 2]) }
        let p = point(i)
        var centroid = normals == .centroid ? p : .zero
        for j in neigh { centroid += point(j) }
        centroid /= Double(m + 1)
        var flat = [Double]()
        flat.reserveCapacity(3 * m)
        for j in neigh { let o = point(j) - centroid; flat.append(o.x); flat.append(o.y); flat.append(o.z) }
        var nv = [Double](repeating: 0, count: 3)
        guard tf_neighbourhood_normal(flat, Int64(m), &nv) == TF_OK, nv.allSatisfy({ $0.isFinite }) else { return false }
        let normal = SIMD3(nv[0], nv[1], nv[2])
        let (bx, by) = tangentBasis(normal)
        coords.removeAll(keepingCapacity: true)
        for j in neigh {
            var v = point(j) - p
            v -= normal * (normal * v).sum()
            coords.append(SIMD2((bx * v).sum(), (by * v).sum()))
        }
        return true
    }

    /// robust_laplacian 1.1.0's local triangulation of a projected neighbourhood (the point at
    /// the origin, `coords` its neighbours by increasing distance): its thresholds, its start and
    /// its walk, so that the same neighbourhoods give the same triangles.
    struct Walk {
        var coords = [SIMD2<Double>]()
        private var order = [Int]()
        private var angles = [Double]()

        static let perturb = 1e-7, collinear = 1e-5, outside = 1e-4

        /// Reports each triangle (the point, a, b) as the neighbour positions (a, b).
        mutating func triangles(_ emit: (Int, Int) -> Void) {
            let m = coords.count
            func norm(_ v: SIMD2<Double>) -> Double { (v * v).sum().squareRoot() }
            func cross(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double { a.x * b.y - a.y * b.x }
            func rot90(_ v: SIMD2<Double>) -> SIMD2<Double> { SIMD2(-v.y, v.x) }
            guard m >= 2 else { return }
            let scale = norm(coords[m - 1])
            guard scale.isFinite, scale > 0 else { return }
            for j in 0..<m where norm(coords[j]) < scale * Self.perturb {
                var dir = coords[j] / norm(coords[j])
                if !(dir.x.isFinite && dir.y.isFinite) {
                    let theta = 2 * Double.pi * Double(j) / Double(m)
                    dir = SIMD2(cos(theta), sin(theta))
                }
                coords[j] = (1 + Double(j) / Double(m)) * scale * Self.perturb * 10 * dir
            }
            var closest = 0, closestDist = Double.infinity
            for j in 0..<m where norm(coords[j]) < closestDist { closest = j; closestDist = norm(coords[j]) }
            angles.removeAll(keepingCapacity: true)
            for c in coords { angles.append(atan2(c.y, c.x)) }
            order.removeAll(keepingCapacity: true)
            order.append(contentsOf: 0..<m)
            order.sort { angles[$0] != angles[$1] ? angles[$0] < angles[$1] : $0 < $1 }
            // The largest angular gap (as the package measures it: the wrap-around gap comes out
            // negative, so a gap across ±π is never taken for a boundary).
            var largest = -1.0, largestEnd = 0
            for a in 0..<m {
                let b = (a + 1) % m
                let gap = a + 1 == m ? angles[order[b]] - (angles[order[a]] + 2 * Double.pi) : angles[order[b]] - angles[order[a]]
                if gap > largest { largest = gap; largestEnd = b }
            }
            let boundary = largest > Double.pi - Self.collinear
            let first = boundary ? largestEnd : order.firstIndex(of: closest)!
            order = Array(order[first...] + order[..<first])
            let searchEnd = m + (boundary ? 0 : 1)
            var start = 0
            while start < m {
                let s = order[start], sp = coords[s]
                var found = false
                for end in (start + 1)..<max(start + 1, searchEnd) {
                    let e = order[end % m], ep = coords[e]
                    let sd = sp / norm(sp), ed = ep / norm(ep)
                    if abs(cross(sd, ed)) < Self.collinear { continue }
                    // The circumcentre: where the perpendicular bisectors of the two legs meet.
                    let r1 = rot90(sd), r2 = -rot90(ed)
                    let v1 = 0.5 * sp - 0.5 * ep, v3 = SIMD2(-r1.y, r1.x)
                    let t = cross(r2, v1) / (r2 * v3).sum()
                    let centre = 0.5 * sp + t * r1
                    let radius = norm(centre)
                    var nearest = Double.infinity
                    var inside = radius - scale * Self.outside
                    inside *= inside
                    for q in 0..<m where q != s && q != e {
                        let d = centre - coords[q]
                        nearest = Swift.min(nearest, (d * d).sum())
                        if nearest < inside { break }
                    }
                    if nearest.squareRoot() + scale * Self.outside > radius {
                        emit(s, e)
                        start = end
                        found = true
                        break
                    }
                }
                if !found { start += 1 }
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
