import Foundation
import Geometry
import Imaging
import Render
import Support

/// Metrics of one test view.
public struct ViewMetrics: Codable, Sendable {
    public var view: Int
    public var objectPixels: Int
    /// PSNR over the object mask (3 channels, peak 1).
    public var psnr: Double
    /// DSSIM × 100 under the reference convention (scikit-image defaults, data range 2, full
    /// image with white background) — Koestler et al. 2022.
    public var dssim100: Double
    /// SSIM with the 11×11 Gaussian window (Wang et al. 2004), full image.
    public var ssimGaussian: Double
}

public struct EvaluationResult: Codable, Sendable {
    public var views: [ViewMetrics]
    public var meanPSNR: Double
    public var meanDSSIM100: Double
    public var meanSSIMGaussian: Double
}

public enum Evaluation {
    /// The prediction for a rendered view: the field's colour on object pixels, white elsewhere.
    public static func predictedImage(_ model: FieldModel, view: RenderedView, mesh: Mesh, surface: FieldSurface? = nil) -> Image {
        let g = view.gbuffer
        var pts = SurfacePoints()
        var pixels = [Int]()
        g.forEachHit { i, f, b0, b1, b2 in
            pts.append(face: f, of: mesh, b0, b1, b2, direction: view.camera.towardsCamera(pixel: i))
            pixels.append(i)
        }
        let colors = model.predict(surface?.fieldPoints(pts) ?? pts)
        var img = Image(width: g.width, height: g.height, channels: 3, fill: 1)
        for (n, i) in pixels.enumerated() { for c in 0..<3 { img.pixels[3 * i + c] = colors[3 * n + c] } }
        return img
    }

    /// Per-view and mean metrics of the test views; also returns the predicted images.
    public static func evaluate(_ model: FieldModel, scene: FieldScene) throws -> (EvaluationResult, [Image]) {
        try evaluate(model, views: scene.test, mesh: scene.mesh, surface: scene.fieldSurface)
    }

    /// The same for any rendered views of `mesh` (`surface`: the proxy map, when there is one).
    public static func evaluate(_ model: FieldModel, views test: [RenderedView], mesh: Mesh,
                                surface: FieldSurface? = nil) throws -> (EvaluationResult, [Image]) {
        var views = [ViewMetrics](), images = [Image]()
        for (i, v) in test.enumerated() {
            let pred = predictedImage(model, view: v, mesh: mesh, surface: surface)
            let mask = v.gbuffer.mask
            let hits = v.gbuffer.hitCount
            let p = hits > 0 ? try Metrics.psnr(pred, v.truth, mask: mask) : .nan
            let d = try Metrics.dssim(pred, v.truth, convention: .inf) * 100
            let s = try Metrics.ssim(pred, v.truth, convention: .gaussian)
            views.append(ViewMetrics(view: i, objectPixels: hits, psnr: p, dssim100: d, ssimGaussian: s))
            images.append(pred)
        }
        let seen = views.filter { $0.objectPixels > 0 }
        func mean(_ f: (ViewMetrics) -> Double) -> Double { seen.isEmpty ? .nan : seen.map(f).reduce(0, +) / Double(seen.count) }
        return (EvaluationResult(views: views, meanPSNR: mean(\.psnr), meanDSSIM100: mean(\.dssim100), meanSSIMGaussian: mean(\.ssimGaussian)), images)
    }
}

/// The field baked into the mesh's texture atlas.
public struct BakedTexture: Sendable {
    public var image: Image
    /// Texels covered by some triangle's UV footprint (the rest is filled by dilation).
    public var covered: [Bool]
    /// PSNR against the input texture over the covered texels.
    public var psnr: Double
}

public enum Baker {
    /// Rasterises every triangle in UV space at the texel centres of a width × height atlas (the
    /// sampling convention: texel (row r, column c) is uv (c / (W − 1), 1 − r / (H − 1))),
    /// evaluates the field there, then dilates the result into the gaps (up to 64 texels).
    /// The texel centres of a width × height atlas that some triangle's UV footprint covers, as
    /// surface points (the first triangle wins), with their texel indices (row-major).
    public static func rasterize(_ mesh: Mesh, width: Int, height: Int) -> (points: SurfacePoints, texels: [Int]) {
        var owner = [Int32](repeating: -1, count: width * height)
        var pts = SurfacePoints()
        var texels = [Int]()
        let sx = Double(width - 1), sy = Double(height - 1)
        for f in 0..<mesh.triangleCount {
            var uv = [SIMD2<Double>]()
            for c in 0..<3 {
                let t = Int(mesh.cornerTexcoords[3 * f + c])
                uv.append(SIMD2(mesh.texcoords[2 * t] * sx, (1 - mesh.texcoords[2 * t + 1]) * sy))
            }
            let lo = pointwiseMin(uv[0], pointwiseMin(uv[1], uv[2])), hi = pointwiseMax(uv[0], pointwiseMax(uv[1], uv[2]))
            // Clamped conversions: a coordinate of 1e308 or NaN in the file must not trap.
            let c0 = Int(clamping: lo.x.rounded(.up), to: 0...width), c1 = Int(clamping: hi.x.rounded(.down), to: -1...(width - 1))
            let r0 = Int(clamping: lo.y.rounded(.up), to: 0...height), r1 = Int(clamping: hi.y.rounded(.down), to: -1...(height - 1))
            guard c0 <= c1, r0 <= r1 else { continue }
            let e1 = uv[1] - uv[0], e2 = uv[2] - uv[0]
            let det = e1.x * e2.y - e1.y * e2.x
            guard det != 0 else { continue }
            for r in r0...r1 {
                for c in c0...c1 {
                    let q = SIMD2(Double(c), Double(r)) - uv[0]
                    let b1 = (q.x * e2.y - q.y * e2.x) / det, b2 = (e1.x * q.y - e1.y * q.x) / det
                    let b0 = 1 - b1 - b2
                    let eps = -1e-9
                    guard b0 >= eps, b1 >= eps, b2 >= eps else { continue }
                    let i = r * width + c
                    if owner[i] >= 0 { continue }
                    owner[i] = Int32(f)
                    pts.append(mesh.triangles[3 * f], mesh.triangles[3 * f + 1], mesh.triangles[3 * f + 2], Float(b0), Float(b1), Float(b2))
                    texels.append(i)
                }
            }
        }
        return (pts, texels)
    }

    public static func bake(_ model: FieldModel, mesh: Mesh, width: Int, height: Int, reference: Image?, surface: FieldSurface? = nil) -> BakedTexture {
        let (pts, texels) = rasterize(mesh, width: width, height: height)
        let colors = model.predict(surface?.fieldPoints(pts) ?? pts)
        var img = Image(width: width, height: height, channels: 3, fill: 0)
        var covered = [Bool](repeating: false, count: width * height)
        for (n, i) in texels.enumerated() {
            covered[i] = true
            for c in 0..<3 { img.pixels[3 * i + c] = colors[3 * n + c] }
        }
        var psnrValue = Double.nan
        if let ref = reference?.rgb(), ref.width == width, ref.height == height, !texels.isEmpty {
            var se = 0.0
            for i in texels { for c in 0..<3 { let d = Double(img.pixels[3 * i + c] - ref.pixels[3 * i + c]); se += d * d } }
            psnrValue = -10 * log10(se / Double(3 * texels.count))
        }
        dilate(&img, filled: covered, passes: 64)
        return BakedTexture(image: img, covered: covered, psnr: psnrValue)
    }

    /// A fixed random subset of `count` covered texels of `texture`'s atlas with their colours: the
    /// field's texture-space PSNR on it tracks the whole atlas's cheaply during training.
    public static func texelSample(_ mesh: Mesh, texture: Image, count: Int, seed: UInt64, surface: FieldSurface? = nil) -> ViewRays {
        let (pts, texels) = rasterize(mesh, width: texture.width, height: texture.height)
        let tex = texture.rgb()
        var rng = SplitMix64(seed: seed ^ 0x7E7E_1A11)
        var idx = Array(0..<texels.count)
        let m = min(count, idx.count)
        for i in 0..<m { idx.swapAt(i, Int.random(in: i..<idx.count, using: &rng)) }
        var out = ViewRays()
        for i in idx.prefix(m).sorted() {
            out.points.append(point: i, of: pts)
            out.colors += tex.pixels[(3 * texels[i])..<(3 * texels[i] + 3)]
        }
        if let surface { out.points = surface.fieldPoints(out.points) }
        return out
    }

    /// Fills unfilled texels with the mean of their filled 8-neighbours, pass by pass.
    static func dilate(_ img: inout Image, filled start: [Bool], passes: Int) {
        var filled = start
        let w = img.width, h = img.height
        for _ in 0..<passes {
            var next = filled, changed = false
            var out = img
            for r in 0..<h { for c in 0..<w where !filled[r * w + c] {
                var s = SIMD3<Float>(repeating: 0), n: Float = 0
                for dr in -1...1 { for dc in -1...1 {
                    let rr = r + dr, cc = c + dc
                    guard rr >= 0, rr < h, cc >= 0, cc < w, filled[rr * w + cc] else { continue }
                    let j = 3 * (rr * w + cc)
                    s += SIMD3(img.pixels[j], img.pixels[j + 1], img.pixels[j + 2]); n += 1
                } }
                if n > 0 {
                    let i = 3 * (r * w + c)
                    out.pixels[i] = s.x / n; out.pixels[i + 1] = s.y / n; out.pixels[i + 2] = s.z / n
                    next[r * w + c] = true; changed = true
                }
            } }
            img = out; filled = next
            if !changed { break }
        }
    }
}
