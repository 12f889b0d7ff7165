import Foundation
import Testing
import Geometry

private func tempPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("tf-ply-\(UUID())-\(name)").path
}

@Suite struct PLYTests {
    /// A textured, coloured mesh written as binary and as ASCII PLY reads back equal (positions to
    /// the bit, per-corner texture coordinates to Float, colours to 1/255).
    @Test func roundTrip() throws {
        var mesh = Mesh.torus(segments: 12, rings: 6)
        mesh.vertexColors = (0..<(3 * mesh.vertexCount)).map { Double($0 % 256) / 255 }
        for ascii in [false, true] {
            let path = tempPath("rt.ply")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try mesh.writePLY(path: path, ascii: ascii)
            let back = try Mesh.read(path: path)
            #expect(back.positions == mesh.positions && back.triangles == mesh.triangles)
            #expect(back.vertexColors!.enumerated().allSatisfy { abs($0.element - mesh.vertexColors![$0.offset]) < 1e-9 })
            #expect(back.hasTexcoords)
            for f in 0..<mesh.triangleCount { for c in 0..<3 {
                let a = Int(mesh.cornerTexcoords[3 * f + c]), b = Int(back.cornerTexcoords[3 * f + c])
                #expect(abs(mesh.texcoords[2 * a] - back.texcoords[2 * b]) < 1e-6 && abs(mesh.texcoords[2 * a + 1] - back.texcoords[2 * b + 1]) < 1e-6)
            } }
        }
    }

    /// Big-endian binary with float coordinates, normals, per-vertex u v, a quad and a pentagon
    /// (fan-triangulated), an extra element and property skipped.
    @Test func bigEndianPolygonsAndExtras() throws {
        var header = "ply\nformat binary_big_endian 1.0\ncomment test\nelement vertex 5\nproperty float x\nproperty float y\nproperty float z\n"
        header += "property float nx\nproperty float ny\nproperty float nz\nproperty float u\nproperty float v\nproperty short extra\n"
        header += "element face 2\nproperty list uchar uint vertex_indices\nelement edge 1\nproperty int vertex1\nproperty int vertex2\nend_header\n"
        var d = Data(header.utf8)
        func f(_ x: Float) { withUnsafeBytes(of: x.bitPattern.bigEndian) { d.append(contentsOf: $0) } }
        func u32(_ x: UInt32) { withUnsafeBytes(of: x.bigEndian) { d.append(contentsOf: $0) } }
        for i in 0..<5 {
            for x in [Float(i), Float(i * i), 1, 0, 0, 1, Float(i) / 4, 0.5] { f(x) }
            d.append(contentsOf: [0, 7])
        }
        d.append(4); for x: UInt32 in [0, 1, 2, 3] { u32(x) }
        d.append(5); for x: UInt32 in [0, 1, 2, 3, 4] { u32(x) }
        withUnsafeBytes(of: Int32(1).bigEndian) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: Int32(2).bigEndian) { d.append(contentsOf: $0) }
        let m = try Mesh.parsePLY(d, path: "be.ply")
        #expect(m.vertexCount == 5 && m.triangles == [0, 1, 2, 0, 2, 3, 0, 1, 2, 0, 2, 3, 0, 3, 4])
        #expect(m.positions[3 * 4 + 1] == 16 && m.texcoords[2 * 4] == 1 && m.normals.count == 15)
    }

    /// Hostile and broken files: errors name the file and the line, element or byte; a header
    /// cannot ask for more memory than the file holds.
    @Test func badFilesAreNamed() throws {
        func fails(_ text: String, _ needle: String, _ sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(sourceLocation: sourceLocation) { _ = try Mesh.parsePLY(Data(text.utf8), path: "bad.ply") } throws: {
                "\($0)".contains("bad.ply") && "\($0)".contains(needle)
            }
        }
        let head = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
        fails("plx\n", "not a PLY")
        fails("ply\nformat ascii 1.0\nelement vertex 3\n", "end_header")
        fails("ply\nformat ascii 1.0\nelement vertex 9223372036854775807\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n", "claims")
        fails(head + "0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "outside 0..<3")
        fails(head + "0 0 0\n1 0 nan\n0 1 0\n3 0 1 2\n", "non-finite")
        fails(head + "0 0 0\n1 0 0\n0 1 0\n2 0 1\n", "corners")
        fails(head + "0 0 0\n1 0 0\n0 1 0\n3 0 1\n", "ends inside")
        fails(head + "0 0 0\n1 0 zz\n0 1 0\n3 0 1 2\n", "bad.ply:11")
        fails("ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty double x\nproperty double y\nproperty double z\nelement face 1\nproperty list uint int vertex_indices\nend_header\n"
              + String(repeating: "\0", count: 24) + "\u{7f}\u{7f}\u{7f}\u{7f}", "entries")
        // An element without properties costs no bytes; a huge count of it must not be iterated
        // (found by libFuzzer as a 13 s timeout in CI).
        let empty = "ply\nformat binary_little_endian 1.0\nelement junk 9223372036854775807\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
        var bin = Data(empty.utf8)
        for x: Float in [0, 0, 0, 1, 0, 0, 0, 1, 0] { withUnsafeBytes(of: x) { bin.append(contentsOf: $0) } }
        bin.append(3); for x: Int32 in [0, 1, 2] { withUnsafeBytes(of: x) { bin.append(contentsOf: $0) } }
        let clock = ContinuousClock.now
        #expect(try Mesh.parsePLY(bin, path: "empty.ply").triangles == [0, 1, 2])
        #expect(ContinuousClock.now - clock < .seconds(5))
        // Points only: read as a cloud, refused as a mesh.
        let cloud = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 1 1\n"
        fails(cloud, "no faces")
        #expect(try Mesh.parsePLY(Data(cloud.utf8), facesRequired: false).positions == [0, 0, 0, 1, 1, 1])
    }

    /// `.xyz` clouds: x y z per line (extra columns, comments, commas), errors with the line.
    @Test func xyzClouds() throws {
        let path = tempPath("c.xyz")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# a cloud\n0 0 0 1 0 0\n1,2,3\n\n4\t5\t6 255 0 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try PointCloudFile.read(path: path) == [0, 0, 0, 1, 2, 3, 4, 5, 6])
        #expect(try Mesh.isPointCloud(path: path))
        let xyz = try Mesh.readMeshOrPointCloud(path: path)
        #expect(xyz.isPointCloud && xyz.mesh.positions == [0, 0, 0, 1, 2, 3, 4, 5, 6] && xyz.mesh.triangles.isEmpty)
        try "0 0 0\n1 2\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { _ = try PointCloudFile.read(path: path) } throws: { "\($0)".contains(":2:") }
        try "0 0 inf\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: MeshError.self) { _ = try PointCloudFile.read(path: path) }
    }
}

/// Reading a file once as a mesh or a cloud gives what `isPointCloud` followed by `read` or
/// `PointCloudFile.read` gives, for OBJ and PLY with and without faces.
@Test func meshOrPointCloudReadOnce() throws {
    let mesh = Mesh.icosphere(subdivisions: 2)
    let cloud = Mesh(positions: mesh.positions, triangles: [])
    for (name, m) in [("m", mesh), ("c", cloud)] {
        for ext in ["obj", "ply"] {
            let path = tempPath("\(name).\(ext)")
            defer { try? FileManager.default.removeItem(atPath: path) }
            if ext == "obj" { try m.writeOBJ(path: path) } else { try m.writePLY(path: path) }
            let once = try Mesh.readMeshOrPointCloud(path: path)
            let isCloud = try Mesh.isPointCloud(path: path)
            #expect(once.isPointCloud == isCloud && isCloud == m.triangles.isEmpty, "\(name).\(ext)")
            if isCloud {
                #expect(once.mesh.positions == (try PointCloudFile.read(path: path)) && once.mesh.triangles.isEmpty)
            } else {
                let twice = try Mesh.read(path: path)
                #expect(once.mesh.positions == twice.positions && once.mesh.triangles == twice.triangles)
            }
        }
    }
    #expect(throws: MeshError.self) { _ = try Mesh.readMeshOrPointCloud(path: tempPath("missing.obj")) }
}

@Suite struct KDTreeTests {
    /// k nearest neighbours equal brute force (distance, then index), with duplicate points and
    /// ties, for every query point and for points off the set.
    @Test func equalsBruteForce() {
        var rng = SystemRandomNumberGenerator()
        var pts = [Double]()
        for _ in 0..<700 { for _ in 0..<3 { pts.append(Double(Int.random(in: 0..<12, using: &rng)) / 4) } }  // many ties
        pts += pts[0..<30]  // exact duplicates
        let tree = KDTree(points: pts)
        let n = pts.count / 3
        func brute(_ q: SIMD3<Double>, _ k: Int, _ ex: Int) -> [Int] {
            var pairs = [(Double, Int)]()
            for i in 0..<n where i != ex {
                let d = SIMD3<Double>(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]) - q
                pairs.append(((d * d).sum(), i))
            }
            pairs.sort { a, b in a.0 < b.0 || (a.0 == b.0 && a.1 < b.1) }
            return pairs.prefix(k).map { $0.1 }
        }
        let all = tree.allNearest(k: 9)
        for i in 0..<n {
            let p = SIMD3<Double>(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2])
            #expect(all[i] == brute(p, 9, i))
        }
        for _ in 0..<50 {
            let x = Double.random(in: -1...4), y = Double.random(in: -1...4), z = Double.random(in: -1...4)
            let q = SIMD3<Double>(x, y, z)
            #expect(tree.nearest(to: q, k: 5) == brute(q, 5, -1))
        }
        #expect(KDTree(points: []).nearest(to: .zero, k: 3).isEmpty)
        #expect(KDTree(points: [1, 2, 3]).allNearest(k: 4) == [[]])
    }
}
