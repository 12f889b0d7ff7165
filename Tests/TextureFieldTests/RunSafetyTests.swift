import Foundation
import Geometry
import Imaging
import Neural
import Render
import Testing
import TextureField

/// Every tensor of a safetensors file whose name passes `which` set to ±`value`.
private func overwrite(_ path: String, where which: (String) -> Bool, value: Float) throws {
    let (tensors, meta) = try Safetensors.read(path: path)
    var out = tensors
    for (k, t) in tensors where which(k) {
        out[k] = StoredTensor(shape: t.shape, values: t.values.indices.map { $0 % 2 == 0 ? value : -value })
    }
    try Safetensors.write(path: path, tensors: out, metadata: meta)
}

@Suite struct RunSafetyTests {
    /// A non-finite loss stops training at the step where it appears; the step is not counted
    /// and the best model stays finite.
    @Test func divergenceStopsAtItsStep() throws {
        var c = smallConfig()
        c.steps = 40; c.validateEvery = 10
        let scene = try FieldScene(mesh: Mesh.torus(segments: 24, rings: 12), texture: texture(split: true), configuration: c, cache: nil)
        let model = FieldModel(configuration: c, surface: scene.surface)
        let trainer = Trainer(model: model, train: scene.rays(scene.train), validation: scene.rays(scene.validation))
        #expect(trainer.run(shouldStop: { trainer.state.step >= 20 }) == .interrupted)
        model.restore((model.parameterSnapshot.0.map { _ in Float.nan }, model.parameterSnapshot.1))
        let end = trainer.run()
        guard case .diverged(let step, let loss) = end else { Issue.record("\(end)"); return }
        #expect(step == 21 && loss.isNaN && trainer.state.step == 20 && trainer.state.bestStep == 20)
        #expect(trainer.best.0.allSatisfy { $0.isFinite })
    }

    /// Interrupted before its first step (Ctrl-C during the eigenpairs or the rendering), a fit
    /// leaves a checkpoint at step 0 that resumes to the same model as an uninterrupted fit.
    @Test func checkpointFromStepZero() throws {
        let dir = try runTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (mesh, tex) = try writeTorusInputs(dir)
        var c = smallConfig()
        c.steps = 30; c.validateEvery = 10
        let whole = FieldRun(directory: dir + "/whole")
        guard case .finished = try whole.fit(mesh: mesh, texture: tex, configuration: c) else { Issue.record("whole"); return }
        let run = FieldRun(directory: dir + "/run")
        guard case .interrupted(let step, _) = try run.fit(mesh: mesh, texture: tex, configuration: c, shouldStop: { true }) else {
            Issue.record("not interrupted"); return
        }
        #expect(step == 0 && FileManager.default.fileExists(atPath: run.checkpointFile))
        guard case .finished = try run.resume() else { Issue.record("resume"); return }
        #expect(try Data(contentsOf: URL(fileURLWithPath: run.modelFile)) == (try Data(contentsOf: URL(fileURLWithPath: whole.modelFile))))
    }

    /// Resumed from weights that overflow (finite, 1e30), training diverges at once: the error
    /// names the step and the learning rate, the checkpoint on disk is left as it was.
    @Test func divergenceKeepsTheLastGoodCheckpoint() throws {
        let dir = try runTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (mesh, tex) = try writeTorusInputs(dir)
        var c = smallConfig()
        c.steps = 20; c.validateEvery = 10
        let run = FieldRun(directory: dir + "/run")
        guard case .finished = try run.fit(mesh: mesh, texture: tex, configuration: c) else { Issue.record("fit"); return }
        try overwrite(run.checkpointFile, where: { $0.hasPrefix("current.") }, value: 1e30)
        let before = try Data(contentsOf: URL(fileURLWithPath: run.checkpointFile))
        do { _ = try run.resume(steps: 40); Issue.record("no divergence") } catch let e as FieldError {
            guard case .diverged(_, let step, _, let lr, let checkpointStep, let bestStep) = e else { Issue.record("\(e)"); return }
            #expect((21...22).contains(step) && lr == c.effectiveLearningRate && checkpointStep == 20 && bestStep > 0)
            #expect(e.description.contains("diverged at step \(step)"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: run.checkpointFile)) == before)
    }

    /// A changed texture is noticed by its content hash (eval used to give other numbers with
    /// exit 0); `acceptChangedInputs` goes on. A model with NaN weights is refused, one whose
    /// colours overflow too (bake used to write an all-black texture).
    @Test func provenanceAndPoisonedModels() throws {
        let dir = try runTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (mesh, tex) = try writeTorusInputs(dir)
        var c = smallConfig()
        c.steps = 10
        var run = FieldRun(directory: dir + "/run")
        guard case .finished = try run.fit(mesh: mesh, texture: tex, configuration: c) else { Issue.record("fit"); return }
        #expect(try run.inputs().hashes?["texture"]?.hasPrefix("fnv1a64:") == true)
        #expect(try run.changedInputs().isEmpty)
        try texture(split: false).writePNG(path: tex)
        #expect(try run.changedInputs() == ["texture \(URL(fileURLWithPath: tex).standardizedFileURL.path)"])
        #expect(throws: FieldError.self) { _ = try run.evaluate() }
        #expect(throws: FieldError.self) { _ = try run.bake() }
        #expect(throws: FieldError.self) { _ = try run.resume() }
        run.acceptChangedInputs = true
        _ = try run.bake()

        try overwrite(run.modelFile, where: { _ in true }, value: 1e30)
        do { _ = try run.bake(); Issue.record("baked") } catch let e as FieldError {
            guard case .nonFinite = e else { Issue.record("\(e)"); return }
        }
        let (tensors, meta) = try Safetensors.read(path: run.modelFile)
        var data = try Safetensors.encode(tensors, metadata: meta)
        let nan = Float.nan.bitPattern
        let at = data.count - 4
        for j in 0..<4 { data[at + j] = UInt8((nan >> (8 * UInt32(j))) & 0xFF) }
        try data.write(to: URL(fileURLWithPath: run.modelFile))
        #expect(throws: (any Error).self) { _ = try run.bake() }

        // A corrupted run.json is reported as corrupted, not as missing.
        try Data("{\"mesh\": 3}".utf8).write(to: URL(fileURLWithPath: run.runFile))
        do { _ = try run.inputs(); Issue.record("read") } catch let e as FieldError {
            #expect(e.description.contains("corrupted") && e.description.contains("mesh"), "\(e)")
        }
    }

    /// A checkpoint's training state or configuration with absurd values (a step of −5 or 2^62,
    /// width −5, imageSize 100000) is refused on resume, naming the file, instead of trapping or
    /// asking for 40 GB.
    @Test func absurdCheckpointValues() throws {
        let dir = try runTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (mesh, tex) = try writeTorusInputs(dir)
        var c = smallConfig()
        c.steps = 10
        let run = FieldRun(directory: dir + "/run")
        guard case .finished = try run.fit(mesh: mesh, texture: tex, configuration: c) else { Issue.record("fit"); return }
        let (tensors, meta) = try Safetensors.read(path: run.checkpointFile)
        for (key, from, to) in [("texfield.state", "\"step\":10", "\"step\":-5"), ("texfield.state", "\"step\":10", "\"step\":4611686018427387904"),
                                ("texfield.config", "\"width\":32", "\"width\":-5"), ("texfield.config", "\"imageSize\":40", "\"imageSize\":100000")] {
            var m = meta
            #expect(m[key]!.contains(from), "\(key) lacks \(from)")
            m[key] = m[key]!.replacingOccurrences(of: from, with: to)
            try Safetensors.write(path: run.checkpointFile, tensors: tensors, metadata: m)
            do { _ = try run.resume(steps: 20); Issue.record("resumed with \(to)") } catch let e as FieldError {
                #expect(e.description.contains("checkpoint.safetensors"), "\(e)")
            }
        }
    }

    /// Texture coordinates of 1e308 (finite, so read) rasterize and sample without trapping.
    @Test func hugeTextureCoordinates() throws {
        var mesh = Mesh.torus(segments: 12, rings: 6)
        mesh.texcoords[0] = 1e308; mesh.texcoords[3] = -1e308
        let (points, texels) = Baker.rasterize(mesh, width: 32, height: 32)
        #expect(points.count == texels.count)
        var c = smallConfig(); c.uvBorder = .wrap
        _ = try FieldScene(mesh: mesh, texture: texture(split: true), configuration: c, cache: nil)
    }
}
