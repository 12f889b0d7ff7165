extension Mesh {
    /// Midpoint subdivision: every triangle split into four at its edge midpoints (shared
    /// between neighbours, so the result stays connected); texture coordinates are split the
    /// same way per corner, so UV seams survive. Normals and vertex colours are dropped.
    public func subdivided() -> Mesh {
        /// The midpoint of (a, b) in a flat array of `width`-wide rows, appended once per edge.
        func midpoint(_ a: Int32, _ b: Int32, _ values: inout [Double], _ source: [Double], width: Int,
                      _ cache: inout [UInt64: Int32]) -> Int32 {
            let key = UInt64(UInt32(min(a, b))) << 32 | UInt64(UInt32(max(a, b)))
            if let m = cache[key] { return m }
            let m = Int32(values.count / width)
            for c in 0..<width { values.append(0.5 * (source[width * Int(a) + c] + source[width * Int(b) + c])) }
            cache[key] = m
            return m
        }
        var pos = positions, tex = texcoords
        var edgeMid = [UInt64: Int32](), texMid = [UInt64: Int32]()
        func mid(_ a: Int32, _ b: Int32) -> Int32 { midpoint(a, b, &pos, positions, width: 3, &edgeMid) }
        func tmid(_ a: Int32, _ b: Int32) -> Int32 { midpoint(a, b, &tex, texcoords, width: 2, &texMid) }
        let uv = hasTexcoords
        var tris = [Int32](), corners = [Int32](), lines = [Int32]()
        tris.reserveCapacity(4 * triangles.count)
        for f in 0..<triangleCount {
            let a = triangles[3 * f], b = triangles[3 * f + 1], c = triangles[3 * f + 2]
            let ab = mid(a, b), bc = mid(b, c), ca = mid(c, a)
            tris += [a, ab, ca, ab, b, bc, ca, bc, c, ab, bc, ca]
            if uv {
                let ta = cornerTexcoords[3 * f], tb = cornerTexcoords[3 * f + 1], tc = cornerTexcoords[3 * f + 2]
                let tab = tmid(ta, tb), tbc = tmid(tb, tc), tca = tmid(tc, ta)
                corners += [ta, tab, tca, tab, tb, tbc, tca, tbc, tc, tab, tbc, tca]
            }
            if !triangleLines.isEmpty { lines += [Int32](repeating: triangleLines[f], count: 4) }
        }
        var m = Mesh(positions: pos, triangles: tris)
        if uv { m.texcoords = tex; m.cornerTexcoords = corners }
        m.triangleLines = lines
        m.materialLibraries = materialLibraries
        m.diffuseTexturePath = diffuseTexturePath
        return m
    }
}
