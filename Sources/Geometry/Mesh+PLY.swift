import Foundation
import Support

/// Stanford PLY: reading (ASCII, binary little- and big-endian) and writing.
///
/// Read: the `vertex` element's `x y z` (required), `nx ny nz`, `red green blue` (integers scaled
/// by 1/255, or floats in [0, 1]) and texture coordinates (`u v`, `s t` or `texture_u texture_v`,
/// per vertex); the `face` element's `vertex_indices` (or `vertex_index`) list of any length
/// (triangulated as a fan) and an optional per-corner `texcoord` list (MeshLab's). Other
/// elements and properties are skipped. Every count in the header is checked against the bytes
/// that follow before anything is allocated, so a header cannot ask for more memory than the
/// file could fill; errors name the file and the line (ASCII) or the element, item and byte
/// offset (binary).
extension Mesh {
    /// Reads a PLY mesh (faces required) or, with `facesRequired` false, points with optional faces.
    public static func readPLY(path: String, facesRequired: Bool = true) throws -> Mesh {
        let data: Data
        do { data = try InputFile.read(path) } catch let e as FileReadError { throw MeshError.unreadable(path: path, reason: e.reason) }
        return try parsePLY(data, path: path, facesRequired: facesRequired)
    }

    /// Parses PLY bytes already in memory; `path` is used in messages only.
    public static func parsePLY(_ data: Data, path: String = "<memory>", facesRequired: Bool = true) throws -> Mesh {
        let bytes = [UInt8](data)
        var reader = PLYReader(path: path, bytes: bytes)
        return try reader.read(facesRequired: facesRequired)
    }

    /// Writes the mesh as PLY (binary little-endian unless `ascii`): vertices as doubles with
    /// their colours (uchar) when present, faces as `vertex_indices` with a per-corner `texcoord`
    /// list when the mesh has texture coordinates on every corner. Written atomically.
    public func writePLY(path: String, ascii: Bool = false) throws {
        let n = vertexCount, m = triangleCount
        let withUV = hasTexcoords
        let colors = vertexColors.flatMap { $0.count == 3 * n ? $0 : nil }
        var header = "ply\nformat \(ascii ? "ascii" : "binary_little_endian") 1.0\ncomment written by texfield\n"
        header += "element vertex \(n)\nproperty double x\nproperty double y\nproperty double z\n"
        if colors != nil { header += "property uchar red\nproperty uchar green\nproperty uchar blue\n" }
        header += "element face \(m)\nproperty list uchar int vertex_indices\n"
        if withUV { header += "property list uchar float texcoord\n" }
        header += "end_header\n"
        var out = Data(header.utf8)
        func color(_ x: Double) -> UInt8 { UInt8(clamping: Int((min(max(x, 0), 1) * 255).rounded())) }
        if ascii {
            var text = ""
            for i in 0..<n {
                text += "\(positions[3 * i]) \(positions[3 * i + 1]) \(positions[3 * i + 2])"
                if let c = colors { text += " \(color(c[3 * i])) \(color(c[3 * i + 1])) \(color(c[3 * i + 2]))" }
                text += "\n"
            }
            for f in 0..<m {
                text += "3 \(triangles[3 * f]) \(triangles[3 * f + 1]) \(triangles[3 * f + 2])"
                if withUV {
                    text += " 6"
                    for c in 0..<3 { let t = Int(cornerTexcoords[3 * f + c]); text += " \(Float(texcoords[2 * t])) \(Float(texcoords[2 * t + 1]))" }
                }
                text += "\n"
            }
            out.append(Data(text.utf8))
        } else {
            var buf = [UInt8]()
            buf.reserveCapacity(n * 27 + m * (13 + (withUV ? 25 : 0)))
            func put<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { buf.append(contentsOf: $0) } }
            for i in 0..<n {
                for d in 0..<3 { put(positions[3 * i + d].bitPattern) }
                if let c = colors { for d in 0..<3 { buf.append(color(c[3 * i + d])) } }
            }
            for f in 0..<m {
                buf.append(3)
                for c in 0..<3 { put(triangles[3 * f + c]) }
                if withUV {
                    buf.append(6)
                    for c in 0..<3 {
                        let t = Int(cornerTexcoords[3 * f + c])
                        put(Float(texcoords[2 * t]).bitPattern); put(Float(texcoords[2 * t + 1]).bitPattern)
                    }
                }
            }
            out.append(contentsOf: buf)
        }
        do { try AtomicFile.write(out, to: path) } catch { throw MeshError.writeFailed(path: path, reason: "\(error)") }
    }
}

/// The header's model and the body's parser.
struct PLYReader {
    enum Format { case ascii, little, big }
    enum Scalar: String {
        case int8, uint8, int16, uint16, int32, uint32, float32, float64
        init?(name: String) {
            switch name {
            case "char", "int8": self = .int8
            case "uchar", "uint8": self = .uint8
            case "short", "int16": self = .int16
            case "ushort", "uint16": self = .uint16
            case "int", "int32": self = .int32
            case "uint", "uint32": self = .uint32
            case "float", "float32": self = .float32
            case "double", "float64": self = .float64
            default: return nil
            }
        }
        var size: Int {
            switch self {
            case .int8, .uint8: return 1
            case .int16, .uint16: return 2
            case .int32, .uint32, .float32: return 4
            case .float64: return 8
            }
        }
        var isInteger: Bool { self != .float32 && self != .float64 }
    }
    struct Property { var name: String; var type: Scalar; var listCount: Scalar? }
    struct Element { var name: String; var count: Int; var properties: [Property]; var line: Int }

    let path: String
    let bytes: [UInt8]
    var pos = 0
    var line = 1

    init(path: String, bytes: [UInt8]) { self.path = path; self.bytes = bytes }

    func fail(_ message: String) -> MeshError { .malformed(path: path, line: line, message: message) }

    /// The next header line (without its end), or nil at the end of the bytes.
    mutating func headerLine() -> String? {
        guard pos < bytes.count else { return nil }
        var end = pos
        while end < bytes.count && bytes[end] != 10 { end += 1 }
        var s = String(decoding: bytes[pos..<end], as: UTF8.self)
        if s.hasSuffix("\r") { s.removeLast() }
        pos = min(end + 1, bytes.count)
        return s
    }

    mutating func read(facesRequired: Bool) throws -> Mesh {
        guard headerLine() == "ply" else { throw fail("not a PLY file (the first line is not 'ply')") }
        var format: Format? = nil
        var elements = [Element]()
        while true {
            line += 1
            guard line <= 100_000, let l = headerLine() else { throw fail("the header has no 'end_header'") }
            let w = l.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let key = w.first else { continue }
            switch key {
            case "format":
                guard w.count >= 3, w[2] == "1.0" || w[2] == "1" else { throw fail("unsupported format line '\(excerpt(l))'") }
                switch w[1] {
                case "ascii": format = .ascii
                case "binary_little_endian": format = .little
                case "binary_big_endian": format = .big
                default: throw fail("unknown format '\(excerpt(w[1]))' (ascii, binary_little_endian or binary_big_endian)")
                }
            case "comment", "obj_info": continue
            case "element":
                guard w.count == 3, let c = Int(w[2]), c >= 0 else { throw fail("malformed element line '\(excerpt(l))'") }
                guard elements.count < 1000 else { throw fail("more than 1000 elements") }
                elements.append(Element(name: w[1], count: c, properties: [], line: line))
            case "property":
                guard !elements.isEmpty else { throw fail("a property before any element") }
                guard elements[elements.count - 1].properties.count < 1000 else { throw fail("more than 1000 properties") }
                if w.count == 5 && w[1] == "list" {
                    guard let ct = Scalar(name: w[2]), ct.isInteger, let it = Scalar(name: w[3]) else {
                        throw fail("malformed list property '\(excerpt(l))' (an integer count type and a scalar type)")
                    }
                    elements[elements.count - 1].properties.append(Property(name: w[4], type: it, listCount: ct))
                } else if w.count == 3, let t = Scalar(name: w[1]) {
                    elements[elements.count - 1].properties.append(Property(name: w[2], type: t, listCount: nil))
                } else {
                    throw fail("malformed property line '\(excerpt(l))'")
                }
            case "end_header":
                guard let f = format else { throw fail("the header has no format line") }
                return try body(format: f, elements: elements, facesRequired: facesRequired)
            default:
                throw fail("unknown header line '\(excerpt(l))'")
            }
        }
    }

    mutating func body(format: Format, elements: [Element], facesRequired: Bool) throws -> Mesh {
        // Every item takes at least this many bytes: its counts must fit in what is left.
        var remaining = bytes.count - pos
        for e in elements {
            let least = e.properties.reduce(0) { s, p in
                s + (format == .ascii ? 2 : (p.listCount?.size ?? p.type.size))
            }
            if least > 0 && e.count > remaining / least {
                line = e.line
                throw fail("element '\(excerpt(e.name))' claims \(e.count) items, more than the \(remaining) bytes after the header can hold")
            }
            remaining -= least * e.count
        }
        guard let vi = elements.firstIndex(where: { $0.name == "vertex" }) else { throw MeshError.empty(path: path, message: "no 'vertex' element") }
        let vertex = elements[vi]
        func index(_ names: [String]) -> Int? { vertex.properties.firstIndex { names.contains($0.name) && $0.listCount == nil } }
        guard let ix = index(["x"]), let iy = index(["y"]), let iz = index(["z"]) else {
            throw MeshError.empty(path: path, message: "the vertex element has no x, y and z")
        }
        let inx = index(["nx"]), iny = index(["ny"]), inz = index(["nz"])
        let ir = index(["red", "r"]), ig = index(["green", "g"]), ib = index(["blue", "b"])
        let iu = index(["u", "s", "texture_u"]), iv = index(["v", "t", "texture_v"])
        let n = vertex.count
        guard n <= Int(Int32.max) else { throw MeshError.invalid("\(path): too many vertices (\(n))") }

        var positions = [Double](), normals = [Double](), colors = [Double](), uv = [Double]()
        var triangles = [Int32](), cornerUV = [Double]()
        var faceUVComplete = true
        var scalars = [Double]()
        var lists = [[Double]]()
        var tokenizer = ASCIITokens(bytes: bytes, pos: pos, line: line + 1)
        for (ei, e) in elements.enumerated() {
            let isVertex = ei == vi, isFace = e.name == "face"
            let faceList = isFace ? e.properties.firstIndex { $0.listCount != nil && ($0.name == "vertex_indices" || $0.name == "vertex_index") } : nil
            let texList = isFace ? e.properties.firstIndex { $0.listCount != nil && $0.name == "texcoord" } : nil
            if isVertex { positions.reserveCapacity(3 * n) }
            // An element without properties holds no bytes: its count (which no byte bounds) is
            // not iterated, or a header line alone could keep the reader busy for ever.
            for item in 0..<(e.properties.isEmpty ? 0 : e.count) {
                scalars.removeAll(keepingCapacity: true)
                lists.removeAll(keepingCapacity: true)
                for p in e.properties {
                    if let ct = p.listCount {
                        let count = try value(ct, format, &tokenizer, e, item)
                        guard count >= 0, count <= 1_000_000, count == count.rounded() else {
                            throw where_(format, tokenizer, e, item, "list '\(excerpt(p.name))' has \(count) entries")
                        }
                        let c = Int(count)
                        if format != .ascii && c * p.type.size > bytes.count - tokenizer.pos {
                            throw where_(format, tokenizer, e, item, "list '\(excerpt(p.name))' of \(c) entries runs past the end of the file")
                        }
                        var list = [Double]()
                        list.reserveCapacity(c)
                        for _ in 0..<c { list.append(try value(p.type, format, &tokenizer, e, item)) }
                        lists.append(list)
                        scalars.append(.nan)
                    } else {
                        scalars.append(try value(p.type, format, &tokenizer, e, item))
                        lists.append([])
                    }
                }
                if isVertex {
                    for k in [ix, iy, iz] {
                        guard scalars[k].isFinite else { throw where_(format, tokenizer, e, item, "vertex \(item) has a non-finite coordinate \(scalars[k])") }
                        positions.append(scalars[k])
                    }
                    if let a = inx, let b = iny, let c = inz { normals += [scalars[a], scalars[b], scalars[c]] }
                    if let r = ir, let g = ig, let b = ib {
                        for (k, t) in [(r, vertex.properties[r].type), (g, vertex.properties[g].type), (b, vertex.properties[b].type)] {
                            colors.append(t.isInteger ? scalars[k] / 255 : scalars[k])
                        }
                    }
                    if let a = iu, let b = iv { uv += [scalars[a], scalars[b]] }
                } else if let fl = faceList {
                    let idx = lists[fl]
                    guard idx.count >= 3 else { throw where_(format, tokenizer, e, item, "face \(item) has \(idx.count) corners (at least 3)") }
                    for x in idx where !(x >= 0 && x < Double(n)) {
                        throw where_(format, tokenizer, e, item, "face \(item) refers to vertex \(x), outside 0..<\(n)")
                    }
                    let tex = texList.map { lists[$0] }
                    let hasTex = tex?.count == 2 * idx.count
                    if !hasTex { faceUVComplete = false }
                    for k in 1..<(idx.count - 1) {
                        triangles += [Int32(idx[0]), Int32(idx[k]), Int32(idx[k + 1])]
                        if hasTex, let t = tex {
                            for c in [0, k, k + 1] { cornerUV += [t[2 * c], t[2 * c + 1]] }
                        }
                    }
                }
            }
        }
        if facesRequired && triangles.isEmpty { throw MeshError.empty(path: path, message: "no faces (a 'face' element with vertex_indices)") }
        var mesh = Mesh(positions: positions, triangles: triangles)
        if normals.count == positions.count { mesh.normals = normals; mesh.cornerNormals = triangles }
        if colors.count == positions.count { mesh.vertexColors = colors }
        if !triangles.isEmpty && faceUVComplete && cornerUV.count == 2 * triangles.count {
            mesh.texcoords = cornerUV
            mesh.cornerTexcoords = (0..<Int32(triangles.count)).map { $0 }
        } else if uv.count == 2 * n && !triangles.isEmpty {
            mesh.texcoords = uv
            mesh.cornerTexcoords = triangles
        }
        for (i, t) in mesh.texcoords.enumerated() where !t.isFinite {
            throw MeshError.invalid("\(path): texture coordinate \(i / 2) has a non-finite value")
        }
        return mesh
    }

    func where_(_ format: Format, _ t: ASCIITokens, _ e: Element, _ item: Int, _ message: String) -> MeshError {
        format == .ascii ? .malformed(path: path, line: t.line, message: message)
            : .invalid("\(path): element '\(excerpt(e.name))' item \(item), byte \(t.pos): \(message)")
    }

    /// One scalar of the body.
    func value(_ type: Scalar, _ format: Format, _ t: inout ASCIITokens, _ e: Element, _ item: Int) throws -> Double {
        if format == .ascii {
            guard let tok = t.next() else { throw where_(format, t, e, item, "the file ends inside element '\(excerpt(e.name))' (item \(item) of \(e.count))") }
            guard let v = Double(tok) else { throw where_(format, t, e, item, "'\(excerpt(tok))' is not a number") }
            if type.isInteger && v != v.rounded() { throw where_(format, t, e, item, "'\(excerpt(tok))' is not an integer") }
            return v
        }
        let size = type.size
        guard t.pos + size <= bytes.count else {
            throw where_(format, t, e, item, "the file ends inside element '\(excerpt(e.name))' (item \(item) of \(e.count))")
        }
        var raw: UInt64 = 0
        for k in 0..<size {
            let b = UInt64(bytes[t.pos + (format == .little ? k : size - 1 - k)])
            raw |= b << (8 * UInt64(k))
        }
        t.pos += size
        switch type {
        case .int8: return Double(Int8(truncatingIfNeeded: raw))
        case .uint8: return Double(UInt8(truncatingIfNeeded: raw))
        case .int16: return Double(Int16(truncatingIfNeeded: raw))
        case .uint16: return Double(UInt16(truncatingIfNeeded: raw))
        case .int32: return Double(Int32(truncatingIfNeeded: raw))
        case .uint32: return Double(UInt32(truncatingIfNeeded: raw))
        case .float32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
        case .float64: return Double(bitPattern: raw)
        }
    }
}

/// Whitespace-separated tokens of an ASCII body, with line numbers.
struct ASCIITokens {
    let bytes: [UInt8]
    var pos: Int
    var line: Int

    mutating func next() -> Substring? {
        while pos < bytes.count, bytes[pos] == 32 || bytes[pos] == 9 || bytes[pos] == 10 || bytes[pos] == 13 {
            if bytes[pos] == 10 { line += 1 }
            pos += 1
        }
        guard pos < bytes.count else { return nil }
        let start = pos
        while pos < bytes.count, !(bytes[pos] == 32 || bytes[pos] == 9 || bytes[pos] == 10 || bytes[pos] == 13) { pos += 1 }
        return Substring(String(decoding: bytes[start..<pos], as: UTF8.self))
    }
}

/// Points read from a file, for point-cloud operators: `.xyz`/`.txt`/`.pts` (one point per line,
/// x y z first; further columns such as normals or colours ignored; `#` comments), `.ply`
/// (the vertex element; faces, when present, are ignored) or `.obj` (the `v` lines).
public enum PointCloudFile {
    public static func read(path: String) throws -> [Double] {
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "ply": return try Mesh.readPLY(path: path, facesRequired: false).positions
        case "obj":
            let data: Data
            do { data = try InputFile.read(path) } catch let e as FileReadError { throw MeshError.unreadable(path: path, reason: e.reason) }
            return try Mesh.parse(data, path: path, facesRequired: false).0.positions
        default:
            let text: String
            do { text = try InputFile.readText(path) } catch let e as FileReadError { throw MeshError.unreadable(path: path, reason: e.reason) }
            var out = [Double]()
            var number = 0
            for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                number += 1
                let l = raw.trimmingCharacters(in: .whitespaces)
                if l.isEmpty || l.hasPrefix("#") || l.hasPrefix("//") { continue }
                let w = l.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == ";" })
                guard w.count >= 3 else { throw MeshError.malformed(path: path, line: number, message: "expected x y z, got '\(excerpt(l))'") }
                for t in w.prefix(3) {
                    guard let v = Double(t), v.isFinite else {
                        throw MeshError.malformed(path: path, line: number, message: "'\(excerpt(t))' is not a finite number")
                    }
                    out.append(v)
                }
            }
            if out.isEmpty { throw MeshError.empty(path: path, message: "no points") }
            return out
        }
    }
}

extension Mesh {
    /// Reads a mesh by its file's extension: `.ply` as PLY, anything else as OBJ.
    public static func read(path: String) throws -> Mesh {
        (path as NSString).pathExtension.lowercased() == "ply" ? try readPLY(path: path) : try readOBJ(path: path)
    }

    /// Reads `path` once as a mesh or, for `.xyz`/`.txt`/`.pts` and PLY or OBJ files without
    /// faces, as a point cloud (a mesh without triangles, `isPointCloud` true): the same result as
    /// `isPointCloud(path:)` followed by `read(path:)` or `PointCloudFile.read(path:)`, without
    /// parsing the file twice.
    public static func readMeshOrPointCloud(path: String) throws -> (mesh: Mesh, isPointCloud: Bool) {
        switch (path as NSString).pathExtension.lowercased() {
        case "xyz", "txt", "pts":
            return (Mesh(positions: try PointCloudFile.read(path: path), triangles: []), true)
        case "ply":
            let m = try readPLY(path: path, facesRequired: false)
            return m.triangles.isEmpty ? (Mesh(positions: m.positions, triangles: []), true) : (m, false)
        default:
            let data: Data
            do { data = try InputFile.read(path) } catch let e as FileReadError { throw MeshError.unreadable(path: path, reason: e.reason) }
            let (m0, material) = try parse(data, path: path, facesRequired: false)
            if m0.triangles.isEmpty { return (Mesh(positions: m0.positions, triangles: []), true) }
            var mesh = m0
            mesh.diffuseTexturePath = MaterialLibrary.diffuseTexture(
                objPath: path, libraries: mesh.materialLibraries, material: material)
            return (mesh, false)
        }
    }

    /// Whether `path` holds a point cloud rather than a mesh: `.xyz`, `.txt`, `.pts`, or a PLY or
    /// OBJ file without faces.
    public static func isPointCloud(path: String) throws -> Bool {
        switch (path as NSString).pathExtension.lowercased() {
        case "xyz", "txt", "pts": return true
        case "ply": return try readPLY(path: path, facesRequired: false).triangles.isEmpty
        default:
            let data: Data
            do { data = try InputFile.read(path) } catch let e as FileReadError { throw MeshError.unreadable(path: path, reason: e.reason) }
            return try parse(data, path: path, facesRequired: false).0.triangles.isEmpty
        }
    }
}
