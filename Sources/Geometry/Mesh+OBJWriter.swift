import Support
import Foundation

extension Mesh {
    /// Writes the mesh as OBJ: positions (with per-vertex colours when given), texture
    /// coordinates and normals when present, and one `f` line per triangle. Numbers are
    /// written with 17 significant digits, so a round trip is exact. The file is written
    /// atomically (temporary file, then rename).
    /// - Parameters:
    ///   - path: destination.
    ///   - vertexColors: optional `3 * vertexCount` colours in [0, 1] (overrides the mesh's own).
    ///   - materialLibrary: optional `mtllib` name to reference, with `usemtl material`.
    public func writeOBJ(path: String, vertexColors: [Double]? = nil, materialLibrary: String? = nil) throws {
        let colors = vertexColors ?? self.vertexColors
        if let c = colors, c.count != positions.count {
            throw MeshError.invalid("vertex colours: expected \(positions.count) values, got \(c.count)")
        }
        var out = "# written by texfield\n"
        out.reserveCapacity(positions.count * 24 + triangles.count * 12)
        if let lib = materialLibrary { out += "mtllib \(lib)\n" }
        func f(_ x: Double) -> String {
            if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
            return String(format: "%.17g", x)
        }
        for i in 0..<vertexCount {
            out += "v \(f(positions[3 * i])) \(f(positions[3 * i + 1])) \(f(positions[3 * i + 2]))"
            if let c = colors { out += " \(f(c[3 * i])) \(f(c[3 * i + 1])) \(f(c[3 * i + 2]))" }
            out += "\n"
        }
        let tex = !texcoords.isEmpty && cornerTexcoords.count == triangles.count
        let nor = !normals.isEmpty && cornerNormals.count == triangles.count
        if tex { for t in 0..<(texcoords.count / 2) { out += "vt \(f(texcoords[2 * t])) \(f(texcoords[2 * t + 1]))\n" } }
        if nor { for t in 0..<(normals.count / 3) { out += "vn \(f(normals[3 * t])) \(f(normals[3 * t + 1])) \(f(normals[3 * t + 2]))\n" } }
        if materialLibrary != nil { out += "usemtl material\n" }
        for fi in 0..<triangleCount {
            out += "f"
            for c in 0..<3 {
                let k = 3 * fi + c
                out += " \(triangles[k] + 1)"
                let t = tex ? cornerTexcoords[k] : -1, n = nor ? cornerNormals[k] : -1
                if t >= 0 && n >= 0 { out += "/\(t + 1)/\(n + 1)" } else if t >= 0 { out += "/\(t + 1)" } else if n >= 0 { out += "//\(n + 1)" }
            }
            out += "\n"
        }
        do { try AtomicFile.write(Data(out.utf8), to: path) } catch let e as FileWriteError {
            throw MeshError.writeFailed(path: e.path, reason: e.reason)
        }
    }
}
