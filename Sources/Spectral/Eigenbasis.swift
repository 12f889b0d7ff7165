import CBLASControl
import CTexfieldShim
import Foundation
import Geometry

/// How the eigenpairs are computed.
public enum EigenMethod: String, Sendable, Codable, CaseIterable {
    /// Dense for small meshes (n <= 2000, or n <= 6000 with k >= n/4), slicing otherwise.
    case automatic
    /// LAPACK on the dense matrix: exact, O(n³); up to 20,000 vertices.
    case dense
    /// Spectrum slicing: shifted LDLᵀ factorisations with inertia counts and block Lanczos.
    case slicing

    var code: Int32 { self == .automatic ? 0 : (self == .dense ? 1 : 2) }
}

/// Options of `Eigenbasis.compute`. Every field changes the result (and the cache key) except
/// `threads`, which changes only the time (spectrum slicing gives the same bits at any count; the
/// dense method's LAPACK call, on small meshes, may differ in the last bits).
public struct EigenOptions: Sendable, Codable, Equatable {
    /// Number of smallest eigenpairs, 1 <= k <= n (including the constant one of each component).
    public var k: Int
    /// The mass matrix: mixed Voronoi (libigl's default), barycentric or the full FEM mass.
    public var mass: MassKind = .voronoi
    /// Dense LAPACK, spectrum slicing, or chosen by size.
    public var method: EigenMethod = .automatic
    /// Target relative residual ‖Lφ − λMφ‖ / (|λ| ‖Mφ‖).
    public var tolerance: Double = 1e-9
    /// Eigenpairs per spectral slice (0: automatic).
    public var band: Int = 0
    /// Lanczos block size (0: automatic).
    public var block: Int = 0
    /// Seed of the Lanczos start vectors.
    public var seed: UInt64 = 0
    /// Threads for the factorisations and block solves (default: the machine's active cores, at most 8).
    public var threads: Int = EigenOptions.defaultThreads
    /// The Laplacian: cotan (the reference protocol's), intrinsic Delaunay, or robust.
    public var laplacian: LaplacianKind = .cotan
    /// Mollification of the intrinsic kinds, relative to the mean edge length.
    public var mollifyFactor: Double = LaplacianKind.defaultMollifyFactor

    /// Every option; the defaults are the reference protocol's (Voronoi mass, 1e-9).
    public init(k: Int, mass: MassKind = .voronoi, method: EigenMethod = .automatic, tolerance: Double = 1e-9,
                band: Int = 0, block: Int = 0, seed: UInt64 = 0, threads: Int = EigenOptions.defaultThreads) {
        self.k = k
        self.mass = mass
        self.method = method
        self.tolerance = tolerance
        self.band = band
        self.block = block
        self.seed = seed
        self.threads = threads
    }

    private enum CodingKeys: String, CodingKey { case k, mass, method, tolerance, band, block, seed, threads, laplacian, mollifyFactor }

    /// Decodes what `encode` wrote; keys added later (laplacian, mollifyFactor) default when absent.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        k = try c.decode(Int.self, forKey: .k)
        mass = try c.decodeIfPresent(MassKind.self, forKey: .mass) ?? .voronoi
        method = try c.decodeIfPresent(EigenMethod.self, forKey: .method) ?? .automatic
        tolerance = try c.decodeIfPresent(Double.self, forKey: .tolerance) ?? 1e-9
        band = try c.decodeIfPresent(Int.self, forKey: .band) ?? 0
        block = try c.decodeIfPresent(Int.self, forKey: .block) ?? 0
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? EigenOptions.defaultThreads
        laplacian = try c.decodeIfPresent(LaplacianKind.self, forKey: .laplacian) ?? .cotan
        mollifyFactor = try c.decodeIfPresent(Double.self, forKey: .mollifyFactor) ?? LaplacianKind.defaultMollifyFactor
    }

    /// The machine's active processor count, between 1 and 8.
    public static var defaultThreads: Int { min(8, max(1, ProcessInfo.processInfo.activeProcessorCount)) }
}

/// Solver statistics.
public struct EigenStats: Sendable, Codable, Equatable {
    /// "dense" or "slicing".
    public var method: String
    /// Shifts used (slicing).
    public var slices: Int
    /// LDLᵀ factorisations of L − σM, including re-placed shifts.
    public var factorizations: Int
    /// Right-hand sides solved with the factors.
    public var solves: Int
    /// Slices that re-covered a gap whose count did not match the inertia.
    public var repairs: Int
    /// Slices whose residuals stopped within 100× of the tolerance, on the floor rounding sets
    /// for their shift (the residuals reported are the true ones).
    public var toleranceMissed: Int
    /// Seconds in factorisations.
    public var secondsFactor: Double
    /// Seconds in triangular solves.
    public var secondsSolve: Double
    /// Seconds in M-orthogonalisation of the Krylov blocks.
    public var secondsOrthogonalize: Double
    /// Seconds in Rayleigh–Ritz projections.
    public var secondsRitz: Double
    /// Seconds in the final residual and orthonormality check.
    public var secondsCheck: Double
    /// Wall-clock seconds of the whole solve.
    public var secondsTotal: Double
    /// Thick restarts of the slices' Lanczos bases (0 in files written before they existed).
    public var restarts: Int = 0

    public init(method: String, slices: Int, factorizations: Int, solves: Int, repairs: Int, toleranceMissed: Int,
                secondsFactor: Double, secondsSolve: Double, secondsOrthogonalize: Double, secondsRitz: Double,
                secondsCheck: Double, secondsTotal: Double, restarts: Int = 0) {
        self.method = method
        self.slices = slices
        self.factorizations = factorizations
        self.solves = solves
        self.repairs = repairs
        self.toleranceMissed = toleranceMissed
        self.secondsFactor = secondsFactor
        self.secondsSolve = secondsSolve
        self.secondsOrthogonalize = secondsOrthogonalize
        self.secondsRitz = secondsRitz
        self.secondsCheck = secondsCheck
        self.secondsTotal = secondsTotal
        self.restarts = restarts
    }

    private enum CodingKeys: String, CodingKey {
        case method, slices, factorizations, solves, repairs, toleranceMissed, secondsFactor, secondsSolve,
             secondsOrthogonalize, secondsRitz, secondsCheck, secondsTotal, restarts
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(method: try c.decode(String.self, forKey: .method), slices: try c.decode(Int.self, forKey: .slices),
                  factorizations: try c.decode(Int.self, forKey: .factorizations),
                  solves: try c.decode(Int.self, forKey: .solves), repairs: try c.decode(Int.self, forKey: .repairs),
                  toleranceMissed: try c.decode(Int.self, forKey: .toleranceMissed),
                  secondsFactor: try c.decode(Double.self, forKey: .secondsFactor),
                  secondsSolve: try c.decode(Double.self, forKey: .secondsSolve),
                  secondsOrthogonalize: try c.decode(Double.self, forKey: .secondsOrthogonalize),
                  secondsRitz: try c.decode(Double.self, forKey: .secondsRitz),
                  secondsCheck: try c.decode(Double.self, forKey: .secondsCheck),
                  secondsTotal: try c.decode(Double.self, forKey: .secondsTotal),
                  restarts: try c.decodeIfPresent(Int.self, forKey: .restarts) ?? 0)
    }
}

/// The k smallest eigenpairs of `L φ = λ M φ` on a mesh.
///
/// - `values`: k eigenvalues, ascending; the first is 0 on each connected component.
/// - `vectors`: n × k, row-major (`vectors[i * k + j]` is eigenfunction j at vertex i, vertices
///   in the order of the OBJ's `v` lines), M-orthonormal. Sign convention: in each
///   eigenvector, the first entry whose magnitude is within 1e-6 (relative) of the largest is
///   positive. Inside a repeated eigenvalue the basis is one valid choice, deterministic for
///   the same input, options and machine.
/// - `mass`: the lumped mass of each vertex (row sums of M).
/// - `residuals`: ‖Lφ − λMφ‖₂ / (|λ| ‖Mφ‖₂) per pair; for eigenvalues below 1e-8 of the
///   largest computed, |λ| is replaced by the largest.
public struct Eigenbasis: Sendable, Equatable {
    /// k eigenvalues, ascending.
    public let values: [Double]
    /// n × k, row-major: `vectors[i * k + j]` is eigenfunction j at vertex i.
    public let vectors: [Double]
    /// n lumped masses (row sums of M).
    public let mass: [Double]
    /// k relative residuals.
    public let residuals: [Double]
    /// max |ΦᵀMΦ − I| over all entries.
    public let orthonormalityError: Double
    /// What the solver did (nil for pairs read from files).
    public let stats: EigenStats?

    /// Checks the sizes: k = `values.count` ≥ 1 eigenvalues and residuals, n = `mass.count` ≥ k
    /// masses, n·k vector entries; throws `SpectralError.invalidInput` naming the mismatch.
    public init(values: [Double], vectors: [Double], mass: [Double], residuals: [Double],
                orthonormalityError: Double, stats: EigenStats? = nil) throws {
        let k = values.count, n = mass.count
        guard k >= 1, n >= k else {
            throw SpectralError.invalidInput("an eigenbasis needs 1 ≤ k ≤ n, got k = \(k) eigenvalues for n = \(n) masses")
        }
        guard residuals.count == k else {
            throw SpectralError.invalidInput("\(residuals.count) residuals for \(k) eigenvalues")
        }
        guard n.multipliedReportingOverflow(by: k) == (n * k, false), vectors.count == n * k else {
            throw SpectralError.invalidInput("\(vectors.count) eigenvector entries, expected n × k = \(n) × \(k)")
        }
        self.values = values
        self.vectors = vectors
        self.mass = mass
        self.residuals = residuals
        self.orthonormalityError = orthonormalityError
        self.stats = stats
    }

    /// k, the number of eigenpairs.
    public var count: Int { values.count }
    /// n, the number of vertices.
    public var vertexCount: Int { mass.count }
    /// The largest relative residual.
    public var maxResidual: Double { residuals.max() ?? 0 }

    /// Eigenfunction `j` at every vertex.
    public func vector(_ j: Int) -> [Double] {
        let k = count
        return (0..<vertexCount).map { vectors[$0 * k + j] }
    }

    /// Computes the eigenpairs of a mesh.
    ///
    /// Thread safety: may be called from any thread. OpenBLAS's thread count is process-wide and
    /// its reductions round differently at other counts, so the solve holds texfield's BLAS lock
    /// (`tfk_blas_exclusive_begin` in CBLASControl): it waits until no single-threaded network
    /// section of this process is running, and those wait for it. Two solves run one after the other.
    /// Time: O(n³) dense, about O(k · nnz(L-factor)) slicing. Disk: slicing with a result of
    /// 64 MB or more keeps the finished slices' eigenvectors in an unlinked temporary file in
    /// `$TMPDIR` (default /tmp) while it runs, so that they are not in memory beside the later
    /// slices' work (in memory when no file can be made there).
    /// - Parameters:
    ///   - mesh: the triangle mesh; every vertex must be in a face of non-zero area.
    ///   - options: k and the solver's options.
    ///   - progress: called with the fraction done; return false to cancel
    ///     (the call then throws `SpectralError.cancelled`).
    public static func compute(mesh: Mesh, options: EigenOptions,
                               progress: (@Sendable (Double) -> Bool)? = nil) throws -> Eigenbasis {
        try checkMemory(vertices: mesh.vertexCount, k: options.k)
        let ops = try CotanOperators(mesh: mesh, mass: options.mass, laplacian: options.laplacian, mollifyFactor: options.mollifyFactor)
        return try compute(operators: ops, options: options, progress: progress)
    }

    /// The peak memory a solve of k eigenpairs on n vertices is expected to take, in bytes: the
    /// eigenvectors (n k doubles, and 5 % for the slices' vectors in flight), per vertex 1000
    /// doubles for the rest — the Krylov basis of one slice (up to ~300 columns), the extraction of
    /// its pairs, one factorisation (50-75 entries per vertex on the meshes measured), the operators
    /// and the mesh — and 64 MB for the process. Measured peaks (2026-12-07, BENCHMARKS.md) lie
    /// below it on every mesh measured: sphere 41k at k = 256 / 1023 0.29 / 0.64 GB (estimated
    /// 0.48 / 0.74), spot subdivided 3 times (187,394 vertices) 1.09 / 2.49 GB (1.97 / 3.17), spot
    /// subdivided 4 times (749,570 vertices) 4.62 / 9.86 GB (7.67 / 12.50). Since the result is
    /// spilled to a temporary file in `$TMPDIR` while the solver runs (results of 64 MB or more)
    /// the peaks are lower — spot ×3 0.74 / 1.85 GB, spot ×4 3.09 / 6.99 GB — and the estimate
    /// still covers the fallback that holds the result in memory (no room in `$TMPDIR`). The
    /// dense method (n ≤ 20000) needs 3 n² doubles instead.
    public static func estimatedPeakBytes(vertices n: Int, k: Int) -> Double {
        let nd = Double(n), kd = Double(k)
        if n <= 20_000 && 3 * k > n { return 8 * (3 * nd * nd + 3 * nd * kd) }
        return 8 * (1.05 * nd * kd + 1000 * nd) + 64e6
    }

    /// Memory this process can take: MemAvailable from /proc/meminfo (nil where unknown).
    public static func availableMemoryBytes() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Double(parts[1]) { return kb * 1024 }
        }
        return nil
    }

    /// Throws, with the figures, when a solve of k pairs on n vertices will not fit in memory.
    public static func checkMemory(vertices n: Int, k: Int) throws {
        guard let available = availableMemoryBytes() else { return }
        let need = estimatedPeakBytes(vertices: n, k: k)
        if need > available {
            throw SpectralError.invalidInput(String(format: "k = %d eigenpairs on %d vertices need about %.1f GB (%.1f GB of them the eigenvectors); %.1f GB are available. Ask fewer eigenpairs, or fit through a decimated proxy (fit --proxy N)",
                                                    k, n, need / 1e9, 8 * Double(n) * Double(k) / 1e9, available / 1e9))
        }
    }

    /// Computes the eigenpairs of prebuilt operators.
    public static func compute(operators ops: CotanOperators, options: EigenOptions,
                               progress: (@Sendable (Double) -> Bool)? = nil) throws -> Eigenbasis {
        let n = ops.vertexCount, k = options.k
        guard k >= 1 else { throw SpectralError.invalidInput("k must be at least 1, got \(k)") }
        guard k <= n else {
            throw SpectralError.invalidInput("k = \(k) exceeds the number of vertices (\(n))")
        }
        guard (1...256).contains(options.threads), options.band >= 0, options.block >= 0, options.block <= 1024 else {
            throw SpectralError.invalidInput("threads \(options.threads) (1...256), band \(options.band) (≥ 0) or block \(options.block) (0...1024) out of range")
        }
        guard options.tolerance.isFinite, options.tolerance > 0 else {
            throw SpectralError.invalidInput("tolerance must be a positive number, got \(options.tolerance)")
        }
        try checkMemory(vertices: n, k: k)
        var values = [Double](repeating: 0, count: k)
        // Not zero-filled: the solver writes every entry (or fails), and untouched pages of a large
        // allocation take no memory until the solver fills them.
        var vectors = [Double](unsafeUninitializedCapacity: n * k) { _, count in count = n * k }
        var residuals = [Double](repeating: 0, count: k)
        var st = tf_eigs_stats()
        let box = ProgressBox(progress)
        let context = Unmanaged.passRetained(box)
        defer { context.release() }
        var o = tf_eigs_options()
        o.k = Int64(k)
        o.tolerance = options.tolerance
        o.band = Int64(options.band)
        o.block = Int64(options.block)
        o.method = options.method.code
        o.threads = Int32(options.threads)
        o.seed = options.seed
        o.progress = progress == nil ? nil : { ctx, fraction in
            let box = Unmanaged<ProgressBox>.fromOpaque(ctx!).takeUnretainedValue()
            return box.callback?(fraction) == false ? 1 : 0
        }
        o.progress_context = context.toOpaque()
        // OpenBLAS's reductions depend on its thread count: the solve runs alone at the configured
        // count (it waits for the network kernels' single-threaded sections), so that the same
        // input gives the same bits whatever else the process is doing.
        tfk_blas_exclusive_begin()
        defer { tfk_blas_exclusive_end() }
        try shimCall { err, len in
            values.withUnsafeMutableBufferPointer { v in
                vectors.withUnsafeMutableBufferPointer { x in
                    residuals.withUnsafeMutableBufferPointer { r in
                        tf_eigs(ops.handle, &o, v.baseAddress, x.baseAddress, r.baseAddress, &st, err, len)
                    }
                }
            }
        }
        let stats = EigenStats(
            method: st.method == 1 ? "dense" : "slicing", slices: Int(st.slices),
            factorizations: Int(st.factorizations), solves: Int(st.solves), repairs: Int(st.repairs),
            toleranceMissed: Int(st.tolerance_missed),
            secondsFactor: st.seconds_factor, secondsSolve: st.seconds_solve,
            secondsOrthogonalize: st.seconds_orthogonalize, secondsRitz: st.seconds_ritz,
            secondsCheck: st.seconds_check, secondsTotal: st.seconds_total, restarts: Int(st.restarts))
        return try Eigenbasis(values: values, vectors: vectors, mass: ops.lumpedMass, residuals: residuals,
                          orthonormalityError: st.orthonormality_error, stats: stats)
    }

    /// Residuals and M-orthonormality error of these eigenpairs against `operators`
    /// (an independent check, e.g. of pairs loaded from disk).
    public func check(against ops: CotanOperators) throws -> (residuals: [Double], orthonormalityError: Double) {
        guard ops.vertexCount == vertexCount else {
            throw SpectralError.invalidInput("eigenbasis has \(vertexCount) vertices, operators \(ops.vertexCount)")
        }
        var res = [Double](repeating: 0, count: count)
        var ortho = 0.0
        tfk_blas_exclusive_begin()
        defer { tfk_blas_exclusive_end() }
        try shimCall { err, len in
            values.withUnsafeBufferPointer { v in
                vectors.withUnsafeBufferPointer { x in
                    res.withUnsafeMutableBufferPointer { r in
                        tf_eigs_check(ops.handle, Int64(count), v.baseAddress, x.baseAddress, r.baseAddress, &ortho, err, len)
                    }
                }
            }
        }
        return (res, ortho)
    }
}

private final class ProgressBox: @unchecked Sendable {
    let callback: (@Sendable (Double) -> Bool)?
    init(_ c: (@Sendable (Double) -> Bool)?) { callback = c }
}

/// Per-eigenfunction normalisations for downstream use.
public enum EigenNormalization: String, Sendable, Codable, CaseIterable {
    /// M-orthonormal, as computed.
    case none
    /// Each eigenfunction divided by (max − min) over the vertices: the reference protocol of
    /// Koestler et al. 2022 (intrinsic neural fields). A constant eigenfunction is left as is.
    case range
}

extension Eigenbasis {
    /// The eigenvectors (n × k row-major) under a normalisation.
    public func normalizedVectors(_ normalization: EigenNormalization) -> [Double] {
        guard normalization == .range else { return vectors }
        let n = vertexCount, k = count
        var lo = [Double](repeating: .infinity, count: k), hi = [Double](repeating: -.infinity, count: k)
        for i in 0..<n { for j in 0..<k { let x = vectors[i * k + j]; lo[j] = min(lo[j], x); hi[j] = max(hi[j], x) } }
        let scale = (0..<k).map { j -> Double in
            let r = hi[j] - lo[j]
            return r > 1e-12 * max(abs(hi[j]), abs(lo[j]), .leastNormalMagnitude) ? 1 / r : 1
        }
        var out = vectors
        for i in 0..<n { for j in 0..<k { out[i * k + j] *= scale[j] } }
        return out
    }
}
