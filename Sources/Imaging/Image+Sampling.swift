import Support

/// How sampling treats coordinates outside the image.
public enum BorderMode: Sendable {
    /// Coordinates wrap around (a periodic texture).
    case wrap
    /// Coordinates are clamped to the edge pixels.
    case clamp
}

extension Image {
    /// The pixel position of texture coordinate (u, v) in the OBJ convention: `v` points up,
    /// row = (1 − v)(H − 1), column = u (W − 1).
    @inlinable public func pixelPosition(u: Double, v: Double) -> (row: Double, column: Double) {
        ((1 - v) * Double(height - 1), u * Double(width - 1))
    }

    /// The pixel position of (u, v) after making the coordinates safe for integer conversion
    /// (any value a file may hold, 1e308 or NaN included, gives an index in the image).
    @inlinable func safePixelPosition(u: Double, v: Double, border: BorderMode) -> (row: Double, column: Double) {
        let wrap = border == .wrap
        return pixelPosition(u: u.safeTextureCoordinate(wrap: wrap), v: v.safeTextureCoordinate(wrap: wrap))
    }

    @inlinable func index(_ i: Int, _ n: Int, _ mode: BorderMode) -> Int {
        switch mode {
        case .clamp: return min(max(i, 0), n - 1)
        case .wrap:
            let r = i % n
            return r < 0 ? r + n : r
        }
    }

    /// Nearest-neighbour sample at texture coordinate (u, v); writes `channels` values to `out`.
    public func sampleNearest(u: Double, v: Double, border: BorderMode = .clamp, into out: inout [Float]) {
        let (r, c) = safePixelPosition(u: u, v: v, border: border)
        let ri = index(Int(r.rounded()), height, border), ci = index(Int(c.rounded()), width, border)
        for ch in 0..<channels { out[ch] = self[ri, ci, ch] }
    }

    /// Bilinear sample at texture coordinate (u, v); writes `channels` values to `out`.
    public func sampleBilinear(u: Double, v: Double, border: BorderMode = .clamp, into out: inout [Float]) {
        let (r, c) = safePixelPosition(u: u, v: v, border: border)
        let r0 = r.rounded(.down), c0 = c.rounded(.down)
        let fr = Float(r - r0), fc = Float(c - c0)
        let ra = index(Int(r0), height, border), rb = index(Int(r0) + 1, height, border)
        let ca = index(Int(c0), width, border), cb = index(Int(c0) + 1, width, border)
        for ch in 0..<channels {
            let top = self[ra, ca, ch] * (1 - fc) + self[ra, cb, ch] * fc
            let bottom = self[rb, ca, ch] * (1 - fc) + self[rb, cb, ch] * fc
            out[ch] = top * (1 - fr) + bottom * fr
        }
    }

    /// The image as RGB: gray is repeated into three channels, alpha is dropped.
    public func rgb() -> Image {
        if channels == 3 { return self }
        var out = Image(width: width, height: height, channels: 3)
        out.sourceLevels = sourceLevels
        for p in 0..<(width * height) {
            for c in 0..<3 {
                out.pixels[p * 3 + c] = channels <= 2 ? pixels[p * channels] : pixels[p * channels + c]
            }
        }
        return out
    }

    /// The image as RGBA with `alpha`'s first channel as the alpha channel (same size required:
    /// `ImageError.mismatch` otherwise).
    public func withAlpha(_ alpha: Image) throws -> Image {
        guard alpha.width == width, alpha.height == height else {
            throw ImageError.mismatch("alpha \(alpha.width) × \(alpha.height) for an image of \(width) × \(height)")
        }
        let c = rgb()
        var out = Image(width: width, height: height, channels: 4)
        for p in 0..<(width * height) {
            for ch in 0..<3 { out.pixels[p * 4 + ch] = c.pixels[p * 3 + ch] }
            out.pixels[p * 4 + 3] = alpha.pixels[p * alpha.channels]
        }
        return out
    }
}
