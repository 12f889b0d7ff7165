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
    public static let generatedNames = ["torus-demo", "torus-print", "knot-edges", "knot-print", "ring-gradient", "fish"]

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
            Case(name: "fish", what: "a cartoon fish: ellipsoid body and three thin fins (separate parts, one atlas), spots, stripes and gradients (2048²)",
                 mesh: fishMesh(), texture: fishTexture(size: 2048, seed: 5)),
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

    /// A latitude–longitude sphere of radius 1 (`segments` around, `rings` from pole to pole) with
    /// texture coordinates u = longitude, v = latitude, seams per corner.
    static func uvSphere(segments: Int, rings: Int) -> Mesh {
        var positions = [Double](), texcoords = [Double](), tris = [Int32](), ctex = [Int32]()
        // vertex 0: south pole, then rings − 1 latitude circles, then the north pole
        positions += [0, 0, -1]
        for r in 1..<rings {
            let th = Double.pi * Double(r) / Double(rings) - Double.pi / 2
            for s in 0..<segments {
                let ph = 2 * Double.pi * Double(s) / Double(segments)
                positions += [cos(th) * cos(ph), cos(th) * sin(ph), sin(th)]
            }
        }
        positions += [0, 0, 1]
        let north = Int32(1 + (rings - 1) * segments)
        for r in 0...rings { for s in 0...segments { texcoords += [Double(s) / Double(segments), Double(r) / Double(rings)] } }
        func v(_ r: Int, _ s: Int) -> Int32 { r == 0 ? 0 : (r == rings ? north : Int32(1 + (r - 1) * segments + s % segments)) }
        func t(_ r: Int, _ s: Int) -> Int32 { Int32(r * (segments + 1) + s) }
        for r in 0..<rings {
            for s in 0..<segments {
                if r > 0 { tris += [v(r, s), v(r, s + 1), v(r + 1, s + 1)]; ctex += [t(r, s), t(r, s + 1), t(r + 1, s + 1)] }
                if r < rings - 1 { tris += [v(r, s), v(r + 1, s + 1), v(r + 1, s)]; ctex += [t(r, s), t(r + 1, s + 1), t(r + 1, s)] }
            }
        }
        return Mesh(positions: positions, triangles: tris, texcoords: texcoords, cornerTexcoords: ctex)
    }

    /// Parts placed in one mesh: each scaled and moved, its texture coordinates mapped into a
    /// rectangle (u0, v0, u1, v1) of the shared atlas.
    static func assemble(_ parts: [(mesh: Mesh, scale: SIMD3<Double>, offset: SIMD3<Double>, uv: (Double, Double, Double, Double))]) -> Mesh {
        var positions = [Double](), texcoords = [Double](), tris = [Int32](), ctex = [Int32]()
        for p in parts {
            let v0 = Int32(positions.count / 3), t0 = Int32(texcoords.count / 2)
            for i in 0..<p.mesh.vertexCount {
                let q = p.mesh.position(i) * p.scale + p.offset
                positions += [q.x, q.y, q.z]
            }
            for i in 0..<(p.mesh.texcoords.count / 2) {
                texcoords += [p.uv.0 + (p.uv.2 - p.uv.0) * p.mesh.texcoords[2 * i], p.uv.1 + (p.uv.3 - p.uv.1) * p.mesh.texcoords[2 * i + 1]]
            }
            tris += p.mesh.triangles.map { $0 + v0 }
            ctex += p.mesh.cornerTexcoords.map { $0 + t0 }
        }
        return Mesh(positions: positions, triangles: tris, texcoords: texcoords, cornerTexcoords: ctex)
    }

    /// A cartoon fish of about 7,000 vertices: an ellipsoid body along x and three thin fins (tail,
    /// dorsal, belly), flattened across y, each its own part and atlas region (body: u in [0, 0.66];
    /// fins: stacked in [0.68, 1]). Thin parts and fins occluding the body from most views.
    public static func fishMesh() -> Mesh {
        let body = uvSphere(segments: 96, rings: 48), fin = uvSphere(segments: 48, rings: 24)
        return assemble([
            (body, SIMD3(1.0, 0.42, 0.34), SIMD3(0, 0, 0), (0, 0, 0.66, 1)),
            (fin, SIMD3(0.32, 0.025, 0.34), SIMD3(-1.15, 0, 0), (0.68, 0, 1, 0.32)),
            (fin, SIMD3(0.38, 0.02, 0.16), SIMD3(-0.05, 0, 0.38), (0.68, 0.34, 1, 0.64)),
            (fin, SIMD3(0.22, 0.02, 0.1), SIMD3(0.1, 0, -0.36), (0.68, 0.66, 1, 0.98)),
        ])
    }

    /// The fish's atlas: a body with a smooth belly-to-back gradient, dark spots and thin stripes;
    /// fins with hard-edged stripes of two colours.
    public static func fishTexture(size: Int, seed: UInt64) -> Image {
        var rng = SplitMix64(seed: seed)
        let spots = (0..<40).map { _ in (Double.random(in: 0.05..<0.61, using: &rng), Double.random(in: 0.25..<0.85, using: &rng), Double.random(in: 0.008..<0.025, using: &rng)) }
        var img = Image(width: size, height: size, channels: 3)
        for r in 0..<size { for c in 0..<size {
            let u = Double(c) / Double(size - 1), v = 1 - Double(r) / Double(size - 1)
            var rgb: [Double]
            if u <= 0.67 {
                // v is latitude: belly (0) pale, back (1) deep blue-green; thin stripes along the flank
                rgb = [0.95 - 0.8 * v, 0.85 - 0.35 * v, 0.55 + 0.3 * v]
                if abs(sin(2 * Double.pi * 40 * u)) > 0.92 && v > 0.35 && v < 0.65 { rgb = [0.95, 0.55, 0.1] }
                for (su, sv, sr) in spots where (u - su) * (u - su) + (v - sv) * (v - sv) < sr * sr { rgb = [0.08, 0.08, 0.15] }
            } else {
                let stripe = Int(floor(u * 60)) % 2 == 0
                rgb = stripe ? [0.9, 0.3, 0.15] : [0.98, 0.85, 0.3]
                if v.truncatingRemainder(dividingBy: 0.33) > 0.31 { rgb = [0.2, 0.2, 0.2] }
            }
            for ch in 0..<3 { img[r, c, ch] = Float(rgb[ch]) }
        } }
        return img
    }
}
