import Support
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension Mesh {
    /// Reads a Wavefront OBJ file.
    ///
    /// Accepts `v` (3 coordinates, an optional `w`, or `x y z r g b` vertex colours), `vt`,
    /// `vn`, and `f` with corners in every form (`v`, `v/vt`, `v//vn`, `v/vt/vn`, negative
    /// indices counting back from the last defined element). Polygons are triangulated as
    /// fans. `o`, `g`, `s`, `usemtl`, `mtllib`, `l`, `p` and comments are accepted; `mtllib`
    /// files are read so that `diffuseTexturePath` names the first material's `map_Kd`.
    /// Unknown text statements are ignored; binary data is an error.
    ///
    /// - Throws: `MeshError` naming the file and line for malformed or non-finite numbers,
    ///   zero or out-of-range indices, faces with fewer than three corners, binary data,
    ///   files without vertices or faces, and unreadable paths.
    public static func readOBJ(path: String) throws -> Mesh {
        let data: Data
        do { data = try InputFile.read(path) } catch let e as FileReadError { throw MeshError.unreadable(path: path, reason: e.reason) }
        let (mesh0, material) = try parse(data, path: path)
        var mesh = mesh0
        mesh.diffuseTexturePath = MaterialLibrary.diffuseTexture(
            objPath: path, libraries: mesh.materialLibraries, material: material)
        return mesh
    }

    /// Parses OBJ text already in memory; `path` is used in error messages only.
    public static func parseOBJ(_ data: Data, path: String = "<memory>") throws -> Mesh {
        try parse(data, path: path).0
    }

    static func parse(_ data: Data, path: String, facesRequired: Bool = true) throws -> (Mesh, String?) {
        var bytes = [UInt8](data)
        bytes.append(0)  // strtod needs a terminator
        var parser = OBJParser(path: path)
        try bytes.withUnsafeBufferPointer { try parser.parse($0) }
        return (try parser.finish(facesRequired: facesRequired), parser.firstMaterial)
    }
}

/// Streaming OBJ parser over a NUL-terminated byte buffer.
struct OBJParser {
    let path: String
    var positions: [Double] = []
    var colors: [Double] = []
    var hasColors = false
    var texcoords: [Double] = []
    var normals: [Double] = []
    var triangles: [Int32] = []
    var cornerTex: [Int32] = []
    var cornerNormal: [Int32] = []
    var triangleLines: [Int32] = []
    var libraries: [String] = []
    var firstMaterial: String?
    var anyTex = false
    var anyNormal = false
    var line = 0
    // Corners of the current face: raw (already resolved) indices and the face's line.
    var face: [(Int, Int, Int)] = []
    // Positive indices may refer forward; they are checked in finish().
    var maxIndexLine: (v: Int, vt: Int, vn: Int) = (0, 0, 0)
    var maxIndex: (v: Int, vt: Int, vn: Int) = (-1, -1, -1)

    init(path: String) { self.path = path }

    func fail(_ message: String) -> MeshError { .malformed(path: path, line: line, message: message) }

    mutating func parse(_ buf: UnsafeBufferPointer<UInt8>) throws {
        let base = buf.baseAddress!
        let end = buf.count - 1  // index of the terminator
        // A UTF-8 byte-order mark (some Windows editors write one) is skipped.
        var i = end >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF ? 3 : 0
        line = 0
        while i < end {
            line += 1
            // Find the end of the line: LF, CRLF or a lone CR (classic Mac files).
            var e = i
            while e < end && base[e] != 10 && base[e] != 13 { e += 1 }
            try parseLine(base, i, e)
            i = e < end && base[e] == 13 && base[e + 1] == 10 ? e + 2 : e + 1
        }
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 11 || c == 12 }

    mutating func parseLine(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) throws {
        var i = start
        while i < end && OBJParser.isSpace(p[i]) { i += 1 }
        if i >= end || p[i] == 35 { return }  // empty or comment
        let k0 = i
        while i < end && !OBJParser.isSpace(p[i]) { i += 1 }
        let klen = i - k0
        let c0 = p[k0], c1: UInt8 = klen > 1 ? p[k0 + 1] : 0
        if klen == 1 && c0 == 118 {  // v
            var vals = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            var count = 0
            while true {
                guard let x = try number(p, &i, end) else { break }
                count += 1
                if count > 7 { throw fail("a 'v' line takes 3, 4, 6 or 7 numbers") }
                switch count {
                case 1: vals.0 = x
                case 2: vals.1 = x
                case 3: vals.2 = x
                case 4: vals.3 = x
                case 5: vals.4 = x
                case 6: vals.5 = x
                default: vals.6 = x
                }
            }
            guard count == 3 || count == 4 || count == 6 || count == 7 else {
                throw fail("a 'v' line takes 3, 4, 6 or 7 numbers, found \(count)")
            }
            positions.append(vals.0); positions.append(vals.1); positions.append(vals.2)
            if count >= 6 {
                if !hasColors {
                    hasColors = true
                    colors = [Double](repeating: 0, count: positions.count - 3)
                }
                colors.append(count == 6 ? vals.3 : vals.4)
                colors.append(count == 6 ? vals.4 : vals.5)
                colors.append(count == 6 ? vals.5 : vals.6)
            } else if hasColors {
                colors.append(0); colors.append(0); colors.append(0)
            }
        } else if klen == 2 && c0 == 118 && c1 == 116 {  // vt
            var uv = [Double]()
            while let x = try number(p, &i, end) { uv.append(x) }
            guard (1...3).contains(uv.count) else { throw fail("a 'vt' line takes 1 to 3 numbers, found \(uv.count)") }
            texcoords.append(uv[0]); texcoords.append(uv.count > 1 ? uv[1] : 0)
        } else if klen == 2 && c0 == 118 && c1 == 110 {  // vn
            var n = [Double]()
            while let x = try number(p, &i, end) { n.append(x) }
            guard n.count == 3 else { throw fail("a 'vn' line takes 3 numbers, found \(n.count)") }
            normals.append(contentsOf: n)
        } else if klen == 1 && c0 == 102 {  // f
            try parseFace(p, &i, end)
        } else if klen == 6 && matches(p, k0, "mtllib") {
            let rest = text(p, i, end)
            if !rest.isEmpty { libraries.append(rest) }
        } else if klen == 6 && matches(p, k0, "usemtl") {
            if firstMaterial == nil { firstMaterial = text(p, i, end) }
        } else {
            // o, g, s, l, p, vp, cstype, ... are accepted and ignored; binary data is not.
            for j in k0..<end where p[j] == 0 || (p[j] < 32 && !OBJParser.isSpace(p[j])) {
                throw fail("binary data (byte \(p[j])): not a text OBJ file")
            }
            if p[k0] >= 128 { throw fail("unexpected non-ASCII statement: not an OBJ file?") }
        }
    }

    func matches(_ p: UnsafePointer<UInt8>, _ at: Int, _ word: StaticString) -> Bool {
        let w = word.utf8Start
        for j in 0..<word.utf8CodeUnitCount where p[at + j] != w[j] { return false }
        return true
    }

    func text(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> String {
        let bytes = UnsafeBufferPointer(start: p + s, count: e - s)
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A token for a message: at most 40 characters (a 10 MB token is never echoed whole).
    func shown(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> String {
        excerpt(text(p, s, min(e, s + 4096)), limit: 40) + (e - s > 4096 ? " (\(e - s) bytes)" : "")
    }

    /// Parses the next number on the line; nil at the end of the line.
    mutating func number(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) throws -> Double? {
        while i < end && OBJParser.isSpace(p[i]) { i += 1 }
        if i >= end || p[i] == 35 { return nil }
        if let (x, j) = OBJParser.fastDecimal(p, i, end) {
            i = j
            return x
        }
        let startPtr = UnsafeMutablePointer(mutating: p + i)
        var endPtr: UnsafeMutablePointer<CChar>? = nil
        let x = startPtr.withMemoryRebound(to: CChar.self, capacity: 1) { strtod($0, &endPtr) }
        let consumed = endPtr.map { UnsafeRawPointer($0) - UnsafeRawPointer(startPtr) } ?? 0
        let j = i + consumed
        if consumed == 0 || j > end || (j < end && !OBJParser.isSpace(p[j]) && p[j] != 35) {
            var k = i
            while k < end && !OBJParser.isSpace(p[k]) { k += 1 }
            throw fail("malformed number '\(shown(p, i, k))'")
        }
        if !x.isFinite {
            var k = i
            while k < end && !OBJParser.isSpace(p[k]) { k += 1 }
            let token = shown(p, i, k)
            throw fail(x.isNaN || token.lowercased().contains("inf") ? "non-finite number '\(token)'"
                       : "number '\(token)' is beyond the range of a double (±1.8e308)")
        }
        // Reject hexadecimal and other strtod extras that OBJ does not have.
        for q in i..<j where p[q] == 120 || p[q] == 88 { throw fail("malformed number '\(shown(p, i, j))'") }
        i = j
        return x
    }

    /// Powers of ten that are exact in Float80 (10^27 = 5^27 · 2^27, 5^27 < 2^63).
    static let exactPowersOfTen: [Float80] = {
        var t: [Float80] = [1]
        for _ in 1...27 { t.append(t[t.count - 1] * 10) }
        return t
    }()

    /// The double nearest a plain decimal `[+-]digits[.digits][(e|E)[+-]digits]` that ends at a
    /// space, `#` or `end`, and the index after it; nil when it is not one or is not sure, and
    /// the caller's `strtod` decides (also for its error messages). `strtod` takes a
    /// multiple-precision path for the 17 significant digits of a written double (41k vertices:
    /// 0.1 s, a seventh of computing 64 eigenpairs). Here: up to 19 significant digits m and a
    /// decimal exponent within ±27, m and 10^|e| are exact in Float80 and m · 10^e or m / 10^-e is
    /// rounded once to Float80's 64-bit significand, within half its last place of the true
    /// value; rounding that to 53 bits gives the double nearest the true value unless it lies
    /// within one 64-bit place of a midpoint between doubles (low 11 bits 0x3FF-0x401), which
    /// goes to `strtod`, as do results outside the normal range. The tests compare it with
    /// `strtod` to the bit.
    static func fastDecimal(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (Double, Int)? {
        #if arch(x86_64) || arch(i386)
        var i = start
        var negative = false
        if i < end && (p[i] == 45 || p[i] == 43) { negative = p[i] == 45; i += 1 }
        // m: the significant digits (leading zeros skipped; a 20th digit goes to strtod);
        // exponent: the power of ten that m is scaled by.
        var m: UInt64 = 0, significant = 0, exponent = 0, digits = 0
        while i < end && p[i] >= 48 && p[i] <= 57 {
            if m != 0 || p[i] != 48 {
                if significant == 19 { return nil }
                m = m * 10 + UInt64(p[i] - 48)
                significant += 1
            }
            digits += 1
            i += 1
        }
        if i < end && p[i] == 46 {
            i += 1
            while i < end && p[i] >= 48 && p[i] <= 57 {
                if m != 0 || p[i] != 48 {
                    if significant == 19 { return nil }
                    m = m * 10 + UInt64(p[i] - 48)
                    significant += 1
                }
                exponent -= 1
                digits += 1
                i += 1
            }
        }
        if digits == 0 { return nil }
        if i < end && (p[i] == 101 || p[i] == 69) {
            i += 1
            var eneg = false, e = 0, edigits = 0
            if i < end && (p[i] == 45 || p[i] == 43) { eneg = p[i] == 45; i += 1 }
            while i < end && p[i] >= 48 && p[i] <= 57 {
                if edigits == 4 { return nil }
                e = e * 10 + Int(p[i] - 48)
                edigits += 1
                i += 1
            }
            if edigits == 0 { return nil }
            exponent += eneg ? -e : e
        }
        if i < end && !isSpace(p[i]) && p[i] != 35 { return nil }
        if m == 0 { return (negative ? -0.0 : 0.0, i) }
        guard abs(exponent) <= 27 else { return nil }
        let q = exponent < 0 ? Float80(m) / exactPowersOfTen[-exponent] : Float80(m) * exactPowersOfTen[exponent]
        let low = q.significandBitPattern & 0x7FF
        if low >= 0x3FF && low <= 0x401 { return nil }
        let x = Double(q)
        guard x.isNormal else { return nil }
        return (negative ? -x : x, i)
        #else
        return nil
        #endif
    }

    /// Parses a signed integer index; returns nil if none is present (empty field).
    func index(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) throws -> Int? {
        var neg = false
        if i < end && (p[i] == 45 || p[i] == 43) { neg = p[i] == 45; i += 1 }
        var v = 0, digits = 0
        while i < end && p[i] >= 48 && p[i] <= 57 {
            v = v &* 10 &+ Int(p[i] - 48)
            digits += 1
            if digits > 12 { throw fail("index too large") }
            i += 1
        }
        if digits == 0 { return nil }
        return neg ? -v : v
    }

    /// Resolves an OBJ index (1-based, or negative from the end) to zero-based.
    func resolve(_ raw: Int, count: Int, what: String) throws -> Int {
        if raw == 0 { throw fail("\(what) index 0: OBJ indices start at 1") }
        if raw < 0 {
            let r = count + raw
            if r < 0 { throw fail("\(what) index \(raw) refers before the first \(what) (only \(count) defined)") }
            return r
        }
        return raw - 1
    }

    mutating func parseFace(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) throws {
        face.removeAll(keepingCapacity: true)
        let nv = positions.count / 3, nt = texcoords.count / 2, nn = normals.count / 3
        while true {
            while i < end && OBJParser.isSpace(p[i]) { i += 1 }
            if i >= end || p[i] == 35 { break }
            let cornerStart = i
            guard let rv = try index(p, &i, end) else {
                var k = i
                while k < end && !OBJParser.isSpace(p[k]) { k += 1 }
                throw fail("malformed face corner '\(shown(p, cornerStart, k))'")
            }
            var rt: Int? = nil, rn: Int? = nil
            if i < end && p[i] == 47 {  // '/'
                i += 1
                rt = try index(p, &i, end)
                if i < end && p[i] == 47 {
                    i += 1
                    rn = try index(p, &i, end)
                    if rn == nil { throw fail("malformed face corner: missing normal index after '//'") }
                }
            }
            if i < end && !OBJParser.isSpace(p[i]) && p[i] != 35 {
                var k = i
                while k < end && !OBJParser.isSpace(p[k]) { k += 1 }
                throw fail("malformed face corner '\(shown(p, cornerStart, k))'")
            }
            let v = try resolve(rv, count: nv, what: "vertex")
            let t = try rt.map { try resolve($0, count: nt, what: "texture coordinate") } ?? -1
            let n = try rn.map { try resolve($0, count: nn, what: "normal") } ?? -1
            if v > maxIndex.v { maxIndex.v = v; maxIndexLine.v = line }
            if t > maxIndex.vt { maxIndex.vt = t; maxIndexLine.vt = line }
            if n > maxIndex.vn { maxIndex.vn = n; maxIndexLine.vn = line }
            face.append((v, t, n))
        }
        guard face.count >= 3 else { throw fail("a face needs at least 3 corners, found \(face.count)") }
        let withTex = face.filter { $0.1 >= 0 }.count
        if withTex != 0 && withTex != face.count {
            throw fail("face mixes corners with and without texture coordinates")
        }
        if withTex > 0 { anyTex = true }
        if face.contains(where: { $0.2 >= 0 }) { anyNormal = true }
        for j in 1..<(face.count - 1) {
            for c in [face[0], face[j], face[j + 1]] {
                triangles.append(Int32(truncatingIfNeeded: c.0))
                cornerTex.append(Int32(truncatingIfNeeded: c.1))
                cornerNormal.append(Int32(truncatingIfNeeded: c.2))
            }
            triangleLines.append(Int32(truncatingIfNeeded: line))
        }
    }

    func finish(facesRequired: Bool = true) throws -> Mesh {
        let nv = positions.count / 3
        if nv == 0 { throw MeshError.empty(path: path, message: "no vertices ('v' lines) found") }
        if triangles.isEmpty && facesRequired { throw MeshError.empty(path: path, message: "no faces ('f' lines) found") }
        if nv > Int(Int32.max) { throw MeshError.invalid("\(path): too many vertices") }
        if maxIndex.v >= nv {
            throw MeshError.malformed(path: path, line: maxIndexLine.v,
                                      message: "vertex index \(maxIndex.v + 1) out of range (\(nv) vertices)")
        }
        if maxIndex.vt >= texcoords.count / 2 {
            throw MeshError.malformed(path: path, line: maxIndexLine.vt,
                                      message: "texture coordinate index \(maxIndex.vt + 1) out of range (\(texcoords.count / 2) defined)")
        }
        if maxIndex.vn >= normals.count / 3 {
            throw MeshError.malformed(path: path, line: maxIndexLine.vn,
                                      message: "normal index \(maxIndex.vn + 1) out of range (\(normals.count / 3) defined)")
        }
        var mesh = Mesh(positions: positions, triangles: triangles, texcoords: texcoords,
                        cornerTexcoords: anyTex ? cornerTex : [], normals: normals,
                        cornerNormals: anyNormal ? cornerNormal : [],
                        vertexColors: hasColors ? colors : nil)
        mesh.triangleLines = triangleLines
        mesh.materialLibraries = libraries
        return mesh
    }
}

/// Minimal reader of Wavefront material libraries: enough to find a diffuse texture.
enum MaterialLibrary {
    /// The `map_Kd` of `material` (or of the first material when nil), resolved against the
    /// folder of the OBJ; nil when no library or texture is found.
    static func diffuseTexture(objPath: String, libraries: [String], material: String?) -> String? {
        let dir = (objPath as NSString).deletingLastPathComponent
        var first: String?
        for lib in libraries {
            let libPath = lib.hasPrefix("/") ? lib : (dir as NSString).appendingPathComponent(lib)
            guard let text = try? InputFile.readText(libPath, limit: 64 << 20) else { continue }
            var current: String?
            for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
                let parts = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard let key = parts.first else { continue }
                if key == "newmtl" {
                    current = parts.dropFirst().joined(separator: " ")
                } else if key == "map_Kd", let file = parts.last, parts.count >= 2 {
                    let libDir = (libPath as NSString).deletingLastPathComponent
                    let resolved = file.hasPrefix("/") ? file : (libDir as NSString).appendingPathComponent(file)
                    if material == nil || current == material { return resolved }
                    if first == nil { first = resolved }
                }
            }
        }
        return first
    }
}
