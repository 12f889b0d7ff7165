import Foundation
import Geometry
import Imaging
import Neural
import Render
import Spectral
import Support

/// How a target's eigenfunctions are matched to the ones a field was trained on.
public enum TransferAlignment: String, Codable, Sendable, CaseIterable {
    /// The target's eigenfunctions as the solver returns them (range-normalised like the
    /// source's): the honest baseline — arbitrary signs, bases and order.
    case none
    /// Each target eigenfunction's sign chosen to agree (mass-weighted inner product) with the
    /// source's eigenfunction carried over by the correspondence.
    case sign
    /// A functional map: the source's eigenfunctions carried over by the correspondence,
    /// projected onto the span of the target's k + 1 eigenfunctions (the mass-weighted least
    /// squares C = Φ_Tᵀ M_T Ψ); handles signs, rotations inside eigenspaces and swaps.
    case fmap
    /// No correspondence given or computed from positions: a vertex map found by ZoomOut from the
    /// two eigenbases (started from a search over the first eigenfunctions' signs), then as `fmap`
    /// through that map. The
    /// mode for deformed targets, where closest points mean nothing.
    case zoomout
}

/// What `FieldRun.transfer` measured.
public struct TransferResult: Codable, Sendable {
    public var run: String
    public var target: String
    public var vertices: Int
    public var alignment: String
    /// The test views of the run, rendered on the target; truth from the source texture at the
    /// closest source point. Nil for a point-cloud target (nothing to render).
    public var test: EvaluationResult?
    /// PSNR (dB) of the field's colour at every target vertex or cloud point against the source
    /// texture at the corresponding source point (the same vertex on a deformed copy, the closest
    /// source point otherwise): the one figure meshes and clouds share.
    public var pointPSNR: Double
    /// The run's own mean test PSNR on its mesh, for comparison.
    public var sourceTestPSNR: Double?
    /// Largest distance from a target vertex to the source surface, relative to the source's
    /// bounding-box diagonal (how far the two discretizations are apart).
    public var correspondenceDistance: Double
    /// The mean distance, relative to the source's bounding-box diagonal, between where the
    /// alignment's vertex map sends each target vertex and where it belongs (the same vertex for
    /// a target with the source's triangles, e.g. a deformation; the closest source point
    /// otherwise). Nil for alignments without a map of their own.
    public var mapError: Double?
    /// True when the target has the source's triangles and texture coordinates (a deformed copy):
    /// the truth then comes from its own UVs and the cameras follow its bounding box.
    public var sameConnectivity: Bool?
    public var seconds: [String: Double]
}

extension FieldRun {
    /// Evaluates this finished fit on another discretization of the same surface (`target`, a
    /// mesh): the target's eigenpairs (same Laplacian and k), aligned to the source's by
    /// `alignment` through closest-point correspondence; the run's test cameras rendered on the
    /// target; metrics against the source texture carried to the target. Writes
    /// `transfer.json` and the first four views (truth, prediction) into `output` when given.
    /// `correspondence`: for each target vertex, the source vertex it corresponds to (e.g. a
    /// dataset's ground-truth map); it replaces the closest points in the alignment (the truth of
    /// the rendered views still comes from the closest source point). `zoomOutSize`: the basis size
    /// ZoomOut ends at (`.zoomout`; at most k + 1); `zoomOutMapFile`: where ZoomOut's map is kept
    /// and, when present with the right length, read instead of recomputed; `zoomOutPoints`: move
    /// each target vertex from its matched source vertex to the nearest point (in the spectral
    /// embedding) of the triangles around it (`ZoomOut.pointMap`). A point-cloud TARGET
    /// (.xyz, or PLY/OBJ without faces) gets the robust point-cloud Laplacian and only the
    /// point metric (no views; no zoomout, which needs triangles to check orientation).
    public func transfer(to targetPath: String, alignment: TransferAlignment, output: String? = nil,
                         correspondence: [Int]? = nil, cache: EigenCache? = EigenCache(),
                         zoomOutSize: Int = 256, zoomOutMapFile: String? = nil, zoomOutPoints: Bool = false) throws -> TransferResult {
        var seconds = [String: Double]()
        var t0 = Date()
        let (surface, c, _) = try self.surface()
        guard let texture = surface.texture else {
            throw FieldError.invalid("\(directory): transfer needs a fit to a texture (this one was fitted to photographs)")
        }
        guard c.proxyVertices == nil else { throw FieldError.invalid("\(directory): transfer of a fit through a proxy is not supported") }
        let source = surface.mesh
        let (target, cloud) = try Mesh.readMeshOrPointCloud(path: targetPath)
        if cloud && alignment == .zoomout {
            throw FieldError.invalid("\(targetPath): --align zoomout needs a mesh (it checks the map's orientation on triangles); use fmap for clouds")
        }
        let sourceBVH = try BVH(source)
        let (lo, hi) = source.boundingBox
        let diagonal = ((hi - lo) * (hi - lo)).sum().squareRoot()
        let deformed = target.triangles == source.triangles && target.hasTexcoords && target.cornerTexcoords == source.cornerTexcoords

        // The correspondence: every target vertex's closest point on the source, or the given map.
        let closest = sourceBVH.closestPoints(target.positions)
        var map = try correspondence.map { try Self.vertexMap($0, source: source, target: target) } ?? closest
        let distance = closest.distances.reduce(0) { max($0, Double($1)) } / max(diagonal, 1e-300)
        let n = target.vertexCount, k = surface.data.k
        var phi = [Float](), mapError: Double? = nil, foundMap: [Int32]? = nil
        if c.encoding.usesEigenfunctions {
            guard c.eigenfunctions + 1 <= n else { throw FieldError.tooManyEigenfunctions(requested: c.eigenfunctions, vertices: n) }
            var options = EigenOptions(k: c.eigenfunctions + 1)
            if let kind = c.laplacian, kind != .cotan { options.laplacian = kind; options.mass = .barycentric }
            let basis: Eigenbasis
            if cloud {
                var o = options
                o.laplacian = .robust; o.mass = .barycentric
                basis = try Self.cloudBasis(path: targetPath, points: target.positions, options: o)
            } else {
                basis = try Eigenbasis.loadOrCompute(mesh: target, options: options, cache: cache).0
            }
            seconds["eigenfunctions"] = Date().timeIntervalSince(t0)
            t0 = Date()
            if alignment == .zoomout {
                let cached = zoomOutMapFile.flatMap { try? InputFile.readText($0) }
                    .map { $0.split(whereSeparator: \.isNewline).compactMap { Int32($0) } }
                let (sourceBasis, _) = try Eigenbasis.loadOrCompute(mesh: source, options: options, cache: cache)
                let size = min(options.k, zoomOutSize)
                if let m = cached, m.count == n, m.allSatisfy({ (0..<Int32(source.vertexCount)).contains($0) }) {
                    foundMap = m
                } else {
                    foundMap = try ZoomOut.map(source: sourceBasis, target: basis, sourceMesh: source, targetMesh: target, end: size).map
                    if let f = zoomOutMapFile { try AtomicFile.write(Data(foundMap!.map { "\($0)\n" }.joined().utf8), to: f) }
                }
                // Vertex to vertex, or (zoomOutPoints) on to points of the source's triangles.
                let points: (faces: [Int32], weights: [Float])
                if zoomOutPoints {
                    points = ZoomOut.pointMap(foundMap!, size: size, source: sourceBasis, target: basis, sourceMesh: source)
                } else {
                    let v = try Self.vertexMap(foundMap!.map { Int($0) }, source: source, target: target)
                    points = (v.faces, v.weights)
                }
                map = (points.faces, points.weights, [Float](repeating: 0, count: n))
                var err = 0.0
                for i in 0..<n {
                    var truth = SIMD3<Double>(0, 0, 0), found = SIMD3<Double>(0, 0, 0)
                    if deformed {
                        truth = source.position(i)
                    } else {
                        let f = Int(closest.faces[i])
                        for corner in 0..<3 where f >= 0 {
                            truth += Double(closest.weights[3 * i + corner]) * source.position(Int(source.triangles[3 * f + corner]))
                        }
                    }
                    let f = Int(points.faces[i])
                    for corner in 0..<3 where f >= 0 {
                        found += Double(points.weights[3 * i + corner]) * source.position(Int(source.triangles[3 * f + corner]))
                    }
                    let d = found - truth
                    err += (d * d).sum().squareRoot()
                }
                mapError = err / Double(max(n, 1)) / max(diagonal, 1e-300)
                seconds["zoomout"] = Date().timeIntervalSince(t0)
                t0 = Date()
            }
            // Ψ: the source's field inputs (range-normalised, selected) at the mapped points.
            var psi = [Double](repeating: 0, count: n * k)
            let sp = surface.data.phi
            for i in 0..<n {
                let f = Int(map.faces[i])
                guard f >= 0 else { continue }
                for corner in 0..<3 {
                    let v = Int(source.triangles[3 * f + corner]), w = Double(map.weights[3 * i + corner])
                    for j in 0..<k { psi[i * k + j] += w * Double(sp[v * k + j]) }
                }
            }
            if c.encoding == .projector {
                // Basis-invariant: no alignment of the eigenfunctions, only the landmarks carried
                // over (the same vertex on a deformed copy; through ZoomOut's map with zoomout; the
                // closest target vertex otherwise).
                phi = ProjectorFeatures.table(basis: basis, selected: c.selectedEigenfunctions,
                                              landmarks: ProjectorFeatures.landmarks(source).map { q in
                                                  if deformed && foundMap == nil { return q }
                                                  let x = source.position(q)
                                                  var best = 0, bestD = Double.infinity
                                                  for i in 0..<n {
                                                      let p = foundMap.map { source.position(Int($0[i])) } ?? target.position(i)
                                                      let d = ((p - x) * (p - x)).sum()
                                                      if d < bestD { bestD = d; best = i }
                                                  }
                                                  return best
                                              })
            } else {
                phi = alignedInputs(basis: basis, selected: c.selectedEigenfunctions, psi: psi,
                                    alignment: alignment == .zoomout ? .fmap : alignment)
            }
        }
        let data = SurfaceData(vertexCount: n, k: c.encoding.usesEigenfunctions ? k : 0, phi: phi, lambda: surface.data.lambda,
                               positions: SurfaceData.unitCubePositions(target),
                               normals: c.viewDependent == true ? SurfaceData.vertexNormals(target) : [])
        let model = FieldModel(configuration: c, surface: data)
        try FieldCheckpoint.loadModel(model, from: modelFile)
        seconds["alignment"] = Date().timeIntervalSince(t0)
        t0 = Date()

        // The point metric: the field at every target vertex / cloud point against the source
        // texture at its source point.
        let border: BorderMode = surface.border == .wrap ? .wrap : .clamp
        // The source texture at a source point (face f, barycentric weights w[3 q ..< 3 q + 3]).
        func sourceColor(_ f: Int, _ w: [Float], _ q: Int, _ px: inout [Float]) {
            var u = 0.0, v = 0.0
            for corner in 0..<3 {
                let t = Int(source.cornerTexcoords[3 * f + corner]), x = Double(w[3 * q + corner])
                u += x * source.texcoords[2 * t]; v += x * source.texcoords[2 * t + 1]
            }
            texture.sampleBilinear(u: u, v: v, border: border, into: &px)
        }
        var pointPSNR = 0.0
        do {
            var pts = SurfacePoints()
            for i in 0..<n { pts.vertices += [Int32(i), Int32(i), Int32(i)]; pts.weights += [1, 0, 0] }
            let colors = model.predict(pts)
            let at = deformed ? sourceBVH.closestPoints(source.positions) : closest
            var se = 0.0, count = 0
            var px = [Float](repeating: 0, count: 3)
            for i in 0..<n {
                let f = Int(at.faces[i])
                guard f >= 0 else { continue }
                sourceColor(f, at.weights, i, &px)
                for ch in 0..<3 { let d = Double(colors[3 * i + ch] - px[ch]); se += d * d }
                count += 3
            }
            pointPSNR = 10 * log10(1 / max(se / Double(max(count, 1)), 1e-20))
        }

        var result: EvaluationResult? = nil, predictions = [Image](), views = [RenderedView]()
        if !cloud {
            views = try targetViews(target: target, source: source, sourceBVH: sourceBVH, deformed: deformed, color: sourceColor)
            (result, predictions) = try Evaluation.evaluate(model, views: views, mesh: target)
        }
        seconds["evaluation"] = Date().timeIntervalSince(t0)
        let own = try? TexfieldJSON.decoder().decode(FitMetrics.self, from: InputFile.read(metricsFile))
        let out = TransferResult(run: directory, target: targetPath, vertices: n, alignment: alignment.rawValue, test: result, pointPSNR: pointPSNR,
                                 sourceTestPSNR: own?.test.meanPSNR, correspondenceDistance: distance, mapError: mapError,
                                 sameConnectivity: deformed, seconds: seconds)
        if let output {
            try FileManager.default.createDirectory(atPath: output + "/views", withIntermediateDirectories: true)
            for (i, v) in views.prefix(4).enumerated() where i < predictions.count {
                try v.truth.writePNG(path: output + "/views/truth_\(String(format: "%02d", i)).png")
                try predictions[i].writePNG(path: output + "/views/prediction_\(String(format: "%02d", i)).png")
            }
            let enc = TexfieldJSON.encoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let foundMap {  // ZoomOut's vertex map: for each target vertex its source vertex, one per line
                try AtomicFile.write(Data(foundMap.map { "\($0)\n" }.joined().utf8), to: output + "/zoomout_map.txt")
            }
            try AtomicFile.write(try enc.encode(out), to: output + "/transfer.json")
        }
        return out
    }

    /// The run's test cameras rendered on `target`, each with its truth: the source texture at the
    /// closest source point, or, on a deformed copy, at its own UVs, with the cameras moved and
    /// scaled with its bounding box (centre and diagonal). `color(face, weights, q, &rgb)` reads the
    /// source texture at a source point.
    private func targetViews(target: Mesh, source: Mesh, sourceBVH: BVH, deformed: Bool,
                             color sourceColor: (Int, [Float], Int, inout [Float]) -> Void) throws -> [RenderedView] {
        let (lo, hi) = source.boundingBox
        let diagonal = ((hi - lo) * (hi - lo)).sum().squareRoot()
        var views = [RenderedView]()
        var cameras = try CameraFile.read(path: camerasFile).test
        if deformed {
            let (tlo, thi) = target.boundingBox
            let tc = (tlo + thi) / 2, sc = (lo + hi) / 2
            let scale = ((thi - tlo) * (thi - tlo)).sum().squareRoot() / max(diagonal, 1e-300)
            for j in cameras.indices {
                let p = SIMD3(cameras[j].center[0], cameras[j].center[1], cameras[j].center[2])
                let q = tc + (p - sc) * scale
                cameras[j].center = [q.x, q.y, q.z]
            }
        }
        let targetBVH = try BVH(target)
        for cam in cameras {
            let g = RayCaster.gbuffer(targetBVH, camera: cam)
            var pts = [Double](), pixels = [Int](), own = (faces: [Int32](), weights: [Float]())
            g.forEachHit { i, f, b0, b1, b2 in
                var p = SIMD3<Double>(0, 0, 0)
                for (corner, w) in [b0, b1, b2].enumerated() { p += Double(w) * target.position(Int(target.triangles[3 * f + corner])) }
                pts += [p.x, p.y, p.z]; pixels.append(i)
                own.faces.append(Int32(f)); own.weights += [b0, b1, b2]
            }
            // A deformed copy has the source's faces and UVs: the hit itself is the source point.
            let hit: (faces: [Int32], weights: [Float]) = deformed ? own : { let h = sourceBVH.closestPoints(pts); return (h.faces, h.weights) }()
            var truth = Image(width: g.width, height: g.height, channels: 3, fill: 1)
            var px = [Float](repeating: 0, count: 3)
            for (q, i) in pixels.enumerated() {
                let f = Int(hit.faces[q])
                guard f >= 0 else { continue }
                sourceColor(f, hit.weights, q, &px)
                for ch in 0..<3 { truth.pixels[3 * i + ch] = px[ch] }
            }
            views.append(RenderedView(camera: cam, gbuffer: g, truth: truth))
        }
        return views
    }

    /// Point-cloud eigenbases are not in the mesh cache; the last one is kept here for the life of
    /// the process (an experiment transfers many runs to one cloud), keyed by path and options.
    /// Only one: a 100k-point basis at k = 1024 is 0.8 GB.
    private static let cloudCache = CloudBasisCache()

    static func cloudBasis(path: String, points: [Double], options: EigenOptions) throws -> Eigenbasis {
        let key = "\(path)|\(points.count)|\(options.k)"
        if let b = cloudCache.get(key) { return b }
        let ops = try PointCloudLaplacian.operators(points: points, mollifyFactor: options.mollifyFactor)
        let b = try Eigenbasis.compute(operators: ops, options: options)
        cloudCache.set(key, b)
        return b
    }

    /// The field's inputs on the target (n × k, Float) from its eigenbasis and Ψ, the source's
    /// inputs carried over (n × k).
    func alignedInputs(basis: Eigenbasis, selected: [Int], psi: [Double], alignment: TransferAlignment) -> [Float] {
        let n = basis.vectors.count / basis.count, kk = basis.count, k = selected.count
        var out = [Float](repeating: 0, count: n * k)
        switch alignment {
        case .none, .sign:
            let scaled = basis.normalizedVectors(.range)
            for i in 0..<n { for (j, e) in selected.enumerated() { out[i * k + j] = Float(scaled[i * kk + e + 1]) } }
            if alignment == .sign {
                for j in 0..<k {
                    var dot = 0.0
                    for i in 0..<n { dot += basis.mass[i] * Double(out[i * k + j]) * psi[i * k + j] }
                    if dot < 0 { for i in 0..<n { out[i * k + j] = -out[i * k + j] } }
                }
            }
        case .fmap, .zoomout:
            // A = Φᵀ M Ψ ((k + 1) × k), then Φ A: Ψ projected onto the target's eigenfunctions.
            var mpsi = psi
            for i in 0..<n { for j in 0..<k { mpsi[i * k + j] *= basis.mass[i] } }
            var a = [Double](repeating: 0, count: kk * k)
            var projected = [Double](repeating: 0, count: n * k)
            basis.vectors.withUnsafeBufferPointer { v in
                mpsi.withUnsafeBufferPointer { mp in
                    a.withUnsafeMutableBufferPointer { ap in
                        Double.gemm(transA: true, transB: false, m: kk, n: k, k: n, alpha: 1, a: v.baseAddress!, lda: kk,
                                    b: mp.baseAddress!, ldb: k, beta: 0, c: ap.baseAddress!, ldc: k)
                    }
                }
                a.withUnsafeBufferPointer { ap in
                    projected.withUnsafeMutableBufferPointer { pp in
                        Double.gemm(transA: false, transB: false, m: n, n: k, k: kk, alpha: 1, a: v.baseAddress!, lda: kk,
                                    b: ap.baseAddress!, ldb: k, beta: 0, c: pp.baseAddress!, ldc: k)
                    }
                }
            }
            for i in out.indices { out[i] = Float(projected[i]) }
        }
        return out
    }
}

extension FieldRun {
    /// A given vertex correspondence (target vertex i ↦ source vertex corr[i]) in the form of
    /// `BVH.closestPoints`: a face holding the source vertex, weight 1 on its corner, the distance.
    static func vertexMap(_ corr: [Int], source: Mesh, target: Mesh) throws -> (faces: [Int32], weights: [Float], distances: [Float]) {
        guard corr.count == target.vertexCount else {
            throw FieldError.invalid("correspondence: \(corr.count) entries for \(target.vertexCount) target vertices")
        }
        var faceOf = [Int32](repeating: -1, count: source.vertexCount), cornerOf = [Int](repeating: 0, count: source.vertexCount)
        for f in 0..<source.triangleCount { for c in 0..<3 where faceOf[Int(source.triangles[3 * f + c])] < 0 {
            faceOf[Int(source.triangles[3 * f + c])] = Int32(f); cornerOf[Int(source.triangles[3 * f + c])] = c
        } }
        var faces = [Int32](repeating: -1, count: corr.count), weights = [Float](repeating: 0, count: 3 * corr.count)
        var distances = [Float](repeating: 0, count: corr.count)
        for (i, v) in corr.enumerated() {
            guard (0..<source.vertexCount).contains(v), faceOf[v] >= 0 else {
                throw FieldError.invalid("correspondence: entry \(i) is source vertex \(v), outside 0..<\(source.vertexCount) or in no face")
            }
            faces[i] = faceOf[v]
            weights[3 * i + cornerOf[v]] = 1
            let d = target.position(i) - source.position(v)
            distances[i] = Float((d * d).sum().squareRoot())
        }
        return (faces, weights, distances)
    }

    /// `frames` views of the finished fit orbiting the object about the y axis at `elevation`
    /// degrees (the protocol's camera distance and field of view), each the ground truth beside the
    /// prediction, for slides and videos. Frame i looks from azimuth 360° · i / frames.
    public func turntable(frames: Int, size: Int = 512, elevation: Double = 20) throws -> [Image] {
        guard (1...3600).contains(frames), (8...4096).contains(size), elevation.isFinite, abs(elevation) <= 90 else {
            throw FieldError.invalid("turntable: \(frames) frames (1...3600) of \(size)² pixels (8...4096) at elevation \(elevation)° (−90...90)")
        }
        let (surface, c, _) = try self.surface()
        guard let texture = surface.texture else { throw FieldError.invalid("\(directory): a turntable needs a fit to a texture") }
        let model = try model(on: surface, configuration: c)
        let e = elevation * Double.pi / 180
        let directions = (0..<frames).map { i -> SIMD3<Double> in
            let a = 2 * Double.pi * Double(i) / Double(frames)
            return SIMD3(cos(e) * sin(a), sin(e), cos(e) * cos(a))
        }
        let bvh = try BVH(surface.mesh)
        let border: BorderMode = surface.border == .wrap ? .wrap : .clamp
        return try ViewSet.cameras(for: surface.mesh, directions: directions, width: size, height: size).map { cam in
            let g = RayCaster.gbuffer(bvh, camera: cam)
            let truth = try RayCaster.texturedImage(g, mesh: surface.mesh, texture: texture, border: border)
            let view = RenderedView(camera: cam, gbuffer: g, truth: truth)
            return Compositing.sideBySide([truth, Evaluation.predictedImage(model, view: view, mesh: surface.mesh, surface: surface)])
        }
    }
}

final class CloudBasisCache: @unchecked Sendable {
    private var store = [String: Eigenbasis]()
    private let lock = NSLock()
    func get(_ k: String) -> Eigenbasis? { lock.lock(); defer { lock.unlock() }; return store[k] }
    func set(_ k: String, _ b: Eigenbasis) { lock.lock(); defer { lock.unlock() }; store = [k: b] }
}
