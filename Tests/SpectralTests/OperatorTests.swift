import Foundation
import Geometry
import Spectral
import Testing

/// A right isosceles triangle: angles 90° at vertex 0, 45° at vertices 1 and 2.
private let rightTriangle = Mesh(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0], triangles: [0, 1, 2])

@Suite struct OperatorTests {
    @Test func handComputedCotangents() throws {
        let ops = try CotanOperators(mesh: rightTriangle)
        let L = ops.stiffness
        // cot 90° = 0 on edge (1,2); cot 45° = 1 on edges (0,1) and (0,2); L_ij = -cot/2.
        #expect(abs(L[0, 1] + 0.5) < 1e-15 && abs(L[0, 2] + 0.5) < 1e-15 && abs(L[1, 2]) < 1e-15)
        #expect(abs(L[0, 0] - 1) < 1e-15 && abs(L[1, 1] - 0.5) < 1e-15 && abs(L[2, 2] - 0.5) < 1e-15)
        // Voronoi areas of a right triangle: (|e01|² cot γ + |e02|² cot β)/8 = 1/4 at the right angle.
        let mv = ops.lumpedMass
        #expect(abs(mv[0] - 0.25) < 1e-15 && abs(mv[1] - 0.125) < 1e-15 && abs(mv[2] - 0.125) < 1e-15)
        let mb = try CotanOperators(mesh: rightTriangle, mass: .barycentric).lumpedMass
        for x in mb { #expect(abs(x - 1.0 / 6) < 1e-15) }
        let mf = try CotanOperators(mesh: rightTriangle, mass: .full).massMatrix
        #expect(abs(mf[0, 0] - 1.0 / 12) < 1e-15 && abs(mf[0, 1] - 1.0 / 24) < 1e-15)
    }

    @Test func obtuseTriangleVoronoiSplit() throws {
        // Obtuse at vertex 2; area 1: the obtuse corner gets A/2, the others A/4 (libigl's rule).
        let m = Mesh(positions: [0, 0, 0, 4, 0, 0, 2, 0.5, 0], triangles: [0, 1, 2])
        let mass = try CotanOperators(mesh: m).lumpedMass
        #expect(abs(mass[0] - 0.25) < 1e-14 && abs(mass[1] - 0.25) < 1e-14 && abs(mass[2] - 0.5) < 1e-14)
    }

    @Test func invariantsOnAJitteredSphere() throws {
        let mesh = Mesh.icosphere(subdivisions: 10, jitter: 0.3, seed: 3)
        let report = mesh.report()
        for kind in MassKind.allCases {
            let ops = try CotanOperators(mesh: mesh, mass: kind)
            let L = ops.stiffness, M = ops.massMatrix
            #expect(L.nonZeroCount == mesh.vertexCount + 2 * report.edges)
            var maxRow = 0.0, maxAsym = 0.0, scale = 0.0
            for i in 0..<L.rows {
                var s = 0.0
                for p in L.rowPointers[i]..<L.rowPointers[i + 1] {
                    let j = Int(L.columnIndices[p]), v = L.values[p]
                    s += v
                    scale = max(scale, abs(v))
                    maxAsym = max(maxAsym, abs(v - L[j, i]))
                    if j != i { #expect(v.isFinite) }
                }
                maxRow = max(maxRow, abs(s))
            }
            #expect(maxRow < 1e-12 * scale && maxAsym == 0)
            // Mass: positive, symmetric, total = surface area.
            let total = M.values.reduce(0, +)
            #expect(abs(total - report.surfaceArea) < 1e-12 * total)
            #expect(ops.lumpedMass.allSatisfy { $0 > 0 })
        }
    }

    @Test func zeroAreaFacesGiveNoNaN() throws {
        // A square plus a face on three collinear points and one with a repeated vertex.
        let m = Mesh(positions: [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0],
                     triangles: [0, 1, 2, 0, 2, 3, 0, 1, 4, 1, 1, 2])
        let ops = try CotanOperators(mesh: m)
        #expect(ops.degenerateFaces == 2)
        #expect(ops.stiffness.values.allSatisfy { $0.isFinite })
        #expect(ops.massMatrix.values.allSatisfy { $0.isFinite })
        // Vertex 4 lies only in a degenerate face: its mass is zero, and eigs says so.
        #expect(ops.lumpedMass[4] == 0)
        #expect { try Eigenbasis.compute(operators: ops, options: EigenOptions(k: 2)) } throws: { e in
            "\(e)".contains("vertex 4 has zero mass")
        }
    }

    @Test func needleTrianglesStayFinite() throws {
        let m = Mesh(positions: [0, 0, 0, 1, 0, 0, 0.5, 1e-9, 0, 0.5, -1, 0], triangles: [0, 1, 2, 0, 3, 1])
        let ops = try CotanOperators(mesh: m)
        #expect(ops.stiffness.values.allSatisfy { $0.isFinite })
    }

    @Test func badMeshesAreRejected() {
        #expect(throws: SpectralError.self) {
            try CotanOperators(mesh: Mesh(positions: [0, 0, 0, 1, 0, 0, 0, .nan, 0], triangles: [0, 1, 2]))
        }
        #expect(throws: SpectralError.self) {
            try CotanOperators(mesh: Mesh(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0], triangles: [0, 1, 5]))
        }
        #expect(throws: SpectralError.self) { try CotanOperators(mesh: Mesh(positions: [], triangles: [])) }
        #expect(throws: SpectralError.self) {
            try CotanOperators(mesh: Mesh(positions: [0, 0, 0, 1, 0, 0, 2, 0, 0], triangles: [0, 1, 2]))
        }
    }

    @Test func blockedSolveMatchesReference() throws {
        let ops = try CotanOperators(mesh: Mesh.icosphere(subdivisions: 8, jitter: 0.3))
        // Below zero (positive definite) and inside the spectrum (indefinite).
        for sigma in [-0.5, 7.0, 31.0] {
            let r = try ops.selfTestBlockSolve(shift: sigma)
            #expect(r.maxRelativeDifference < 1e-10, "sigma \(sigma)")
            // Sphere eigenvalues l(l+1): 0 | 2 (×3) | 6 (×5) | 12 (×7) | 20 | 30 (×11) | 42
            let expected = sigma < 0 ? 0 : (sigma < 10 ? 9 : 36)
            #expect(r.eigenvaluesBelowShift == expected, "sigma \(sigma)")
        }
    }

    /// The supernodal multifrontal LDLᵀ against Eigen's simplicial LDLᵀ (the reference, same
    /// AMD ordering, no pivoting) on patterns with several roots and large fronts: the same
    /// inertia (the hook throws otherwise) and the same solves, on both sides of many eigenvalues;
    /// the solve's splits across threads agree to the bit.
    @Test func supernodalFactorisationMatchesTheSimplicialReference() throws {
        let sphere = Mesh.icosphere(subdivisions: 6, jitter: 0.3)
        let torus = Mesh.torus(segments: 40, rings: 20)
        // Three components: two spheres and a torus, far apart (several elimination-tree roots).
        var positions = [Double](), triangles = [Int32]()
        for (m, dx) in [(sphere, 0.0), (torus, 5.0), (Mesh.icosphere(subdivisions: 3), -5.0)] {
            let base = Int32(positions.count / 3)
            for v in 0..<(m.positions.count / 3) {
                positions += [m.positions[3 * v] + dx, m.positions[3 * v + 1], m.positions[3 * v + 2]]
            }
            triangles += m.triangles.map { $0 + base }
        }
        let cases: [(String, Mesh, [Double])] = [
            ("jittered sphere", Mesh.icosphere(subdivisions: 32, jitter: 0.3), [-0.1, 13.0, 101.0, 463.0]),
            ("three components", Mesh(positions: positions, triangles: triangles), [-0.1, 3.7, 25.0]),
            ("grid with a boundary", Mesh.grid(cells: 60), [-0.1, 50.0, 900.0]),
        ]
        for (name, mesh, shifts) in cases {
            let ops = try CotanOperators(mesh: mesh)
            var last = -1
            for sigma in shifts {
                // 9 right-hand sides: two column ranges (5 + 4, the generic kernel); 40: five
                // ranges of 8 handed out (the hook also checks that 1, 2 and 3 threads, and the
                // solve pace's one-thread path for 9, give the same bits); 8, the Lanczos block:
                // the width-8 kernel (AVX-512 where the processor has it) on one thread, two
                // ranges of 4 (AVX2) on two and the generic kernel on three, to the bit.
                let r = try ops.selfTestBlockSolve(shift: sigma, rightHandSides: 9)
                #expect(r.maxRelativeDifference < 1e-9, "\(name), sigma \(sigma): \(r.maxRelativeDifference)")
                let block = try ops.selfTestBlockSolve(shift: sigma, rightHandSides: 8)
                #expect(block.maxRelativeDifference < 1e-9, "\(name), sigma \(sigma), 8 columns: \(block.maxRelativeDifference)")
                let wide = try ops.selfTestBlockSolve(shift: sigma, rightHandSides: 40)
                #expect(wide.maxRelativeDifference < 1e-9, "\(name), sigma \(sigma), 40 columns: \(wide.maxRelativeDifference)")
                #expect(r.eigenvaluesBelowShift > last || sigma < 0, "\(name), sigma \(sigma)")
                last = r.eigenvaluesBelowShift
            }
        }
    }

    /// The solve pace runs a block of 8 columns on one thread when the split across threads
    /// measured slower (a thread slowed by another process), splits it otherwise, and tries the
    /// other way one solve in 16 so that a change of load is seen.
    @Test func solvePaceFollowsTheFasterWay() throws {
        // Split 2x slower than one thread (a thread at half speed): after measuring each way twice,
        // one thread except the probes (calls 16, 32, 48, 64 of 64 split).
        #expect(try selfTestSolvePace(splitCost: 2.0, serialCost: 1.35, calls: 64) == 64 - 2 - 4)
        // Idle: the split is faster; one thread only for the first two measurements and the probes.
        #expect(try selfTestSolvePace(splitCost: 1.0, serialCost: 1.35, calls: 64) == 2 + 4)
        #expect(try selfTestSolvePace(splitCost: 1.0, serialCost: 1.35, calls: 0) == 0)
        #expect(throws: SpectralError.self) { try selfTestSolvePace(splitCost: 1, serialCost: 1, calls: -1) }
        #expect(throws: SpectralError.self) { try selfTestSolvePace(splitCost: .nan, serialCost: 1, calls: 8) }
    }

    /// The projection kernels (AVX-512, no packing) and the 8-column triangular solve of the
    /// block orthonormalisation against OpenBLAS on shapes that reach every
    /// tail: rows not a multiple of 8 or 16, one chunk of rows or many, basis columns not a
    /// multiple of 3 or 8; and the same bits on 1, 2 and 3 threads (checked inside the hook).
    @Test func projectionKernelsMatchOpenBLAS() throws {
        for (n, m) in [(1, 1), (15, 2), (17, 4), (2048, 3), (4099, 7), (9001, 26), (40962, 101)] {
            let r = try selfTestProjection(rows: n, columns: m)
            #expect(r.transposedDifference < 1e-13, "Q^T B at n = \(n), m = \(m): \(r.transposedDifference)")
            #expect(r.updateDifference < 1e-13, "W - Q C at n = \(n), m = \(m): \(r.updateDifference)")
            #expect(r.triangularDifference < 1e-13, "W U^-1 at n = \(n): \(r.triangularDifference)")
        }
        #expect(throws: SpectralError.self) { try selfTestProjection(rows: 0, columns: 4) }
        #expect(throws: SpectralError.self) { try selfTestProjection(rows: 10, columns: 5000) }
    }
}

/// Reference values computed with the `libigl` pip package (scripts/reference/libigl_spot.py).
@Suite struct LibiglAgreementTests {
    static let sharedSpot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/meshes/spot/spot.obj").standardized.path
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/libigl_spot.json").path

    struct Reference: Decodable {
        var origin: String
        var vertices: Int
        var L_nnz: Int
        var L_frobenius: Double
        var L_sample_rows: [Int]
        var L_sample_cols: [Int]
        var L_sample_values: [Double]
        var mass_voronoi: [Double]
        var mass_barycentric: [Double]
        var eigenvalues_voronoi: [Double]
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: sharedSpot),
                   "../shared/meshes/spot is absent: libigl agreement not checked"))
    func spotMatchesLibigl() throws {
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixture)))
        let mesh = try Mesh.readOBJ(path: Self.sharedSpot)
        #expect(mesh.vertexCount == ref.vertices)
        let ops = try CotanOperators(mesh: mesh)
        let L = ops.stiffness
        // libigl's cotmatrix keeps explicit zeros as well; compare counts and values.
        #expect(L.nonZeroCount == ref.L_nnz)
        let frob = L.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(frob - ref.L_frobenius) < 1e-12 * frob)
        var worst = 0.0
        for (i, (r, c)) in zip(ref.L_sample_rows, ref.L_sample_cols).enumerated() {
            worst = max(worst, abs(L[r, c] - ref.L_sample_values[i]) / max(1e-300, abs(ref.L_sample_values[i])))
        }
        #expect(worst < 1e-12, "max relative difference \(worst)")
        let mv = ops.lumpedMass
        let mb = try CotanOperators(mesh: mesh, mass: .barycentric).lumpedMass
        for i in 0..<mesh.vertexCount {
            #expect(abs(mv[i] - ref.mass_voronoi[i]) <= 1e-13 * ref.mass_voronoi[i])
            #expect(abs(mb[i] - ref.mass_barycentric[i]) <= 1e-13 * ref.mass_barycentric[i])
        }
        let basis = try Eigenbasis.compute(operators: ops, options: EigenOptions(k: 30))
        for j in 1..<30 {
            #expect(abs(basis.values[j] - ref.eigenvalues_voronoi[j]) < 1e-9 * ref.eigenvalues_voronoi[j], "λ_\(j)")
        }
        #expect(abs(basis.values[0]) < 1e-10)
    }
}
