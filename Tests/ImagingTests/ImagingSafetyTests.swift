import Foundation
import Imaging
import Testing

/// CRC-32 (ISO-HDLC, PNG's), to patch a chunk.
private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return ~c
}

/// A real PNG whose header is patched to claim `width` × `height` (the CRC fixed, the image data
/// that of the original few pixels).
func pngClaiming(width: Int, height: Int) throws -> Data {
    var b = [UInt8](try Image(width: 2, height: 2, channels: 3, fill: 0.5).encodePNG())
    for (i, v) in [width, height].enumerated() {
        for j in 0..<4 { b[16 + 4 * i + j] = UInt8((v >> (8 * (3 - j))) & 0xFF) }
    }
    let crc = crc32(b[12..<29])
    for j in 0..<4 { b[29 + j] = UInt8((crc >> (8 * (3 - UInt32(j)))) & 0xFF) }
    return Data(b)
}

@Suite struct ImagingSafetyTests {
    /// `vt 1e308 0.5` with wrap or clamp used to trap in `Int(Double)`.
    @Test func samplingNeverTraps() {
        let img = Image(width: 4, height: 3, channels: 3, fill: 0.25)
        var out = [Float](repeating: -1, count: 3)
        for u in [1e308, -1e308, Double.nan, .infinity, -.infinity, 0.5] {
            for border in [BorderMode.wrap, .clamp] {
                img.sampleBilinear(u: u, v: 0.5, border: border, into: &out)
                #expect(out == [0.25, 0.25, 0.25])
                img.sampleNearest(u: 0.5, v: u, border: border, into: &out)
                #expect(out == [0.25, 0.25, 0.25])
            }
        }
    }

    /// A tiny file whose header claims 8192² used to reach a gigabyte before libpng reported the
    /// missing data: the compressed size bounds what the file can hold.
    @Test func headerClaimsBeyondTheData() throws {
        let bomb = try pngClaiming(width: 8192, height: 8192)
        #expect(bomb.count < 200)
        do { _ = try Image.decodePNG(bomb, path: "bomb.png"); Issue.record("decoded") } catch let e as ImageError {
            #expect(e.description.contains("bomb.png") && e.description.contains("8192"))
        }
        // Beyond the pixel limit: refused from the header, whatever the data.
        #expect(throws: ImageError.self) { _ = try Image.decodePNG(try pngClaiming(width: 16384, height: 16384)) }
        #expect(throws: ImageError.self) { _ = try Image.decodePNG(try pngClaiming(width: 1 << 30, height: 1)) }
        // The unpatched file still reads.
        #expect(try Image.decodePNG(try pngClaiming(width: 2, height: 2)).width == 2)
    }

    /// Plots of diverged series (NaN, ±inf, 1e308) draw what is finite and never trap.
    @Test func plotsOfWildValues() {
        let img = Compositing.linePlot([[0, 1e308, -1e308, .nan, .infinity, 2], [1, 2, 3]])
        #expect(img.width == 640)
    }
}
