import Support
import ArgumentParser
import Foundation
import Geometry

/// `texfield info MESH.obj`: counts, extent and defects of a mesh.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Check a mesh: counts, bounding box, area, components, boundaries, defects.")

    @Argument(help: "An OBJ file.") var mesh: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let m = try Mesh.read(path: mesh)
        let r = m.report()
        if json {
            let enc = TexfieldJSON.encoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        print(InfoCommand.text(r, mesh: m, path: mesh))
    }

    static func text(_ r: MeshReport, mesh m: Mesh, path: String) -> String {
        func v3(_ a: [Double]) -> String { a.map { String(format: "%.6g", $0) }.joined(separator: ", ") }
        var lines = [
            "mesh            \(path)",
            "vertices        \(r.vertices)",
            "triangles       \(r.triangles)",
            "edges           \(r.edges)",
            "bounding box    [\(v3(r.boundingBoxMin))] – [\(v3(r.boundingBoxMax))]",
            "surface area    \(String(format: "%.9g", r.surfaceArea))",
            "components      \(r.components)",
            "boundary        \(r.boundaryEdges) edges in \(r.boundaryLoops) loops",
            "euler char.     \(r.eulerCharacteristic)" + (r.genus.map { "   genus \($0)" } ?? ""),
            "texcoords       \(r.hasTexcoords ? "yes (\(m.texcoords.count / 2))" : "no")",
        ]
        if let t = m.diffuseTexturePath { lines.append("texture         \(t)") }
        let defects: [(String, Int)] = [
            ("non-manifold edges", r.nonManifoldEdges), ("non-manifold vertices", r.nonManifoldVertices),
            ("degenerate faces", r.degenerateFaces), ("duplicate faces", r.duplicateFaces),
            ("unreferenced vertices", r.unreferencedVertices),
        ]
        let found = defects.filter { $0.1 > 0 }
        lines.append(found.isEmpty ? "defects         none" : "defects         " + found.map { "\($0.1) \($0.0)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
