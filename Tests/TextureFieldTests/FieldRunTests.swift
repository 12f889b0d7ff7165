import Foundation
import Geometry
import Imaging
import Testing
import Render
import TextureField

/// A fresh folder under the temporary directory.
func runTempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-run-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The torus with UVs and the two-colour texture, written as files.
func writeTorusInputs(_ dir: String) throws -> (mesh: String, texture: String) {
    try Mesh.torus(segments: 24, rings: 12).writeOBJ(path: dir + "/torus.obj")
    try texture(split: true).writePNG(path: dir + "/torus.png")
    return (dir + "/torus.obj", dir + "/torus.png")
}

private final class Counter: @unchecked Sendable {
    var events = 0
    var steps = 0
}

@Suite struct FieldRunTests {
    /// What another Swift program does: fit, evaluate and bake with a few calls on a folder; the
    /// folder's files are there and evaluate/bake reproduce the fit's own numbers.
    @Test func fitEvaluateBake() throws {
        let dir = try runTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (mesh, tex) = try writeTorusInputs(dir)
        var c = smallConfig()
        c.steps = 60
        let run = FieldRun(directory: dir + "/run")
        let counter = Counter()
        let outcome = try run.fit(mesh: mesh, texture: tex, configuration: c, events: { e in
            counter.events += 1
            if case .training = e { counter.steps += 1 }
        })
        guard case .finished(let m) = outcome else { Issue.record("not finished"); return }
        #expect(m.steps == 60 && counter.steps == 60 && counter.events > 60)
        for f in [run.metricsFile, run.modelFile, run.checkpointFile, run.reportFile, run.textureFile, run.runFile] {
            #expect(FileManager.default.fileExists(atPath: f), "missing \(f)")
        }
        #expect(try run.inputs().mesh.hasSuffix("torus.obj"))
        #expect(try run.modelConfiguration() == c)
        let again = try run.evaluate()
        #expect(again.meanPSNR == m.test.meanPSNR)
        #expect(FileManager.default.fileExists(atPath: run.evaluationFile))
        let baked = try run.bake()
        #expect(baked.psnr == m.texturePSNR)
        #expect(try run.bake(width: 16, height: 8).image.width == 16)
        #expect(throws: FieldError.self) { _ = try run.bake(width: 1, height: 8) }
    }

    /// Interrupted after 25 steps and resumed, a fit ends with the same model, bit for bit, as one
    /// that ran through; a folder that holds no fit is an error naming it.
    @Test func interruptAndResume() throws {
        let dir = try runTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (mesh, tex) = try writeTorusInputs(dir)
        var c = smallConfig()
        c.steps = 50
        c.validateEvery = 20
        let whole = FieldRun(directory: dir + "/whole")
        guard case .finished(let a) = try whole.fit(mesh: mesh, texture: tex, configuration: c) else { Issue.record("whole"); return }
        let parts = FieldRun(directory: dir + "/parts")
        let counter = Counter()
        let first = try parts.fit(mesh: mesh, texture: tex, configuration: c, events: { e in
            if case .training = e { counter.steps += 1 }
        }, shouldStop: { counter.steps >= 25 })
        guard case .interrupted(let step, let checkpoint) = first else { Issue.record("not interrupted"); return }
        #expect(step == 25 && checkpoint == parts.checkpointFile)
        guard case .finished(let b) = try parts.resume() else { Issue.record("resume"); return }
        #expect(b.steps == 50 && b.test.meanPSNR == a.test.meanPSNR && b.bestStep == a.bestStep)
        let ma = try Data(contentsOf: URL(fileURLWithPath: whole.modelFile))
        let mb = try Data(contentsOf: URL(fileURLWithPath: parts.modelFile))
        #expect(ma == mb)
        #expect(throws: FieldError.self) { _ = try FieldRun(directory: dir).evaluate() }
        do { _ = try FieldRun(directory: dir + "/nothing").inputs() } catch let e as FieldError {
            #expect(e.description.contains("nothing") && e.description.contains("run.json"))
        }
    }

    /// A configuration read from a file is range-checked field by field.
    @Test func configurationRanges() throws {
        var c = smallConfig()
        try c.check()
        c.width = 0
        #expect(throws: FieldError.self) { try c.check() }
        c = smallConfig(); c.imageSize = 100_000
        #expect(throws: FieldError.self) { try c.check() }
        c = smallConfig(); c.learningRate = .nan
        #expect(throws: FieldError.self) { try c.check() }
        c = smallConfig(); c.seconds = .infinity
        #expect(throws: FieldError.self) { try c.check() }
    }

    /// The default learning rate follows the budget: 4e-3 for a run that ends within 10,000 steps
    /// or 450 s, 2e-3 beyond both; a rate given is kept; a config.json written before the rule
    /// (with its explicit rate) reads back unchanged, and one without a rate reads back as nil.
    @Test func defaultLearningRateFollowsTheBudget() throws {
        var c = FieldConfiguration()
        #expect(c.learningRate == nil && c.seconds == 600 && c.effectiveLearningRate == 2e-3)
        c.seconds = 120
        #expect(c.effectiveLearningRate == 4e-3)
        c.seconds = 600; c.steps = 7500
        #expect(c.effectiveLearningRate == 4e-3)
        c.steps = 15_000
        #expect(c.effectiveLearningRate == 2e-3)
        #expect(FieldConfiguration.defaultLearningRate(seconds: 450, steps: 1_000_000) == 4e-3)
        #expect(FieldConfiguration.defaultLearningRate(seconds: 451, steps: 10_001) == 2e-3)
        c.learningRate = 1e-4
        #expect(c.effectiveLearningRate == 1e-4)
        let old = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode(FieldConfiguration.self, from: old).effectiveLearningRate == 1e-4)
        c.learningRate = nil
        let new = try JSONEncoder().encode(c)
        #expect(!String(decoding: new, as: UTF8.self).contains("learningRate"))
        #expect(try JSONDecoder().decode(FieldConfiguration.self, from: new) == c)
    }
}

@Suite struct GivenCameraTests {
    /// A fit on the cameras another fit wrote — as texfield's cameras.json or as nerfstudio's
    /// transforms.json — sees the same views and ends with the same model, bit for bit; its
    /// evaluation reads the cameras back from the folder.
    @Test func camerasInAndOut() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-cams-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Mesh.torus(segments: 24, rings: 12).writeOBJ(path: dir + "/torus.obj")
        try texture(split: true).writePNG(path: dir + "/torus.png")
        var c = smallConfig()
        c.steps = 30
        let first = FieldRun(directory: dir + "/first")
        guard case .finished(let a) = try first.fit(mesh: dir + "/torus.obj", texture: dir + "/torus.png", configuration: c) else { return }
        #expect(FileManager.default.fileExists(atPath: first.camerasFile) && FileManager.default.fileExists(atPath: first.transformsFile))
        for file in [first.camerasFile, first.transformsFile] {
            let run = FieldRun(directory: dir + "/again-" + (file as NSString).lastPathComponent)
            let cams = try CameraFile.read(path: file)
            guard case .finished(let b) = try run.fit(mesh: dir + "/torus.obj", texture: dir + "/torus.png", configuration: c, cameras: cams) else { return }
            #expect(b.test.meanPSNR == a.test.meanPSNR && b.configuration.givenCameras == true, "\(file)")
            #expect(b.history.map(\.trainL1) == a.history.map(\.trainL1) && b.history.map(\.validationL1) == a.history.map(\.validationL1))
            #expect(try run.evaluate().meanPSNR == a.test.meanPSNR)
            #expect(throws: FieldError.self) { _ = try run.evaluate(testViews: 2) }
        }
    }
}

@Suite struct BenchmarkSetAndWarmupTests {
    /// The generated cases exist, are deterministic and have texture coordinates inside [0, 1].
    @Test func casesAreDeterministic() throws {
        let a = try BenchmarkSet.cases(), b = try BenchmarkSet.cases()
        #expect(a.map(\.name) == BenchmarkSet.generatedNames)
        for (x, y) in zip(a, b) {
            #expect(x.texture == y.texture && x.mesh.positions == y.mesh.positions, "\(x.name)")
            #expect(x.mesh.hasTexcoords && x.mesh.texcoords.allSatisfy { (0...1).contains($0) }, "\(x.name)")
        }
        #expect(a.first { $0.name == "torus-print" }!.texture.width == 2048)
    }

    /// A linear warm-up changes the first steps only: with warm-up over 10 steps the first update
    /// is a tenth of the plain one's (Adam's first step moves every weight by about the rate).
    @Test func warmupScalesTheFirstSteps() throws {
        var c = smallConfig()
        c.schedule = .constant
        let (_, plain, _) = try fit(c, tex: texture(split: true), steps: 1)
        c.warmupSteps = 10
        let (_, warm, _) = try fit(c, tex: texture(split: true), steps: 1)
        var c0 = smallConfig(); c0.schedule = .constant
        let start = FieldModel(configuration: c0, surface: SurfaceData(vertexCount: 0, k: c0.eigenfunctions, phi: [], lambda: [], positions: []))
        let p0 = start.mlp.parameters
        let d1 = zip(plain.mlp.parameters, p0).map { abs($0 - $1) }.max()!, d2 = zip(warm.mlp.parameters, p0).map { abs($0 - $1) }.max()!
        #expect(abs(d2 / d1 - 0.1) < 0.01, "\(d2 / d1)")
        c.warmupSteps = 0
        #expect(throws: FieldError.self) { try c.check() }
    }
}

/// Writes a scene's views as a photo set: 16-bit RGBA PNGs (alpha = object) and transforms.json;
/// `image` gives each view's photo (default: its ground truth).
/// `openCVPoses`: the poses written without the OpenGL axis flip (the classic mistake).
func writePhotos(_ scene: FieldScene, to dir: String, alpha: Bool = true, openCVPoses: Bool = false,
                 image: (RenderedView) -> Image = { $0.truth }) throws -> String {
    try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
    for (name, views) in [("train", scene.train), ("validation", scene.validation), ("test", scene.test)] {
        for (i, v) in views.enumerated() {
            let img = alpha ? try image(v).withAlpha(v.gbuffer.mask) : image(v)
            try img.writePNG(path: "\(dir)/images/\(name)_\(String(format: "%03d", i)).png", sixteenBit: true)
        }
    }
    var json = try JSONSerialization.jsonObject(with: CameraFile.encodeTransforms(scene.views)) as! [String: Any]
    if openCVPoses {
        var frames = json["frames"] as! [[String: Any]]
        for f in frames.indices {
            var m = frames[f]["transform_matrix"] as! [[Double]]
            for r in 0..<3 { m[r][1] = -m[r][1]; m[r][2] = -m[r][2] }
            frames[f]["transform_matrix"] = m
        }
        json["frames"] = frames
    }
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/transforms.json"))
    return dir + "/transforms.json"
}

@Suite struct PhotographTests {
    /// Views written as photographs (transforms.json + PNGs) and fitted through the photograph path
    /// give the texture path's test PSNR within 0.1 dB at equal steps, with or without alpha; a
    /// pose in the wrong convention is caught by the mask check, naming the photo.
    @Test func photographsEqualTheTexturePath() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-photos-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mesh = Mesh.torus(segments: 24, rings: 12)
        try mesh.writeOBJ(path: dir + "/torus.obj")
        try texture(split: true).writePNG(path: dir + "/torus.png")
        var c = smallConfig()
        c.steps = 120
        let textured = FieldRun(directory: dir + "/textured")
        guard case .finished(let a) = try textured.fit(mesh: dir + "/torus.obj", texture: dir + "/torus.png", configuration: c) else { return }
        let scene = try FieldScene(mesh: mesh, texture: texture(split: true), configuration: c, cache: nil)
        for withAlpha in [true, false] {
            let transforms = try writePhotos(scene, to: dir + "/photos-\(withAlpha)", alpha: withAlpha)
            var pc = c
            pc.atlasSize = 32
            let run = FieldRun(directory: dir + "/photo-run-\(withAlpha)")
            guard case .finished(let b) = try run.fit(mesh: dir + "/torus.obj", photos: transforms, configuration: pc) else { return }
            #expect(abs(b.test.meanPSNR - a.test.meanPSNR) < 0.1, "alpha \(withAlpha): \(b.test.meanPSNR) vs \(a.test.meanPSNR)")
            #expect(b.texturePSNR == nil && FileManager.default.fileExists(atPath: run.textureFile))
            #expect(abs(try run.evaluate().meanPSNR - b.test.meanPSNR) < 1e-12)
            #expect(try run.bake().image.width == 32)
        }
        let wrong = try writePhotos(scene, to: dir + "/photos-wrong", openCVPoses: true)
        #expect { _ = try FieldRun(directory: dir + "/wrong").fit(mesh: dir + "/torus.obj", photos: wrong, configuration: c) } throws: {
            guard case FieldError.photoMismatch(let path, let iou, _) = $0 else { return false }
            return path.hasSuffix(".png") && iou < 0.5
        }
    }
}

@Suite struct TexelSampleTests {
    /// The texel sample with every covered texel gives the baked atlas's texture-space PSNR; the
    /// training history records texture-space PSNR at each validation when a texture is given.
    @Test func sampleOfAllTexelsEqualsTheBake() throws {
        let (scene, model, trainer) = try fit(smallConfig(), tex: texture(split: true), steps: 60)
        let tex = scene.texture!
        let baked = Baker.bake(model, mesh: scene.mesh, width: tex.width, height: tex.height, reference: tex)
        let all = Baker.texelSample(scene.mesh, texture: tex, count: Int.max, seed: 0)
        #expect(all.count == baked.covered.filter { $0 }.count)
        let q = model.predict(all.points)
        var se = 0.0
        for i in q.indices { let d = Double(q[i] - all.colors[i]); se += d * d }
        #expect(abs(-10 * log10(se / Double(q.count)) - baked.psnr) < 1e-9)
        #expect(trainer.state.history.allSatisfy { $0.texturePSNR == nil })  // not set by this helper
    }
}
