import Support
import Foundation
import Geometry

/// A numeric array as stored in NumPy's `.npy` format (version 1.0 written; 1.0–3.0 read).
public struct NPYArray: Sendable, Equatable {
    /// Extent of each axis (C order).
    public var shape: [Int]
    /// Values in C (row-major) order, converted to Double.
    public var values: [Double]
    /// The element type as stored, e.g. `<f8`.
    public var descr: String

    /// An array of `shape` (its product must equal `values.count`; `NPY.write` checks).
    public init(shape: [Int], values: [Double], descr: String = "<f8") {
        self.shape = shape
        self.values = values
        self.descr = descr
    }
}

/// Reading and writing `.npy` files. Written files load in NumPy unchanged
/// (`numpy.load`), with little-endian float64 (`<f8`) or float32 (`<f4`) data in C order.
public enum NPY {
    /// Encodes `values` with `shape` as float64 (`<f8`) or float32 (`<f4`) in C order.
    public static func encode(shape: [Int], values: [Double], float32: Bool = false) throws -> Data {
        var data = try header(shape: shape, count: values.count, float32: float32)
        data.reserveCapacity(data.count + values.count * (float32 ? 4 : 8))
        forEachPiece(values, float32: float32) { data.append(contentsOf: $0) }
        return data
    }

    /// The header (magic, version 1.0, the dictionary padded to 64 bytes).
    static func header(shape: [Int], count: Int, float32: Bool) throws -> Data {
        let product = shape.reduce(1, *)
        guard product == count else {
            throw SpectralError.invalidInput("npy: shape \(shape) holds \(product) values, got \(count)")
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(float32 ? "<f4" : "<f8")', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let hl = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(hl & 0xFF), UInt8(hl >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data
    }

    /// The little-endian bytes of `values` in pieces of at most 2^20 values (one piece's
    /// conversion buffer at a time).
    static func forEachPiece(_ values: [Double], float32: Bool, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let piece = 1 << 20
        var start = 0
        while start < values.count {
            let end = min(values.count, start + piece)
            if float32 {
                let f = values[start..<end].map { Float($0).bitPattern.littleEndian }
                try f.withUnsafeBytes { try body($0) }
            } else {
                #if _endian(little)
                try values[start..<end].withUnsafeBytes { try body($0) }
                #else
                let d = values[start..<end].map { $0.bitPattern.littleEndian }
                try d.withUnsafeBytes { try body($0) }
                #endif
            }
            start = end
        }
    }

    /// Writes an array atomically, streamed: memory beyond `values` stays at one piece of 2^20
    /// values (an (n, k) eigenvector array is never copied whole).
    public static func write(path: String, shape: [Int], values: [Double], float32: Bool = false) throws {
        let head = try header(shape: shape, count: values.count, float32: float32)
        do {
            try AtomicFile.write(to: path) { h in
                try h.write(contentsOf: head)
                try forEachPiece(values, float32: float32) { try h.write(contentsOf: Data($0)) }
            }
        } catch let e as FileWriteError {
            throw SpectralError.file(path: path, message: "cannot write: \(e.reason)")
        }
    }

    /// Reads an array of float64, float32, int32, int64, uint8 or bool; Fortran order is
    /// converted to C order.
    public static func read(path: String) throws -> NPYArray {
        let data: Data
        do { data = try InputFile.read(path) } catch let e as FileReadError { throw SpectralError.file(path: path, message: "cannot read: \(e.reason)") }
        return try decode(data, path: path)
    }

    /// Parses the bytes of a `.npy` file; `path` names it in errors. The shape's product is checked
    /// against the data present before anything is allocated.
    public static func decode(_ data: Data, path: String = "<memory>") throws -> NPYArray {
        let b = [UInt8](data)
        func fail(_ m: String) -> SpectralError { .file(path: path, message: "not a valid .npy file: \(m)") }
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else { throw fail("bad magic") }
        let major = b[6]
        var offset: Int, headerLength: Int
        switch major {
        case 1: headerLength = Int(b[8]) | Int(b[9]) << 8; offset = 10
        case 2, 3:
            guard b.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; offset = 12
        default: throw fail("unsupported version \(major)")
        }
        guard offset + headerLength <= b.count else { throw fail("truncated header") }
        let header = String(decoding: b[offset..<(offset + headerLength)], as: UTF8.self)
        offset += headerLength
        func field(_ name: String) -> String? {
            guard let r = header.range(of: "'\(name)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let d = field("descr"), let q1 = d.firstIndex(of: "'"),
              let q2 = d[d.index(after: q1)...].firstIndex(of: "'") else { throw fail("no descr") }
        let descr = String(d[d.index(after: q1)..<q2])
        guard let fo = field("fortran_order") else { throw fail("no fortran_order") }
        let fortran = fo.hasPrefix("True")
        guard let s = field("shape"), let p1 = s.firstIndex(of: "("), let p2 = s[p1...].firstIndex(of: ")") else { throw fail("no shape") }
        let shape = try s[s.index(after: p1)..<p2].split(separator: ",").map { part -> Int in
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)), v >= 0 else { throw fail("bad shape") }
            return v
        }
        guard shape.count <= 32 else { throw fail("\(shape.count) dimensions (at most 32)") }
        let size: Int
        switch descr {
        case "<f8", "<i8", "<u8": size = 8
        case "<f4", "<i4", "<u4": size = 4
        case "|u1", "|b1", "|i1": size = 1
        default: throw fail("unsupported dtype \(descr)")
        }
        // The element count with every product checked against the bytes present (a shape of
        // (2^62, 2^62) is refused before anything is allocated).
        let available = (b.count - offset) / size
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= available else { throw fail("truncated data: shape \(shape) needs more than the \(b.count - offset) bytes present") }
            count = p
        }
        // A scalar (shape ()) holds one value: checked too (the loop above does not run for it).
        guard count <= available else { throw fail("truncated data: shape \(shape) needs \(count * size) bytes, \(b.count - offset) present") }
        var values = [Double](repeating: 0, count: count)
        b.withUnsafeBytes { raw in
            let p = raw.baseAddress! + offset
            for i in 0..<count {
                let q = p + i * size
                switch descr {
                case "<f8": values[i] = Double(bitPattern: UInt64(littleEndian: q.loadUnaligned(as: UInt64.self)))
                case "<f4": values[i] = Double(Float(bitPattern: UInt32(littleEndian: q.loadUnaligned(as: UInt32.self))))
                case "<i8": values[i] = Double(Int64(littleEndian: q.loadUnaligned(as: Int64.self)))
                case "<u8": values[i] = Double(UInt64(littleEndian: q.loadUnaligned(as: UInt64.self)))
                case "<i4": values[i] = Double(Int32(littleEndian: q.loadUnaligned(as: Int32.self)))
                case "<u4": values[i] = Double(UInt32(littleEndian: q.loadUnaligned(as: UInt32.self)))
                case "|i1": values[i] = Double(q.load(as: Int8.self))
                default: values[i] = Double(q.load(as: UInt8.self))
                }
            }
        }
        if fortran && shape.count >= 2 {
            // Reverse the axis order of the strides: convert column-major to row-major.
            var c = [Double](repeating: 0, count: count)
            let dims = shape
            var fStrides = [Int](repeating: 1, count: dims.count)
            for a in 1..<dims.count { fStrides[a] = fStrides[a - 1] * dims[a - 1] }
            var idx = [Int](repeating: 0, count: dims.count)
            for lin in 0..<count {
                var f = 0
                for a in 0..<dims.count { f += idx[a] * fStrides[a] }
                c[lin] = values[f]
                var a = dims.count - 1
                while a >= 0 { idx[a] += 1; if idx[a] < dims[a] { break }; idx[a] = 0; a -= 1 }
            }
            values = c
        }
        return NPYArray(shape: shape, values: values, descr: descr)
    }
}
