import Support
import Foundation
import Imaging

/// Plain PNG plots (points and lines on a white canvas with a grey frame); axes ranges are
/// written by the caller beside the file (JSON/Markdown).
public enum Plot {
    /// A scatter of (x, y) points, each series in its colour.
    public static func scatter(_ series: [[(Double, Double)]], width: Int = 800, height: Int = 500,
                               colors: [[Float]] = [[0.1, 0.2, 0.6], [0.8, 0.3, 0.1], [0.1, 0.55, 0.2], [0.5, 0.2, 0.6]],
                               alpha: Float = 0.5, radius: Int = 0) -> Image {
        var img = Image(width: width, height: height, channels: 3, fill: 1)
        let pts = series.flatMap { $0 }.filter { $0.0.isFinite && $0.1.isFinite }
        guard !pts.isEmpty else { return img }
        let x0 = pts.map(\.0).min()!, x1 = pts.map(\.0).max()!, y0 = pts.map(\.1).min()!, y1 = pts.map(\.1).max()!
        let m = 12
        func px(_ x: Double) -> Int { m + Int(clamping: (x - x0) / max(x1 - x0, 1e-300) * Double(width - 2 * m - 1), to: 0...(width - 2 * m - 1)) }
        func py(_ y: Double) -> Int { height - m - 1 - Int(clamping: (y - y0) / max(y1 - y0, 1e-300) * Double(height - 2 * m - 1), to: 0...(height - 2 * m - 1)) }
        for c in m..<(width - m) { for ch in 0..<3 { img[m, c, ch] = 0.6; img[height - m - 1, c, ch] = 0.6 } }
        for r in m..<(height - m) { for ch in 0..<3 { img[r, m, ch] = 0.6; img[r, width - m - 1, ch] = 0.6 } }
        for (s, list) in series.enumerated() {
            let col = colors[s % colors.count]
            for (x, y) in list where x.isFinite && y.isFinite {
                let cx = px(x), cy = py(y)
                for dy in -radius...radius { for dx in -radius...radius {
                    let r = cy + dy, c = cx + dx
                    guard r >= 0, r < height, c >= 0, c < width else { continue }
                    for ch in 0..<3 { img[r, c, ch] = img[r, c, ch] * (1 - alpha) + col[ch] * alpha }
                } }
            }
        }
        return img
    }

    /// Lines through (index, value) for each series.
    public static func lines(_ series: [[Double]], width: Int = 800, height: Int = 400) -> Image {
        Compositing.linePlot(series, width: width, height: height)
    }
}
