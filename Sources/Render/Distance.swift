import Geometry

/// Distances between two surfaces, measured by sampling.
public enum SurfaceDistance {
    /// One-sided distances from `samples` points spread by area on `a` (seeded) to the surface
    /// of `b`: the largest and the mean.
    public static func oneSided(from a: Mesh, to b: Mesh, samples: Int = 100_000, seed: UInt64 = 0) throws -> (max: Double, mean: Double) {
        let s = try a.sample(count: samples, seed: seed)
        let pts = s.points + Array(a.positions)  // the vertices too: a sample can miss a spike
        let d = try BVH(b).closestPoints(pts).distances
        let mx = d.reduce(0) { max($0, Double($1)) }
        return (mx, d.reduce(0) { $0 + Double($1) } / Double(max(1, d.count)))
    }

    /// The symmetric Hausdorff distance (the larger one-sided maximum) and the mean of the two
    /// one-sided means.
    public static func hausdorff(_ a: Mesh, _ b: Mesh, samples: Int = 100_000, seed: UInt64 = 0) throws -> (max: Double, mean: Double) {
        let ab = try oneSided(from: a, to: b, samples: samples, seed: seed)
        let ba = try oneSided(from: b, to: a, samples: samples, seed: seed &+ 1)
        return (max(ab.max, ba.max), 0.5 * (ab.mean + ba.mean))
    }
}

/// Closest points on a fixed surface, e.g. to project a remeshed surface back onto its input
/// (`Mesh.remeshed(edgeLength:project:)`).
public struct SurfaceProjection: Sendable {
    let bvh: BVH
    let mesh: Mesh

    public init(_ mesh: Mesh) throws { self.mesh = mesh; bvh = try BVH(mesh) }

    /// Each point moved to its closest point on the surface (both cores).
    public func project(_ points: [SIMD3<Double>]) -> [SIMD3<Double>] {
        let (faces, weights, _) = bvh.closestPoints(points.flatMap { [$0.x, $0.y, $0.z] })
        return points.indices.map { i in
            let f = Int(faces[i])
            guard f >= 0 else { return points[i] }
            var p = SIMD3<Double>(0, 0, 0)
            for k in 0..<3 { p += Double(weights[3 * i + k]) * mesh.position(Int(mesh.triangles[3 * f + k])) }
            return p
        }
    }
}
