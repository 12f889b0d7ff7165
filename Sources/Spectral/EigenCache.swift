import Support
import Foundation
import Geometry

/// An on-disk cache of eigenbases keyed by content: the mesh's positions and triangles and
/// every option that changes the result. A second request with the same key returns at once.
///
/// Layout: `<root>/<key>/` holding `eigenvalues.npy`, `eigenvectors.npy`, `mass.npy`,
/// `residuals.npy` and `meta.json`. The root is `$TEXFIELD_CACHE`, else
/// `$XDG_CACHE_HOME/texfield`, else `~/.cache/texfield`.
public struct EigenCache: Sendable {
    /// The cache folder; entries live in `root/eigs/<key>/`.
    public let root: String

    /// A cache at `root`, or at `$TEXFIELD_CACHE`, `$XDG_CACHE_HOME/texfield` or
    /// `~/.cache/texfield` when nil. Nothing is created until the first `store`.
    /// Thread safety: entries are written file by file atomically, `meta.json` last; concurrent
    /// writers of the same key write the same content.
    public init(root: String? = nil) {
        if let r = root { self.root = r; return }
        let env = ProcessInfo.processInfo.environment
        if let r = env["TEXFIELD_CACHE"], !r.isEmpty { self.root = r }
        else if let x = env["XDG_CACHE_HOME"], !x.isEmpty { self.root = x + "/texfield" }
        else { self.root = NSHomeDirectory() + "/.cache/texfield" }
    }

    /// Version of the solver's output; bump to invalidate old entries.
    static let version = 1

    /// The content key of a computation.
    public static func key(mesh: Mesh, options: EigenOptions) -> String {
        var h = FNV128()
        h.add(mesh.positions.withUnsafeBytes { Data($0) })
        h.add(mesh.triangles.withUnsafeBytes { Data($0) })
        var opts = "v\(version) k=\(options.k) mass=\(options.mass.rawValue) method=\(options.method.rawValue) tol=\(options.tolerance) band=\(options.band) block=\(options.block) seed=\(options.seed)"
        if options.laplacian != .cotan { opts += " laplacian=\(options.laplacian.rawValue) mollify=\(options.mollifyFactor)" }
        h.add(Data(opts.utf8))
        return h.hex
    }

    func directory(_ key: String) -> String { root + "/eigs/" + key }

    /// The cached eigenbasis, or nil when absent or unreadable.
    public func load(mesh: Mesh, options: EigenOptions) -> Eigenbasis? {
        let dir = directory(EigenCache.key(mesh: mesh, options: options))
        guard let values = try? NPY.read(path: dir + "/eigenvalues.npy"),
              let vectors = try? NPY.read(path: dir + "/eigenvectors.npy"),
              let mass = try? NPY.read(path: dir + "/mass.npy"),
              let residuals = try? NPY.read(path: dir + "/residuals.npy"),
              let meta = FileManager.default.contents(atPath: dir + "/meta.json"),
              let info = try? TexfieldJSON.decoder().decode(CacheMeta.self, from: meta),
              values.shape == [options.k], vectors.shape == [mesh.vertexCount, options.k],
              mass.shape == [mesh.vertexCount], residuals.shape == [options.k]
        else { return nil }
        // A poisoned or truncated entry is a miss, never a basis with NaNs in it.
        guard values.values.allSatisfy(\.isFinite), mass.values.allSatisfy({ $0.isFinite && $0 > 0 }),
              vectors.values.allSatisfy(\.isFinite), info.orthonormalityError.isFinite else { return nil }
        return try? Eigenbasis(values: values.values, vectors: vectors.values, mass: mass.values,
                               residuals: residuals.values, orthonormalityError: info.orthonormalityError,
                               stats: info.stats)
    }

    /// Stores an eigenbasis (atomically per file; meta.json last, so a partial entry is never read).
    public func store(_ basis: Eigenbasis, mesh: Mesh, options: EigenOptions) throws {
        let dir = directory(EigenCache.key(mesh: mesh, options: options))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: dir + "/meta.json")
        try NPY.write(path: dir + "/eigenvalues.npy", shape: [basis.count], values: basis.values)
        try NPY.write(path: dir + "/eigenvectors.npy", shape: [basis.vertexCount, basis.count], values: basis.vectors)
        try NPY.write(path: dir + "/mass.npy", shape: [basis.vertexCount], values: basis.mass)
        try NPY.write(path: dir + "/residuals.npy", shape: [basis.count], values: basis.residuals)
        let meta = try TexfieldJSON.encoder().encode(CacheMeta(orthonormalityError: basis.orthonormalityError, stats: basis.stats))
        try AtomicFile.write(meta, to: dir + "/meta.json")
    }
}

extension Eigenbasis {
    /// The eigenpairs of `mesh` under `options`: from `cache` when it holds them, else computed
    /// and stored there (a failed store is ignored: the cache is an optimisation). `cache` nil
    /// neither reads nor writes. Returns the basis and whether it came from the cache.
    /// Takes the solver's BLAS lock like `compute` (see there).
    public static func loadOrCompute(mesh: Mesh, options: EigenOptions, cache: EigenCache?,
                                     progress: (@Sendable (Double) -> Bool)? = nil) throws -> (basis: Eigenbasis, cached: Bool) {
        if let cache, let b = cache.load(mesh: mesh, options: options) { return (b, true) }
        let b = try compute(mesh: mesh, options: options, progress: progress)
        try? cache?.store(b, mesh: mesh, options: options)
        return (b, false)
    }
}

struct CacheMeta: Codable {
    var orthonormalityError: Double
    var stats: EigenStats?
}

/// 128-bit FNV-1a over bytes (two independent 64-bit lanes): a content key, not a security hash.
struct FNV128 {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x6c62_272e_07bb_0142
    mutating func add(_ data: Data) {
        data.withUnsafeBytes { raw in
            for byte in raw {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 &+ 0x9E37
            }
        }
        var n = UInt64(data.count)
        withUnsafeBytes(of: &n) { raw in for byte in raw { a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 } }
    }
    var hex: String { String(format: "%016llx%016llx", a, b) }
}
