import ArgumentParser
import Foundation
import Geometry
import Imaging
import Render
import Support
import TextureField

/// `texfield render`: ground-truth views of a textured mesh, as `fit` trains and tests on them.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render views of a textured mesh (unshaded texture colour, white background), as fit uses them.")
    @Argument(help: "Mesh (OBJ or PLY) with texture coordinates — or, with --turntable, a finished fit's folder.") var mesh: String
    @Argument(help: "Texture (PNG); the OBJ's material texture when omitted.") var texture: String?
    @Option(help: "View set: train, validation or test.") var set: ViewSetName = .test
    @Option(help: "Index of the view in the set, or 'all'.") var view: ViewChoice = .index(0)
    @Option(help: "Seed of the view sets (as fit's --seed).") var seed: UInt64 = 0
    @Option(help: "Image side in pixels.") var size = 512
    @Option(help: "Views in the set (defaults: train 5, validation 3, test 20).") var count: Int?
    @Option(name: .shortAndLong, help: "Output PNG (one view) or folder (all).") var out: String = "view.png"
    @Flag(help: "Also write the object mask (…_mask.png).") var mask = false
    @Option(help: "Cameras from a file (texfield's cameras.json or nerfstudio's transforms.json) instead of the protocol's.")
    var cameras: String?
    @Option(help: "Write every view of all three sets as DIR/images/<set>_NNN.png (16-bit RGBA, alpha = the object mask) and DIR/transforms.json (nerfstudio convention, with splits): a photo set for fit --views.")
    var transformsOut: String?
    @Option(help: "A finished fit (MESH is then its folder): N frames orbiting the object, ground truth beside the prediction, as OUT/frame_NNN.png.")
    var turntable: Int?
    @Option(help: "Turntable elevation in degrees.") var elevation: Double = 20

    func validate() throws {
        guard (8...8192).contains(size) else { throw ValidationError("--size must be in 8...8192") }
        try OptionLimits.check("--count", count, OptionLimits.views)
        try OptionLimits.checkRendered(views: turntable ?? (view == .all ? (count ?? 20) : 1), size: size)
        try OptionLimits.check("--turntable", turntable, 1...3600)
        try OptionLimits.check("--elevation", elevation, -90...90)
    }

    func run() throws {
        if let frames = turntable {
            let images = try FieldRun(directory: mesh).turntable(frames: frames, size: size, elevation: elevation)
            let dir = out == "view.png" ? mesh + "/turntable" : out
            try makeOutputFolder(dir)
            for (i, img) in images.enumerated() { try img.writePNG(path: "\(dir)/frame_\(String(format: "%03d", i)).png") }
            print("\(dir)/frame_000.png … frame_\(String(format: "%03d", images.count - 1)).png: \(images.count) frames (ground truth | prediction)")
            return
        }
        let m = try Mesh.read(path: mesh)
        let tex = try FieldRun.loadTexture(texture, for: m, meshPath: mesh)
        let n = count ?? set.defaultCount
        let views = try cameras.map { try CameraFile.read(path: $0) }
            ?? ProtocolViews(mesh: m, seed: seed, width: size, height: size,
                             train: set == .train ? n : ViewSetName.train.defaultCount, validation: set == .validation ? n : ViewSetName.validation.defaultCount,
                             test: set == .test ? n : ViewSetName.test.defaultCount)
        let bvh = try BVH(m)
        if let dir = transformsOut {
            try makeOutputFolder(dir + "/images")
            var total = 0
            for (name, cams) in [("train", views.train), ("validation", views.validation), ("test", views.test)] {
                for (i, cam) in cams.enumerated() {
                    let g = RayCaster.gbuffer(bvh, camera: cam)
                    let rgb = try RayCaster.texturedImage(g, mesh: m, texture: tex)
                    try rgb.withAlpha(g.mask).writePNG(path: "\(dir)/images/\(name)_\(String(format: "%03d", i)).png", sixteenBit: true)
                    total += 1
                }
            }
            try AtomicFile.write(try CameraFile.encodeTransforms(views), to: dir + "/transforms.json")
            print("\(dir)/transforms.json: \(total) views (\(views.train.count) train, \(views.validation.count) validation, \(views.test.count) test) in \(dir)/images/")
            return
        }
        let cams = views.cameras(set.rawValue)!
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
