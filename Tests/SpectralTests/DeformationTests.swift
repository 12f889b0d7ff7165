import Foundation
import Geometry
import Spectral
import Testing

@Suite struct DeformationTests {
    /// Handles moved by one rigid motion move the whole mesh by it (to 1e-6 of its size), and the
    /// energy falls to zero: ARAP's defining property (the iteration converges linearly: 6e-5 after
    /// 40 steps from the rotated handles, when written).
    @Test func rigidHandlesGiveARigidMotion() throws {
        let sphere = Mesh.icosphere(subdivisions: 8, jitter: 0.2, seed: 3)
        let axis = SIMD3<Double>(1, 2, 2) / 3, shift = SIMD3<Double>(0.3, -1, 2)
        func motion(_ p: SIMD3<Double>) -> SIMD3<Double> {
            let c = cos(0.7), s = sin(0.7)
            let kxp = SIMD3(axis.y * p.z - axis.z * p.y, axis.z * p.x - axis.x * p.z, axis.x * p.y - axis.y * p.x)
            return p * c + kxp * s + axis * (axis * p).sum() * (1 - c) + shift
        }
        let handles = Array(stride(from: 0, to: sphere.vertexCount, by: 37))
        let (d, energy) = try ARAP.deform(sphere, handles: handles, targets: handles.map { motion(sphere.position($0)) }, iterations: 400)
        var worst = 0.0
        for i in 0..<sphere.vertexCount { let e = d.position(i) - motion(sphere.position(i)); worst = max(worst, (e * e).sum().squareRoot()) }
        #expect(worst < 1e-6, "largest distance from the rigid motion: \(worst)")
        #expect(energy.last! < 1e-12 * max(energy.first!, 1e-300) + 1e-14)
        #expect(try d.edgeLengthDistortion(from: sphere).max < 1e-6)
    }

    /// A bend keeps the handles where they were put, the energy never rises, and the free part
    /// stays near-isometric (measured when written on a 40 × 8 strip bent by 60°: mean edge-length
    /// change 0.3 %).
    @Test func bendOfAStrip() throws {
        var strip = Mesh.grid(cells: 40)
        for i in 0..<strip.vertexCount { strip.positions[3 * i + 1] *= 0.2 }  // 1 × 0.2
        let (handles, targets) = DeformationPose.bend.handles(on: strip)
        #expect(handles.count > 40)
        let (d, energy) = try ARAP.deform(strip, handles: handles, targets: targets, iterations: 60)
        for (h, t) in zip(handles, targets) { let e = d.position(h) - t; #expect((e * e).sum() < 1e-20) }
        for k in 1..<energy.count { #expect(energy[k] <= energy[k - 1] * (1 + 1e-9) + 1e-15) }
        let dist = try d.edgeLengthDistortion(from: strip)
        #expect(dist.mean < 0.03, "mean edge-length change \(dist.mean)")
        // The tip really moved: by more than a tenth of the strip's length.
        let tip = handles.last!
        let moved = d.position(tip) - strip.position(tip)
        #expect((moved * moved).sum().squareRoot() > 0.1)
    }

    /// Twist: the tip turns about the long axis, the base stays, the result is finite.
    @Test func twistKeepsTheBase() throws {
        let (h, t) = DeformationPose.twist.handles(on: Mesh.torus(segments: 24, rings: 12))
        let torus = Mesh.torus(segments: 24, rings: 12)
        let (d, _) = try ARAP.deform(torus, handles: h, targets: t)
        #expect(d.positions.allSatisfy { $0.isFinite })
        #expect(d.triangles == torus.triangles)
    }

    /// Bad handles get errors naming them; a piece without a handle is refused.
    @Test func badHandles() throws {
        let two = Mesh(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0, 5, 0, 0, 6, 0, 0, 5, 1, 0], triangles: [0, 1, 2, 3, 4, 5])
        #expect { _ = try ARAP.deform(two, handles: [0], targets: [.zero]) } throws: { "\($0)".contains("without a handle") }
        #expect { _ = try ARAP.deform(two, handles: [0, 0, 3], targets: [.zero, .zero, .zero]) } throws: { "\($0)".contains("twice") }
        #expect { _ = try ARAP.deform(two, handles: [9], targets: [.zero]) } throws: { "\($0)".contains("9") }
        #expect { _ = try ARAP.deform(two, handles: [0, 3], targets: [.zero, SIMD3(.nan, 0, 0)]) } throws: { "\($0)".contains("not finite") }
        #expect(throws: (any Error).self) { _ = try ARAP.deform(two, handles: [], targets: []) }
    }
}
