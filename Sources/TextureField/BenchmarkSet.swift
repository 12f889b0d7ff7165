import Foundation
import Geometry
import Imaging
import Support

/// The textured meshes on which texfield's fit defaults are chosen (`texfield experiment
/// defaults`): different texture content (fine print on 2048², smooth gradients, hard edges) and
/// geometry (a torus, a thin self-occluding knot, a flat thin ring, and spot when available).
/// Everything but spot is generated, deterministically.
public enum BenchmarkSet {
    /// One mesh with its texture.
    public struct Case: Sendable {
        public let name: String
        public let what: String
        public let mesh: Mesh
        public let texture: Image
    }

    /// The names of the generated cases.
    public static let generatedNames = ["torus-demo", "torus-print", "knot-edges", "knot-print", "ring-gradient"]

    /// The cases: the generated ones, then `spot` and `spot-print` when `spot` (mesh, texture
    /// paths) is given.
    public static func cases(spot: (mesh: String, texture: String)? = nil) throws -> [Case] {
        let torus = Mesh.torus(segments: 64, rings: 32)
        let knot = Mesh.torusKnot(p: 2, q: 3, tube: 0.12, segments: 320, sides: 20)
        let ring = Mesh.torus(majorRadius: 1, minorRadius: 0.45, segments: 96, rings: 32).scaled(by: SIMD3(1, 1, 0.08))
        var out = [
            Case(name: "torus-demo", what: "torus, smooth colours with sharp stripes (256²; the demo)", mesh: torus, texture: demoTexture(size: 256)),
            Case(name: "torus-print", what: "torus, fine print (2048²)", mesh: torus, texture: finePrint(size: 2048, seed: 1)),
            Case(name: "knot-edges", what: "trefoil knot tube (thin, self-occluding), hard-edged colour cells (1024²)", mesh: knot,
                 texture: voronoiCells(size: 1024, cells: 96, seed: 2)),
            Case(name: "knot-print", what: "trefoil knot tube, fine print (2048²)", mesh: knot, texture: finePrint(size: 2048, seed: 3)),
            Case(name: "ring-gradient", what: "flat ring (thin edges), smooth gradients (512²)", mesh: ring, texture: smoothGradient(size: 512)),
        ]
        if let spot {
            let m = try Mesh.readOBJ(path: spot.mesh)
            out.append(Case(name: "spot", what: "spot (Keenan Crane), its own texture (1024²)", mesh: m, texture: try Image.readPNG(path: spot.texture).rgb()))
            out.append(Case(name: "spot-print", what: "spot, fine print (2048²)", mesh: m, texture: finePrint(size: 2048, seed: 4)))
        }
        return out
    }

    /// A colourful, smoothly varying texture with a few sharp stripes, periodic in u and v (the
    /// demo torus's texture).
    public static func demoTexture(size: Int) -> Image {
        var img = Image(width: size, height: size, channels: 3)
        for r in 0..<size {
            for c in 0..<size {
                let u = Double(c) / Double(size), v = 1 - Double(r) / Double(size)
                let a = 2 * Double.pi * u, b = 2 * Double.pi * v
                var rgb = [0.5 + 0.4 * cos(a), 0.5 + 0.4 * sin(2 * a + b), 0.5 + 0.4 * cos(3 * b)]
                if Int(floor(u * 16)) % 4 == 0 && Int(floor(v * 8)) % 2 == 0 { rgb = [0.95, 0.9, 0.2] }
                for ch in 0..<3 { img[r, c, ch] = Float(rgb[ch]) }
            }
        }
        return img
    }

    /// Lines of small dark "glyphs" (random 3 × 5 blocks of `cell`-pixel squares) in a few ink
    /// colours on a light paper: detail a few texels wide. With `cell` 3 a glyph is 9 × 15 texels,
    /// the lines 21 texels apart (with `cell` 2, 6 × 10 and 14 apart: too fine for 1023
    /// eigenfunctions on meshes of a few thousand vertices — every setting then ends at the mean
    /// colour, about 9.9 dB).
    public static func finePrint(size: Int, seed: UInt64, cell: Int = 3) -> Image {
        var rng = SplitMix64(seed: seed)
        var img = Image(width: size, height: size, channels: 3, fill: 0.93)
        let inks: [[Float]] = [[0.1, 0.1, 0.12], [0.55, 0.05, 0.05], [0.05, 0.15, 0.5], [0.05, 0.4, 0.15]]
        let advance = 4 * cell, lineHeight = 7 * cell
        var row = 4
        while row + 5 * cell < size {
            var col = 4
            var ink = inks[Int(rng.next() % UInt64(inks.count))]
            while col + 3 * cell < size {
                if rng.next() % 7 == 0 { col += advance; ink = inks[Int(rng.next() % UInt64(inks.count))]; continue }  // a space
                let bits = rng.next()
                for gy in 0..<5 { for gx in 0..<3 where (bits >> UInt64(gy * 3 + gx)) & 1 == 1 {
                    for dy in 0..<cell { for dx in 0..<cell {
                        for ch in 0..<3 { img[row + cell * gy + dy, col + cell * gx + dx, ch] = ink[ch] }
                    } }
                } }
                col += advance
            }
            row += lineHeight
        }
        return img
    }

    /// Smooth, low-frequency colour gradients.
    public static func smoothGradient(size: Int) -> Image {
        var img = Image(width: size, height: size, channels: 3)
        for r in 0..<size { for c in 0..<size {
            let u = Double(c) / Double(size), v = Double(r) / Double(size)
            let rgb = [0.5 + 0.45 * sin(2 * Double.pi * u), 0.5 + 0.45 * cos(2 * Double.pi * (u + v)), 0.2 + 0.7 * v]
            for ch in 0..<3 { img[r, c, ch] = Float(rgb[ch]) }
        } }
        return img
    }

    /// `cells` Voronoi cells of random flat colours (periodic in u): hard edges everywhere.
    public static func voronoiCells(size: Int, cells: Int, seed: UInt64) -> Image {
        var rng = SplitMix64(seed: seed)
        let sites = (0..<cells).map { _ in SIMD2(Double.random(in: 0..<1, using: &rng), Double.random(in: 0..<1, using: &rng)) }
        let colours = (0..<cells).map { _ in (0..<3).map { _ in Float.random(in: 0.05...0.95, using: &rng) } }
        var img = Image(width: size, height: size, channels: 3)
        for r in 0..<size { for c in 0..<size {
            let p = SIMD2((Double(c) + 0.5) / Double(size), (Double(r) + 0.5) / Double(size))
            var best = 0, bestD = Double.infinity
            for (i, s) in sites.enumerated() {
                let dx0 = Swift.abs(p.x - s.x), dx = Swift.min(dx0, 1 - dx0), dy = p.y - s.y
                let dd = dx * dx + dy * dy
                if dd < bestD { bestD = dd; best = i }
            }
            for ch in 0..<3 { img[r, c, ch] = colours[best][ch] }
        } }
        return img
    }
}
