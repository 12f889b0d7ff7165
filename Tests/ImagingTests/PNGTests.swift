import Foundation
import Imaging
import Testing

@Suite struct PNGTests {
    @Test func roundTripRGBAndRGBA() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-png-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for channels in [3, 4] {
            var img = Image(width: 5, height: 3, channels: channels)
            for i in img.pixels.indices { img.pixels[i] = Float(i % 256) / 255 }
            try img.writePNG(path: dir + "/a.png")
            let back = try Image.readPNG(path: dir + "/a.png")
            #expect(back == img)
        }
    }

    @Test func badFiles() throws {
        #expect(throws: ImageError.self) { try Image.decodePNG(Data("hello".utf8)) }
        #expect(throws: ImageError.self) { try Image.readPNG(path: "/nonexistent.png") }
        var img = Image(width: 4, height: 4, channels: 3, fill: 0.5)
        img[0, 0, 0] = 1
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-png2-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try img.writePNG(path: dir + "/b.png")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/b.png"))
        #expect(throws: ImageError.self) { try Image.decodePNG(bytes.prefix(bytes.count / 2)) }
    }
}
