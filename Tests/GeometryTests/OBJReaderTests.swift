import Foundation
import Testing

import Geometry

private func parse(_ text: String) throws -> Mesh { try Mesh.parseOBJ(Data(text.utf8), path: "t.obj") }

/// Expects a `MeshError` whose message contains every fragment.
private func expectError(_ text: String, _ fragments: String...) {
    do {
        _ = try parse(text)
        Issue.record("expected an error for:\n\(text)")
    } catch let e as MeshError {
        for f in fragments { #expect(e.description.contains(f), "'\(e.description)' lacks '\(f)'") }
    } catch { Issue.record("unexpected error \(error)") }
}

private let square = """
    v 0 0 0
    v 1 0 0
    v 1 1 0
    v 0 1 0
    vt 0 0
    vt 1 0
    vt 1 1
    vt 0 1
    vn 0 0 1

    """

@Suite struct OBJReaderTests {
    @Test func everyCornerForm() throws {
        for face in ["f 1 2 3", "f 1/1 2/2 3/3", "f 1//1 2//1 3//1", "f 1/1/1 2/2/1 3/3/1", "f -4 -3 -2",
                     "f -4/-4 -3/-3 -2/-2", "f -4/-4/-1 -3/-3/-1 -2/-2/-1"] {
            let m = try parse(square + face + "\n")
            #expect(m.vertexCount == 4)
            #expect(m.triangles == [0, 1, 2], "\(face)")
            if face.contains("/") && !face.contains("//") {
                #expect(m.cornerTexcoords == [0, 1, 2])
                #expect(m.hasTexcoords)
            }
            if face.split(separator: " ").dropFirst().allSatisfy({ $0.split(separator: "/", omittingEmptySubsequences: false).count == 3 }) {
                #expect(m.cornerNormals == [0, 0, 0])
            }
        }
    }

    @Test func polygonsAreFans() throws {
        let m = try parse(square + "f 1/1 2/2 3/3 4/4\n")
        #expect(m.triangleCount == 2)
        #expect(m.triangles == [0, 1, 2, 0, 2, 3])
        #expect(m.cornerTexcoords == [0, 1, 2, 0, 2, 3])
        #expect(m.triangleLines == [10, 10])
    }

    @Test func seamsKeepVerticesWhole() throws {
        // Vertex 1 (index 0) is used with two different texture coordinates.
        let m = try parse(square + "vt 0.5 0.5\nf 1/1 2/2 3/3\nf 1/5 3/3 4/4\n")
        #expect(m.vertexCount == 4)
        #expect(m.cornerTexcoords[0] == 0 && m.cornerTexcoords[3] == 4)
        #expect(m.triangles[0] == m.triangles[3])
    }

    @Test func otherStatementsAccepted() throws {
        let text = "# c\nmtllib a.mtl\no obj\ng grp\ns 1\nusemtl m\nv 0 0 0 1\nv 1 0 0\nv 0 1 0\nl 1 2\ncstype bspline\nf 1 2 3 # tail\n"
        let m = try parse(text)
        #expect(m.triangleCount == 1)
        #expect(m.materialLibraries == ["a.mtl"])
    }

    @Test func vertexColours() throws {
        let m = try parse("v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nf 1 2 3\n")
        #expect(m.vertexColors == [1, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    @Test func windowsLineEndings() throws {
        let m = try parse("v 0 0 0\r\nv 1 0 0\r\nv 0 1 0\r\nf 1 2 3\r\n")
        #expect(m.triangleCount == 1)
    }

    @Test func badInput() {
        expectError("v 0 0 zero\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "t.obj:1", "malformed number 'zero'")
        expectError("v 0 0 0\nv nan 0 0\nv 0 1 0\nf 1 2 3\n", "t.obj:2", "non-finite")
        expectError("v 0 0 0\nv 1 0 inf\nv 0 1 0\nf 1 2 3\n", "t.obj:2", "non-finite")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 2 3\n", "t.obj:4", "index 0")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "t.obj:4", "out of range")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n", "t.obj:4", "before the first")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", "t.obj:4", "at least 3 corners")
        expectError("v 0 0 0\nv 1 0 0\nf 1 2 3\n", "out of range")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/1 3/1\n", "texture coordinate index 1 out of range")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2 3\n", "mixes corners")
        expectError("v 0 0\n", "t.obj:1", "3, 4, 6 or 7 numbers")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3x\n", "t.obj:4", "malformed face corner")
        expectError("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 0x10\n", "t.obj:4")
        expectError("", "no vertices")
        expectError("v 0 0 0\nv 1 0 0\n", "no faces")
        expectError("v 0 0 0\n\u{1}\u{2}\u{0}junk\n", "t.obj:2", "binary")
        expectError("v 0x1p3 0 0\n", "t.obj:1", "malformed number")
    }

    @Test func unreadablePaths() {
        #expect(throws: MeshError.unreadable(path: "/nonexistent/x.obj", reason: "no such file")) {
            try Mesh.readOBJ(path: "/nonexistent/x.obj")
        }
        #expect(throws: MeshError.unreadable(path: "/tmp", reason: "is a folder, not a regular file")) {
            try Mesh.readOBJ(path: "/tmp")
        }
    }

    @Test func writeReadRoundTripIsExact() throws {
        var m = Mesh.torus(segments: 7, rings: 5)
        m.positions[0] = 0.1 + 0.2  // not representable in short decimal
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-obj-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try m.writeOBJ(path: dir + "/t.obj")
        let r = try Mesh.readOBJ(path: dir + "/t.obj")
        #expect(r.positions == m.positions)
        #expect(r.triangles == m.triangles)
        #expect(r.texcoords == m.texcoords)
        #expect(r.cornerTexcoords == m.cornerTexcoords)
    }

    @Test func materialTextureIsResolved() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-mtl-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir + "/tex", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "newmtl other\nmap_Kd a.png\nnewmtl skin\nKd 1 1 1\nmap_Kd -s 1 1 1 tex/skin.png\n".write(
            toFile: dir + "/m.mtl", atomically: true, encoding: .utf8)
        try (square + "mtllib m.mtl\nusemtl skin\nf 1 2 3\n").write(toFile: dir + "/a.obj", atomically: true, encoding: .utf8)
        let m = try Mesh.readOBJ(path: dir + "/a.obj")
        #expect(m.diffuseTexturePath == dir + "/tex/skin.png")
    }

    @Test func largeFileParsesQuickly() throws {
        // 20k triangles: a smoke test of the streaming parser (speed is measured by the benchmark).
        let m = Mesh.icosphere(subdivisions: 32)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-big-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try m.writeOBJ(path: dir + "/s.obj")
        let r = try Mesh.readOBJ(path: dir + "/s.obj")
        #expect(r.positions == m.positions && r.triangles == m.triangles)
    }
}
