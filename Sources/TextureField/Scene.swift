import Foundation
import Geometry
import Imaging
import Render
import Spectral

public enum FieldError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case noTexcoords(String)
    case tooManyEigenfunctions(requested: Int, vertices: Int)
    case noObjectPixels(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .noTexcoords(let p): return "\(p): the mesh has no texture coordinates (vt) on every face; a texture cannot be fitted"
        case .tooManyEigenfunctions(let k, let n):
            return "-k \(k) needs \(k + 1) eigenpairs (the constant one is dropped), but the mesh has only \(n) vertices; use -k \(max(1, n - 1)) or less"
        case .noObjectPixels(let s): return "no training view sees the mesh (\(s)); is the mesh empty or degenerate?"
        case .checkpoint(let s): return s
        }
    }
}

/// Points and ground-truth colours seen by a set of views.
public struct ViewRays: Sendable {
    public var points = SurfacePoints()
    public var colors: [Float] = []
    public var positions: [SIMD3<Float>] = []
    public var count: Int { points.count }
}

/// One rendered view: cameras, G-buffer and the ground-truth image.
public struct RenderedView: Sendable {
    public let camera: Camera
    public let gbuffer: GBuffer
    public let truth: Image
}

/// A mesh, its texture, its eigenfunctions and the protocol's rendered views: what training
/// and evaluation read.
public struct FieldScene: Sendable {
    public let mesh: Mesh
    public let texture: Image
    public let surface: SurfaceData
    public let eigenvalues: [Double]
    public let views: ProtocolViews
    public let train: [RenderedView]
    public let validation: [RenderedView]
    public let test: [RenderedView]
    public var timings: [String: Double] = [:]
    /// Things the user should hear about (e.g. texture coordinates clamped).
    public var warnings: [String] = []

    /// - Parameters: `eigenbasis` computed elsewhere (with k + 1 pairs), or nil to compute it
    ///   here (through `cache`).
    public init(mesh: Mesh, texture: Image, configuration c: FieldConfiguration, meshName: String = "mesh",
                cache: EigenCache? = EigenCache(), progress: (@Sendable (String, Double) -> Void)? = nil) throws {
        guard mesh.hasTexcoords else { throw FieldError.noTexcoords(meshName) }
        for (i, t) in mesh.texcoords.enumerated() where !t.isFinite {
            throw FieldError.invalid("\(meshName): texture coordinate \(i / 2 + 1) (the \(i / 2 + 1)th vt line) has \(i % 2 == 0 ? "u" : "v") = \(t)")
        }
        var warnings = [String]()
        var outside = [(Int, Double, Double)]()
        var excursion = 0.0
        for i in Set(mesh.cornerTexcoords).sorted() where i >= 0 {
            let u = mesh.texcoords[2 * Int(i)], v = mesh.texcoords[2 * Int(i) + 1]
            let e = max(-u, u - 1, -v, v - 1)
            if e > 1e-6 { outside.append((Int(i), u, v)); excursion = max(excursion, e) }
        }
        var border = c.uvBorder ?? .clamp
        if let (i, u, v) = outside.first {
            let what = "\(outside.count) texture coordinate\(outside.count == 1 ? "" : "s") outside [0, 1], the first vt line \(i + 1) = (\(u), \(v))"
            if c.uvBorder == .error || (c.uvBorder == nil && excursion > 0.1) {
                throw FieldError.invalid("\(meshName): \(what), up to \(String(format: "%.3g", excursion)) outside; "
                                         + "pass --uv-border wrap to tile the texture or --uv-border clamp to repeat its edge")
            }
            if c.uvBorder == nil {
                warnings.append("\(meshName): \(what), at most \(String(format: "%.3g", excursion)) outside: clamped to the texture's edge (--uv-border wrap|clamp|error to choose)")
            }
        }
        if c.uvBorder == .error { border = .clamp }
        guard c.eigenfunctions >= 1 else { throw FieldError.invalid("-k must be at least 1") }
        guard c.batch >= 1, c.imageSize >= 8, c.trainViews >= 1, c.testViews >= 1, c.validationViews >= 1 else {
            throw FieldError.invalid("batch, image size and view counts must be positive")
        }
        self.mesh = mesh
        let tex = texture.rgb()
        self.texture = tex
        var timings = [String: Double]()
        var t0 = Date()
        let n = mesh.vertexCount
        var phi = [Float](), lambda = [Float](), values = [Double]()
        if c.encoding.usesEigenfunctions {
            guard c.eigenfunctions + 1 <= n else { throw FieldError.tooManyEigenfunctions(requested: c.eigenfunctions, vertices: n) }
            let options = EigenOptions(k: c.eigenfunctions + 1)
            let basis: Eigenbasis
            if let cache, let b = cache.load(mesh: mesh, options: options) { basis = b } else {
                basis = try Eigenbasis.compute(mesh: mesh, options: options) { f in progress?("eigenfunctions", f); return true }
                try? cache?.store(basis, mesh: mesh, options: options)
            }
            let kk = basis.count, k = c.eigenfunctions
            let scaled = basis.normalizedVectors(.range)
            phi = [Float](repeating: 0, count: n * k)
            for i in 0..<n { for j in 0..<k { phi[i * k + j] = Float(scaled[i * kk + j + 1]) } }
            values = Array(basis.values[1...])
            let top = max(values.last ?? 1, 1e-300)
            lambda = values.map { Float($0 / top) }
        }
        eigenvalues = values
        surface = SurfaceData(vertexCount: n, k: c.encoding.usesEigenfunctions ? c.eigenfunctions : 0, phi: phi, lambda: lambda,
                              positions: SurfaceData.unitCubePositions(mesh))
        timings["eigenfunctions"] = Date().timeIntervalSince(t0)
        t0 = Date()
        views = ProtocolViews(mesh: mesh, seed: c.seed, width: c.imageSize, height: c.imageSize,
                              train: c.trainViews, validation: c.validationViews, test: c.testViews)
        let bvh = try BVH(mesh)
        func render(_ cams: [Camera]) throws -> [RenderedView] {
            try cams.map { cam in
                let g = RayCaster.gbuffer(bvh, camera: cam)
                return RenderedView(camera: cam, gbuffer: g, truth: try RayCaster.texturedImage(g, mesh: mesh, texture: tex,
                                                                                           border: border == .wrap ? .wrap : .clamp))
            }
        }
        train = try render(views.train)
        validation = try render(views.validation)
        test = try render(views.test)
        timings["render"] = Date().timeIntervalSince(t0)
        self.timings = timings
        self.warnings = warnings
        guard train.contains(where: { $0.gbuffer.hitCount > 0 }) else { throw FieldError.noObjectPixels(meshName) }
    }

    /// The object pixels of `views` as surface points with their true colours.
    public func rays(_ views: [RenderedView]) -> ViewRays {
        var out = ViewRays()
        for v in views {
            let g = v.gbuffer
            for i in 0..<(g.width * g.height) where g.face[i] >= 0 {
                let f = Int(g.face[i])
                out.points.append(mesh.triangles[3 * f], mesh.triangles[3 * f + 1], mesh.triangles[3 * f + 2],
                                  g.barycentric[3 * i], g.barycentric[3 * i + 1], g.barycentric[3 * i + 2])
                out.colors += [v.truth.pixels[3 * i], v.truth.pixels[3 * i + 1], v.truth.pixels[3 * i + 2]]
            }
        }
        return out
    }
}
