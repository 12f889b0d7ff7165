import Support
import CLibPNG
import Foundation

extension Image {
    /// Largest image `readPNG` accepts, in pixels (checked from the header, before any pixel
    /// buffer is allocated): 2^26 (8192 × 8192; about 1.3 GB while decoding).
    public static let maxPixels = 1 << 26

    /// Reads a PNG through libpng's simplified API (which reports errors in its struct, so no
    /// longjmp crosses a Swift frame). Every colour type and bit depth is accepted (gray, gray +
    /// alpha, RGB, RGBA, palette; 1–16 bits; interlaced). The result is RGB, or RGBA when the
    /// file has alpha (gray is repeated into three channels), values in [0, 1] exactly as
    /// stored: 8-bit files give k/255, 16-bit files k/65535 (for 16-bit files with alpha the
    /// simplified API premultiplies, which is undone here; a colour under alpha 0 reads as 0).
    public static func readPNG(path: String) throws -> Image {
        let data: Data
        do { data = try InputFile.read(path, limit: 1 << 30) } catch let e as FileReadError { throw ImageError.unreadable(path: path, reason: e.reason) }
        return try decodePNG(data, path: path)
    }

    /// Decodes PNG bytes; `path` is used in error messages only.
    public static func decodePNG(_ data: Data, path: String = "<memory>") throws -> Image {
        guard data.count >= 8, [UInt8](data.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10] else {
            throw ImageError.invalid(path: path, reason: "missing PNG signature")
        }
        let bytes = [UInt8](data)
        // libpng reads from the buffer until png_image_finish_read returns: the whole decode
        // stays inside one withUnsafeBufferPointer scope.
        return try bytes.withUnsafeBufferPointer { buffer -> Image in
            var img = png_image()
            img.version = UInt32(PNG_IMAGE_VERSION)
            guard png_image_begin_read_from_memory(&img, buffer.baseAddress, buffer.count) != 0 else {
                throw ImageError.invalid(path: path, reason: message(img))
            }
            defer { png_image_free(&img) }
            let w = Int(img.width), h = Int(img.height)
            guard w > 0, h > 0 else { throw ImageError.invalid(path: path, reason: "zero width or height") }
            guard w <= maxPixels, h <= maxPixels, w * h <= maxPixels else { throw ImageError.tooLarge(path: path, width: w, height: h, limit: maxPixels) }
            // Memory proportional to the data present: deflate expands at most 1032:1, and the
            // rows of even a 1-bit image take h·(1 + ⌈w/8⌉) bytes, so a file shorter than that
            // bound divided by 1032 cannot hold the image its header claims (a 68-byte file
            // claiming 8192² is refused here instead of allocating a gigabyte).
            let minimumRaw = h * (1 + (w + 7) / 8)
            guard data.count >= minimumRaw / 1032 else {
                throw ImageError.invalid(path: path, reason: "the header claims \(w) × \(h) pixels, but \(data.count) bytes of compressed data cannot hold them (truncated file?)")
            }
            let hasAlpha = (img.format & UInt32(PNG_FORMAT_FLAG_ALPHA)) != 0
            // A 16-bit file reports the linear flag: reading it as 16-bit "linear" keeps the
            // stored values (the simplified API assumes 16-bit data is linear when the file says
            // nothing else); 8-bit files are read as 8-bit sRGB, again unchanged.
            let sixteen = (img.format & UInt32(PNG_FORMAT_FLAG_LINEAR)) != 0
            let channels = hasAlpha ? 4 : 3
            img.format = UInt32(PNG_FORMAT_FLAG_COLOR) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
                | (sixteen ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
            var pixels = [Float](repeating: 0, count: w * h * channels)
            if sixteen {
                var buf = [UInt16](repeating: 0, count: w * h * channels)
                let r = buf.withUnsafeMutableBytes { png_image_finish_read(&img, nil, $0.baseAddress, 0, nil) }
                guard r != 0 else { throw ImageError.invalid(path: path, reason: message(img)) }
                for p in 0..<(w * h) {
                    let a = hasAlpha ? Float(buf[p * 4 + 3]) : 65535
                    for c in 0..<channels {
                        let v = Float(buf[p * channels + c])
                        pixels[p * channels + c] = (c < 3 && hasAlpha) ? (a > 0 ? min(1, v / a) : 0) : v / 65535
                    }
                }
            } else {
                var buf = [UInt8](repeating: 0, count: w * h * channels)
                let r = buf.withUnsafeMutableBytes { png_image_finish_read(&img, nil, $0.baseAddress, 0, nil) }
                guard r != 0 else { throw ImageError.invalid(path: path, reason: message(img)) }
                for i in 0..<buf.count { pixels[i] = Float(buf[i]) / 255 }
            }
            return Image(width: w, height: h, channels: channels, pixels: pixels,
                         sourceLevels: sixteen && !hasAlpha ? 65535 : (sixteen ? nil : 255))
        }
    }

    static func message(_ img: png_image) -> String {
        var m = img.message
        return withUnsafeBytes(of: &m) { raw in String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// Encodes the image as PNG: gray, gray + alpha, RGB or RGBA by channel count; 8-bit, or
    /// 16-bit when `sixteenBit` (written as linear data, which `readPNG` reads back exactly).
    /// Values are clamped to [0, 1] and rounded; NaN is written as 0.
    public func encodePNG(sixteenBit: Bool = false) throws -> Data {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        img.width = UInt32(width)
        img.height = UInt32(height)
        var format: UInt32 = 0
        if channels >= 3 { format |= UInt32(PNG_FORMAT_FLAG_COLOR) }
        if channels == 2 || channels == 4 { format |= UInt32(PNG_FORMAT_FLAG_ALPHA) }
        if sixteenBit { format |= UInt32(PNG_FORMAT_FLAG_LINEAR) }
        img.format = format
        func clamp(_ v: Float) -> Float { v.isNaN ? 0 : min(max(v, 0), 1) }
        var size = 0
        var out = [UInt8]()
        var ok: Int32 = 0
        func write(_ raw: UnsafeRawBufferPointer) {
            _ = png_image_write_to_memory(&img, nil, &size, 0, raw.baseAddress, 0, nil)
            out = [UInt8](repeating: 0, count: size)
            ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&img, $0.baseAddress, &size, 0, raw.baseAddress, 0, nil) }
        }
        if sixteenBit {
            // The simplified API expects premultiplied linear data when there is alpha.
            var buf = [UInt16](repeating: 0, count: pixels.count)
            for p in 0..<(width * height) {
                let a = (channels == 2 || channels == 4) ? clamp(pixels[p * channels + channels - 1]) : 1
                for c in 0..<channels {
                    let isAlpha = (channels == 2 || channels == 4) && c == channels - 1
                    let v = isAlpha ? a : clamp(pixels[p * channels + c]) * a
                    buf[p * channels + c] = UInt16((v * 65535).rounded())
                }
            }
            buf.withUnsafeBytes { write($0) }
        } else {
            let buf = pixels.map { UInt8((clamp($0) * 255).rounded()) }
            buf.withUnsafeBytes { write($0) }
        }
        guard ok != 0 else { throw ImageError.writeFailed(path: "<memory>", reason: Image.message(img)) }
        return Data(out.prefix(size))
    }

    /// Writes the image as PNG (see `encodePNG`), atomically: a temporary file in the same
    /// folder is renamed over the destination.
    public func writePNG(path: String, sixteenBit: Bool = false) throws {
        let data: Data
        do { data = try encodePNG(sixteenBit: sixteenBit) } catch ImageError.writeFailed(_, let reason) {
            throw ImageError.writeFailed(path: path, reason: reason)
        }
        try writeAtomically(data, to: path)
    }
}

func writeAtomically(_ data: Data, to path: String) throws {
    do { try AtomicFile.write(data, to: path) } catch let e as FileWriteError {
        throw ImageError.writeFailed(path: path, reason: e.reason)
    }
}
