import Foundation
import Geometry
import Spectral
import Support
import Testing
import TextureField

@Suite struct ProjectorEncodingTests {
    /// The torus has many repeated eigenvalues. A random orthogonal change of basis inside every
    /// group (signs included) leaves the projector features unchanged to 1e-5, while the raw
    /// eigenfunctions change by order one.
    @Test func invariantToSignsAndRotationsInsideEigenspaces() throws {
        let torus = Mesh.torus(segments: 24, rings: 12)
        let basis = try Eigenbasis.compute(mesh: torus, options: EigenOptions(k: 41))
        let selected = Array(0..<40)
        let groups = ProjectorFeatures.groups(values: basis.values, selected: selected)
        #expect(groups.contains { $0.count >= 2 } && groups.count < 40, "groups: \(groups.map(\.count))")
        let landmarks = ProjectorFeatures.landmarks(torus)
        let t0 = ProjectorFeatures.table(basis: basis, selected: selected, landmarks: landmarks)

        var rng = SplitMix64(seed: 11)
        let n = torus.vertexCount, kk = basis.count
        var v = basis.vectors
        for g in groups {
            let d = g.count
            // A random orthogonal d × d matrix: Gram–Schmidt of Gaussian columns, random signs.
            var q = [[Double]]()
            for _ in 0..<d {
                var c = (0..<d).map { _ in rng.nextGaussian() }
                for p in q { let dot = zip(c, p).reduce(0) { $0 + $1.0 * $1.1 }; c = zip(c, p).map { $0 - dot * $1 } }
                let l = c.reduce(0) { $0 + $1 * $1 }.squareRoot(), sign: Double = rng.next() & 1 == 0 ? 1 : -1
                q.append(c.map { $0 / l * sign })
            }
            for i in 0..<n {
                let old = g.map { basis.vectors[i * kk + $0 + 1] }
                for (a, pos) in g.enumerated() { v[i * kk + pos + 1] = (0..<d).reduce(0) { $0 + q[a][$1] * old[$1] } }
            }
        }
        let rotated = try Eigenbasis(values: basis.values, vectors: v, mass: basis.mass, residuals: basis.residuals,
                                     orthonormalityError: basis.orthonormalityError)
        let t1 = ProjectorFeatures.table(basis: rotated, selected: selected, landmarks: landmarks)
        let diff = zip(t0, t1).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(diff < 1e-5, "largest change of a feature: \(diff)")
        let raw = zip(basis.vectors, v).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
        #expect(raw > 0.01, "the raw eigenfunctions changed by \(raw)")
    }

    /// Landmarks are farthest-point samples: distinct, and deterministic.
    @Test func landmarksAreDistinct() {
        let m = Mesh.icosphere(subdivisions: 6, jitter: 0.2, seed: 4)
        let a = ProjectorFeatures.landmarks(m), b = ProjectorFeatures.landmarks(m)
        #expect(a == b && Set(a).count == a.count && a.count == ProjectorFeatures.landmarkCount)
    }
}
