import CLibPNG
import Foundation

extension Image {
    /// Largest image `readPNG` accepts, in pixels (checked before any pixel buffer is allocated).
    public static let maxPixels = 1 << 28

    /// Reads a PNG through libpng's simplified API (which reports errors in its struct, so no
    /// longjmp crosses a Swift frame). Any PNG (8/16-bit, gray, gray+alpha, RGB, RGBA, palette,
    /// interlaced) is converted to RGB, or RGBA when it has alpha, with values in [0, 1].
    public static func readPNG(path: String) throws -> Image {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            throw ImageError.unreadable(path: path, reason: !exists ? "no such file" : (isDir.boolValue ? "is a directory" : "permission denied"))
        }
        return try decodePNG(data, path: path)
    }

    /// Decodes PNG bytes; `path` is used in error messages only.
    public static func decodePNG(_ data: Data, path: String = "<memory>") throws -> Image {
        guard data.count >= 8, [UInt8](data.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10] else {
            throw ImageError.invalid(path: path, reason: "missing PNG signature")
        }
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        let bytes = [UInt8](data)
        let ok = bytes.withUnsafeBufferPointer { png_image_begin_read_from_memory(&img, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw ImageError.invalid(path: path, reason: message(img)) }
        defer { png_image_free(&img) }
        let w = Int(img.width), h = Int(img.height)
        guard w > 0, h > 0 else { throw ImageError.invalid(path: path, reason: "zero width or height") }
        guard w * h <= maxPixels else { throw ImageError.tooLarge(path: path, width: w, height: h, limit: maxPixels) }
        let hasAlpha = (img.format & UInt32(PNG_FORMAT_FLAG_ALPHA)) != 0
        let channels = hasAlpha ? 4 : 3
        // 8-bit output: the simplified API converts 16-bit and palette files without gamma
        // changes for sRGB data. (Exact 16-bit values are the images issue's concern.)
        img.format = UInt32(hasAlpha ? PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA : PNG_FORMAT_FLAG_COLOR)
        var buf = [UInt8](repeating: 0, count: w * h * channels)
        let r = buf.withUnsafeMutableBytes { png_image_finish_read(&img, nil, $0.baseAddress, 0, nil) }
        guard r != 0 else { throw ImageError.invalid(path: path, reason: message(img)) }
        let pixels = buf.map { Float($0) / 255 }
        return Image(width: w, height: h, channels: channels, pixels: pixels)
    }

    static func message(_ img: png_image) -> String {
        var m = img.message
        return withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// Writes the image as an 8-bit PNG (RGB, RGBA or gray by channel count; 2 channels are
    /// written as gray + alpha), values clamped to [0, 1] and rounded. Atomic: a temporary file
    /// in the same folder is renamed over the destination.
    public func writePNG(path: String) throws {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        img.width = UInt32(width)
        img.height = UInt32(height)
        switch channels {
        case 1: img.format = 0
        case 2: img.format = UInt32(PNG_FORMAT_FLAG_ALPHA)
        case 3: img.format = UInt32(PNG_FORMAT_FLAG_COLOR)
        default: img.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        }
        let buf = pixels.map { v -> UInt8 in
            let c = v.isNaN ? 0 : min(max(v, 0), 1)
            return UInt8((c * 255).rounded())
        }
        var size: Int = 0
        // First call computes the size, second writes.
        _ = buf.withUnsafeBytes { png_image_write_to_memory(&img, nil, &size, 0, $0.baseAddress, 0, nil) }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { o in
            buf.withUnsafeBytes { png_image_write_to_memory(&img, o.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard ok != 0 else { throw ImageError.writeFailed(path: path, reason: Image.message(img)) }
        try writeAtomically(Data(out.prefix(size)), to: path)
    }
}

func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do { try data.write(to: tmp) } catch { throw ImageError.writeFailed(path: path, reason: error.localizedDescription) }
    if rename(tmp.path, path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: tmp)
        throw ImageError.writeFailed(path: path, reason: reason)
    }
}
