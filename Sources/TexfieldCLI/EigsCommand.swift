import Support
import ArgumentParser
import Foundation
import Geometry
import Spectral

extension MassKind: ExpressibleByArgument {}
extension EigenMethod: ExpressibleByArgument {}
extension EigenNormalization: ExpressibleByArgument {}
extension LaplacianKind: ExpressibleByArgument {}
extension PointCloudNormals: ExpressibleByArgument {}

/// `texfield eigs MESH.obj -k K --out DIR`: the smallest eigenpairs of the cotangent Laplacian.
struct EigsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eigs",
        abstract: "Compute the k smallest Laplace–Beltrami eigenpairs (L φ = λ M φ) of a mesh.",
        discussion: """
            Writes DIR/eigenvalues.npy (float64, (k,)), DIR/eigenvectors.npy (float64, (n, k), C order, \
            row i = the OBJ's i-th 'v' line), DIR/mass.npy (float64, (n,), lumped mass), \
            DIR/residuals.npy and DIR/summary.json. Results are cached by content.
            """)

    @Argument(help: "A mesh (OBJ, PLY) or a point cloud (.xyz/.txt/.pts, PLY/OBJ without faces; --laplacian robust).") var mesh: String
    @Option(name: .shortAndLong, help: "Number of eigenpairs.") var k: Int
    @Option(name: .long, help: "Output folder (created if missing).") var out: String
    @Option(help: "Laplacian: cotan (the mesh's triangles), intrinsic-delaunay (edge flips; manifold meshes) or robust (Sharp & Crane 2020; any triangle mesh).")
    var laplacian: LaplacianKind = .cotan
    @Option(help: "Mollification of the intrinsic Laplacians, a fraction of the mean edge length (robust_laplacian's default 1e-5; 0: none).")
    var mollify: Double = LaplacianKind.defaultMollifyFactor
    @Option(help: "Mass matrix: voronoi, barycentric or full (default: voronoi for cotan, barycentric for the intrinsic Laplacians, as robust_laplacian).")
    var mass: MassKind?
    @Option(help: "Point clouds (.xyz/.txt/.pts, or PLY/OBJ without faces): neighbours of each point's local triangulation (robust_laplacian's default 30).")
    var neighbors = PointCloudLaplacian.defaultNeighbors
    @Option(help: "Point clouds: normal estimate, centroid (translation-invariant) or robust-laplacian-1.1 (that package's, which depends on where the cloud sits; for comparisons).")
    var cloudNormals: PointCloudNormals = .centroid
    @Option(help: "Solver: automatic, dense or slicing.") var method: EigenMethod = .automatic
    @Option(help: "Target relative residual.") var tolerance: Double = 1e-9
    @Option(help: "Normalisation of eigenvectors.npy: none (M-orthonormal) or range (divide by max − min).")
    var normalize: EigenNormalization = .none
    @Flag(help: "Write eigenvectors.npy as float32 (<f4; half the size) — enough for fields and most shape analysis.")
    var float32 = false
    @Option(help: "Eigenpairs per spectral slice (0: automatic).") var band: Int = 0
    @Option(help: "Lanczos block size (0: automatic).") var block: Int = 0
    @Option(help: "Seed of the start vectors.") var seed: UInt64 = 0
    @Flag(help: "Neither read nor write the cache.") var noCache = false
    @Option(help: "Cache folder (default $TEXFIELD_CACHE, else ~/.cache/texfield).") var cacheDir: String?
    @Flag(help: "No progress bar and no summary.") var quiet = false

    func validate() throws {
        try OptionLimits.check("-k", k, 1...65_536)
        try OptionLimits.check("--tolerance", tolerance, 1e-15...0.1)
        try OptionLimits.check("--band", band, 0...65_536)
        try OptionLimits.check("--block", block, 0...1024)
        try OptionLimits.check("--mollify", mollify, 0...1)
        try OptionLimits.check("--neighbors", neighbors, 2...1024)
    }

    /// The mass matrix used: the one asked for, else the Laplacian's customary one.
    var massKind: MassKind { mass ?? (laplacian == .cotan ? .voronoi : .barycentric) }

    func run() throws {
        let t0 = Date()
        let (m, cloud) = try Mesh.readMeshOrPointCloud(path: mesh)
        if cloud && laplacian != .robust {
            throw CommandError("\(mesh) is a point cloud: it has the robust (point-cloud) Laplacian only; give --laplacian robust")
        }
        guard k <= m.vertexCount else {
            throw CommandError("-k \(k) exceeds the number of \(cloud ? "points" : "vertices") of \(mesh) (\(m.vertexCount))")
        }
        var options = EigenOptions(k: k, mass: massKind, method: method, tolerance: tolerance)
        options.laplacian = laplacian
        options.mollifyFactor = mollify
        options.band = band
        options.block = block
        options.seed = seed
        let bar = Terminal.ProgressBar(label: "eigs", enabled: !quiet)
        let basis: Eigenbasis, cached: Bool
        do {
            if cloud {  // not cached: the cache is keyed by meshes
                let ops = try PointCloudLaplacian.operators(points: m.positions, neighbors: neighbors, mollifyFactor: mollify, mass: massKind,
                                                            normals: cloudNormals)
                basis = try Eigenbasis.compute(operators: ops, options: options) { f in bar.update(f); return true }
                cached = false
            } else {
                (basis, cached) = try Eigenbasis.loadOrCompute(mesh: m, options: options, cache: noCache ? nil : EigenCache(root: cacheDir)) { f in
                    bar.update(f); return true
                }
            }
        } catch let e as SpectralError {
            bar.finish()
            throw CommandError("\(mesh): \(e.description)")
        }
        bar.finish()
        try makeOutputFolder(out)
        let n = m.vertexCount
        // summary.json is the folder's manifest: removed before the arrays are replaced and
        // written last, so a failure part-way never leaves new arrays beside an old summary.
        try? FileManager.default.removeItem(atPath: out + "/summary.json")
        try NPY.write(path: out + "/eigenvalues.npy", shape: [k], values: basis.values)
        try NPY.write(path: out + "/eigenvectors.npy", shape: [n, k], values: basis.normalizedVectors(normalize), float32: float32)
        try NPY.write(path: out + "/mass.npy", shape: [n], values: basis.mass)
        try NPY.write(path: out + "/residuals.npy", shape: [k], values: basis.residuals)
        let elapsed = Date().timeIntervalSince(t0)
        let summary = EigsSummary(
            mesh: mesh, vertices: n, k: k, mass: massKind.rawValue, laplacian: laplacian.rawValue, normalization: normalize.rawValue,
            maxResidual: basis.maxResidual, orthonormalityError: basis.orthonormalityError,
            smallestEigenvalue: basis.values.first ?? 0, largestEigenvalue: basis.values.last ?? 0,
            cached: cached, seconds: elapsed, stats: basis.stats)
        let enc = TexfieldJSON.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(summary), to: out + "/summary.json")
        if !quiet {
            print(EigsCommand.text(summary, out: out))
        }
        if basis.maxResidual > tolerance {
            Terminal.error(String(format: "warning: max residual %.2e is above the tolerance %.0e (the rounding floor for some shifts); the residuals written are the true ones", basis.maxResidual, tolerance))
        }
    }

    static func text(_ s: EigsSummary, out: String) -> String {
        var lines = [
            "mesh              \(s.mesh)",
            "vertices          \(s.vertices)",
            "eigenpairs        \(s.k)  (\(s.laplacian ?? "cotan") Laplacian, mass \(s.mass), eigenvectors.npy normalisation: \(s.normalization))",
            "eigenvalues       \(String(format: "%.10g", s.smallestEigenvalue)) … \(String(format: "%.10g", s.largestEigenvalue))",
            "max residual      \(String(format: "%.2e", s.maxResidual))",
            "orthonormality    \(String(format: "%.2e", s.orthonormalityError))  (max |ΦᵀMΦ − I|)",
            "time              \(formatSeconds(s.seconds))" + (s.cached ? "  (from cache)" : ""),
        ]
        if let st = s.stats, !s.cached {
            lines.append("solver            \(st.method)" + (st.method == "slicing"
                ? ", \(st.slices) slices, \(st.factorizations) factorisations, \(st.solves) solves" : ""))
        }
        lines.append("written           \(out)/{eigenvalues,eigenvectors,mass,residuals}.npy, summary.json")
        return lines.joined(separator: "\n")
    }
}

struct EigsSummary: Codable {
    var mesh: String
    var vertices: Int
    var k: Int
    var mass: String
    var laplacian: String?
    var normalization: String
    var maxResidual: Double
    var orthonormalityError: Double
    var smallestEigenvalue: Double
    var largestEigenvalue: Double
    var cached: Bool
    var seconds: Double
    var stats: EigenStats?
}

/// `texfield laplacian MESH -o DIR`: the operators alone, for use elsewhere.
struct LaplacianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laplacian",
        abstract: "Write a mesh's stiffness and mass matrices (cotan, intrinsic Delaunay or robust).",
        discussion: """
            Writes DIR/stiffness.npy and DIR/mass_matrix.npy, each (nnz, 3) float64 with rows \
            (i, j, value) — in Python: A = np.load(f); scipy.sparse.coo_matrix((A[:, 2], (A[:, 0].astype(int), \
            A[:, 1].astype(int)))) — and DIR/summary.json (kind, flips, build time).
            """)

    @Argument(help: "A mesh (OBJ, PLY) or a point cloud (.xyz/.txt/.pts, PLY/OBJ without faces).") var mesh: String
    @Option(name: .shortAndLong, help: "Output folder (created if missing).") var out: String
    @Option(help: "Laplacian: cotan, intrinsic-delaunay or robust.") var laplacian: LaplacianKind = .robust
    @Option(help: "Mollification of the intrinsic Laplacians (fraction of the mean edge length; 0: none).")
    var mollify: Double = LaplacianKind.defaultMollifyFactor
    @Option(help: "Mass matrix (default: voronoi for cotan, barycentric otherwise).") var mass: MassKind?
    @Option(help: "Point clouds: neighbours of each point's local triangulation.") var neighbors = PointCloudLaplacian.defaultNeighbors
    @Option(help: "Point clouds: normal estimate, centroid (translation-invariant) or robust-laplacian-1.1 (that package's, for comparisons).")
    var cloudNormals: PointCloudNormals = .centroid
    @Option(help: "Point clouds: also write the union of the local triangulations (the mesh the Laplacian is built on, before the /3) to this OBJ.")
    var triangles: String?
    @Flag(help: "No summary on stdout.") var quiet = false

    func validate() throws {
        try OptionLimits.check("--mollify", mollify, 0...1)
        try OptionLimits.check("--neighbors", neighbors, 2...1024)
    }

    func run() throws {
        let (m, cloud) = try Mesh.readMeshOrPointCloud(path: mesh)
        if cloud && laplacian != .robust {
            throw CommandError("\(mesh) is a point cloud: it has the robust (point-cloud) Laplacian only; give --laplacian robust")
        }
        let kind = mass ?? (laplacian == .cotan ? .voronoi : .barycentric)
        let t0 = Date()
        let ops: CotanOperators
        do {
            ops = cloud ? try PointCloudLaplacian.operators(points: m.positions, neighbors: neighbors, mollifyFactor: mollify, mass: kind,
                                                            normals: cloudNormals)
                : try CotanOperators(mesh: m, mass: kind, laplacian: laplacian, mollifyFactor: mollify)
        } catch let e as SpectralError {
            throw CommandError("\(mesh): \(e.description)")
        }
        let seconds = Date().timeIntervalSince(t0)
        try makeOutputFolder(out)
        try? FileManager.default.removeItem(atPath: out + "/summary.json")
        if let path = triangles {
            guard cloud else { throw CommandError("--triangles is for point clouds; \(mesh) is a mesh") }
            let tris = try PointCloudLaplacian.localTriangles(points: m.positions, neighbors: neighbors, normals: cloudNormals)
            try Mesh(positions: m.positions, triangles: tris).writeOBJ(path: path)
        }
        for (name, a) in [("stiffness", ops.stiffness), ("mass_matrix", ops.massMatrix)] {
            var rows = [Double]()
            rows.reserveCapacity(3 * a.values.count)
            for i in 0..<a.rows { for p in a.rowPointers[i]..<a.rowPointers[i + 1] { rows += [Double(i), Double(a.columnIndices[p]), a.values[p]] } }
            try NPY.write(path: out + "/\(name).npy", shape: [a.values.count, 3], values: rows)
        }
        let summary: [String: String] = [
            "mesh": mesh, "vertices": "\(m.vertexCount)", "faces": "\(m.triangleCount)", "laplacian": laplacian.rawValue,
            "mass": kind.rawValue, "mollify": "\(mollify)", "pointCloud": "\(cloud)", "cloudNormals": cloud ? cloudNormals.rawValue : "", "flips": "\(ops.flips)", "skippedFaces": "\(ops.degenerateFaces)",
            "area": "\(ops.area)", "buildSeconds": "\(seconds)",
        ]
        let enc = TexfieldJSON.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(summary), to: out + "/summary.json")
        if !quiet {
            print("\(laplacian.rawValue) Laplacian of \(mesh): \(m.vertexCount) vertices, \(ops.flips) flips, built in \(String(format: "%.3f", seconds)) s → \(out)/{stiffness,mass_matrix}.npy")
        }
    }
}
