import Support
import Foundation

/// Helpers that make report pictures: panels side by side, error heat maps, line plots.
public enum Compositing {
    /// Places images left to right on a background, `gap` pixels apart, top-aligned; all are
    /// converted to RGB.
    public static func sideBySide(_ images: [Image], gap: Int = 8, background: Float = 1) -> Image {
        let rgbs = images.map { $0.rgb() }
        let width = rgbs.reduce(0) { $0 + $1.width } + gap * max(0, rgbs.count - 1)
        let height = rgbs.map(\.height).max() ?? 0
        var out = Image(width: max(1, width), height: max(1, height), channels: 3, fill: background)
        var x0 = 0
        for img in rgbs {
            for r in 0..<img.height { for c in 0..<img.width { for ch in 0..<3 { out[r, x0 + c, ch] = img[r, c, ch] } } }
            x0 += img.width + gap
        }
        return out
    }

    /// Rows of cells (nil: left blank), each cell shrunk by box averaging to `cell` pixels wide
    /// (aspect kept), `gap` pixels apart. RGB.
    public static func grid(_ rows: [[Image?]], cell: Int = 192, gap: Int = 4, background: Float = 1) -> Image {
        func shrink(_ img: Image) -> Image {
            let src = img.rgb(), f = max(1, src.width / max(cell, 1))
            let w = src.width / f, h = src.height / f
            var out = Image(width: max(w, 1), height: max(h, 1), channels: 3, fill: background)
            for r in 0..<h { for c in 0..<w { for ch in 0..<3 {
                var s: Float = 0
                for dr in 0..<f { for dc in 0..<f { s += src[r * f + dr, c * f + dc, ch] } }
                out[r, c, ch] = s / Float(f * f)
            } } }
            return out
        }
        let shrunk = rows.map { $0.map { $0.map(shrink) } }
        let cw = shrunk.flatMap { $0 }.compactMap { $0?.width }.max() ?? 1
        let ch = shrunk.flatMap { $0 }.compactMap { $0?.height }.max() ?? 1
        let columns = rows.map(\.count).max() ?? 0
        var out = Image(width: max(1, columns * cw + gap * max(0, columns - 1)), height: max(1, rows.count * ch + gap * max(0, rows.count - 1)),
                        channels: 3, fill: background)
        for (i, row) in shrunk.enumerated() {
            for (j, img) in row.enumerated() {
                guard let img else { continue }
                for r in 0..<img.height { for c in 0..<img.width { for k in 0..<3 {
                    out[i * (ch + gap) + r, j * (cw + gap) + c, k] = img[r, c, k]
                } } }
            }
        }
        return out
    }

    /// |a − b| averaged over RGB, scaled so that `scale` maps to the top of the colour ramp
    /// (black → red → yellow → white). Returns an RGB image.
    public static func errorHeatMap(_ a: Image, _ b: Image, scale: Float = 0.25) throws -> Image {
        guard a.width == b.width, a.height == b.height else {
            throw MetricsError.sizeMismatch("\(a.width)×\(a.height) and \(b.width)×\(b.height)")
        }
        let x = a.rgb(), y = b.rgb()
        var out = Image(width: a.width, height: a.height, channels: 3)
        for p in 0..<(a.width * a.height) {
            var e: Float = 0
            for c in 0..<3 { e += abs(x.pixels[3 * p + c] - y.pixels[3 * p + c]) }
            let t = min(1, max(0, e / 3 / scale)) * 3
            out.pixels[3 * p] = min(1, t)
            out.pixels[3 * p + 1] = min(1, max(0, t - 1))
            out.pixels[3 * p + 2] = min(1, max(0, t - 2))
        }
        return out
    }

    /// A plain line plot of one or more series (e.g. loss curves) on a white canvas with a
    /// frame; each series is scaled to the common range. `logY` plots log10 of positive values.
    public static func linePlot(_ series: [[Double]], width: Int = 640, height: Int = 360, logY: Bool = false,
                                colors: [[Float]] = [[0.1, 0.3, 0.8], [0.85, 0.3, 0.1], [0.1, 0.6, 0.2], [0.5, 0.2, 0.6]]) -> Image {
        var img = Image(width: width, height: height, channels: 3, fill: 1)
        let m = 12
        let xs = series.map { s in s.map { logY ? ($0 > 0 ? log10($0) : .nan) : $0 } }
        let finite = xs.flatMap { $0 }.filter { $0.isFinite }
        let lo = finite.min() ?? 0, hi = finite.max() ?? 1
        let span = hi > lo ? hi - lo : 1
        let maxCount = max(2, xs.map(\.count).max() ?? 2)
        func plot(_ r: Int, _ c: Int, _ col: [Float]) {
            guard r >= 0, r < height, c >= 0, c < width else { return }
            for ch in 0..<3 { img[r, c, ch] = col[ch] }
        }
        for c in m..<(width - m) { plot(m, c, [0.6, 0.6, 0.6]); plot(height - m, c, [0.6, 0.6, 0.6]) }
        for r in m...(height - m) { plot(r, m, [0.6, 0.6, 0.6]); plot(r, width - m, [0.6, 0.6, 0.6]) }
        for (si, s) in xs.enumerated() {
            let col = colors[si % colors.count]
            var prev: (Double, Double)? = nil
            for (i, v) in s.enumerated() {
                guard v.isFinite else { prev = nil; continue }
                let x = Double(m) + Double(i) / Double(maxCount - 1) * Double(width - 2 * m)
                let y = Double(height - m) - (v - lo) / span * Double(height - 2 * m)
                if let (px, py) = prev {
                    let steps = Int(clamping: max(abs(x - px), abs(y - py)).rounded(.up), to: 0...(4 * (width + height))) + 1
                    for t in 0...steps {
                        let f = Double(t) / Double(steps)
                        let cx = Int(clamping: (px + f * (x - px)).rounded(), to: -1...width), cy = Int(clamping: (py + f * (y - py)).rounded(), to: -1...height)
                        plot(cy, cx, col); plot(cy + 1, cx, col)
                    }
                } else { plot(Int(clamping: y.rounded(), to: -1...height), Int(clamping: x.rounded(), to: -1...width), col) }
                prev = (x, y)
            }
        }
        return img
    }
}
