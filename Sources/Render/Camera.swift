import Support
import Foundation
import Geometry

/// A pinhole camera in OpenCV's convention: the camera looks along its +z axis, x to the right,
/// y down; intrinsics K = [fx 0 cx; 0 fy cy; 0 0 1] in pixels, with pixel (column c, row r)
/// covering [c, c+1) × [r, r+1), so its centre is at (c + 0.5, r + 0.5). The pose maps camera
/// coordinates to world coordinates: X_world = R · X_camera + t (t is the camera's centre).
public struct Camera: Sendable, Codable, Equatable {
    public var width: Int
    public var height: Int
    public var fx: Double, fy: Double, cx: Double, cy: Double
    /// Camera-to-world rotation, row-major 3×3 (its columns are the camera's x, y, z axes in world).
    public var rotation: [Double]
    /// The camera's centre in world coordinates.
    public var center: [Double]

    public init(width: Int, height: Int, fx: Double, fy: Double, cx: Double, cy: Double,
                rotation: [Double], center: [Double]) {
        self.width = width; self.height = height
        self.fx = fx; self.fy = fy; self.cx = cx; self.cy = cy
        self.rotation = rotation; self.center = center
    }

    /// A camera at `eye` looking at `target`, with the image's up direction as close to `up` as
    /// possible, and a vertical field of view `fovY` (radians).
    public init(width: Int, height: Int, fovY: Double, eye: SIMD3<Double>, target: SIMD3<Double>,
                up: SIMD3<Double> = SIMD3(0, 1, 0)) {
        let f = (0.5 * Double(height)) / tan(0.5 * fovY)
        var z = target - eye
        z /= (z * z).sum().squareRoot()
        var upv = up
        if abs((upv * z).sum()) > 0.999 { upv = abs(z.x) < 0.9 ? SIMD3(1, 0, 0) : SIMD3(0, 0, 1) }
        // OpenCV: x right, y down (−up made orthogonal to z), x = y × z.
        var x = cross(z, upv)
        x /= (x * x).sum().squareRoot()
        let y = cross(z, x)
        self.init(width: width, height: height, fx: f, fy: f, cx: 0.5 * Double(width), cy: 0.5 * Double(height),
                  rotation: [x.x, y.x, z.x, x.y, y.y, z.y, x.z, y.z, z.z], center: [eye.x, eye.y, eye.z])
    }

    /// The unit direction (world) of the ray through pixel position (column u, row v), where
    /// pixel centres are at half-integers.
    @inlinable public func direction(u: Double, v: Double) -> SIMD3<Double> {
        let dc = SIMD3((u - cx) / fx, (v - cy) / fy, 1)
        let r = rotation
        let d = SIMD3(r[0] * dc.x + r[1] * dc.y + r[2] * dc.z,
                      r[3] * dc.x + r[4] * dc.y + r[5] * dc.z,
                      r[6] * dc.x + r[7] * dc.y + r[8] * dc.z)
        return d / (d * d).sum().squareRoot()
    }

    /// The unit direction (world, Float) from what pixel `index` (row-major) sees back towards
    /// the camera: minus the ray through the pixel's centre.
    @inlinable public func towardsCamera(pixel index: Int) -> SIMD3<Float> {
        let d = direction(u: Double(index % width) + 0.5, v: Double(index / width) + 0.5)
        return SIMD3(Float(-d.x), Float(-d.y), Float(-d.z))
    }

    /// Pixel position (column, row) of a world point, and its depth along the camera's z axis.
    public func project(_ p: SIMD3<Double>) -> (u: Double, v: Double, depth: Double) {
        let q = p - SIMD3(center[0], center[1], center[2])
        let r = rotation  // world → camera is Rᵀ
        let xc = r[0] * q.x + r[3] * q.y + r[6] * q.z
        let yc = r[1] * q.x + r[4] * q.y + r[7] * q.z
        let zc = r[2] * q.x + r[5] * q.y + r[8] * q.z
        return (fx * xc / zc + cx, fy * yc / zc + cy, zc)
    }

    /// The 3×3 intrinsic matrix, row-major.
    public var intrinsics: [Double] { [fx, 0, cx, 0, fy, cy, 0, 0, 1] }
}

@inlinable func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

/// Sets of cameras on a sphere around a mesh, all looking at the centre of its bounding box from
/// a distance at which the bounding sphere fills the view (with a margin).
public enum ViewSet {
    /// `count` directions spread evenly (a Fibonacci lattice), turned by a random rotation drawn
    /// from `seed`.
    public static func spread(count: Int, seed: UInt64) -> [SIMD3<Double>] {
        var rng = SplitMix64(seed: seed)
        let rot = randomRotation(&rng)
        let golden = Double.pi * (3 - 5.0.squareRoot())
        return (0..<count).map { i in
            let y = count == 1 ? 0 : 1 - 2 * (Double(i) + 0.5) / Double(count)
            let r = (1 - y * y).squareRoot(), th = golden * Double(i)
            return apply(rot, SIMD3(r * cos(th), y, r * sin(th)))
        }
    }

    /// `count` directions drawn uniformly on the sphere from `seed`.
    public static func random(count: Int, seed: UInt64) -> [SIMD3<Double>] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in uniformDirection(&rng) }
    }

    /// Cameras looking at the mesh's bounding-box centre from `directions`.
    public static func cameras(for mesh: Mesh, directions: [SIMD3<Double>], width: Int, height: Int,
                               fovY: Double = 40 * Double.pi / 180, margin: Double = 1.05) -> [Camera] {
        let (lo, hi) = mesh.boundingBox
        let centre = 0.5 * (lo + hi)
        var radius = 0.0
        for i in 0..<mesh.vertexCount { let d = mesh.position(i) - centre; radius = max(radius, (d * d).sum().squareRoot()) }
        let fov = min(fovY, 2 * atan(tan(0.5 * fovY) * Double(width) / Double(height)))
        let distance = max(radius, 1e-9) * margin / sin(0.5 * fov)
        return directions.map { Camera(width: width, height: height, fovY: fovY, eye: centre + distance * $0, target: centre) }
    }

    static func uniformDirection(_ rng: inout SplitMix64) -> SIMD3<Double> {
        let z = Double.random(in: -1...1, using: &rng), phi = Double.random(in: 0..<(2 * Double.pi), using: &rng)
        let r = (1 - z * z).squareRoot()
        return SIMD3(r * cos(phi), r * sin(phi), z)
    }

    static func randomRotation(_ rng: inout SplitMix64) -> [SIMD3<Double>] {
        let a = uniformDirection(&rng)
        var b = uniformDirection(&rng)
        b -= (a * b).sum() * a
        let nb = (b * b).sum().squareRoot()
        b = nb > 1e-6 ? b / nb : (abs(a.x) < 0.9 ? cross(a, SIMD3(1, 0, 0)) : cross(a, SIMD3(0, 1, 0)))
        b /= (b * b).sum().squareRoot()
        return [a, b, cross(a, b)]
    }

    static func apply(_ r: [SIMD3<Double>], _ v: SIMD3<Double>) -> SIMD3<Double> { v.x * r[0] + v.y * r[1] + v.z * r[2] }
}

/// The views of the reference protocol for one mesh: training views spread evenly over the
/// sphere, validation and test views drawn at random, all deterministic from the seed.
public struct ProtocolViews: Sendable, Codable {
    public var train: [Camera]
    public var validation: [Camera]
    public var test: [Camera]

    public init(mesh: Mesh, seed: UInt64, width: Int = 512, height: Int = 512,
                train: Int = 5, validation: Int = 3, test: Int = 20) {
        self.train = ViewSet.cameras(for: mesh, directions: ViewSet.spread(count: train, seed: seed), width: width, height: height)
        self.validation = ViewSet.cameras(for: mesh, directions: ViewSet.random(count: validation, seed: seed &+ 0x9E37_79B9), width: width, height: height)
        self.test = ViewSet.cameras(for: mesh, directions: ViewSet.random(count: test, seed: seed &+ 0x7F4A_7C15), width: width, height: height)
    }

    public func cameras(_ set: String) -> [Camera]? {
        switch set {
        case "train": return train
        case "validation": return validation
        case "test": return test
        default: return nil
        }
    }
}
