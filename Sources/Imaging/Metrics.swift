import Dispatch
import Foundation

/// SSIM conventions in use in the literature, each named after its origin.
public enum SSIMConvention: String, Sendable, CaseIterable, Codable {
    /// Wang et al. 2004: 11×11 Gaussian (σ = 1.5, truncated at 3.5σ), K1 0.01, K2 0.03,
    /// population covariance, data range 1 — scikit-image's
    /// `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)`.
    case gaussian
    /// scikit-image's defaults: 7×7 uniform window, sample covariance, data range 1.
    case skimage
    /// The intrinsic-neural-fields evaluation (Koestler et al. 2022): scikit-image defaults with
    /// data range 2 (what older scikit-image inferred for float images), on images whose pixels
    /// outside the mask are white; DSSIM reported ×100.
    case inf

    var gaussianWindow: Bool { self == .gaussian }
    var sampleCovariance: Bool { self != .gaussian }
    var dataRange: Double { self == .inf ? 2 : 1 }
}

/// Errors of the metrics; each says which value is at fault.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    /// The two images (or the mask) differ in size.
    case sizeMismatch(String)
    /// A NaN or infinite sample.
    case nonFinite(String)
    /// The mask selects no pixel.
    case emptyMask
    /// An image smaller than the SSIM window.
    case tooSmall(String)

    /// The message, naming the sizes or value at fault.
    public var description: String {
        switch self {
        case .sizeMismatch(let m): return "images differ in size: \(m)"
        case .nonFinite(let m): return "non-finite pixel: \(m)"
        case .emptyMask: return "the mask selects no pixel (no value > 0.5)"
        case .tooSmall(let m): return m
        }
    }
}

extension Image {
    /// True when the image has an alpha channel that is not everywhere 1.
    var alphaVaries: Bool {
        guard channels == 2 || channels == 4 else { return false }
        for p in 0..<(width * height) where pixels[p * channels + channels - 1] < 1 { return true }
        return false
    }
}

/// Image quality metrics, computed in Double on RGB images (gray as three equal channels,
/// alpha dropped), matching scikit-image 0.26 (see `SSIMConvention`).
public enum Metrics {
    /// PSNR = 10 log10(1 / MSE) with data range 1, over all pixels and channels, or over the
    /// pixels where `mask` is > 0.5 (its alpha when it has a varying alpha channel, else its first channel). Identical images give +∞.
    public static func psnr(_ a: Image, _ b: Image, mask: Image? = nil) throws -> Double {
        let (x, y) = try prepare(a, b)
        var sum = 0.0, count = 0
        if let m = mask {
            try checkMask(m, x)
            for p in 0..<(x.width * x.height) where maskValue(m, p) > 0.5 {
                for c in 0..<3 { let d = x.exactValue(3 * p + c) - y.exactValue(3 * p + c); sum += d * d }
                count += 3
            }
            if count == 0 { throw MetricsError.emptyMask }
        } else {
            for i in 0..<x.pixels.count { let d = x.exactValue(i) - y.exactValue(i); sum += d * d }
            count = x.pixels.count
        }
        let mse = sum / Double(count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }

    /// Mean SSIM over the channels (each channel's SSIM map averaged away from a border of
    /// the window radius), under a convention. With `.inf` and a mask, pixels outside the mask
    /// are set to white in both images first.
    public static func ssim(_ a: Image, _ b: Image, convention: SSIMConvention, mask: Image? = nil) throws -> Double {
        var (x, y) = try prepare(a, b)
        if convention == .inf, let m = mask {
            try checkMask(m, x)
            for p in 0..<(x.width * x.height) where !(maskValue(m, p) > 0.5) {
                for c in 0..<3 { x.pixels[3 * p + c] = 1; y.pixels[3 * p + c] = 1 }
            }
        }
        let radius = convention.gaussianWindow ? Int(3.5 * 1.5 + 0.5) : 3
        let win = 2 * radius + 1
        guard x.width >= win, x.height >= win else {
            throw MetricsError.tooSmall("SSIM needs images of at least \(win)×\(win) pixels, got \(x.width)×\(x.height)")
        }
        let weights = convention.gaussianWindow ? gaussianWeights(sigma: 1.5, radius: radius)
                                                : [Double](repeating: 1 / Double(win), count: win)
        let np = Double(win * win)
        let covNorm = convention.sampleCovariance ? np / (np - 1) : 1
        let r = convention.dataRange
        let c1 = (0.01 * r) * (0.01 * r), c2 = (0.03 * r) * (0.03 * r)
        let means = ssimChannels(x, y, weights: weights, radius: radius, covNorm: covNorm, c1: c1, c2: c2)
        return means.reduce(0, +) / 3
    }

    /// DSSIM = (1 − SSIM) / 2.
    public static func dssim(_ a: Image, _ b: Image, convention: SSIMConvention, mask: Image? = nil) throws -> Double {
        (1 - (try ssim(a, b, convention: convention, mask: mask))) / 2
    }

    // MARK: - internals

    static func prepare(_ a: Image, _ b: Image) throws -> (Image, Image) {
        guard a.width == b.width, a.height == b.height else {
            throw MetricsError.sizeMismatch("\(a.width)×\(a.height) and \(b.width)×\(b.height)")
        }
        for (name, img) in [("first", a), ("second", b)] {
            if let i = img.pixels.firstIndex(where: { !$0.isFinite }) {
                let p = i / img.channels
                throw MetricsError.nonFinite("\(name) image, row \(p / img.width), column \(p % img.width)")
            }
        }
        return (a.rgb(), b.rgb())
    }

    /// The mask's value at pixel p: its alpha where it has a non-opaque alpha channel (an
    /// alpha mask), else its first channel (a gray mask).
    static func maskValue(_ m: Image, _ p: Int) -> Float {
        let hasAlpha = m.channels == 2 || m.channels == 4
        if hasAlpha && m.alphaVaries { return m.pixels[p * m.channels + m.channels - 1] }
        return m.pixels[p * m.channels]
    }

    static func checkMask(_ m: Image, _ x: Image) throws {
        guard m.width == x.width, m.height == x.height else {
            throw MetricsError.sizeMismatch("mask \(m.width)×\(m.height), images \(x.width)×\(x.height)")
        }
    }

    /// scipy.ndimage's Gaussian kernel: exp(−t²/(2σ²)) for |t| <= radius, normalised.
    static func gaussianWeights(sigma: Double, radius: Int) -> [Double] {
        let w = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let s = w.reduce(0, +)
        return w.map { $0 / s }
    }

    /// Per-channel mean SSIM of two RGB images. Only pixels at least a window radius from the
    /// border enter the mean (scikit-image crops them), and their windows never leave the
    /// image, so no boundary rule is needed. The interior rows are cut into bands processed in
    /// parallel; each band filters its rows (5 quantities × 3 channels) into small buffers
    /// that stay in cache, and sums its SSIM values. Partial sums are added in band order,
    /// so the result does not depend on scheduling.
    static func ssimChannels(_ x: Image, _ y: Image, weights: [Double], radius R: Int,
                             covNorm: Double, c1: Double, c2: Double) -> [Double] {
        let w = x.width, h = x.height
        let rows = h - 2 * R, cols = w - 2 * R
        let bandRows = 16
        let bands = (rows + bandRows - 1) / bandRows
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: bands * 3)
        defer { partial.deallocate() }
        nonisolated(unsafe) let out = partial
        precondition(weights.count == 2 * R + 1, "the window has 2R + 1 taps")
        DispatchQueue.concurrentPerform(iterations: bands) { band in
            let r0 = R + band * bandRows, r1 = min(h - R, r0 + bandRows)
            let span = r1 - r0 + 2 * R  // source rows r0 - R ..< r1 + R
            // Row-filtered quantities, laid out [q][row][col] for the interior columns.
            var tmp = [Double](repeating: 0, count: 5 * span * cols)
            var a = [Double](repeating: 0, count: w), b = a
            var f = [Double](repeating: 0, count: 5 * cols)
            weights.withUnsafeBufferPointer { wk in
                tmp.withUnsafeMutableBufferPointer { tp in
                    f.withUnsafeMutableBufferPointer { fp in
                        for ch in 0..<3 {
                            for i in 0..<span {
                                let src = r0 - R + i
                                for c in 0..<w { a[c] = x.exactValue(3 * (src * w + c) + ch); b[c] = y.exactValue(3 * (src * w + c) + ch) }
                                a.withUnsafeBufferPointer { ap in
                                    b.withUnsafeBufferPointer { bp in
                                        rowMoments(ap.baseAddress!, bp.baseAddress!, weights: wk, columns: cols, plane: span * cols,
                                                   into: tp.baseAddress! + i * cols)
                                    }
                                }
                            }
                            out[band * 3 + ch] = columnSSIMSum(tp.baseAddress!, rows: r1 - r0, columns: cols, plane: span * cols,
                                                               weights: wk, scratch: fp.baseAddress!, covNorm: covNorm, c1: c1, c2: c2)
                        }
                    }
                }
            }
        }
        var means = [Double](repeating: 0, count: 3)
        for ch in 0..<3 {
            var s = 0.0
            for band in 0..<bands { s += partial[band * 3 + ch] }
            means[ch] = s / Double(rows * cols)
        }
        return means
    }

    /// The horizontal pass of SSIM's separable window over one source row: for each interior
    /// column c the five window sums Σ w·x, Σ w·y, Σ w·x², Σ w·y², Σ w·xy over columns c…c+taps−1,
    /// written to planes 0…4 (each `plane` apart) of `out`.
    @inline(__always)
    static func rowMoments(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, weights wk: UnsafeBufferPointer<Double>,
                           columns cols: Int, plane: Int, into t0: UnsafeMutablePointer<Double>) {
        let taps = wk.count
        for c in 0..<cols {
            var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
            for k in 0..<taps {
                let u = x[c + k], v = y[c + k], wv = wk[k]
                sx += wv * u; sy += wv * v
                sxx += wv * (u * u); syy += wv * (v * v); sxy += wv * (u * v)
            }
            t0[c] = sx; t0[plane + c] = sy; t0[2 * plane + c] = sxx
            t0[3 * plane + c] = syy; t0[4 * plane + c] = sxy
        }
    }

    /// The vertical pass over the row moments of a band (`rows` output rows, planes `plane` apart)
    /// and the sum of the SSIM map over it: local means, (co)variances scaled by `covNorm`, then
    /// (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)). `scratch`: 5 × columns.
    @inline(__always)
    static func columnSSIMSum(_ t: UnsafeMutablePointer<Double>, rows: Int, columns cols: Int, plane: Int,
                              weights wk: UnsafeBufferPointer<Double>, scratch fp: UnsafeMutablePointer<Double>,
                              covNorm: Double, c1: Double, c2: Double) -> Double {
        let taps = wk.count
        var sum = 0.0
        for r in 0..<rows {
            for q in 0..<5 {
                let o = fp + q * cols
                for c in 0..<cols { o[c] = 0 }
                for k in 0..<taps {
                    let tr = t + q * plane + (r + k) * cols
                    let wv = wk[k]
                    for c in 0..<cols { o[c] += wv * tr[c] }
                }
            }
            for c in 0..<cols {
                let mx = fp[c], my = fp[cols + c]
                let vx = covNorm * (fp[2 * cols + c] - mx * mx)
                let vy = covNorm * (fp[3 * cols + c] - my * my)
                let vxy = covNorm * (fp[4 * cols + c] - mx * my)
                let a1 = 2 * mx * my + c1, a2 = 2 * vxy + c2
                let b1 = mx * mx + my * my + c1, b2 = vx + vy + c2
                sum += (a1 * a2) / (b1 * b2)
            }
        }
        return sum
    }
}
