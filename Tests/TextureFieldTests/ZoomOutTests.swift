import Foundation
import Geometry
import Spectral
import Testing
import TextureField

/// An ellipsoid (axes 2, 1, 0.6: no repeated low eigenvalues) with a lopsided bump.
private func bumpyEllipsoid(subdivisions: Int) -> Mesh {
    var m = Mesh.icosphere(subdivisions: subdivisions)
    for i in 0..<m.vertexCount {
        let p = m.position(i)
        let r = 1 + 0.2 * p.x * p.y + 0.15 * p.z * p.z * p.z + 0.1 * p.y
        m.positions[3 * i] *= 2 * r; m.positions[3 * i + 1] *= r; m.positions[3 * i + 2] *= 0.6 * r
    }
    return m
}

@Suite struct ZoomOutTests {
    /// An asymmetric bumpy ellipsoid and an ARAP-bent copy (the same vertices: the true map is the
    /// identity). ZoomOut from the sign search, with no correspondence, finds a map whose mean
    /// error is a small fraction of the size (2.1 % of the diagonal when written; a mirrored or
    /// random map: 15–30 %); with the target's vertices shuffled it finds the
    /// shuffle.
    @Test func recoversTheMapOfADeformation() throws {
        let m = bumpyEllipsoid(subdivisions: 10)
        let (h, t) = DeformationPose.bend.handles(on: m, angle: 40)
        let d = try ARAP.deform(m, handles: h, targets: t, iterations: 30).mesh
        let options = EigenOptions(k: 60)
        let bs = try Eigenbasis.compute(mesh: m, options: options), bt = try Eigenbasis.compute(mesh: d, options: options)
        let (lo, hi) = m.boundingBox
        let diagonal = ((hi - lo) * (hi - lo)).sum().squareRoot()
        func error(_ map: [Int32]) -> Double {
            var e = 0.0
            for i in 0..<m.vertexCount { let v = m.position(Int(map[i])) - m.position(i); e += (v * v).sum().squareRoot() }
            return e / Double(m.vertexCount) / diagonal
        }
        let z = try ZoomOut.map(source: bs, target: bt, sourceMesh: m, targetMesh: d, end: 60)
        #expect(z.steps.last == 60)
        #expect(error(z.map) < 0.04, "ZoomOut's mean error: \(error(z.map)) of the diagonal")
        // The same target with its vertices in another order: the map follows the order.
        let perm = Array((0..<d.vertexCount).reversed())
        var shuffled = d
        for (new, old) in perm.enumerated() { for c in 0..<3 { shuffled.positions[3 * new + c] = d.positions[3 * old + c] } }
        shuffled.triangles = d.triangles.map { Int32(perm.firstIndex(of: Int($0))!) }
        let bp = try Eigenbasis.compute(mesh: shuffled, options: options)
        let zp = try ZoomOut.map(source: bs, target: bp, sourceMesh: m, targetMesh: shuffled, end: 60)
        var e = 0.0
        for i in 0..<d.vertexCount { let v = m.position(Int(zp.map[i])) - m.position(perm[i]); e += (v * v).sum().squareRoot() }
        #expect(e / Double(d.vertexCount) / diagonal < 0.04)
    }

    /// On a subdivided copy (new vertices at edge midpoints, on the source's surface) a vertex map
    /// is off by half an edge at best; the point map onto the source's triangles comes closer.
    @Test func pointMapBeatsVertexMapOnASubdivision() throws {
        let m = bumpyEllipsoid(subdivisions: 8)
        let d = m.subdivided()
        let options = EigenOptions(k: 40)
        let bs = try Eigenbasis.compute(mesh: m, options: options), bt = try Eigenbasis.compute(mesh: d, options: options)
        let z = try ZoomOut.map(source: bs, target: bt, sourceMesh: m, targetMesh: d, end: 40)
        let p = ZoomOut.pointMap(z.map, size: 40, source: bs, target: bt, sourceMesh: m)
        var ev = 0.0, ep = 0.0
        for i in 0..<d.vertexCount {
            let truth = d.position(i)
            let v = m.position(Int(z.map[i])) - truth
            ev += (v * v).sum().squareRoot()
            var x = SIMD3<Double>(0, 0, 0)
            for c in 0..<3 { x += Double(p.weights[3 * i + c]) * m.position(Int(m.triangles[3 * Int(p.faces[i]) + c])) }
            ep += ((x - truth) * (x - truth)).sum().squareRoot()
        }
        #expect(p.faces.allSatisfy { $0 >= 0 } && p.weights.allSatisfy { $0 >= -1e-6 && $0 <= 1 + 1e-6 })
        #expect(ep < ev, "point map \(ep / Double(d.vertexCount)), vertex map \(ev / Double(d.vertexCount))")
    }

    /// The blocked nearest-row search equals brute force.
    @Test func nearestRowsEqualsBruteForce() {
        var rng = SystemRandomNumberGenerator()
        let d = 7, na = 1100, nb = 300
        let a = (0..<(na * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<(nb * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        let fast = ZoomOut.nearestRows(a, b, dimension: d)
        for i in stride(from: 0, to: na, by: 37) {
            var best = Float.infinity, arg = 0
            for j in 0..<nb {
                var s: Float = 0
                for c in 0..<d { let x = a[i * d + c] - b[j * d + c]; s += x * x }
                if s < best { best = s; arg = j }
            }
            var s: Float = 0
            for c in 0..<d { let x = a[i * d + c] - b[Int(fast[i]) * d + c]; s += x * x }
            #expect(Int(fast[i]) == arg || abs(s - best) < 1e-5)
        }
    }
}
