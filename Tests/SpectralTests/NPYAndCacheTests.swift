import Foundation
import Geometry
import Spectral
import Testing

@Suite struct NPYTests {
    @Test func headerMatchesNumPy() throws {
        // Bytes numpy 2.4 writes for np.save(np.arange(6.).reshape(3, 2)): a 128-byte header.
        let data = try NPY.encode(shape: [3, 2], values: [0, 1, 2, 3, 4, 5])
        let header = String(decoding: data[10..<128], as: UTF8.self)
        #expect(Array(data[0..<10]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0x76, 0])
        #expect(header.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }"))
        #expect(header.hasSuffix(" \n") && data.count == 128 + 48)
        let one = try NPY.encode(shape: [3], values: [1, 2, 3])
        #expect(String(decoding: one[10..<128], as: UTF8.self).hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"))
    }

    @Test func roundTripAndFortranOrder() throws {
        let values = (0..<12).map { Double($0) * 0.1 }
        let a = try NPY.decode(try NPY.encode(shape: [3, 4], values: values))
        #expect(a.shape == [3, 4] && a.values == values)
        let f = try NPY.decode(try NPY.encode(shape: [3, 4], values: values, float32: true))
        #expect(f.descr == "<f4" && zip(f.values, values).allSatisfy { abs($0 - $1) < 1e-6 })
        // Fortran order: the same bytes read as column-major (2, 3).
        var d = try NPY.encode(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
        let h = String(decoding: d[10..<128], as: UTF8.self).replacingOccurrences(of: "False", with: "True ")
        d.replaceSubrange(10..<128, with: Array(h.utf8))
        #expect(try NPY.decode(d).values == [0, 2, 4, 1, 3, 5])
    }

    /// The streamed file write (pieces of 2^20 values) gives the bytes of `encode`, in both
    /// types, across piece boundaries; a failing write leaves no file behind.
    @Test func streamedWriteEqualsEncode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-npy-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 5 * 450_000  // two whole pieces of 2^20 values and a part
        let values = (0..<n).map { sin(Double($0) * 0.001) * 3 }
        for f32 in [false, true] {
            let path = dir + "/a\(f32).npy"
            try NPY.write(path: path, shape: [n / 5, 5], values: values, float32: f32)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == NPY.encode(shape: [n / 5, 5], values: values, float32: f32))
        }
        #expect(throws: SpectralError.self) { try NPY.write(path: dir + "/bad.npy", shape: [3], values: [1, 2]) }
        #expect(throws: SpectralError.self) { try NPY.write(path: dir + "/missing/x.npy", shape: [2], values: [1, 2]) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["afalse.npy", "atrue.npy"])
    }

    @Test func badFiles() throws {
        #expect(throws: SpectralError.self) { try NPY.decode(Data("not numpy".utf8)) }
        let good = try NPY.encode(shape: [4], values: [1, 2, 3, 4])
        #expect(throws: SpectralError.self) { try NPY.decode(good.prefix(good.count - 3)) }
        #expect(throws: SpectralError.self) { try NPY.encode(shape: [2, 2], values: [1]) }
        #expect(throws: SpectralError.self) { try NPY.read(path: "/nonexistent.npy") }
    }
}

@Suite struct CacheTests {
    @Test func storeAndLoad() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tf-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = EigenCache(root: root)
        let mesh = Mesh.icosphere(subdivisions: 4)
        let o = EigenOptions(k: 5)
        #expect(cache.load(mesh: mesh, options: o) == nil)
        let b = try Eigenbasis.compute(mesh: mesh, options: o)
        try cache.store(b, mesh: mesh, options: o)
        let c = try #require(cache.load(mesh: mesh, options: o))
        #expect(c.values == b.values && c.vectors == b.vectors && c.mass == b.mass)
        // A different option or mesh is a different key.
        #expect(cache.load(mesh: mesh, options: EigenOptions(k: 5, mass: .barycentric)) == nil)
        #expect(cache.load(mesh: mesh.scaled(by: 2), options: o) == nil)
        #expect(EigenCache.key(mesh: mesh, options: o) != EigenCache.key(mesh: mesh, options: EigenOptions(k: 6)))
    }
}
