import ArgumentParser
import Foundation
import Geometry
import Imaging
import Render
import TextureField

/// `texfield render`: ground-truth views of a textured mesh, as `fit` trains and tests on them.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render views of a textured mesh (unshaded texture colour, white background), as fit uses them.")
    @Argument(help: "Mesh (OBJ) with texture coordinates.") var mesh: String
    @Argument(help: "Texture (PNG); the OBJ's material texture when omitted.") var texture: String?
    @Option(help: "View set: train, validation or test.") var set: ViewSetName = .test
    @Option(help: "Index of the view in the set, or 'all'.") var view: ViewChoice = .index(0)
    @Option(help: "Seed of the view sets (as fit's --seed).") var seed: UInt64 = 0
    @Option(help: "Image side in pixels.") var size = 512
    @Option(help: "Views in the set (defaults: train 5, validation 3, test 20).") var count: Int?
    @Option(name: .shortAndLong, help: "Output PNG (one view) or folder (all).") var out: String = "view.png"
    @Flag(help: "Also write the object mask (…_mask.png).") var mask = false

    func validate() throws {
        guard (8...8192).contains(size) else { throw ValidationError("--size must be in 8...8192") }
    }

    func run() throws {
        let m = try Mesh.readOBJ(path: mesh)
        let tex = try FieldRun.loadTexture(texture, for: m, meshPath: mesh)
        let n = count ?? set.defaultCount
        let views = ProtocolViews(mesh: m, seed: seed, width: size, height: size,
                                  train: set == .train ? n : ViewSetName.train.defaultCount, validation: set == .validation ? n : ViewSetName.validation.defaultCount,
                                  test: set == .test ? n : ViewSetName.test.defaultCount)
        let cams = views.cameras(set.rawValue)!
        let bvh = try BVH(m)
        let indices: [Int]
        switch view {
        case .all: indices = Array(cams.indices)
        case .index(let i):
            guard cams.indices.contains(i) else { throw CommandError("--view \(i): the \(set.rawValue) set has views 0…\(cams.count - 1)") }
            indices = [i]
        }
        if case .all = view { try makeOutputFolder(out) }
        for i in indices {
            let g = RayCaster.gbuffer(bvh, camera: cams[i])
            let img = try RayCaster.texturedImage(g, mesh: m, texture: tex)
            let path: String
            if case .all = view { path = "\(out)/\(set.rawValue)_\(String(format: "%03d", i)).png" } else { path = out }
            try img.writePNG(path: path)
            if mask { try g.mask.writePNG(path: String(path.dropLast(4)) + "_mask.png") }
            print("\(path): \(set.rawValue) view \(i), \(g.hitCount) object pixels")
        }
    }
}
