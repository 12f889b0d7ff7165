import Foundation
import Imaging
import Testing

private let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
private let fixtures = here.appendingPathComponent("Fixtures").path
private let shared = here.deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("../shared/fixtures/metrics").standardized.path

private struct Expected: Decodable {
    struct M: Decodable {
        var psnr: Double
        var psnr_masked: Double?
        var ssim_gaussian: Double
        var ssim_skimage: Double
        var dssim_inf_x100: Double
    }
    var pixels: [String: [Double]]
    var metrics: M
}

private struct SharedExpected: Decodable {
    var cases: [String: Expected.M]
}

private func check(_ a: Image, _ b: Image, mask: Image?, _ e: Expected.M, _ label: String) throws {
    #expect(abs(try Metrics.psnr(a, b) - e.psnr) < 1e-6, "\(label) psnr")
    if let pm = e.psnr_masked, let m = mask { #expect(abs(try Metrics.psnr(a, b, mask: m) - pm) < 1e-6, "\(label) masked psnr") }
    #expect(abs(try Metrics.ssim(a, b, convention: .gaussian) - e.ssim_gaussian) < 1e-6, "\(label) gaussian")
    #expect(abs(try Metrics.ssim(a, b, convention: .skimage) - e.ssim_skimage) < 1e-6, "\(label) skimage")
    let d = try Metrics.dssim(a, b, convention: .inf, mask: mask) * 100
    #expect(abs(d - e.dssim_inf_x100) < 1e-6, "\(label) dssim inf: \(d)")
}

@Suite struct MetricsTests {
    @Test func ownFixtureMatchesScikitImage() throws {
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/expected.json")))
        let a = try Image.readPNG(path: fixtures + "/pair_a.png")
        let b = try Image.readPNG(path: fixtures + "/pair_b.png")
        let m = try Image.readPNG(path: fixtures + "/pair_mask.png")
        try check(a, b, mask: m, e.metrics, "pair")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: shared + "/expected.json"),
                   "../shared/fixtures/metrics is absent: scikit-image fixtures not checked"),
          arguments: ["noise_rgb8", "blur_rgb8", "odd_masked_rgb8", "fine_gray16"])
    func sharedFixturesMatchScikitImage(_ name: String) throws {
        let all = try JSONDecoder().decode(SharedExpected.self, from: Data(contentsOf: URL(fileURLWithPath: shared + "/expected.json")))
        let e = try #require(all.cases[name])
        let a = try Image.readPNG(path: "\(shared)/\(name)_a.png")
        let b = try Image.readPNG(path: "\(shared)/\(name)_b.png")
        let maskPath = "\(shared)/\(name)_mask.png"
        let m = FileManager.default.fileExists(atPath: maskPath) ? try Image.readPNG(path: maskPath) : nil
        try check(a, b, mask: m, e, name)
    }

    @Test func identicalImages() throws {
        let a = Image(width: 16, height: 12, channels: 3, fill: 0.3)
        #expect(try Metrics.psnr(a, a) == .infinity)
        for c in SSIMConvention.allCases { #expect(abs(try Metrics.ssim(a, a, convention: c) - 1) < 1e-12) }
    }

    @Test func badInputs() throws {
        let a = Image(width: 9, height: 8, channels: 3), b = Image(width: 8, height: 9, channels: 3)
        #expect(throws: MetricsError.self) { try Metrics.psnr(a, b) }
        var n = a
        n[2, 3, 1] = .nan
        #expect { try Metrics.psnr(n, a) } throws: { "\($0)".contains("row 2, column 3") }
        let empty = Image(width: 9, height: 8, channels: 1, fill: 0)
        #expect(throws: MetricsError.emptyMask) { try Metrics.psnr(a, a, mask: empty) }
        let tiny = Image(width: 5, height: 5, channels: 3)
        #expect(throws: MetricsError.self) { try Metrics.ssim(tiny, tiny, convention: .skimage) }
    }

    @Test func speedSmoke() throws {
        // 512² RGB SSIM: correctness at full size (the speed is measured by `texfield bench metrics`).
        var a = Image(width: 512, height: 512, channels: 3)
        for i in a.pixels.indices { a.pixels[i] = Float((i * 7919) % 255) / 255 }
        let s = try Metrics.ssim(a, a, convention: .gaussian)
        #expect(abs(s - 1) < 1e-12)
    }
}

@Suite struct PNGFixtureTests {
    @Test(arguments: ["gray8", "gray16", "gray_alpha8", "gray_alpha16", "rgb8", "rgb16", "rgba8", "rgba16",
                      "rgb8_interlaced", "palette8"])
    func readsEveryColourTypeExactly(_ name: String) throws {
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/expected.json")))
        let expected = try #require(e.pixels[name + ".png"])
        let img = try Image.readPNG(path: "\(fixtures)/\(name).png")
        #expect(img.pixels.count == expected.count)
        let worst = zip(img.pixels, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst < 1e-7, "\(name): max difference \(worst)")
    }

    @Test func roundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-png-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for channels in 1...4 {
            for sixteen in [false, true] {
                let levels: Float = sixteen ? 65535 : 255
                var img = Image(width: 7, height: 5, channels: channels)
                for i in img.pixels.indices { img.pixels[i] = Float((i * 37) % Int(levels)) / levels }
                if channels == 2 || channels == 4 {  // opaque alpha: exact in both depths
                    for p in 0..<35 { img.pixels[p * channels + channels - 1] = 1 }
                }
                try img.writePNG(path: dir + "/x.png", sixteenBit: sixteen)
                let back = try Image.readPNG(path: dir + "/x.png")
                let hasAlpha = channels == 2 || channels == 4
                #expect(back.channels == (hasAlpha ? 4 : 3))
                for p in 0..<35 {
                    for c in 0..<3 {
                        let src = channels <= 2 ? img.pixels[p * channels] : img.pixels[p * channels + c]
                        #expect(abs(back.pixels[p * back.channels + c] - src) < 1e-7, "\(channels) ch, 16-bit \(sixteen)")
                    }
                }
            }
        }
    }

    @Test func badFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-png-bad-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect { try Image.decodePNG(Data("hello world".utf8), path: "h.png") } throws: { "\($0)".contains("h.png") && "\($0)".contains("signature") }
        #expect { try Image.readPNG(path: dir + "/none.png") } throws: { "\($0)".contains("no such file") }
        #expect { try Image.readPNG(path: dir) } throws: { "\($0)".contains("is a folder") }
        var good = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/rgb8.png"))
        // Truncated.
        #expect(throws: ImageError.self) { try Image.decodePNG(good.prefix(good.count / 2)) }
        // Corrupt CRC of the IHDR chunk (bytes 29...32).
        good[30] ^= 0xFF
        #expect(throws: ImageError.self) { try Image.decodePNG(good) }
        // Absurd dimensions in the header: refused before allocation.
        var huge = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/rgb8.png"))
        huge.replaceSubrange(16..<24, with: [0, 1, 0, 0, 0, 1, 0, 0])  // 65536 × 65536
        let crc = crc32(Array(huge[12..<29]))
        huge.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        #expect { try Image.decodePNG(huge, path: "huge.png") } throws: { "\($0)".contains("exceeds the limit") }
        // Zero width.
        var zero = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/rgb8.png"))
        zero.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        let crc0 = crc32(Array(zero[12..<29]))
        zero.replaceSubrange(29..<33, with: [UInt8(crc0 >> 24), UInt8(crc0 >> 16 & 0xFF), UInt8(crc0 >> 8 & 0xFF), UInt8(crc0 & 0xFF)])
        #expect(throws: ImageError.self) { try Image.decodePNG(zero) }
        // Writing into a missing folder.
        #expect(throws: ImageError.self) { try Image(width: 2, height: 2, channels: 3).writePNG(path: dir + "/no/such/x.png") }
    }

    @Test func samplingConventions() {
        var img = Image(width: 3, height: 2, channels: 1)
        img.pixels = [0, 1, 2, 3, 4, 5]  // rows top to bottom
        var out: [Float] = [0]
        img.sampleBilinear(u: 0, v: 1, into: &out); #expect(out[0] == 0)       // top-left
        img.sampleBilinear(u: 1, v: 0, into: &out); #expect(out[0] == 5)       // bottom-right
        img.sampleBilinear(u: 0.25, v: 0.5, into: &out); #expect(abs(out[0] - 2) < 1e-6)
        img.sampleNearest(u: 1.0, v: 1.0, into: &out); #expect(out[0] == 2)
        img.sampleBilinear(u: 1.5, v: 0, border: .wrap, into: &out); #expect(out[0].isFinite)
    }

    @Test func compositingHelpers() throws {
        let a = Image(width: 4, height: 3, channels: 3, fill: 0), b = Image(width: 5, height: 2, channels: 3, fill: 1)
        let s = Compositing.sideBySide([a, b], gap: 2)
        #expect(s.width == 11 && s.height == 3)
        let h = try Compositing.errorHeatMap(a, Image(width: 4, height: 3, channels: 3, fill: 1))
        #expect(h.pixels.allSatisfy { $0 == 1 })
        let p = Compositing.linePlot([[3, 2, 1.5, 1.2], [1, 1, 1, 1]], width: 100, height: 60)
        #expect(p.width == 100 && p.pixels.contains { $0 < 0.5 })
    }
}

/// CRC-32 of PNG chunks (for the tests that rewrite headers).
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}

@Suite struct MaskTests {
    @Test func grayAndAlphaMasks() throws {
        var a = Image(width: 12, height: 12, channels: 3, fill: 0.5)
        let b = Image(width: 12, height: 12, channels: 3, fill: 0.5)
        a[0, 0, 0] = 0.6  // the only difference, at pixel 0
        var gray = Image(width: 12, height: 12, channels: 3, fill: 1)
        gray[0, 0, 0] = 0; gray[0, 0, 1] = 0; gray[0, 0, 2] = 0  // excludes pixel 0
        #expect(try Metrics.psnr(a, b, mask: gray) == .infinity)
        var alpha = Image(width: 12, height: 12, channels: 4, fill: 0)  // black, alpha carries the mask
        for p in 0..<144 { alpha.pixels[p * 4 + 3] = p == 0 ? 1 : 0 }
        // Only pixel 0 counts: MSE = 0.01 / 3.
        #expect(abs(try Metrics.psnr(a, b, mask: alpha) - 10 * log10(3 / 0.01)) < 1e-4)
    }
}
