import Foundation
import Geometry
import Imaging
import Render
import Spectral

/// Errors of the texture-field pipeline, in the library's words (the command line adds the
/// flag that fixes each). Every case names the file or value at fault.
public enum FieldError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case noTexcoords(String)
    /// A texture was neither given nor named by the mesh's material (`mtllib` with `map_Kd`).
    case noTexture(mesh: String)
    /// k eigenfunctions need k + 1 eigenpairs, at most the vertex count.
    case tooManyEigenfunctions(requested: Int, vertices: Int)
    /// Texture coordinates outside [0, 1] under `UVBorder.error` (or too far outside under automatic).
    case uvOutside(mesh: String, what: String, excursion: Double)
    case noObjectPixels(String)
    case checkpoint(String)
    /// A resumed checkpoint was made with another configuration than the one asked for.
    case configurationChanged(path: String)
    /// A folder that is not (or not yet) a finished fit.
    case notARun(path: String, reason: String)
    /// A photograph whose alpha mask does not match the mesh's silhouette at its camera.
    case photoMismatch(path: String, iou: Double, minimum: Double)
    /// Training produced a non-finite loss at `step`; what was kept is said in the message.
    case diverged(directory: String, step: Int, loss: Double, learningRate: Double, checkpointStep: Int, bestStep: Int)
    /// A model that gives non-finite colours (corrupted or diverged weights).
    case nonFinite(String)
    /// The mesh, texture or photographs of a run changed since the fit (content hashes differ).
    case inputsChanged(run: String, files: [String])

    public var description: String {
        switch self {
        case .invalid(let s): return s
        case .noTexcoords(let p): return "\(p): the mesh has no texture coordinates (vt) on every face; a texture cannot be fitted"
        case .noTexture(let m): return "\(m): no texture given and the OBJ names none (mtllib with map_Kd)"
        case .tooManyEigenfunctions(let k, let n):
            return "k = \(k) eigenfunctions need \(k + 1) eigenpairs (the constant one is dropped), but the mesh has only \(n) vertices; at most \(max(1, n - 1)) can be used"
        case .uvOutside(let m, let what, let e):
            return "\(m): \(what), up to \(String(format: "%.3g", e)) outside; tile the texture (wrap) or repeat its edge (clamp)"
        case .noObjectPixels(let s): return "no training view sees the mesh (\(s)); is the mesh empty or degenerate?"
        case .checkpoint(let s): return s
        case .configurationChanged(let p):
            return "\(p): the checkpoint was made with another configuration (only the step and time budgets may change when resuming)"
        case .notARun(let p, let r): return "\(p): \(r)"
        case .photoMismatch(let p, let iou, let m):
            return "\(p): the photo's alpha mask and the mesh's silhouette at its camera overlap by IoU \(String(format: "%.2f", iou)) (needed \(String(format: "%.2f", m))); is the pose in another convention (OpenCV vs OpenGL axes), another scale, or for another mesh?"
        case .diverged(let d, let step, let loss, let lr, let cs, let bs):
            return "training diverged at step \(step) (loss \(loss)) with learning rate \(lr): lower the learning rate (e.g. by 4×). "
                + "Kept in \(d): the last good checkpoint (step \(cs); resume it with other budgets, or start over with a lower rate)"
                + (bs > 0 ? " and the best model so far (model.safetensors, step \(bs))" : "")
        case .nonFinite(let s): return s
        case .inputsChanged(let r, let f):
            return "\(r): \(f.joined(separator: ", ")) changed since the fit (content hash differs); the numbers would not be the fit's"
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

/// What a field reads on the surface, with no camera involved: the mesh, its texture (RGB),
/// the per-vertex eigenfunction data and the texture-coordinate border rule. Training,
/// evaluation and baking all start here; only training and evaluation add rendered views
/// (`FieldScene`).
public struct FieldSurface: Sendable {
    public let mesh: Mesh
    /// The texture as RGB; nil when the field is fitted to photographs (`PhotoSet`).
    public let texture: Image?
    /// Per-vertex inputs of the field (eigenfunctions, eigenvalues, unit-cube positions).
    public let data: SurfaceData
    /// The k eigenvalues used (the constant one dropped); empty for encodings without eigenfunctions.
    public let eigenvalues: [Double]
    /// How texture coordinates outside [0, 1] are looked up (wrap or clamp; `error` was resolved).
    public let border: UVBorder
    /// The decimated proxy whose eigenfunctions the field reads (`FieldConfiguration.proxyVertices`),
    /// and its hierarchy for closest points; nil: the mesh itself.
    public let proxy: Mesh?
    let proxyBVH: BVH?
    /// Seconds spent on the eigenfunctions (and the proxy).
    public var seconds: Double
    /// Things the user should hear about (e.g. texture coordinates clamped).
    public var warnings: [String] = []

    /// Checks the mesh's texture coordinates against `c.uvBorder` and computes (or loads from
    /// `cache`) the k + 1 smallest eigenpairs when the encoding uses them.
    public init(mesh: Mesh, texture: Image?, configuration c: FieldConfiguration, meshName: String = "mesh",
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
        if let (i, u, v) = outside.first {
            let what = "\(outside.count) texture coordinate\(outside.count == 1 ? "" : "s") outside [0, 1], the first vt line \(i + 1) = (\(u), \(v))"
            if c.uvBorder == .error || (c.uvBorder == nil && excursion > 0.1) {
                throw FieldError.uvOutside(mesh: meshName, what: what, excursion: excursion)
            }
            if c.uvBorder == nil {
                warnings.append("\(meshName): \(what), at most \(String(format: "%.3g", excursion)) outside: clamped to the texture's edge (uvBorder wrap|clamp|error chooses)")
            }
        }
        border = c.uvBorder == .wrap ? .wrap : .clamp
        try c.check()
        self.mesh = mesh
        self.texture = texture?.rgb()
        let t0 = Date()
        var fieldMesh = mesh
        if let target = c.proxyVertices, target < mesh.vertexCount {
            progress?("proxy", 0)
            fieldMesh = try mesh.decimated(toVertices: target, keepBoundary: true, keepSeams: false).0
            proxy = fieldMesh
            proxyBVH = try BVH(fieldMesh)
        } else {
            proxy = nil
            proxyBVH = nil
        }
        let n = fieldMesh.vertexCount
        var phi = [Float](), lambda = [Float](), values = [Double]()
        if c.encoding.usesEigenfunctions {
            guard c.eigenfunctions + 1 <= n else { throw FieldError.tooManyEigenfunctions(requested: c.eigenfunctions, vertices: n) }
            var options = EigenOptions(k: c.eigenfunctions + 1)
            if let kind = c.laplacian, kind != .cotan { options.laplacian = kind; options.mass = .barycentric }
            let (basis, _) = try Eigenbasis.loadOrCompute(mesh: fieldMesh, options: options, cache: cache) { f in
                progress?("eigenfunctions", f); return true
            }
            let kk = basis.count, chosen = c.selectedEigenfunctions, k = chosen.count
            if c.encoding == .projector {
                phi = ProjectorFeatures.table(basis: basis, selected: chosen, landmarks: ProjectorFeatures.landmarks(fieldMesh))
            } else {
                let scaled = basis.normalizedVectors(.range)
                phi = [Float](repeating: 0, count: n * k)
                for i in 0..<n { for (j, e) in chosen.enumerated() { phi[i * k + j] = Float(scaled[i * kk + e + 1]) } }
            }
            let all = Array(basis.values[1...])
            // λ normalised by the largest computed, so that bands keep their place in the spectrum.
            let top = max(all.last ?? 1, 1e-300)
            values = chosen.map { all[$0] }
            lambda = values.map { Float($0 / top) }
        }
        eigenvalues = values
        data = SurfaceData(vertexCount: n, k: c.encoding.usesEigenfunctions ? c.selectedEigenfunctions.count : 0, phi: phi, lambda: lambda,
                           positions: SurfaceData.unitCubePositions(fieldMesh),
                           normals: c.viewDependent == true ? SurfaceData.vertexNormals(fieldMesh) : [])
        seconds = Date().timeIntervalSince(t0)
        self.warnings = warnings
    }
}

extension FieldSurface {
    /// Points on the mesh (its triangles' vertices and weights) as the field reads them: the
    /// same points, or, with a proxy, their closest points on the proxy (its triangles). Viewing
    /// directions are kept.
    public func fieldPoints(_ pts: SurfacePoints) -> SurfacePoints {
        guard let proxy, let bvh = proxyBVH else { return pts }
        var q = [Double](repeating: 0, count: 3 * pts.count)
        for i in 0..<pts.count {
            var p = SIMD3<Double>(0, 0, 0)
            for k in 0..<3 { p += Double(pts.weights[3 * i + k]) * mesh.position(Int(pts.vertices[3 * i + k])) }
            q[3 * i] = p.x; q[3 * i + 1] = p.y; q[3 * i + 2] = p.z
        }
        let (faces, weights, _) = bvh.closestPoints(q)
        var out = SurfacePoints()
        out.vertices.reserveCapacity(3 * pts.count); out.weights.reserveCapacity(3 * pts.count)
        for i in 0..<pts.count {
            let f = max(0, Int(faces[i]))
            out.append(proxy.triangles[3 * f], proxy.triangles[3 * f + 1], proxy.triangles[3 * f + 2],
                       faces[i] < 0 ? 1 : weights[3 * i], faces[i] < 0 ? 0 : weights[3 * i + 1], faces[i] < 0 ? 0 : weights[3 * i + 2])
        }
        out.directions = pts.directions
        return out
    }
}

/// A `FieldSurface` and the protocol's rendered views (training, validation, test): what training
/// and evaluation read.
public struct FieldScene: Sendable {
    public let fieldSurface: FieldSurface
    public let views: ProtocolViews
    public let train: [RenderedView]
    public let validation: [RenderedView]
    public let test: [RenderedView]
    /// Seconds per stage: eigenfunctions, render.
    public var timings: [String: Double] = [:]

    public var mesh: Mesh { fieldSurface.mesh }
    public var texture: Image? { fieldSurface.texture }
    public var surface: SurfaceData { fieldSurface.data }
    public var eigenvalues: [Double] { fieldSurface.eigenvalues }
    public var warnings: [String] { fieldSurface.warnings }

    /// Renders `cameras`, or else the views of configuration `c` (seeded camera placement, image
    /// size, view counts), of `surface`. Throws when no training view sees the mesh.
    public init(surface: FieldSurface, configuration c: FieldConfiguration, meshName: String = "mesh",
                cameras: ProtocolViews? = nil) throws {
        fieldSurface = surface
        let t0 = Date()
        let mesh = surface.mesh, border = surface.border
        guard let tex = surface.texture else { throw FieldError.invalid("\(meshName): no texture to render views from (use the photographs' scene)") }
        views = cameras ?? ProtocolViews(mesh: mesh, seed: c.seed, width: c.imageSize, height: c.imageSize,
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
        timings = ["eigenfunctions": surface.seconds, "render": Date().timeIntervalSince(t0)]
        guard train.contains(where: { $0.gbuffer.hitCount > 0 }) else { throw FieldError.noObjectPixels(meshName) }
    }

    /// Photographs as the views: each photo's camera is cast against the mesh; the object pixels
    /// are those the mesh covers and, when the photo has an alpha channel, that the photo marks
    /// (alpha > 0.5). The ground truth is the photo there, white elsewhere. A photo whose alpha and
    /// the mesh's silhouette overlap by less than `minimumIoU` (intersection over union) is refused:
    /// its pose is likely in another convention or scale.
    public init(surface: FieldSurface, photos: PhotoSet, meshName: String = "mesh", minimumIoU: Double = 0.5) throws {
        fieldSurface = surface
        let t0 = Date()
        views = photos.cameras
        let bvh = try BVH(surface.mesh)
        var sets: [String: [RenderedView]] = ["train": [], "validation": [], "test": []]
        for p in photos.photos {
            var g = RayCaster.gbuffer(bvh, camera: p.camera)
            if let alpha = p.alpha {
                var both = 0, either = 0
                for i in 0..<(g.width * g.height) {
                    let hit = g.face[i] >= 0
                    if hit && alpha[i] { both += 1 }
                    if hit || alpha[i] { either += 1 }
                }
                let iou = either == 0 ? 0 : Double(both) / Double(either)
                guard iou >= minimumIoU else { throw FieldError.photoMismatch(path: p.path, iou: iou, minimum: minimumIoU) }
                for i in 0..<(g.width * g.height) where !alpha[i] { g.face[i] = -1 }
            }
            var truth = Image(width: g.width, height: g.height, channels: 3, fill: 1)
            g.forEachHit { i, _, _, _, _ in for c in 0..<3 { truth.pixels[3 * i + c] = p.image.pixels[3 * i + c] } }
            sets[p.split, default: []].append(RenderedView(camera: p.camera, gbuffer: g, truth: truth))
        }
        train = sets["train"]!; validation = sets["validation"]!; test = sets["test"]!
        timings = ["eigenfunctions": surface.seconds, "render": Date().timeIntervalSince(t0)]
        guard train.contains(where: { $0.gbuffer.hitCount > 0 }) else { throw FieldError.noObjectPixels(meshName) }
    }

    /// `FieldSurface` then the views.
    public init(mesh: Mesh, texture: Image, configuration c: FieldConfiguration, meshName: String = "mesh",
                cameras: ProtocolViews? = nil, cache: EigenCache? = EigenCache(),
                progress: (@Sendable (String, Double) -> Void)? = nil) throws {
        let s = try FieldSurface(mesh: mesh, texture: texture, configuration: c, meshName: meshName, cache: cache, progress: progress)
        try self.init(surface: s, configuration: c, meshName: meshName, cameras: cameras)
    }

    /// The object pixels of `views` as surface points with their true colours.
    public func rays(_ views: [RenderedView]) -> ViewRays {
        var out = ViewRays()
        for v in views {
            let g = v.gbuffer
            g.forEachHit { i, f, b0, b1, b2 in
                out.points.append(face: f, of: mesh, b0, b1, b2, direction: v.camera.towardsCamera(pixel: i))
                out.colors += [v.truth.pixels[3 * i], v.truth.pixels[3 * i + 1], v.truth.pixels[3 * i + 2]]
            }
        }
        out.points = fieldSurface.fieldPoints(out.points)
        return out
    }
}
