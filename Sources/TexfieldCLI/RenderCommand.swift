import ArgumentParser
import Foundation
import Geometry
import Imaging
import Render

/// `texfield render`: ground-truth views of a textured mesh, as `fit` trains and tests on them.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render views of a textured mesh (unshaded texture colour, white background), as fit uses them.")
    @Argument(help: "Mesh (OBJ) with texture coordinates.") var mesh: String
    @Argument(help: "Texture (PNG); the OBJ's material texture when omitted.") var texture: String?
    @Option(help: "View set: train, validation or test.") var set = "test"
    @Option(help: "Index of the view in the set, or 'all'.") var view = "0"
    @Option(help: "Seed of the view sets (as fit's --seed).") var seed: UInt64 = 0
    @Option(help: "Image side in pixels.") var size = 512
    @Option(help: "Views in the set (defaults: train 5, validation 3, test 20).") var count: Int?
    @Option(name: .shortAndLong, help: "Output PNG (one view) or folder (all).") var out: String = "view.png"
    @Flag(help: "Also write the object mask (…_mask.png).") var mask = false

    func validate() throws {
        guard (8...8192).contains(size) else { throw ValidationError("--size must be in 8...8192") }
        guard ["train", "validation", "test"].contains(set) else { throw ValidationError("--set must be train, validation or test") }
        guard view == "all" || Int(view) != nil else { throw ValidationError("--view must be an index or 'all'") }
    }

    func run() throws {
        let m = try loadMesh(mesh)
        let tex = try loadTexture(texture, for: m, meshPath: mesh)
        let n = count ?? ["train": 5, "validation": 3, "test": 20][set]!
        let views = ProtocolViews(mesh: m, seed: seed, width: size, height: size,
                                  train: set == "train" ? n : 5, validation: set == "validation" ? n : 3, test: set == "test" ? n : 20)
        let cams = views.cameras(set)!
        let bvh = try BVH(m)
        let indices: [Int]
        if view == "all" { indices = Array(cams.indices) } else {
            let i = Int(view)!
            guard cams.indices.contains(i) else { throw CommandError("--view \(i): the \(set) set has views 0…\(cams.count - 1)") }
            indices = [i]
        }
        if view == "all" { try makeOutputFolder(out) }
        for i in indices {
            let g = RayCaster.gbuffer(bvh, camera: cams[i])
            let img = try RayCaster.texturedImage(g, mesh: m, texture: tex)
            let path = view == "all" ? "\(out)/\(set)_\(String(format: "%03d", i)).png" : out
            try img.writePNG(path: path)
            if mask { try g.mask.writePNG(path: String(path.dropLast(4)) + "_mask.png") }
            print("\(path): \(set) view \(i), \(g.hitCount) object pixels")
        }
    }
}

/// The texture given, or the OBJ's material texture; checks that the mesh has UVs.
func loadTexture(_ path: String?, for mesh: Mesh, meshPath: String) throws -> Image {
    guard mesh.hasTexcoords else {
        throw CommandError("\(meshPath): the mesh has no texture coordinates (vt) on every face, so a texture cannot be looked up")
    }
    guard let p = path ?? mesh.diffuseTexturePath else {
        throw CommandError("\(meshPath): no texture given and the OBJ names none (mtllib with map_Kd); pass TEXTURE.png")
    }
    do { return try Image.readPNG(path: p).rgb() } catch { throw CommandError("\(error)") }
}
