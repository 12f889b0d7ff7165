import Foundation
import Geometry
import Testing

private let triangle = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n"

private func message(_ text: String) -> String {
    do { _ = try Mesh.parseOBJ(Data(text.utf8), path: "m.obj"); return "" } catch { return "\(error)" }
}

@Suite struct OBJSafetyTests {
    /// A UTF-8 byte-order mark used to make a valid OBJ "not an OBJ file"; CR-only line endings
    /// (classic Mac) used to fail; CRLF keeps its line numbers.
    @Test func byteOrderMarkAndLineEndings() throws {
        var bom = Data([0xEF, 0xBB, 0xBF]); bom.append(Data(triangle.utf8))
        #expect(try Mesh.parseOBJ(bom).triangleCount == 1)
        #expect(try Mesh.parseOBJ(Data(triangle.replacingOccurrences(of: "\n", with: "\r").utf8)).triangleCount == 1)
        #expect(try Mesh.parseOBJ(Data(triangle.replacingOccurrences(of: "\n", with: "\r\n").utf8)).triangleCount == 1)
        let crlfBad = "v 0 0 0\r\nv 1 0 0\r\nv 0 1 x\r\n"
        #expect(message(crlfBad).contains("m.obj:3:"))
        #expect(message(crlfBad.replacingOccurrences(of: "\r\n", with: "\r")).contains("m.obj:3:"))
    }

    /// A 10 MB token is not echoed whole; 1e309 is "beyond the range", nan "not finite".
    @Test func messagesSayWhatAndWhere() throws {
        let long = "v 0 0 " + String(repeating: "9", count: 10_000_000) + "x\n"
        let m = message(long)
        #expect(m.contains("m.obj:1:") && m.count < 300, "\(m.prefix(300))")
        #expect(message("v 0 0 1e309\n").contains("beyond the range"))
        #expect(message("v 0 0 nan\n").contains("non-finite"))
        #expect(message("v 0 0 -inf\n").contains("non-finite"))
        // 1e308 is a finite double: read (texture coordinates this large are handled where sampled).
        #expect(try Mesh.parseOBJ(Data(triangle.replacingOccurrences(of: "vt 1 0\n", with: "vt 1e308 0\n").utf8)).texcoords.contains(1e308))
    }
}
