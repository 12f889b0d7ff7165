import Support
import Dispatch
import Foundation
import Spectral
import Geometry
import Neural

/// The learning rate over a run, as a function of the fraction f of the budget spent (the larger
/// of steps/steps and seconds/seconds): constant, or cosine from the base rate down to 1% of it.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    case constant
    case cosine

    public func factor(_ f: Double) -> Double {
        switch self {
        case .constant: return 1
        case .cosine: return Schedule.cosineFactor(progress: f, floor: 0.01)
        }
    }
}

public enum UVBorder: String, Codable, Sendable, CaseIterable { case wrap, clamp, error }

/// A range of eigenfunctions, both ends included, numbered from 0 = the first non-constant one
/// (the constant eigenfunction is always dropped).
public struct EigenBand: Codable, Sendable, Equatable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int
    public init(_ lower: Int, _ upper: Int) { self.lower = lower; self.upper = upper }
    public var count: Int { upper - lower + 1 }
    public var description: String { "\(lower)-\(upper)" }

    /// Parses "0-255,1793-2303,3840-4095" (a single number is a band of one); nil when malformed.
    public static func parse(_ text: String) -> [EigenBand]? {
        var out = [EigenBand]()
        for part in text.split(separator: ",") {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard (1...2).contains(ends.count), let a = Int(ends[0]), let b = Int(ends.last!) else { return nil }
            out.append(EigenBand(a, b))
        }
        return out.isEmpty ? nil : out
    }

    /// The bands of the intrinsic-neural-fields paper for 4096 eigenfunctions: low, middle and
    /// high frequencies, 1023 in all.
    public static let published = [EigenBand(0, 255), EigenBand(1793, 2303), EigenBand(3840, 4095)]
}

/// Everything that decides a fit; stored in DIR/config.json, and checked on --resume.
public struct FieldConfiguration: Codable, Sendable, Equatable {
    public var encoding: Encoding = .eigen
    /// Eigenfunctions computed, after dropping the constant one (all of them are used unless
    /// `bands` selects some).
    public var eigenfunctions: Int = 1023
    /// The eigenfunctions used, as bands of indices into the `eigenfunctions` computed (nil: all);
    /// e.g. `EigenBand.published` with 4096 computed.
    public var bands: [EigenBand]? = nil
    /// Adam's base rate; nil: `defaultLearningRate(seconds:steps:)` for this budget.
    public var learningRate: Double? = nil
    /// The base rate the run uses: `learningRate`, or the default for the budget.
    public var effectiveLearningRate: Double { learningRate ?? Self.defaultLearningRate(seconds: seconds, steps: steps) }
    /// The default base rate of the cosine schedule, chosen by budget on the defaults study's set
    /// (docs/results/defaults.md; spot, the demo torus, a ring, a knot and a fish, one seed):
    /// 4e-3 for a run that ends within 10,000 steps or 450 seconds, whichever comes first, 2e-3
    /// for a longer one. At 3,000 and 7,500 steps (2 and 5 minutes) 4e-3 was the best setting tried
    /// or within 0.45 dB of it on every mesh; at 15,000 steps (10 minutes, the default budget) 2e-3
    /// was the best or within 0.37 dB, while 4e-3 fell 0.57 / 0.60 dB behind on the ring. The
    /// switch point lies between the measured budgets.
    public static func defaultLearningRate(seconds: Double, steps: Int) -> Double {
        steps <= longBudgetSteps || seconds <= longBudgetSeconds ? 4e-3 : 2e-3
    }
    /// A budget longer than both of these gets the lower default rate.
    public static let longBudgetSteps = 10_000
    public static let longBudgetSeconds = 450.0
    /// How the learning rate moves over the budget.
    public var schedule: LearningRateSchedule = .cosine
    /// Linear warm-up: the rate grows from lr/warmupSteps to lr over the first `warmupSteps`
    /// steps (nil: none), then follows the schedule.
    public var warmupSteps: Int? = nil
    public var batch: Int = 4096
    /// Training stops at this many steps or after `seconds`, whichever comes first.
    public var steps: Int = 1_000_000
    public var seconds: Double = 600
    public var seed: UInt64 = 0
    public var imageSize: Int = 512
    public var trainViews: Int = 5
    public var validationViews: Int = 3
    public var testViews: Int = 20
    /// Validation loss measured every this many steps (and at the end); the best model is kept.
    public var validateEvery: Int = 500
    /// Validation rays used (a fixed random subset of the validation views' object pixels).
    public var validationRays: Int = 32_768
    public var width: Int = 128
    public var signnetHidden: Int = 8
    public var rffFeatures: Int = 510
    public var rffSigma: Double = 8
    /// Texture coordinates outside [0, 1]: `wrap` tiles the texture, `clamp` repeats its edge,
    /// `error` refuses them. nil (automatic): clamp when every coordinate lies within 0.1 of
    /// [0, 1] (the overhang UV unwrapping leaves, e.g. on spot), with a warning; an error otherwise.
    public var uvBorder: UVBorder? = nil
    /// true: the cameras were given (`FieldRun.fit(cameras:)`) and live in the run's
    /// cameras.json; nil or false: the protocol's cameras drawn from `seed`, `imageSize` and the
    /// view counts.
    public var givenCameras: Bool? = nil
    /// Side of the baked atlas when there is no input texture to take the size from (fits to
    /// photographs); nil: 1024.
    public var atlasSize: Int? = nil
    /// true: the network also sees the viewing direction (`ViewDirectionEncoding`, 16 features)
    /// — for photographs, whose colours change with the view (highlights, reflections). Training
    /// and test points take the direction towards their camera; the baked texture takes the
    /// surface normal (the colour seen head-on). nil or false: the colour depends on the point only.
    public var viewDependent: Bool? = nil
    /// The Laplacian whose eigenfunctions the field reads (nil: cotan, the published protocol's);
    /// the intrinsic kinds use the barycentric mass, as robust_laplacian.
    public var laplacian: LaplacianKind? = nil
    /// Eigenfunctions on a decimated proxy of this many vertices (QEM, boundary kept) instead of
    /// the mesh itself; every point of the mesh reads them at its closest point on the proxy.
    /// For meshes too large for their own eigenpairs. nil: the mesh itself.
    public var proxyVertices: Int? = nil

    public init() {}

    /// Checks every field's range (a configuration may come from a file someone else wrote);
    /// throws `FieldError.invalid` naming the field and its value.
    public func check() throws {
        func need(_ ok: Bool, _ field: String, _ value: Any, _ range: String) throws {
            if !ok { throw FieldError.invalid("configuration: \(field) = \(value) is outside \(range)") }
        }
        try need((1...65_536).contains(eigenfunctions), "eigenfunctions", eigenfunctions, "1...65536")
        if let b = bands {
            let ordered = !b.isEmpty && zip(b, b.dropFirst()).allSatisfy { $0.upper < $1.lower }
            try need(ordered && b.allSatisfy { 0 <= $0.lower && $0.lower <= $0.upper && $0.upper < eigenfunctions },
                     "bands", b.map(\.description).joined(separator: ","), "ascending, disjoint bands within 0...eigenfunctions − 1")
        }
        if let lr = learningRate { try need(lr.isFinite && lr > 0 && lr <= 1e6, "learningRate", lr, "(0, 1e6]") }
        try need((1...1 << 20).contains(batch), "batch", batch, "1...1048576")
        try need(steps >= 1, "steps", steps, "1...")
        if let a = atlasSize { try need((2...16384).contains(a), "atlasSize", a, "2...16384") }
        if let p = proxyVertices { try need((100...10_000_000).contains(p), "proxyVertices", p, "100...10000000") }
        if let w = warmupSteps { try need((1...10_000_000).contains(w), "warmupSteps", w, "1...10000000") }
        try need(seconds > 0 && seconds.isFinite, "seconds", seconds, "a positive finite number")
        try need((8...4096).contains(imageSize), "imageSize", imageSize, "8...4096")
        try need((1...10_000).contains(trainViews), "trainViews", trainViews, "1...10000")
        try need((1...10_000).contains(validationViews), "validationViews", validationViews, "1...10000")
        try need((1...10_000).contains(testViews), "testViews", testViews, "1...10000")
        try need(validateEvery >= 1, "validateEvery", validateEvery, "1...")
        try need((1...1 << 24).contains(validationRays), "validationRays", validationRays, "1...16777216")
        try need((1...4096).contains(width), "width", width, "1...4096")
        try need((1...64).contains(signnetHidden), "signnetHidden", signnetHidden, "1...64")
        try need((1...8192).contains(rffFeatures), "rffFeatures", rffFeatures, "1...8192")
        try need(rffSigma.isFinite && rffSigma > 0, "rffSigma", rffSigma, "a positive finite number")
    }

    /// The network's input width for this configuration: the encoding, then the viewing
    /// direction's features when `viewDependent`.
    public var inputs: Int { encodingWidth + (viewDependent == true ? ViewDirectionEncoding.dimension : 0) }

    /// The width of the point's encoding alone.
    public var encodingWidth: Int { encoding == .xyzRFF ? 3 + 2 * rffFeatures : selectedEigenfunctions.count }

    /// The indices (into the non-constant eigenfunctions computed) the network sees.
    public var selectedEigenfunctions: [Int] {
        guard let b = bands else { return Array(0..<eigenfunctions) }
        return b.flatMap { Array($0.lower...$0.upper) }
    }
}

/// The surface data a field reads: per-vertex eigenfunctions (n × k, Float, each divided by its
/// range over the vertices, the constant one dropped), normalised eigenvalues, and vertex
/// positions scaled into the unit cube (for the xyz baseline).
public struct SurfaceData: Sendable {
    public let vertexCount: Int
    public let k: Int
    public let phi: [Float]
    public let lambda: [Float]
    public let positions: [Float]
    /// Unit vertex normals (3 per vertex, area-weighted face normals), when the field is
    /// view-dependent: the direction a point is seen from when it has no camera (baking).
    public var normals: [Float] = []

    public init(vertexCount: Int, k: Int, phi: [Float], lambda: [Float], positions: [Float], normals: [Float] = []) {
        self.vertexCount = vertexCount; self.k = k; self.phi = phi; self.lambda = lambda; self.positions = positions
        self.normals = normals
    }

    /// Area-weighted unit vertex normals of a mesh (3 per vertex; zero where no face has area).
    public static func vertexNormals(_ mesh: Mesh) -> [Float] {
        var acc = [SIMD3<Double>](repeating: .zero, count: mesh.vertexCount)
        for f in 0..<mesh.triangleCount {
            let a = Int(mesh.triangles[3 * f]), b = Int(mesh.triangles[3 * f + 1]), c = Int(mesh.triangles[3 * f + 2])
            let pa = mesh.position(a), e1 = mesh.position(b) - pa, e2 = mesh.position(c) - pa
            let n = SIMD3(e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x)  // 2 × area × unit normal
            guard n.x.isFinite && n.y.isFinite && n.z.isFinite else { continue }
            acc[a] += n; acc[b] += n; acc[c] += n
        }
        var out = [Float](repeating: 0, count: 3 * mesh.vertexCount)
        for (i, v) in acc.enumerated() {
            let l = (v * v).sum().squareRoot()
            if l > 0 && l.isFinite { out[3 * i] = Float(v.x / l); out[3 * i + 1] = Float(v.y / l); out[3 * i + 2] = Float(v.z / l) }
        }
        return out
    }

    /// Unit-cube positions of a mesh: the bounding box's longest side mapped to [0, 1].
    public static func unitCubePositions(_ mesh: Mesh) -> [Float] {
        let (lo, hi) = mesh.boundingBox
        let ext = max((hi - lo).max(), 1e-12)
        var out = [Float](repeating: 0, count: 3 * mesh.vertexCount)
        for i in 0..<mesh.vertexCount {
            let q = (mesh.position(i) - lo) / ext
            out[3 * i] = Float(q.x); out[3 * i + 1] = Float(q.y); out[3 * i + 2] = Float(q.z)
        }
        return out
    }
}

/// Surface points as the G-buffers give them: a triangle's three vertices and weights.
public struct SurfacePoints: Sendable {
    public var vertices: [Int32] = []   // 3 per point
    public var weights: [Float] = []    // 3 per point
    /// Unit directions from each point towards the camera that sees it (3 per point; world
    /// axes), or empty: points seen from no camera (baking), which view-dependent fields look at
    /// along the surface normal.
    public var directions: [Float] = []
    public var count: Int { vertices.count / 3 }
    public var hasDirections: Bool { !directions.isEmpty && directions.count == vertices.count }
    public init() {}
    public mutating func append(_ a: Int32, _ b: Int32, _ c: Int32, _ wa: Float, _ wb: Float, _ wc: Float) {
        vertices += [a, b, c]; weights += [wa, wb, wc]
    }

    /// The point with barycentric weights (b0, b1, b2) on triangle `face` of `mesh`, seen along
    /// `direction` (towards the camera) when given.
    public mutating func append(face f: Int, of mesh: Mesh, _ b0: Float, _ b1: Float, _ b2: Float, direction: SIMD3<Float>? = nil) {
        append(mesh.triangles[3 * f], mesh.triangles[3 * f + 1], mesh.triangles[3 * f + 2], b0, b1, b2)
        if let d = direction { directions += [d.x, d.y, d.z] }
    }

    /// Appends point `i` of `other` (with its direction, when it has one).
    public mutating func append(point i: Int, of other: SurfacePoints) {
        vertices += other.vertices[(3 * i)..<(3 * i + 3)]
        weights += other.weights[(3 * i)..<(3 * i + 3)]
        if other.hasDirections { directions += other.directions[(3 * i)..<(3 * i + 3)] }
    }
}

/// The texture field: encoder + the reference MLP, with its optimiser state. Not thread-safe;
/// one training loop drives it.
public final class FieldModel: @unchecked Sendable {
    public let configuration: FieldConfiguration
    public let surface: SurfaceData
    public let mlp: FieldMLP
    public var phi: SignNetPhi?
    public let rff: FourierFeatures?
    public var adam: Adam
    public var phiAdam: Adam?
    let raw: UnsafeMutablePointer<Float>     // batch × k: interpolated eigenfunctions (SignNet input)
    let input: UnsafeMutablePointer<Float>   // batch × inputs: what the MLP reads
    let points: UnsafeMutablePointer<Float>  // batch × 3: unit-cube positions (xyz-rff)
    let target: UnsafeMutablePointer<Float>  // batch × 3: the true colours of a training batch
    // View-dependent fields only: the point's encoding (batch × encodingWidth) before the
    // direction features are appended, and its share of the MLP's input gradient (SignNet).
    let encoded: UnsafeMutablePointer<Float>?
    let encodedGradient: UnsafeMutablePointer<Float>?

    public init(configuration c: FieldConfiguration, surface: SurfaceData) {
        configuration = c
        self.surface = surface
        var rng = SplitMix64(seed: c.seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        mlp = FieldMLP(inputs: c.inputs, width: c.width, batch: c.batch, initializer: .xavierUniform, using: &rng)
        mlp.computesInputGradient = c.encoding.isSignNet
        adam = Adam(parameterCount: mlp.parameterCount, learningRate: c.effectiveLearningRate)
        if c.encoding.isSignNet {
            let p = SignNetPhi(hidden: c.signnetHidden, usesEigenvalue: c.encoding == .signnetLambda, using: &rng)
            phi = p
            phiAdam = Adam(parameterCount: p.parameterCount, learningRate: c.effectiveLearningRate)
        }
        rff = c.encoding == .xyzRFF ? FourierFeatures(count: c.rffFeatures, sigma: c.rffSigma, using: &rng) : nil
        raw = .allocate(capacity: c.batch * max(surface.k, 1))
        input = .allocate(capacity: c.batch * c.inputs)
        points = .allocate(capacity: c.batch * 3)
        target = .allocate(capacity: c.batch * 3)
        let vd = c.viewDependent == true
        encoded = vd ? .allocate(capacity: c.batch * c.encodingWidth) : nil
        encodedGradient = vd && c.encoding.isSignNet ? .allocate(capacity: c.batch * c.encodingWidth) : nil
    }

    deinit {
        raw.deallocate(); input.deallocate(); points.deallocate(); target.deallocate()
        encoded?.deallocate(); encodedGradient?.deallocate()
    }

    public var parameterCount: Int { mlp.parameterCount + (phi?.parameterCount ?? 0) }

    /// Fills the network input for points [start, start + rows) of `pts` in `order` (or in order
    /// when nil). `signs` (k entries of ±1) flips eigenfunctions (the sign-flip augmentation).
    func prepare(_ pts: SurfacePoints, order: [Int32]?, start: Int, rows: Int, signs: [Float]?) {
        let k = surface.k, enc = configuration.encoding
        let encodedOut = encoded ?? input
        nonisolated(unsafe) let dst = enc.isSignNet ? raw : encodedOut
        nonisolated(unsafe) let pp = points
        pts.vertices.withUnsafeBufferPointer { vb in
            pts.weights.withUnsafeBufferPointer { wb in
                surface.phi.withUnsafeBufferPointer { phib in
                    surface.positions.withUnsafeBufferPointer { posb in
                        nonisolated(unsafe) let (v, w, phi, pos) = (vb.baseAddress!, wb.baseAddress!, phib.baseAddress!, posb.baseAddress!)
                        let ord = order
                        let sg = signs
                        let chunks = max(1, min(rows / 64, 32))
                        DispatchQueue.concurrentPerform(iterations: chunks) { ch in
                            let r0 = ch * rows / chunks, r1 = (ch + 1) * rows / chunks
                            for r in r0..<r1 {
                                let i = ord.map { Int($0[start + r]) } ?? (start + r)
                                let a = Int(v[3 * i]), b = Int(v[3 * i + 1]), c = Int(v[3 * i + 2])
                                let wa = w[3 * i], wbb = w[3 * i + 1], wc = w[3 * i + 2]
                                if enc == .xyzRFF {
                                    for d in 0..<3 { pp[3 * r + d] = wa * pos[3 * a + d] + wbb * pos[3 * b + d] + wc * pos[3 * c + d] }
                                    continue
                                }
                                let row = dst + r * k, pa = phi + a * k, pb = phi + b * k, pc = phi + c * k
                                for j in 0..<k { row[j] = wa * pa[j] + wbb * pb[j] + wc * pc[j] }
                                switch enc {
                                case .abs: for j in 0..<k { row[j] = Swift.abs(row[j]) }
                                case .signflip: if let s = sg { for j in 0..<k { row[j] *= s[j] } }
                                default: break
                                }
                            }
                        }
                    }
                }
            }
        }
        if enc == .xyzRFF { rff!.encode(points, rows: rows, into: encodedOut) }
        if enc.isSignNet { phi!.forward(raw, rows: rows, k: k, lambda: surface.lambda, into: encodedOut) }
        if encoded != nil { appendDirections(pts, order: order, start: start, rows: rows) }
    }

    /// input row r = [encoded row r | the 16 direction features of its point]: the direction
    /// towards its camera, or (points without one) the interpolated vertex normal.
    private func appendDirections(_ pts: SurfacePoints, order: [Int32]?, start: Int, rows: Int) {
        let e = configuration.encodingWidth, width = configuration.inputs
        nonisolated(unsafe) let (src, dst) = (encoded!, input)
        let hasDir = pts.hasDirections, normals = surface.normals, ord = order
        pts.vertices.withUnsafeBufferPointer { vb in
            pts.weights.withUnsafeBufferPointer { wb in
                pts.directions.withUnsafeBufferPointer { db in
                    normals.withUnsafeBufferPointer { nb in
                        nonisolated(unsafe) let (v, w, d, nrm) = (vb.baseAddress!, wb.baseAddress!, db.baseAddress, nb.baseAddress)
                        let chunks = max(1, min(rows / 64, 32))
                        DispatchQueue.concurrentPerform(iterations: chunks) { ch in
                            for r in (ch * rows / chunks)..<((ch + 1) * rows / chunks) {
                                let i = ord.map { Int($0[start + r]) } ?? (start + r)
                                let row = dst + r * width
                                row.update(from: src + r * e, count: e)
                                var x: Float = 0, y: Float = 0, z: Float = 1
                                if hasDir, let d {
                                    x = d[3 * i]; y = d[3 * i + 1]; z = d[3 * i + 2]
                                } else if let nrm, normals.count == 3 * surface.vertexCount {
                                    x = 0; y = 0; z = 0
                                    for c in 0..<3 {
                                        let a = Int(v[3 * i + c]), wc = w[3 * i + c]
                                        x += wc * nrm[3 * a]; y += wc * nrm[3 * a + 1]; z += wc * nrm[3 * a + 2]
                                    }
                                }
                                ViewDirectionEncoding.encode(x, y, z, into: row + e)
                            }
                        }
                    }
                }
            }
        }
    }

    /// One Adam step on points [start, start + rows) of `order`; returns (mean L1, mean squared error).
    public func trainStep(_ pts: SurfacePoints, colors: [Float], order: [Int32], start: Int, rows: Int,
                          signs: [Float]?) -> (l1: Double, mse: Double) {
        prepare(pts, order: order, start: start, rows: rows, signs: signs)
        for r in 0..<rows {
            let i = Int(order[start + r])
            for c in 0..<3 { target[3 * r + c] = colors[3 * i + c] }
        }
        let loss = mlp.lossAndGradients(input, target: target, rows: rows)
        var se = 0.0
        let out = mlp.outputs(rows: rows)
        for i in 0..<(rows * 3) { let d = Double(out[i] - target[i]); se += d * d }
        if var p = phi, let dx = mlp.inputGradient {
            var gout = UnsafePointer(dx)
            if let g = encodedGradient {  // the encoding's columns of the input gradient
                let e = configuration.encodingWidth, width = configuration.inputs
                for r in 0..<rows { (g + r * e).update(from: dx + r * width, count: e) }
                gout = UnsafePointer(g)
            }
            p.backward(raw, gout: gout, rows: rows, k: surface.k, lambda: surface.lambda)
            phiAdam!.update(&p.parameters, gradients: p.gradients)
            phi = p
        }
        adam.update(&mlp.parameters, gradients: mlp.gradients)
        return (Double(loss), se / Double(rows * 3))
    }

    /// Colours (count × 3) of all `pts`, in batches.
    public func predict(_ pts: SurfacePoints) -> [Float] {
        var out = [Float](repeating: 0, count: pts.count * 3)
        var start = 0
        while start < pts.count {
            let rows = min(configuration.batch, pts.count - start)
            prepare(pts, order: nil, start: start, rows: rows, signs: nil)
            let o = mlp.forward(input, rows: rows)
            for i in 0..<(rows * 3) { out[start * 3 + i] = o[i] }
            start += rows
        }
        return out
    }

    /// Mean L1 loss over `pts` against `colors`.
    public func loss(_ pts: SurfacePoints, colors: [Float]) -> Double {
        let p = predict(pts)
        var s = 0.0
        for i in p.indices { s += Double(Swift.abs(p[i] - colors[i])) }
        return s / Double(max(1, p.count))
    }

    /// All trainable parameters, MLP then φ (for keeping the best model).
    public var parameterSnapshot: ([Float], [Float]?) { (mlp.parameters, phi?.parameters) }
    public func restore(_ s: ([Float], [Float]?)) {
        mlp.parameters = s.0
        if let p = s.1 { phi?.parameters = p }
    }
}
