import Support
import ArgumentParser
import Foundation
import Geometry
import Spectral

extension MassKind: ExpressibleByArgument {}
extension EigenMethod: ExpressibleByArgument {}
extension EigenNormalization: ExpressibleByArgument {}

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

    @Argument(help: "An OBJ file.") var mesh: String
    @Option(name: .shortAndLong, help: "Number of eigenpairs.") var k: Int
    @Option(name: .long, help: "Output folder (created if missing).") var out: String
    @Option(help: "Mass matrix: voronoi, barycentric or full.") var mass: MassKind = .voronoi
    @Option(help: "Solver: automatic, dense or slicing.") var method: EigenMethod = .automatic
    @Option(help: "Target relative residual.") var tolerance: Double = 1e-9
    @Option(help: "Normalisation of eigenvectors.npy: none (M-orthonormal) or range (divide by max − min).")
    var normalize: EigenNormalization = .none
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
    }

    func run() throws {
        let t0 = Date()
        let m = try Mesh.readOBJ(path: mesh)
        guard k <= m.vertexCount else {
            throw CommandError("-k \(k) exceeds the number of vertices of \(mesh) (\(m.vertexCount))")
        }
        var options = EigenOptions(k: k, mass: mass, method: method, tolerance: tolerance)
        options.band = band
        options.block = block
        options.seed = seed
        let bar = Terminal.ProgressBar(label: "eigs", enabled: !quiet)
        let basis: Eigenbasis, cached: Bool
        do {
            (basis, cached) = try Eigenbasis.loadOrCompute(mesh: m, options: options, cache: noCache ? nil : EigenCache(root: cacheDir)) { f in
                bar.update(f); return true
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
        try NPY.write(path: out + "/eigenvectors.npy", shape: [n, k], values: basis.normalizedVectors(normalize))
        try NPY.write(path: out + "/mass.npy", shape: [n], values: basis.mass)
        try NPY.write(path: out + "/residuals.npy", shape: [k], values: basis.residuals)
        let elapsed = Date().timeIntervalSince(t0)
        let summary = EigsSummary(
            mesh: mesh, vertices: n, k: k, mass: mass.rawValue, normalization: normalize.rawValue,
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
            "eigenpairs        \(s.k)  (mass \(s.mass), eigenvectors.npy normalisation: \(s.normalization))",
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
    var normalization: String
    var maxResidual: Double
    var orthonormalityError: Double
    var smallestEigenvalue: Double
    var largestEigenvalue: Double
    var cached: Bool
    var seconds: Double
    var stats: EigenStats?
}
