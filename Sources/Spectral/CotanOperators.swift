import CTexfieldShim
import Geometry

/// The mass matrix used with the cotangent stiffness matrix.
public enum MassKind: String, Sendable, CaseIterable, Codable {
    /// Mixed-Voronoi lumped mass (libigl's default and the reference protocol's).
    case voronoi
    /// One third of each incident triangle's area, lumped.
    case barycentric
    /// The consistent (full) linear finite-element mass.
    case full

    var code: Int32 {
        switch self {
        case .voronoi: return Int32(TF_MASS_VORONOI.rawValue)
        case .barycentric: return Int32(TF_MASS_BARYCENTRIC.rawValue)
        case .full: return Int32(TF_MASS_FULL.rawValue)
        }
    }
}

/// The Laplacian's discretisation.
public enum LaplacianKind: String, Sendable, CaseIterable, Codable {
    /// The cotangent Laplacian of the mesh's own triangles (libigl's cotmatrix).
    case cotan
    /// The cotangent Laplacian of the intrinsic Delaunay triangulation: edge flips on the mesh's
    /// edge lengths, so no weight is negative. Needs an edge-manifold, consistently oriented mesh.
    case intrinsicDelaunay = "intrinsic-delaunay"
    /// Sharp & Crane's robust Laplacian (SGP 2020), robust_laplacian's `mesh_laplacian`:
    /// mollification, the intrinsic tufted cover, intrinsic Delaunay flips. Any triangle mesh:
    /// non-manifold edges and vertices, inconsistent orientation, slivers.
    case robust

    /// robust_laplacian's default mollification factor (of the mean edge length).
    public static let defaultMollifyFactor = 1e-5
}

/// Errors of the spectral module; each names the value or file at fault.
public enum SpectralError: Error, CustomStringConvertible, Equatable {
    /// Bad input: sizes, indices, k, options, zero-mass vertices; the message names the value.
    case invalidInput(String)
    /// A factorisation or LAPACK call failed.
    case numerical(String)
    /// The eigensolver did not reach the tolerance or the inertia count.
    case notConverged(String)
    /// The progress callback asked to stop.
    case cancelled
    /// An allocation failed inside the shim.
    case outOfMemory
    /// A `.npy` or cache file that could not be read or written.
    case file(path: String, message: String)
    /// A C++ exception the shim did not expect (a bug: please report it).
    case internalError(String)

    /// The message, naming the file, vertex or value at fault where there is one.
    public var description: String {
        switch self {
        case .invalidInput(let m): return m
        case .numerical(let m): return "numerical failure: \(m)"
        case .notConverged(let m): return "not converged: \(m)"
        case .cancelled: return "cancelled"
        case .outOfMemory: return "out of memory"
        case .file(let p, let m): return "\(p): \(m)"
        case .internalError(let m): return "internal error: \(m)"
        }
    }

    static func from(status: tf_status, message: String) -> SpectralError {
        switch status {
        case TF_ERR_INVALID: return .invalidInput(message)
        case TF_ERR_NUMERIC: return .numerical(message)
        case TF_ERR_NOCONV: return .notConverged(message)
        case TF_ERR_CANCELLED: return .cancelled
        case TF_ERR_NOMEM: return .outOfMemory
        default: return .internalError(message)
        }
    }
}

/// Calls a shim function with an error buffer and turns a failure into `SpectralError`.
func shimCall(_ body: (UnsafeMutablePointer<CChar>, Int) -> tf_status) throws {
    var buffer = [CChar](repeating: 0, count: 1024)
    let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    if status != TF_OK {
        let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw SpectralError.from(status: status, message: message)
    }
}

/// The cotangent Laplace–Beltrami operator of a mesh: the stiffness matrix `L` (positive
/// semi-definite, rows summing to zero, `L_ij = -(cot α_ij + cot β_ij)/2`) and a mass matrix
/// `M`, so that `L φ = λ M φ` is the discrete eigenproblem of `-Δ`.
///
/// Zero-area faces contribute to neither matrix (no NaN or Inf); their count is in
/// `degenerateFaces`.
public final class CotanOperators: @unchecked Sendable {
    let handle: OpaquePointer
    /// n, the order of both matrices.
    public let vertexCount: Int
    /// The mass matrix these operators hold.
    public let mass: MassKind

    /// Builds the operators of `mesh`.
    /// - Throws: `SpectralError.invalidInput` for an empty mesh, non-finite coordinates,
    ///   out-of-range indices, or a mesh whose faces all have zero area.
    public convenience init(mesh: Mesh, mass: MassKind = .voronoi) throws {
        try self.init(mesh: mesh, mass: mass, laplacian: .cotan)
    }

    /// Builds the operators of `mesh` with the Laplacian `laplacian`. `mollifyFactor` (the
    /// intrinsic kinds only; a fraction of the mean edge length, 0 for none) lengthens every edge
    /// by the least amount that leaves each triangle at least that far from degenerate.
    /// `scale` multiplies L and M (point clouds: 1/3, see `PointCloudLaplacian`).
    /// - Throws: `SpectralError.invalidInput` as the cotan kind does; for `intrinsicDelaunay`
    ///   also on a non-manifold edge or inconsistent orientation (naming the edge or faces).
    public init(mesh: Mesh, mass: MassKind, laplacian: LaplacianKind,
                mollifyFactor: Double = LaplacianKind.defaultMollifyFactor, scale: Double = 1) throws {
        var h: OpaquePointer? = nil
        var flipCount: Int64 = 0
        try shimCall { err, len in
            mesh.positions.withUnsafeBufferPointer { p in
                mesh.triangles.withUnsafeBufferPointer { f in
                    switch laplacian {
                    case .cotan:
                        return tf_operators_build(p.baseAddress, Int64(mesh.vertexCount), f.baseAddress,
                                                  Int64(mesh.triangleCount), mass.code, &h, err, len)
                    case .intrinsicDelaunay, .robust:
                        let kind = laplacian == .robust ? TF_LAPLACIAN_ROBUST : TF_LAPLACIAN_INTRINSIC_DELAUNAY
                        return tf_operators_build_intrinsic(p.baseAddress, Int64(mesh.vertexCount), f.baseAddress,
                                                            Int64(mesh.triangleCount), Int32(kind.rawValue), mass.code,
                                                            mollifyFactor, scale, &flipCount, &h, err, len)
                    }
                }
            }
        }
        handle = h!
        vertexCount = mesh.vertexCount
        self.mass = mass
        self.laplacian = laplacian
        flips = Int(flipCount)
    }

    /// The Laplacian these operators hold.
    public private(set) var laplacian: LaplacianKind = .cotan
    /// Edge flips made to reach the intrinsic Delaunay triangulation (0 for cotan).
    public private(set) var flips = 0

    deinit { tf_operators_free(handle) }

    /// Faces skipped because their area is zero.
    public var degenerateFaces: Int { Int(tf_operators_degenerate_faces(handle)) }
    /// Total area of the non-degenerate faces.
    public var area: Double { tf_operators_area(handle) }

    /// The stiffness matrix L (n × n, symmetric positive semi-definite).
    public var stiffness: SparseMatrix { copy(0) }
    /// The mass matrix M (n × n; diagonal for the lumped kinds).
    public var massMatrix: SparseMatrix { copy(1) }

    /// Row sums of M: the lumped mass of each vertex (the diagonal for lumped kinds).
    public var lumpedMass: [Double] {
        var out = [Double](repeating: 0, count: vertexCount)
        out.withUnsafeMutableBufferPointer { tf_operators_lumped_mass(handle, $0.baseAddress) }
        return out
    }

    private func copy(_ which: Int32) -> SparseMatrix {
        let nnz = Int(tf_operators_nnz(handle, which))
        var rowptr = [Int64](repeating: 0, count: vertexCount + 1)
        var cols = [Int32](repeating: 0, count: nnz)
        var vals = [Double](repeating: 0, count: nnz)
        _ = rowptr.withUnsafeMutableBufferPointer { r in
            cols.withUnsafeMutableBufferPointer { c in
                vals.withUnsafeMutableBufferPointer { v in
                    tf_operators_copy_csr(handle, which, r.baseAddress, c.baseAddress, v.baseAddress)
                }
            }
        }
        return SparseMatrix(rows: vertexCount, columns: vertexCount, rowPointers: rowptr.map { Int($0) },
                            columnIndices: cols, values: vals)
    }
}

extension CotanOperators {
    /// Self-test of the blocked LDLᵀ solve against Eigen's column-by-column reference on
    /// `L − σM`: the largest difference relative to the largest entry, and the number of
    /// eigenvalues below σ (from the inertia of the factorisation).
    public func selfTestBlockSolve(shift sigma: Double, rightHandSides: Int = 13, seed: UInt64 = 7) throws
        -> (maxRelativeDifference: Double, eigenvaluesBelowShift: Int) {
        var diff = 0.0
        var neg: Int64 = 0
        try shimCall { err, len in
            tf_selftest_block_solve(handle, sigma, Int32(rightHandSides), seed, &diff, &neg, err, len)
        }
        return (diff, Int(neg))
    }
}

/// Self-test of the solve pace (how a block solve of 8 columns is run: split across threads,
/// or on one thread when the split measured slower, as beside a busy process): `calls` solves
/// whose split costs `splitCost` and whose one-thread solve costs `serialCost`; returns how
/// many ran on one thread.
public func selfTestSolvePace(splitCost: Double, serialCost: Double, calls: Int) throws -> Int {
    guard (0...1_000_000).contains(calls) else {
        throw SpectralError.invalidInput("calls must be in 0...1000000, got \(calls)")
    }
    guard splitCost.isFinite, serialCost.isFinite, splitCost > 0, serialCost > 0 else {
        throw SpectralError.invalidInput("costs must be finite and positive, got \(splitCost) and \(serialCost)")
    }
    var serial: Int32 = 0
    try shimCall { err, len in
        tf_selftest_solve_pace(splitCost, serialCost, Int32(calls), &serial, err, len)
    }
    return Int(serial)
}

/// Self-test of the block Lanczos projection kernels (`C = Qᵀ B` and `W −= Q C` for a random
/// `n × m` basis `Q` and blocks of 8 columns, and `W U⁻¹` for an 8 × 8 upper triangular `U`)
/// against OpenBLAS: the largest differences relative to the largest entry of each result, and
/// whether this processor has the kernels (when not, both sides are OpenBLAS). Throws when the
/// kernels' bits depend on the thread count.
public func selfTestProjection(rows n: Int, columns m: Int, seed: UInt64 = 11) throws
    -> (transposedDifference: Double, updateDifference: Double, triangularDifference: Double, kernelsUsed: Bool) {
    guard (1...2_000_000).contains(n), (1...4096).contains(m), n * m <= 100_000_000 else {
        throw SpectralError.invalidInput("projection self-test needs 1 <= n <= 2000000, 1 <= m <= 4096 and n*m <= 1e8, got n = \(n), m = \(m)")
    }
    var tn = 0.0, nn = 0.0, trsm = 0.0
    var used: Int32 = 0
    try shimCall { err, len in
        tf_selftest_projection(Int64(n), Int32(m), seed, &tn, &nn, &trsm, &used, err, len)
    }
    return (tn, nn, trsm, used != 0)
}
