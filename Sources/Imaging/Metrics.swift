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
    case sizeMismatch(String)
    case nonFinite(String)
    case emptyMask
    case tooSmall(String)

    public var description: String {
        switch self {
        case .sizeMismatch(let m): return "images differ in size: \(m)"
        case .nonFinite(let m): return "non-finite pixel: \(m)"
        case .emptyMask: return "the mask selects no pixel (no value > 0.5)"
        case .tooSmall(let m): return m
        }
    }
}

/// Image quality metrics, computed in Double on RGB images (gray as three equal channels,
/// alpha dropped), matching scikit-image 0.26 (see `SSIMConvention`).
public enum Metrics {
    /// PSNR = 10 log10(1 / MSE) with data range 1, over all pixels and channels, or over the
    /// pixels where `mask` (its first channel) is > 0.5. Identical images give +∞.
    public static func psnr(_ a: Image, _ b: Image, mask: Image? = nil) throws -> Double {
        let (x, y) = try prepare(a, b)
        var sum = 0.0, count = 0
        if let m = mask {
            try checkMask(m, x)
            for p in 0..<(x.width * x.height) where m.pixels[p * m.channels] > 0.5 {
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
            for p in 0..<(x.width * x.height) where !(m.pixels[p * m.channels] > 0.5) {
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

    /// scipy.ndimage's 'reflect' boundary (half-sample symmetric): d c b a | a b c d | d c b a.
    @inline(__always) static func reflect(_ i: Int, _ n: Int) -> Int {
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i - 1 : 2 * n - i - 1 }
        return i
    }

    /// Separable correlation of an (h × w) plane with `weights` along rows, then columns,
    /// with scipy.ndimage's 'reflect' boundary. `tmp` is scratch of the same size.
    static func filter(_ src: UnsafePointer<Double>, _ w: Int, _ h: Int, _ weights: [Double], _ radius: Int,
                       tmp: UnsafeMutablePointer<Double>, out: UnsafeMutablePointer<Double>) {
        let taps = weights.count
        weights.withUnsafeBufferPointer { wk in
            // Along each row (x direction): interior without index arithmetic, borders reflected.
            for r in 0..<h {
                let s = src + r * w, t = tmp + r * w
                for c in 0..<w where c < radius || c + radius >= w {
                    var acc = 0.0
                    for k in 0..<taps { acc += wk[k] * s[reflect(c - radius + k, w)] }
                    t[c] = acc
                }
                if w > 2 * radius {
                    for c in radius..<(w - radius) { t[c] = 0 }
                    for k in 0..<taps {
                        let wv = wk[k], off = k - radius
                        for c in radius..<(w - radius) { t[c] += wv * s[c + off] }
                    }
                }
            }
            // Along each column (y direction): whole rows at a time.
            for r in 0..<h {
                let o = out + r * w
                for c in 0..<w { o[c] = 0 }
                for k in 0..<taps {
                    let t = tmp + reflect(r - radius + k, h) * w
                    let wv = wk[k]
                    for c in 0..<w { o[c] += wv * t[c] }
                }
            }
        }
    }

    /// Per-channel mean SSIM of two RGB images: the 15 filtered planes (5 per channel) are
    /// computed in parallel, then each channel's SSIM map is averaged away from the border.
    static func ssimChannels(_ x: Image, _ y: Image, weights: [Double], radius: Int,
                             covNorm: Double, c1: Double, c2: Double) -> [Double] {
        let w = x.width, h = x.height, n = w * h
        // planes[ch * 5 + q]: q = 0 x, 1 y, 2 xx, 3 yy, 4 xy (input), then filtered in place.
        let planes = UnsafeMutablePointer<Double>.allocate(capacity: 15 * n)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 15 * n)
        let filtered = UnsafeMutablePointer<Double>.allocate(capacity: 15 * n)
        defer { planes.deallocate(); scratch.deallocate(); filtered.deallocate() }
        do {
            do {
                for ch in 0..<3 {
                    let base = planes + ch * 5 * n
                    for p in 0..<n {
                        let a = x.exactValue(3 * p + ch), b = y.exactValue(3 * p + ch)
                        base[p] = a; base[n + p] = b; base[2 * n + p] = a * a; base[3 * n + p] = b * b; base[4 * n + p] = a * b
                    }
                }
            }
        }
        nonisolated(unsafe) let (src, tmp, dst) = (planes, scratch, filtered)
        DispatchQueue.concurrentPerform(iterations: 15) { j in
            filter(src + j * n, w, h, weights, radius, tmp: tmp + j * n, out: dst + j * n)
        }
        var means = [Double](repeating: 0, count: 3)
        for ch in 0..<3 {
            let f = filtered + ch * 5 * n
            var sum = 0.0
            for r in radius..<(h - radius) {
                for c in radius..<(w - radius) {
                    let p = r * w + c
                    let mx = f[p], my = f[n + p]
                    let vx = covNorm * (f[2 * n + p] - mx * mx)
                    let vy = covNorm * (f[3 * n + p] - my * my)
                    let vxy = covNorm * (f[4 * n + p] - mx * my)
                    let a1 = 2 * mx * my + c1, a2 = 2 * vxy + c2
                    let b1 = mx * mx + my * my + c1, b2 = vx + vy + c2
                    sum += (a1 * a2) / (b1 * b2)
                }
            }
            means[ch] = sum / Double((h - 2 * radius) * (w - 2 * radius))
        }
        return means
    }
}
