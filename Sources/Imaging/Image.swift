/// A Float32 image, RGB or RGBA, rows top to bottom, channels interleaved, contiguous:
/// `pixels[(row * width + column) * channels + c]`. Colours are used as stored (no sRGB
/// linearisation), nominally in [0, 1].
public struct Image: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `width × height × channels` samples, interleaved, rows top to bottom.
    public var pixels: [Float]
    /// For an image read from an integer file: the number of levels − 1 of its samples (255 or
    /// 65535), so that metrics can use the exact values k/levels in Double rather than their
    /// Float roundings. Nil for computed images.
    public var sourceLevels: Int?

    /// An image over `pixels` (their count must be `width × height × channels`: a precondition).
    public init(width: Int, height: Int, channels: Int, pixels: [Float], sourceLevels: Int? = nil) {
        precondition(pixels.count == width * height * channels, "pixel count does not match the shape")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.sourceLevels = sourceLevels
    }

    /// Sample `i` of `pixels` in Double: exact k/levels for images read from integer files.
    @inlinable public func exactValue(_ i: Int) -> Double {
        guard let l = sourceLevels else { return Double(pixels[i]) }
        let L = Double(l)
        return (Double(pixels[i]) * L).rounded() / L
    }

    /// An image with every sample `fill`.
    public init(width: Int, height: Int, channels: Int, fill: Float = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [Float](repeating: fill, count: width * height * channels))
    }

    /// The sample at (row, column, channel); no bounds check beyond the array's.
    @inlinable public subscript(row: Int, column: Int, channel: Int) -> Float {
        get { pixels[(row * width + column) * channels + channel] }
        set { pixels[(row * width + column) * channels + channel] = newValue }
    }
}

/// Errors of image reading and writing; each names the file.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or decoded.
    case unreadable(path: String, reason: String)
    /// A file that is not a usable PNG.
    case invalid(path: String, reason: String)
    /// More than `limit` pixels, refused from the header before decoding.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    /// The output could not be written.
    case writeFailed(path: String, reason: String)
    /// Images whose sizes or channel counts do not fit together.
    case mismatch(String)

    /// The message, naming the file where there is one.
    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .invalid(let p, let r): return "\(p): not a valid PNG: \(r)"
        case .tooLarge(let p, let w, let h, let l): return "\(p): \(w)×\(h) pixels exceeds the limit of \(l) pixels"
        case .writeFailed(let p, let r): return "\(p): cannot write: \(r)"
        case .mismatch(let m): return m
        }
    }
}
