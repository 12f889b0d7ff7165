import CTexfieldShim
import Foundation
import Geometry

/// As-Rigid-As-Possible surface deformation (Sorkine & Alexa, "As-Rigid-As-Possible Surface
/// Modeling", SGP 2007): handle vertices are moved to given positions and the rest of the mesh
/// follows as rigidly as it can (cotangent weights; per-vertex best rotations and one
/// factorisation of the cotangent Laplacian of the free vertices, reused by every step).
/// Connectivity, texture coordinates and normals' indices are kept: vertex i of the result is
/// vertex i of the input, so the deformation carries its own correspondence.
public enum ARAP {
    /// The deformed mesh and the ARAP energy after each iteration (non-increasing).
    public static func deform(_ mesh: Mesh, handles: [Int], targets: [SIMD3<Double>], iterations: Int = 30) throws
        -> (mesh: Mesh, energy: [Double]) {
        guard handles.count == targets.count else {
            throw SpectralError.invalidInput("\(handles.count) handle vertices but \(targets.count) targets")
        }
        guard (1...100_000).contains(iterations) else { throw SpectralError.invalidInput("iterations = \(iterations) is outside 1...100000") }
        for h in handles where !(0..<mesh.vertexCount).contains(h) {
            throw SpectralError.invalidInput("handle vertex index \(h) is outside 0..<\(mesh.vertexCount)")
        }
        var out = [Double](repeating: 0, count: mesh.positions.count)
        var energy = [Double](repeating: 0, count: iterations)
        let idx = handles.map { Int32($0) }
        let flat = targets.flatMap { [$0.x, $0.y, $0.z] }
        try shimCall { err, len in
            tf_arap_deform(mesh.positions, Int64(mesh.vertexCount), mesh.triangles, Int64(mesh.triangleCount),
                           idx, flat, Int64(idx.count), Int32(iterations), &out, &energy, err, len)
        }
        var m = mesh
        m.positions = out
        return (m, energy)
    }
}

/// Built-in poses for `texfield mesh deform`, defined on the input's bounding box: a is its
/// longest axis, b the middle one; the "base" handle is every vertex in the lowest 15 % of the
/// extent along a, the "tip" handle every vertex in the highest 15 %. The base stays; the tip
/// moves rigidly:
/// - `bend`: rotated by `angle` (default 60°) about the axis parallel to b through the box's
///   centre, so that the middle bends (a flat strip bends like paper);
/// - `twist`: rotated by `angle` (default 90°) about the a axis through the box's centre.
public enum DeformationPose: String, CaseIterable, Sendable {
    case bend, twist

    public var defaultAngle: Double { self == .bend ? 60 : 90 }

    /// The handle vertices and their targets on `mesh`.
    public func handles(on mesh: Mesh, angle degrees: Double? = nil) -> (handles: [Int], targets: [SIMD3<Double>]) {
        let (lo, hi) = mesh.boundingBox
        let ext = hi - lo, centre = (lo + hi) / 2
        let axes = [0, 1, 2].sorted { ext[$0] > ext[$1] }
        let a = axes[0], b = axes[1]
        var unitA = SIMD3<Double>(0, 0, 0), unitB = SIMD3<Double>(0, 0, 0)
        unitA[a] = 1
        unitB[b] = 1
        let theta = (degrees ?? defaultAngle) * Double.pi / 180
        let axis = self == .bend ? unitB : unitA
        var handles = [Int](), targets = [SIMD3<Double>]()
        for i in 0..<mesh.vertexCount {
            let p = mesh.position(i)
            let t = ext[a] > 0 ? (p[a] - lo[a]) / ext[a] : 0
            if t <= 0.15 {
                handles.append(i); targets.append(p)
            } else if t >= 0.85 {
                handles.append(i); targets.append(centre + Self.rotate(p - centre, about: axis, by: theta))
            }
        }
        return (handles, targets)
    }

    /// Rodrigues' rotation of v about the unit axis k.
    static func rotate(_ v: SIMD3<Double>, about k: SIMD3<Double>, by theta: Double) -> SIMD3<Double> {
        let kxv = SIMD3(k.y * v.z - k.z * v.y, k.z * v.x - k.x * v.z, k.x * v.y - k.y * v.x)
        return v * cos(theta) + kxv * sin(theta) + k * (k * v).sum() * (1 - cos(theta))
    }
}

extension Mesh {
    /// The metric distortion of `self` against `reference` (same vertices and triangles): the
    /// relative change of each edge's length, |l' − l| / l, as its mean and its largest value, and
    /// the relative change of the total area.
    public func edgeLengthDistortion(from reference: Mesh) throws -> (mean: Double, max: Double, area: Double) {
        guard reference.vertexCount == vertexCount, reference.triangles == triangles else {
            throw SpectralError.invalidInput("the two meshes do not have the same vertices and triangles")
        }
        var sum = 0.0, worst = 0.0, count = 0, a0 = 0.0, a1 = 0.0
        for f in 0..<triangleCount {
            let v = (0..<3).map { Int(triangles[3 * f + $0]) }
            func area(_ m: Mesh) -> Double {
                let u = m.position(v[1]) - m.position(v[0]), w = m.position(v[2]) - m.position(v[0])
                let c = SIMD3(u.y * w.z - u.z * w.y, u.z * w.x - u.x * w.z, u.x * w.y - u.y * w.x)
                return (c * c).sum().squareRoot() / 2
            }
            a0 += area(reference); a1 += area(self)
            for s in 0..<3 where v[s] < v[(s + 1) % 3] {
                let d0 = reference.position(v[s]) - reference.position(v[(s + 1) % 3])
                let d1 = position(v[s]) - position(v[(s + 1) % 3])
                let l0 = (d0 * d0).sum().squareRoot(), l1 = (d1 * d1).sum().squareRoot()
                guard l0 > 0 else { continue }
                let r = abs(l1 - l0) / l0
                sum += r; worst = Swift.max(worst, r); count += 1
            }
        }
        return (count > 0 ? sum / Double(count) : 0, worst, a0 > 0 ? abs(a1 - a0) / a0 : 0)
    }
}
