import Foundation
import Geometry
import Imaging
import Render
import Testing
import TextureField

/// The report's interactive view: what viewer.js holds (the page itself is checked in headless
/// Chromium by scripts/check_report.sh).
@Suite struct ViewerTests {
    func temp() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-viewer-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// window.TEXFIELD_VIEWER's JSON.
    func data(_ dir: String) throws -> [String: Any] {
        let js = try String(contentsOfFile: dir + "/viewer.js", encoding: .utf8)
        let start = try #require(js.range(of: "window.TEXFIELD_VIEWER = "))
        let body = js[start.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        return try #require(JSONSerialization.jsonObject(with: Data(body.dropLast().utf8)) as? [String: Any])
    }

    func floats(_ s: Any?) throws -> [Float] {
        let str = try #require(s as? String)
        let d = try #require(Data(base64Encoded: str))
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Vertices split exactly at texture seams; every corner keeps its position and texture
    /// coordinate; both textures are PNG data URIs of the right size; the cameras are all there.
    @Test func geometryTexturesAndCameras() throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mesh = Mesh.torus(segments: 48, rings: 24)
        let pred = Image(width: 16, height: 8, channels: 3, fill: 0.25), truth = Image(width: 16, height: 8, channels: 3, fill: 0.5)
        let cams = (0..<3).map { i in Camera(width: 64, height: 48, fovY: 0.7, eye: SIMD3(4, Double(i), 2), target: SIMD3(0, 0, 0)) }
        let s = try ReportViewer.write(to: dir, mesh: mesh, predicted: pred, truth: truth, cameras: cams)
        #expect(s.triangles == mesh.triangleCount && s.decimatedFrom == nil)
        #expect(s.vertices == 49 * 25, "one vertex per distinct (position, uv) pair")
        let d = try data(dir)
        let pos = try floats(d["positions"]), uv = try floats(d["uvs"])
        let idxString = try #require(d["indices"] as? String)
        let idxData = try #require(Data(base64Encoded: idxString))
        let idx: [UInt32] = idxData.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
        #expect(pos.count == 3 * s.vertices && uv.count == 2 * s.vertices && idx.count == 3 * s.triangles)
        for c in stride(from: 0, to: mesh.triangles.count, by: 7) {
            let v = Int(idx[c]), p = Int(mesh.triangles[c]), t = Int(mesh.cornerTexcoords[c])
            for k in 0..<3 { #expect(pos[3 * v + k] == Float(mesh.positions[3 * p + k])) }
            for k in 0..<2 { #expect(uv[2 * v + k] == Float(mesh.texcoords[2 * t + k])) }
        }
        for key in ["predicted", "truth"] {
            let uri = try #require(d[key] as? String)
            #expect(uri.hasPrefix("data:image/png;base64,"))
            let bytes = try #require(Data(base64Encoded: String(uri.dropFirst(22))))
            let png = try Image.decodePNG(bytes)
            #expect(png.width == 16 && png.height == 8)
        }
        #expect((d["cameras"] as? [Any])?.count == 3)
        let html = ReportViewer.html(hasTruth: true, note: "")
        #expect(html.contains("<canvas id=\"tfv-canvas\"") && html.contains("<script src=\"viewer.js\">") && html.contains("error heat map"))
        #expect(!ReportViewer.html(hasTruth: false, note: "").contains("id=\"tfv-heat\""), "no heat map button without ground truth")
    }

    /// Above the limit the mesh is decimated for the viewer (seams kept); without ground truth
    /// (a fit to photographs) the truth is null; a mesh without texture coordinates is refused.
    @Test func largeMeshesAndPhotographs() throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mesh = Mesh.torus(segments: 64, rings: 32)
        let pred = Image(width: 8, height: 8, channels: 3, fill: 0.25)
        let s = try ReportViewer.write(to: dir, mesh: mesh, predicted: pred, truth: nil, cameras: [], maximumTriangles: 1000)
        #expect(s.decimatedFrom == mesh.triangleCount && s.triangles < 1300 && s.triangles > 600, "\(s.triangles) triangles")
        let d = try data(dir)
        #expect(d["truth"] is NSNull && (d["decimatedFrom"] as? Int) == mesh.triangleCount)
        // a texture wider than 2048 is halved until it fits (4100 → 2050 → 1025)
        var wide = Image(width: 4100, height: 4, channels: 3, fill: 0.5)
        for x in 0..<4100 { wide.pixels[3 * x] = x % 2 == 0 ? 0 : 1 }
        try ReportViewer.write(to: dir, mesh: mesh, predicted: wide, truth: nil, cameras: [], maximumTriangles: 1000)
        let uri = try #require(try data(dir)["predicted"] as? String)
        let bytes = try #require(Data(base64Encoded: String(uri.dropFirst(22))))
        let png = try Image.decodePNG(bytes)
        #expect(png.width == 1025 && png.height == 1)
        #expect(abs(png.pixels[0] - 0.5) < 0.01, "a 2 × 2 box average of alternating 0 and 1")
        // a non-finite camera cannot reach the page's script
        var bad = Camera(width: 8, height: 8, fovY: 0.7, eye: SIMD3(4, 0, 0), target: SIMD3(0, 0, 0))
        bad.fx = .nan
        #expect(throws: (any Error).self) { try ReportViewer.write(to: dir, mesh: mesh, predicted: pred, truth: nil, cameras: [bad], maximumTriangles: 1000) }
        var bare = mesh
        bare.texcoords = []; bare.cornerTexcoords = []
        #expect(throws: (any Error).self) { try ReportViewer.write(to: dir, mesh: bare, predicted: pred, truth: nil, cameras: []) }
    }
}
