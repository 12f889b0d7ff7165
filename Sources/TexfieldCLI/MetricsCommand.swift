import Support
import ArgumentParser
import Foundation
import Imaging

extension SSIMConvention: ExpressibleByArgument {}

/// `texfield metrics A.png B.png`: PSNR, SSIM and DSSIM as the reference tools compute them.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "PSNR, SSIM and DSSIM of two images (scikit-image's definitions).",
        discussion: """
            SSIM conventions: gaussian (Wang et al. 2004: 11×11 Gaussian σ 1.5, population covariance, \
            data range 1), skimage (7×7 uniform, sample covariance, data range 1), inf (the intrinsic \
            neural fields evaluation: skimage with data range 2 on images whose pixels outside the \
            mask are white; DSSIM printed ×100). Gray images count as three equal channels.
            """)

    @Argument(help: "First image (PNG).") var first: String
    @Argument(help: "Second image (PNG).") var second: String
    @Option(help: "Mask PNG: pixels whose first channel is > 0.5 count.") var mask: String?
    @Option(help: "SSIM convention: gaussian, skimage or inf.") var ssim: SSIMConvention = .gaussian
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        func load(_ p: String) throws -> Image {
            do { return try Image.readPNG(path: p) } catch let e as ImageError { throw CommandError(e.description) }
        }
        let a = try load(first), b = try load(second)
        let m = try mask.map(load)
        let result: MetricsResult
        do {
            result = try MetricsResult.compute(a, b, mask: m, convention: ssim)
        } catch let e as MetricsError {
            throw CommandError("\(first), \(second): \(e.description)")
        }
        if json {
            let enc = TexfieldJSON.encoder()
            enc.outputFormatting = [.sortedKeys]
            enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            print(String(format: "psnr          %.6f dB", result.psnr))
            if let pm = result.psnr_masked { print(String(format: "psnr (masked) %.6f dB", pm)) }
            print(String(format: "ssim          %.9f  (%@)", result.ssim, ssim.rawValue))
            print(ssim == .inf ? String(format: "dssim ×100    %.9f", result.dssim) : String(format: "dssim         %.9f", result.dssim))
        }
    }
}

/// The numbers `texfield metrics` prints; `dssim` is ×100 under the `inf` convention.
struct MetricsResult: Codable {
    var psnr: Double
    var psnr_masked: Double?
    var ssim: Double
    var dssim: Double
    var convention: String

    static func compute(_ a: Image, _ b: Image, mask: Image?, convention: SSIMConvention) throws -> MetricsResult {
        let psnr = try Metrics.psnr(a, b)
        let masked = try mask.map { try Metrics.psnr(a, b, mask: $0) }
        let s = try Metrics.ssim(a, b, convention: convention, mask: mask)
        let d = (1 - s) / 2 * (convention == .inf ? 100 : 1)
        return MetricsResult(psnr: psnr, psnr_masked: masked, ssim: s, dssim: d, convention: convention.rawValue)
    }
}
