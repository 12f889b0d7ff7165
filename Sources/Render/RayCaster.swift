import CRayKernels
import Dispatch
import Foundation
import Geometry
import Imaging

public enum RenderError: Error, CustomStringConvertible, Equatable {
    case emptyMesh
    case outOfMemory(triangles: Int)
    case noTexcoords(mesh: String)
    case badTexcoord(face: Int, u: Double, v: Double)

    public var description: String {
        switch self {
        case .emptyMesh: return "the mesh has no triangles to render"
        case .outOfMemory(let n): return "not enough memory for a BVH over \(n) triangles"
        case .noTexcoords(let m): return "\(m): the mesh has no texture coordinates (vt) on every face; a texture cannot be looked up"
        case .badTexcoord(let f, let u, let v): return "triangle index \(f) (0-based) has texture coordinate (\(u), \(v)), which is not a finite number"
        }
    }
}

/// A bounding-volume hierarchy over a mesh's triangles (binned SAH, built in C), for first-hit
/// ray casting from any number of threads.
public final class BVH: @unchecked Sendable {
    let handle: OpaquePointer
    public let triangleCount: Int
    let positions: [Float]
    let triangles: [Int32]

    public init(_ mesh: Mesh) throws {
        guard mesh.triangleCount > 0 else { throw RenderError.emptyMesh }
        let pos = mesh.positions.map { Float($0) }, tris = mesh.triangles
        positions = pos
        triangles = tris
        triangleCount = mesh.triangleCount
        guard let h = pos.withUnsafeBufferPointer({ p in
            tris.withUnsafeBufferPointer { t in
                tfk_bvh_build(p.baseAddress, Int64(mesh.vertexCount), t.baseAddress, Int64(mesh.triangleCount))
            }
        }) else { throw RenderError.outOfMemory(triangles: mesh.triangleCount) }
        handle = h
    }

    deinit { tfk_bvh_free(handle) }

    public var nodeCount: Int { Int(tfk_bvh_node_count(handle)) }
    public var depth: Int { Int(tfk_bvh_depth(handle)) }

    /// First hit along origin + t·direction, t in (tMin, tMax): (triangle, t, b1, b2) or nil.
    public func intersect(origin: SIMD3<Float>, direction: SIMD3<Float>, tMin: Float = 0, tMax: Float = .infinity)
        -> (face: Int, t: Float, b1: Float, b2: Float)? {
        var o = origin, d = direction
        var t: Float = 0, b1: Float = 0, b2: Float = 0
        let f = withUnsafePointer(to: &o) { op in
            withUnsafePointer(to: &d) { dp in
                op.withMemoryRebound(to: Float.self, capacity: 3) { o3 in
                    dp.withMemoryRebound(to: Float.self, capacity: 3) { d3 in
                        tfk_bvh_intersect(handle, o3, d3, tMin, tMax, &t, &b1, &b2)
                    }
                }
            }
        }
        return f < 0 ? nil : (Int(f), t, b1, b2)
    }

    /// The point of the mesh nearest to `point` (zero-area triangles excepted), within
    /// `maxDistance`: (triangle, barycentric weights b1, b2 of its 2nd and 3rd vertices,
    /// distance) or nil. Ties go to the lower triangle index.
    public func closestPoint(to point: SIMD3<Float>, maxDistance: Float = .infinity) -> (face: Int, b1: Float, b2: Float, distance: Float)? {
        var p = [point.x, point.y, point.z]
        var d2: Float = 0, b1: Float = 0, b2: Float = 0
        let f = tfk_bvh_closest(handle, &p, maxDistance.isFinite ? maxDistance * maxDistance : .infinity, &d2, &b1, &b2)
        return f < 0 ? nil : (Int(f), b1, b2, d2.squareRoot())
    }

    /// The same by testing every triangle: the reference for tests.
    public func bruteForceClosest(to point: SIMD3<Float>) -> (face: Int, b1: Float, b2: Float, distance: Float)? {
        var p = [point.x, point.y, point.z]
        var d2: Float = 0, b1: Float = 0, b2: Float = 0
        let f = tfk_brute_closest(positions, triangles, Int64(triangleCount), &p, &d2, &b1, &b2)
        return f < 0 ? nil : (Int(f), b1, b2, d2.squareRoot())
    }

    /// Closest points of many query points (3 coordinates each), spread over the cores: per
    /// point the triangle (−1 when the mesh has no non-degenerate triangle), the barycentric
    /// weights of its three vertices, and the distance. Maps points of one discretization of a
    /// surface onto another.
    public func closestPoints(_ points: [Double]) -> (faces: [Int32], weights: [Float], distances: [Float]) {
        let n = points.count / 3
        var faces = [Int32](repeating: -1, count: n), weights = [Float](repeating: 0, count: 3 * n)
        var distances = [Float](repeating: .infinity, count: n)
        faces.withUnsafeMutableBufferPointer { fb in
            weights.withUnsafeMutableBufferPointer { wb in
                distances.withUnsafeMutableBufferPointer { db in
                    nonisolated(unsafe) let (fp, wp, dp) = (fb.baseAddress!, wb.baseAddress!, db.baseAddress!)
                    let chunks = max(1, min(n / 1024, 64))
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        var q = [Float](repeating: 0, count: 3)
                        for i in (c * n / chunks)..<((c + 1) * n / chunks) {
                            for k in 0..<3 { q[k] = Float(points[3 * i + k]) }
                            var d2: Float = 0, b1: Float = 0, b2: Float = 0
                            let f = tfk_bvh_closest(handle, q, .infinity, &d2, &b1, &b2)
                            fp[i] = f
                            if f >= 0 { wp[3 * i] = 1 - b1 - b2; wp[3 * i + 1] = b1; wp[3 * i + 2] = b2; dp[i] = d2.squareRoot() }
                        }
                    }
                }
            }
        }
        return (faces, weights, distances)
    }

    /// The same by testing every triangle: the reference for tests.
    public func bruteForce(origin: SIMD3<Float>, direction: SIMD3<Float>, tMin: Float = 0, tMax: Float = .infinity)
        -> (face: Int, t: Float, b1: Float, b2: Float)? {
        var o = [origin.x, origin.y, origin.z], d = [direction.x, direction.y, direction.z]
        var t: Float = 0, b1: Float = 0, b2: Float = 0
        let f = tfk_brute_intersect(positions, triangles, Int64(triangleCount), &o, &d, tMin, tMax, &t, &b1, &b2)
        return f < 0 ? nil : (Int(f), t, b1, b2)
    }
}

/// Per pixel of a view: the triangle hit first (−1 for background), the barycentric weights of
/// its three vertices, and the distance along the ray.
public struct GBuffer: Sendable {
    public let width: Int, height: Int
    public var face: [Int32]
    public var barycentric: [Float]  // 3 per pixel
    public var depth: [Float]
    public var hitCount: Int { face.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    /// Calls `body(pixel, face, b0, b1, b2)` for every pixel that hit the mesh, in pixel order:
    /// the one place a hit becomes a surface point (face and barycentric weights).
    @inlinable public func forEachHit(_ body: (_ pixel: Int, _ face: Int, _ b0: Float, _ b1: Float, _ b2: Float) throws -> Void) rethrows {
        for i in 0..<(width * height) where face[i] >= 0 {
            try body(i, Int(face[i]), barycentric[3 * i], barycentric[3 * i + 1], barycentric[3 * i + 2])
        }
    }

    /// The object mask as a one-channel image (1 on the object, 0 elsewhere).
    public var mask: Image {
        Image(width: width, height: height, channels: 1, pixels: face.map { $0 >= 0 ? 1 : 0 })
    }
}

public enum RayCaster {
    /// Casts one ray through every pixel centre of `camera`, rows split over the cores.
    public static func gbuffer(_ bvh: BVH, camera: Camera) -> GBuffer {
        let w = camera.width, h = camera.height
        var face = [Int32](repeating: -1, count: w * h)
        var bary = [Float](repeating: 0, count: 3 * w * h)
        var depth = [Float](repeating: .infinity, count: w * h)
        face.withUnsafeMutableBufferPointer { fb in
            bary.withUnsafeMutableBufferPointer { bb in
                depth.withUnsafeMutableBufferPointer { db in
                    nonisolated(unsafe) let (fp, bp, dp) = (fb.baseAddress!, bb.baseAddress!, db.baseAddress!)
                    let chunk = 8, chunks = (h + chunk - 1) / chunk
                    let k = [camera.fx, camera.fy, camera.cx, camera.cy], rot = camera.rotation, ctr = camera.center
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        _ = tfk_bvh_cast_rows(bvh.handle, Int32(w), Int32(c * chunk), Int32(min(h, (c + 1) * chunk)),
                                              k, rot, ctr, fp, bp, dp)
                    }
                }
            }
        }
        return GBuffer(width: w, height: h, face: face, barycentric: bary, depth: depth)
    }

    /// The texture's colour at each hit (bilinear, OBJ's v-up convention), `background` elsewhere:
    /// unshaded, as the reference protocol renders its ground truth. Needs texture coordinates on
    /// every face.
    public static func texturedImage(_ g: GBuffer, mesh: Mesh, texture: Image, background: Float = 1,
                                     border: BorderMode = .clamp) throws -> Image {
        guard mesh.hasTexcoords else { throw RenderError.noTexcoords(mesh: "mesh") }
        let tex = texture.rgb()
        var out = Image(width: g.width, height: g.height, channels: 3, fill: background)
        var px = [Float](repeating: 0, count: 3)
        g.forEachHit { i, f, b0, b1, b2 in
            let (u, v) = interpolatedUV(mesh, face: f, b0, b1, b2)
            tex.sampleBilinear(u: u, v: v, border: border, into: &px)
            for c in 0..<3 { out.pixels[3 * i + c] = px[c] }
        }
        return out
    }

    @inline(__always) static func interpolatedUV(_ mesh: Mesh, face f: Int, _ b0: Float, _ b1: Float, _ b2: Float) -> (Double, Double) {
        let t0 = Int(mesh.cornerTexcoords[3 * f]), t1 = Int(mesh.cornerTexcoords[3 * f + 1]), t2 = Int(mesh.cornerTexcoords[3 * f + 2])
        let u = Double(b0) * mesh.texcoords[2 * t0] + Double(b1) * mesh.texcoords[2 * t1] + Double(b2) * mesh.texcoords[2 * t2]
        let v = Double(b0) * mesh.texcoords[2 * t0 + 1] + Double(b1) * mesh.texcoords[2 * t1 + 1] + Double(b2) * mesh.texcoords[2 * t2 + 1]
        return (u, v)
    }
}
