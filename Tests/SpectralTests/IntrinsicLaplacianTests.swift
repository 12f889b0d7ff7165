import Foundation
import Geometry
import Spectral
import Testing

/// Reference matrices from robust_laplacian 1.1.0 (`mesh_laplacian(V, F)` with its defaults,
/// mollify_factor 1e-5), written by bench/laplacian_vs_robust.py --fixtures.
private struct RobustFixture: Decodable {
    var origin: String
    var vertices: [[Double]]
    var faces: [[Int32]]
    var L: [[Double]]
    var M: [Double]
    var eigenvalues: [Double]

    static func load(_ name: String) throws -> RobustFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/robust_\(name).json")
        return try JSONDecoder().decode(RobustFixture.self, from: Data(contentsOf: url))
    }

    var mesh: Mesh { Mesh(positions: vertices.flatMap { $0 }, triangles: faces.flatMap { $0 }) }
}

/// The largest entry of |A − B| relative to the largest |A|.
private func relativeDifference(_ a: SparseMatrix, _ b: SparseMatrix) -> Double {
    var diff = 0.0, scale = 0.0
    for i in 0..<a.rows {
        var cols = Set<Int32>()
        for p in a.rowPointers[i]..<a.rowPointers[i + 1] { cols.insert(a.columnIndices[p]); scale = max(scale, abs(a.values[p])) }
        for p in b.rowPointers[i]..<b.rowPointers[i + 1] { cols.insert(b.columnIndices[p]) }
        for j in cols { diff = max(diff, abs(a[i, Int(j)] - b[i, Int(j)])) }
    }
    return diff / scale
}

/// The square grid of `cells`² unit-square cells split along one diagonal or the other
/// (every quad is cocircular: both are Delaunay).
private func squareGrid(cells n: Int, otherDiagonal: Bool) -> Mesh {
    var p = [Double](), t = [Int32]()
    for j in 0...n { for i in 0...n { p += [Double(i) / Double(n), Double(j) / Double(n), 0] } }
    for j in 0..<n { for i in 0..<n {
        let a = Int32(j * (n + 1) + i), b = a + 1, c = a + Int32(n + 2), d = a + Int32(n + 1)
        t += otherDiagonal ? [a, b, d, b, c, d] : [a, b, c, a, c, d]
    } }
    return Mesh(positions: p, triangles: t)
}

@Suite struct IntrinsicLaplacianTests {
    /// L and M equal robust_laplacian's to 1e-12 of their largest entries on a non-manifold mesh
    /// (an edge of five faces, a bow-tie vertex, flipped faces), on zero-area slivers and on a
    /// strip of obtuse boundary triangles; the eigenvalues agree to 1e-8 relative.
    @Test(arguments: ["non_manifold", "slivers", "obtuse_boundary"])
    func equalsRobustLaplacian(_ name: String) throws {
        let fx = try RobustFixture.load(name)
        let mesh = fx.mesh
        let ops = try CotanOperators(mesh: mesh, mass: .barycentric, laplacian: .robust)
        let n = mesh.vertexCount
        var rowptr = [Int](repeating: 0, count: n + 1)
        let sorted = fx.L.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
        for e in sorted { rowptr[Int(e[0]) + 1] += 1 }
        for i in 0..<n { rowptr[i + 1] += rowptr[i] }
        let ref = SparseMatrix(rows: n, columns: n, rowPointers: rowptr, columnIndices: sorted.map { Int32($0[1]) }, values: sorted.map { $0[2] })
        #expect(relativeDifference(ref, ops.stiffness) < 1e-12, "L differs by \(relativeDifference(ref, ops.stiffness))")
        let mass = ops.lumpedMass, top = fx.M.max()!
        #expect(zip(mass, fx.M).allSatisfy { abs($0 - $1) <= 1e-12 * top })
        var o = EigenOptions(k: fx.eigenvalues.count, mass: .barycentric)
        o.laplacian = .robust
        let b = try Eigenbasis.compute(mesh: mesh, options: o)
        for j in 1..<fx.eigenvalues.count {
            #expect(abs(b.values[j] - fx.eigenvalues[j]) <= 1e-8 * fx.eigenvalues[j], "λ_\(j): \(b.values[j]) vs \(fx.eigenvalues[j])")
        }
    }

    /// No edge of the intrinsic Delaunay triangulation has a negative cotan weight (beyond the
    /// flip threshold 1e-6), on a jittered sphere whose own cotan Laplacian has many; the same for
    /// the robust Laplacian on the sliver mesh.
    @Test func noNegativeWeights() throws {
        let sphere = Mesh.icosphere(subdivisions: 10, jitter: 0.45, seed: 9)
        func positiveOffDiagonals(_ L: SparseMatrix) -> (count: Int, largest: Double) {
            var count = 0, largest = 0.0
            for i in 0..<L.rows { for p in L.rowPointers[i]..<L.rowPointers[i + 1] where Int(L.columnIndices[p]) != i && L.values[p] > 0 {
                count += 1; largest = max(largest, L.values[p])
            } }
            return (count, largest)
        }
        #expect(positiveOffDiagonals(try CotanOperators(mesh: sphere).stiffness).count > 20)
        let idt = try CotanOperators(mesh: sphere, mass: .barycentric, laplacian: .intrinsicDelaunay)
        #expect(idt.flips > 20)
        #expect(positiveOffDiagonals(idt.stiffness).largest <= 1e-6)
        let slivers = try RobustFixture.load("slivers").mesh
        #expect(positiveOffDiagonals(try CotanOperators(mesh: slivers, mass: .barycentric, laplacian: .robust).stiffness).largest <= 1e-6)
    }

    /// The Laplacian does not depend on how Delaunay ties are broken: a square grid split along
    /// either diagonal (all four points of every cell on one circle), with faces in another order,
    /// gives the same L and M for both intrinsic kinds.
    @Test func independentOfTieBreaking() throws {
        let a = squareGrid(cells: 12, otherDiagonal: false)
        var b = squareGrid(cells: 12, otherDiagonal: true)
        var t = [Int32]()
        let faces = b.triangleCount
        for f in (0..<faces).reversed() { t += [b.triangles[3 * f + 1], b.triangles[3 * f + 2], b.triangles[3 * f]] }
        b = Mesh(positions: b.positions, triangles: t)
        for kind in [LaplacianKind.intrinsicDelaunay, .robust] {
            let oa = try CotanOperators(mesh: a, mass: .barycentric, laplacian: kind)
            let ob = try CotanOperators(mesh: b, mass: .barycentric, laplacian: kind)
            #expect(relativeDifference(oa.stiffness, ob.stiffness) < 1e-12, "\(kind)")
            // Lumped masses differ between the two triangulations of a cell only where the
            // diagonal's ends change; the total area does not.
            #expect(abs(oa.area - ob.area) < 1e-12)
        }
    }

    /// On a mesh that is already Delaunay and closed, both intrinsic kinds make no flip and give
    /// the cotan Laplacian and the barycentric mass (the tufted cover's two sheets halved).
    @Test func delaunayMeshKeepsTheCotanLaplacian() throws {
        let mesh = Mesh.icosphere(subdivisions: 6)
        let cotan = try CotanOperators(mesh: mesh, mass: .barycentric)
        for kind in [LaplacianKind.intrinsicDelaunay, .robust] {
            let ops = try CotanOperators(mesh: mesh, mass: .barycentric, laplacian: kind)
            #expect(ops.flips == 0)
            #expect(relativeDifference(cotan.stiffness, ops.stiffness) < 1e-13)
            #expect(zip(cotan.lumpedMass, ops.lumpedMass).allSatisfy { abs($0 - $1) < 1e-15 })
        }
    }

    /// On the unit sphere (jittered, so that flips happen) the spectra of both intrinsic kinds
    /// approach l(l+1), and refinement shrinks the error.
    @Test(arguments: [LaplacianKind.intrinsicDelaunay, .robust])
    func sphereSpectrum(_ kind: LaplacianKind) throws {
        var previous = Double.infinity
        for f in [8, 16] {
            var o = EigenOptions(k: 25, mass: .barycentric)
            o.laplacian = kind
            let b = try Eigenbasis.compute(mesh: Mesh.icosphere(subdivisions: f, jitter: 0.3, seed: 4), options: o)
            var error = 0.0, j = 0
            for l in 0...4 { for _ in 0..<(2 * l + 1) {
                let exact = Double(l * (l + 1))
                error = max(error, abs(b.values[j] - exact) / max(1, exact)); j += 1
            } }
            #expect(error < (f == 8 ? 0.05 : 0.015), "\(kind) f = \(f): \(error)")
            #expect(error < previous / 2.5)
            previous = error
        }
    }

    /// What the intrinsic Delaunay kind cannot take is named; the robust kind takes it.
    @Test func errorsNameTheEdge() throws {
        // Three triangles on the edge (0, 1).
        let fins = Mesh(positions: [0, 0, 0, 1, 0, 0, 0.5, 1, 0, 0.5, -1, 0, 0.5, 0, 1], triangles: [0, 1, 2, 1, 0, 3, 0, 1, 4])
        #expect { _ = try CotanOperators(mesh: fins, mass: .barycentric, laplacian: .intrinsicDelaunay) } throws: {
            "\($0)".contains("vertex indices 0 and 1") && "\($0)".contains("non-manifold") && "\($0)".contains("robust")
        }
        _ = try CotanOperators(mesh: fins, mass: .barycentric, laplacian: .robust)
        // Two triangles sharing an edge in the same direction.
        let flipped = Mesh(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0], triangles: [0, 1, 2, 0, 1, 3])
        #expect { _ = try CotanOperators(mesh: flipped, mass: .barycentric, laplacian: .intrinsicDelaunay) } throws: {
            "\($0)".contains("orientation")
        }
        _ = try CotanOperators(mesh: flipped, mass: .barycentric, laplacian: .robust)
        // A zero-area face on its own (no flip can remove it) without mollification.
        let flat = Mesh(positions: [0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 1, 1, 0, 0, 2, 0], triangles: [0, 1, 2, 3, 4, 5])
        #expect { _ = try CotanOperators(mesh: flat, mass: .barycentric, laplacian: .robust, mollifyFactor: 0) } throws: {
            "\($0)".contains("mollify")
        }
        _ = try CotanOperators(mesh: flat, mass: .barycentric, laplacian: .robust)
        #expect(throws: SpectralError.self) { _ = try CotanOperators(mesh: flat, mass: .barycentric, laplacian: .robust, mollifyFactor: .nan) }
    }

    /// The point-cloud Laplacian of random points on the unit sphere: symmetric, rows summing to
    /// zero, no negative weight, the mass adds up to the sphere's area, and the spectrum
    /// approaches l(l+1) as the cloud grows (2,000 → 8,000 points).
    @Test func pointCloudOnTheSphere() throws {
        var errors = [Double]()
        for n in [2000, 8000] {
            var rng = SplitMix(seed: UInt64(n))
            var pts = [Double]()
            for _ in 0..<n {
                var v = SIMD3<Double>(rng.gaussian(), rng.gaussian(), rng.gaussian())
                v /= (v * v).sum().squareRoot()
                pts += [v.x, v.y, v.z]
            }
            let ops = try PointCloudLaplacian.operators(points: pts)
            let L = ops.stiffness
            var worstRow = 0.0, worstAsym = 0.0, positive = 0.0
            for i in 0..<L.rows {
                var sum = 0.0
                for p in L.rowPointers[i]..<L.rowPointers[i + 1] {
                    let j = Int(L.columnIndices[p]), v = L.values[p]
                    sum += v
                    worstAsym = max(worstAsym, abs(v - L[j, i]))
                    if j != i { positive = max(positive, v) }
                }
                worstRow = max(worstRow, abs(sum))
            }
            #expect(worstRow < 1e-10 && worstAsym < 1e-12 && positive <= 1e-6)
            let area = ops.lumpedMass.reduce(0, +)
            #expect(abs(area - 4 * Double.pi) < 0.01 * 4 * Double.pi, "n = \(n): area \(area)")
            var o = EigenOptions(k: 25, mass: .barycentric)
            o.laplacian = .robust
            let b = try Eigenbasis.compute(operators: ops, options: o)
            var error = 0.0, j = 1
            for l in 1...4 { for _ in 0..<(2 * l + 1) { error = max(error, abs(b.values[j] - Double(l * (l + 1))) / Double(l * (l + 1))); j += 1 } }
            errors.append(error)
        }
        // Measured when written: 0.075 and 0.061 (robust_laplacian: 0.075 at 3,000 points).
        #expect(errors[1] < errors[0] && errors[1] < 0.07, "\(errors)")
    }
}

/// A small seeded generator for the tests (SplitMix64 with Box–Muller normals).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// robust_laplacian 1.1.0's `point_cloud_laplacian(P)` of 300 random unit-sphere points moved
/// by (10, 0, 0) (written by bench/laplacian_vs_robust.py --fixtures).
private struct CloudFixture: Decodable {
    var origin: String
    var points: [[Double]]
    var L: [[Double]]
    var M: [Double]
    var eigenvalues: [Double]
}

private func csr(_ triplets: [[Double]], n: Int) -> SparseMatrix {
    var rowptr = [Int](repeating: 0, count: n + 1)
    let sorted = triplets.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
    for e in sorted { rowptr[Int(e[0]) + 1] += 1 }
    for i in 0..<n { rowptr[i + 1] += rowptr[i] }
    return SparseMatrix(rows: n, columns: n, rowPointers: rowptr, columnIndices: sorted.map { Int32($0[1]) }, values: sorted.map { $0[2] })
}

@Suite struct PointCloudReferenceTests {
    /// With robust_laplacian's own normal rule, L and M equal that package's to 1e-10 of their
    /// largest entries and the eigenvalues to 1e-8 relative, on a cloud away from the origin
    /// (where its rule and the default differ most).
    @Test func equalsRobustLaplacianWithItsNormals() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/robust_cloud_shifted.json")
        let fx = try JSONDecoder().decode(CloudFixture.self, from: Data(contentsOf: url))
        let pts = fx.points.flatMap { $0 }, n = fx.points.count
        let ops = try PointCloudLaplacian.operators(points: pts, normals: .robustLaplacian110)
        let d = relativeDifference(csr(fx.L, n: n), ops.stiffness)
        #expect(d < 1e-10, "L differs by \(d)")
        let top = fx.M.max()!
        #expect(zip(ops.lumpedMass, fx.M).allSatisfy { abs($0 - $1) <= 1e-10 * top })
        var o = EigenOptions(k: fx.eigenvalues.count, mass: .barycentric)
        o.laplacian = .robust
        let b = try Eigenbasis.compute(operators: ops, options: o)
        for j in 1..<fx.eigenvalues.count {
            #expect(abs(b.values[j] - fx.eigenvalues[j]) <= 1e-8 * fx.eigenvalues[j], "λ_\(j): \(b.values[j]) vs \(fx.eigenvalues[j])")
        }
        // The default normals give another (the package's rule depends on the position).
        let other = try PointCloudLaplacian.operators(points: pts)
        #expect(relativeDifference(csr(fx.L, n: n), other.stiffness) > 1e-3)
    }

    /// The default normals do not depend on where the cloud sits: the same triangles and the
    /// same matrices (to rounding) after a translation; robust_laplacian's rule changes them.
    @Test func defaultIsTranslationInvariant() throws {
        var rng = SplitMix(seed: 5)
        var pts = [Double]()
        for _ in 0..<1500 {
            var v = SIMD3<Double>(rng.gaussian(), rng.gaussian(), rng.gaussian())
            v /= (v * v).sum().squareRoot()
            pts += [v.x, v.y, v.z]
        }
        let shift: [Double] = [10, -3, 5]
        let moved = pts.enumerated().map { $0.element + shift[$0.offset % 3] }
        #expect(try PointCloudLaplacian.localTriangles(points: pts) == PointCloudLaplacian.localTriangles(points: moved))
        let a = try PointCloudLaplacian.operators(points: pts), b = try PointCloudLaplacian.operators(points: moved)
        #expect(relativeDifference(a.stiffness, b.stiffness) < 1e-9)
        #expect(abs(a.lumpedMass.reduce(0, +) - b.lumpedMass.reduce(0, +)) < 1e-9)
        let ra = try PointCloudLaplacian.localTriangles(points: pts, normals: .robustLaplacian110)
        let rb = try PointCloudLaplacian.localTriangles(points: moved, normals: .robustLaplacian110)
        #expect(ra != rb)
    }

    /// A vertex in no face gets L_ii = 1 and M_ii = 1e-3 × the smallest mass, as
    /// robust_laplacian (values read from its mesh_laplacian on this mesh: 1.0 and 1.66667e-4).
    @Test func unreferencedVertex() throws {
        let mesh = Mesh(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0.2, 5, 5, 5], triangles: [0, 1, 2, 1, 3, 2])
        let ops = try CotanOperators(mesh: mesh, mass: .barycentric, laplacian: .robust)
        #expect(ops.stiffness[4, 4] == 1)
        #expect(abs(ops.lumpedMass[4] - 1.6666666666666666e-4) < 1e-12)
        #expect(abs(ops.lumpedMass[0] - 1.6666666666666666e-1) < 1e-12)
    }
}

@Suite struct TinyCloudTests {
    /// Clouds of 3 and 4 points (2 and 3 neighbours: the normal's SVD then has fewer columns
    /// than rows — found by the xyz fuzz target as a heap overflow in Eigen) triangulate.
    @Test func fewNeighbours() throws {
        let three = [0.134364, 0.847434, 0.007638, 3772, 0.952467, 0.00925, 0.798439, 0.797098, 0.009864]
        let t3 = try PointCloudLaplacian.localTriangles(points: three, neighbors: 8)
        #expect(t3.count % 3 == 0 && t3.allSatisfy { (0..<3).contains($0) })
        let four = [0.0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0.1]
        let t4 = try PointCloudLaplacian.localTriangles(points: four, neighbors: 3)
        #expect(!t4.isEmpty && t4.allSatisfy { (0..<4).contains($0) })
        #expect(throws: SpectralError.self) { _ = try PointCloudLaplacian.localTriangles(points: [0, 0, 0, 1, 1, 1]) }
    }
}

@Suite struct MemoryCheckTests {
    /// A solve that cannot fit is refused before any work, with the figures and the way out.
    @Test func refusesWhatCannotFit() throws {
        // Peaks measured on 2026-12-07 (BENCHMARKS.md; bytes from the peak RSS in KiB) lie below the
        // estimate, at k = 1023 by less than 30 %.
        for (n, k, measured) in [(40_962, 256, 0.2945e9), (40_962, 1023, 0.6438e9), (187_394, 256, 1.0855e9),
                                 (187_394, 1023, 2.4916e9), (749_570, 256, 4.615e9), (749_570, 1023, 9.855e9)] {
            let e = Eigenbasis.estimatedPeakBytes(vertices: n, k: k)
            #expect(e >= measured && (k < 1023 || e < 1.3 * measured), "n = \(n), k = \(k): estimated \(e), measured \(measured)")
        }
        #expect(Eigenbasis.estimatedPeakBytes(vertices: 3_000_000, k: 1024) > 24e9)
        guard Eigenbasis.availableMemoryBytes() != nil else { return }
        #expect { try Eigenbasis.checkMemory(vertices: 100_000_000, k: 1024) } throws: {
            "\($0)".contains("GB") && "\($0)".contains("--proxy")
        }
        try Eigenbasis.checkMemory(vertices: 10_000, k: 100)
    }
}
