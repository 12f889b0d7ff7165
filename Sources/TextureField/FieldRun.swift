import Foundation
import Geometry
import Imaging
import Render
import Spectral
import Support

/// texfield's version, written into every run's metrics.
public let texfieldVersion = "0.3.0"

/// A fit's folder and everything in it: the one owner of the run lifecycle, for the command
/// line and for other Swift programs alike.
///
/// ```swift
/// let run = FieldRun(directory: "out/spot")
/// var config = FieldConfiguration(); config.seconds = 120
/// if case .finished(let metrics) = try run.fit(mesh: "spot.obj", texture: "spot.png", configuration: config) {
///     print(metrics.test.meanPSNR)
/// }
/// let again = try run.evaluate()               // the kept model on the test views (writes eval.json)
/// let atlas = try run.bake(width: 2048, height: 2048)
/// ```
///
/// Files (each written atomically): `run.json` (where mesh and texture came from),
/// `checkpoint.safetensors` (resumable state), `model.safetensors` (the kept model),
/// `cameras.json` (every camera, OpenCV convention) and `transforms.json` (the same cameras in
/// nerfstudio's convention), `metrics.json`, `report.html`, `views/`, `curve.png`, `texture.png`,
/// `eval.json`.
/// Not thread-safe: one fit per folder at a time.
public struct FieldRun: Sendable {
    public let directory: String
    /// Go on when the mesh, texture or photographs changed since the fit (their content hashes
    /// in run.json differ); by default `resume`, `evaluate` and `bake` refuse.
    public var acceptChangedInputs = false

    public init(directory: String) { self.directory = directory }

    /// Where the fit's inputs came from (`run.json`), absolute paths; `texture` is empty when the
    /// mesh's material named it.
    public struct Inputs: Codable, Sendable, Equatable {
        public var mesh: String
        public var texture: String
        /// The photographs' transforms.json when the field was fitted to photographs (then
        /// `texture` is empty), and how frames without a split were split.
        public var photos: String?
        public var testEvery: Int?
        /// Content hashes (`ContentHash`) of the files at fit time: "mesh", "texture", "photos"
        /// (the transforms.json). Absent in runs written before texfield 0.4.
        public var hashes: [String: String]?
        public init(mesh: String, texture: String, photos: String? = nil, testEvery: Int? = nil) {
            self.mesh = mesh; self.texture = texture; self.photos = photos; self.testEvery = testEvery
        }

        /// The files this run read, by role.
        var files: [(String, String)] {
            var f = [("mesh", mesh)]
            if !texture.isEmpty { f.append(("texture", texture)) }
            if let p = photos { f.append(("photos", p)) }
            return f
        }

        /// With the content hashes of the files as they are now.
        func hashed() throws -> Inputs {
            var c = self
            c.hashes = Dictionary(uniqueKeysWithValues: try files.map { ($0.0, try ContentHash.file($0.1)) })
            return c
        }
    }

    /// The inputs whose content changed since the fit (role and path); empty when all match or
    /// the run recorded no hashes.
    public func changedInputs() throws -> [String] {
        let i = try inputs()
        guard let recorded = i.hashes else { return [] }
        var changed = [String]()
        for (role, path) in i.files {
            guard let h = recorded[role] else { continue }
            let now: String
            do { now = try ContentHash.file(path) } catch { throw FieldError.notARun(path: runFile, reason: "its \(role) \(path) cannot be read: \(error)") }
            if now != h { changed.append("\(role) \(path)") }
        }
        return changed
    }

    /// Throws `FieldError.inputsChanged` when an input changed since the fit, unless
    /// `acceptChangedInputs`.
    func requireUnchangedInputs() throws {
        let changed = try changedInputs()
        if !changed.isEmpty && !acceptChangedInputs { throw FieldError.inputsChanged(run: directory, files: changed) }
    }

    /// Where a fit's colours come from.
    enum Source {
        /// A texture (nil: the mesh's material texture) rendered from the protocol's or given cameras.
        case texture(path: String?, cameras: ProtocolViews?)
        /// Photographs with their cameras (a transforms.json).
        case photos(path: String, testEvery: Int)
    }

    /// What a fit does besides training.
    public struct Options: Sendable {
        /// Training times (s) at which the best model so far is scored on the test views.
        public var snapshots: [Double] = []
        /// Steps at which the same is done (deterministic, unlike times, on a loaded machine).
        public var snapshotSteps: [Int] = []
        /// Snapshots also bake the texture and score it against the input (texture-space PSNR).
        public var snapshotTexture = false
        /// Keep checkpoint.safetensors after a finished run (an experiment drops it to save space).
        public var keepCheckpoint = true
        /// Write model, texture, views and report (false: only compute the metrics).
        public var writeOutputs = true
        /// Seconds between checkpoints while training.
        public var checkpointInterval: Double = 60
        public init() {}
    }

    /// What a fit reports while it runs (library code never prints).
    public enum Event: Sendable {
        /// A line for the user: what is being fitted, how many rays, the budget.
        case message(String)
        case warning(String)
        /// Preparation (eigenfunctions) at this fraction.
        case preparing(Double)
        case prepared
        case resumed(step: Int, seconds: Double)
        case training(TrainingProgress)
        case snapshot(Snapshot)
        case trained
    }

    /// How a fit ended.
    public enum Outcome: Sendable {
        case finished(FitMetrics)
        /// Stopped by `shouldStop`; the checkpoint to resume from is written.
        case interrupted(step: Int, checkpoint: String)
    }

    public var runFile: String { directory + "/run.json" }
    public var checkpointFile: String { directory + "/checkpoint.safetensors" }
    public var modelFile: String { directory + "/model.safetensors" }
    public var metricsFile: String { directory + "/metrics.json" }
    public var reportFile: String { directory + "/report.html" }
    public var textureFile: String { directory + "/texture.png" }
    public var evaluationFile: String { directory + "/eval.json" }
    public var camerasFile: String { directory + "/cameras.json" }
    public var transformsFile: String { directory + "/transforms.json" }

    // MARK: inputs

    /// Reads an OBJ (errors name the file and line).
    public static func loadMesh(_ path: String) throws -> Mesh { try Mesh.read(path: path) }

    /// The texture given, or the OBJ's material texture, as RGB; checks that the mesh has UVs.
    public static func loadTexture(_ path: String?, for mesh: Mesh, meshPath: String) throws -> Image {
        guard mesh.hasTexcoords else { throw FieldError.noTexcoords(meshPath) }
        guard let p = path ?? mesh.diffuseTexturePath else { throw FieldError.noTexture(mesh: meshPath) }
        return try Image.readPNG(path: p).rgb()
    }

    /// The inputs recorded in `run.json`.
    public func inputs() throws -> Inputs {
        guard FileManager.default.fileExists(atPath: runFile) else {
            throw FieldError.notARun(path: directory, reason: "no run.json; is this the folder of a texfield fit?")
        }
        let data: Data
        do { data = try InputFile.read(runFile, limit: 16 << 20) } catch let e as FileReadError {
            throw FieldError.notARun(path: runFile, reason: "cannot read: \(e.reason)")
        }
        do { return try TexfieldJSON.decoder().decode(Inputs.self, from: data) } catch {
            throw FieldError.notARun(path: runFile, reason: "corrupted (not the run.json texfield writes): \(describeDecodingError(error))")
        }
    }

    /// The configuration of the kept model (`model.safetensors`).
    public func modelConfiguration() throws -> FieldConfiguration {
        guard FileManager.default.fileExists(atPath: modelFile) else {
            throw FieldError.notARun(path: directory, reason: "no model.safetensors (the fit did not finish)")
        }
        return try FieldCheckpoint.modelConfiguration(at: modelFile)
    }

    /// The configuration of the checkpoint (`checkpoint.safetensors`).
    public func checkpointConfiguration() throws -> FieldConfiguration {
        guard FileManager.default.fileExists(atPath: checkpointFile) else {
            throw FieldError.notARun(path: directory, reason: "no checkpoint.safetensors to resume from")
        }
        return try FieldCheckpoint.configuration(at: checkpointFile)
    }

    // MARK: fit

    /// Fits a field to `mesh` (OBJ) and `texture` (PNG; nil: the OBJ's material texture) into this
    /// folder, created when missing: eigenfunctions, views, training until the budget is spent or
    /// `shouldStop` returns true (checked between steps), then evaluation, baking and the report.
    /// `cameras`: the training, validation and test cameras to use (e.g. `CameraFile.read`), so
    /// that another tool and texfield are scored on identical views; nil: the protocol's cameras
    /// drawn from the configuration's seed, image size and view counts.
    public func fit(mesh meshPath: String, texture texturePath: String?, configuration: FieldConfiguration,
                    cameras: ProtocolViews? = nil, options: Options = Options(), events: (@Sendable (Event) -> Void)? = nil,
                    shouldStop: @escaping () -> Bool = { false }) throws -> Outcome {
        var c = configuration
        c.givenCameras = cameras == nil ? nil : true
        c.learningRate = c.effectiveLearningRate // fixed at the start: a resume with a new budget keeps it
        return try run(meshPath: meshPath, source: .texture(path: texturePath, cameras: cameras), configuration: c, resume: false,
                       options: options, events: events, shouldStop: shouldStop)
    }

    /// Fits a field to photographs of `mesh`: `photos` is a nerfstudio / instant-ngp
    /// transforms.json whose frames name PNG images (RGBA: alpha marks the object; RGB: the mesh's
    /// silhouette does) and carry a `split` (else frame i is a test view when i % testEvery == 0, a
    /// validation view when i % testEvery == 1). The product is the baked texture
    /// (`configuration.atlasSize`²); test PSNR is measured against the test photos.
    public func fit(mesh meshPath: String, photos: String, testEvery: Int = 8, configuration: FieldConfiguration,
                    options: Options = Options(), events: (@Sendable (Event) -> Void)? = nil,
                    shouldStop: @escaping () -> Bool = { false }) throws -> Outcome {
        var c = configuration
        c.givenCameras = true
        c.learningRate = c.effectiveLearningRate
        return try run(meshPath: meshPath, source: .photos(path: photos, testEvery: testEvery), configuration: c, resume: false,
                       options: options, events: events, shouldStop: shouldStop)
    }

    /// The source recorded in run.json for a configuration of this folder.
    func source(_ inputs: Inputs, _ c: FieldConfiguration) throws -> Source {
        if let p = inputs.photos { return .photos(path: p, testEvery: inputs.testEvery ?? 8) }
        return .texture(path: inputs.texture.isEmpty ? nil : inputs.texture, cameras: try givenCameras(c))
    }

    /// The cameras a configuration of this folder uses: the folder's cameras.json when they were
    /// given, nil (drawn from the seed) otherwise.
    func givenCameras(_ c: FieldConfiguration) throws -> ProtocolViews? {
        guard c.givenCameras == true else { return nil }
        do { return try CameraFile.read(path: camerasFile) } catch {
            throw FieldError.notARun(path: directory, reason: "the fit used given cameras, but cameras.json cannot be read: \(error)")
        }
    }

    /// Continues the fit in this folder from its checkpoint, with the same configuration and
    /// optionally new budgets; bit for bit what an uninterrupted run would have done.
    public func resume(seconds: Double? = nil, steps: Int? = nil, options: Options = Options(),
                       events: (@Sendable (Event) -> Void)? = nil, shouldStop: @escaping () -> Bool = { false }) throws -> Outcome {
        let inputs = try inputs()
        let changed = try changedInputs()
        if !changed.isEmpty {
            if !acceptChangedInputs { throw FieldError.inputsChanged(run: directory, files: changed) }
            events?(.warning("\(changed.joined(separator: ", ")) changed since the fit; resuming anyway (asked to)"))
        }
        var c = try checkpointConfiguration()
        c.learningRate = c.effectiveLearningRate // the rate of the original budget, whatever the new one
        if let s = seconds { c.seconds = s }
        if let s = steps { c.steps = s }
        return try run(meshPath: inputs.mesh, source: try source(inputs, c), configuration: c, resume: true, options: options,
                       events: events, shouldStop: shouldStop)
    }

    private func run(meshPath: String, source: Source, configuration: FieldConfiguration, resume: Bool, options: Options,
                     events: (@Sendable (Event) -> Void)?, shouldStop: @escaping () -> Bool) throws -> Outcome {
        try configuration.check()
        let emit: (Event) -> Void = { e in events?(e) }
        let mesh = try Self.loadMesh(meshPath)
        let abs = { (p: String) in p.isEmpty ? "" : URL(fileURLWithPath: p).standardizedFileURL.path }
        let scene: FieldScene, texPath: String, inputs: Inputs
        do {
            let progress: @Sendable (String, Double) -> Void = { _, f in events?(.preparing(f)) }
            switch source {
            case .texture(let texturePath, let cameras):
                let texture = try Self.loadTexture(texturePath, for: mesh, meshPath: meshPath)
                texPath = texturePath ?? mesh.diffuseTexturePath ?? ""
                inputs = try Inputs(mesh: abs(meshPath), texture: abs(texPath)).hashed()
                emit(.message(fitMessage(meshPath, mesh, configuration)))
                scene = try FieldScene(mesh: mesh, texture: texture, configuration: configuration, meshName: meshPath,
                                       cameras: cameras, progress: progress)
            case .photos(let path, let testEvery):
                let photos = try PhotoSet.read(path: path, testEvery: testEvery)
                texPath = ""
                inputs = try Inputs(mesh: abs(meshPath), texture: "", photos: abs(path), testEvery: testEvery).hashed()
                emit(.message(fitMessage(meshPath, mesh, configuration) + "; \(photos.photos.count) photographs from \(path)"))
                let surface = try FieldSurface(mesh: mesh, texture: nil, configuration: configuration, meshName: meshPath, progress: progress)
                scene = try FieldScene(surface: surface, photos: photos, meshName: meshPath)
            }
        } catch let e as SpectralError { throw FieldError.invalid("\(meshPath): \(e)") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if !resume {
            // A new fit into a used folder: the previous fit's results go first, so that a failure
            // part-way never leaves them beside this fit's run.json and checkpoint.
            for f in [metricsFile, modelFile, reportFile, textureFile, evaluationFile, directory + "/curve.png"] {
                try? FileManager.default.removeItem(atPath: f)
            }
        }
        try AtomicFile.write(try TexfieldJSON.encoder().encode(inputs), to: runFile)
        emit(.prepared)
        try AtomicFile.write(try CameraFile.encodeOpenCV(scene.views), to: camerasFile)
        try AtomicFile.write(try CameraFile.encodeTransforms(scene.views), to: transformsFile)
        for w in scene.warnings { emit(.warning(w)) }
        var timings = scene.timings
        let model = FieldModel(configuration: configuration, surface: scene.surface)
        let trainRays = scene.rays(scene.train), valRays = scene.rays(scene.validation)
        let trainer = Trainer(model: model, train: trainRays, validation: valRays)
        if let tex = scene.texture {
            trainer.textureSample = Baker.texelSample(scene.mesh, texture: tex, count: 131_072, seed: configuration.seed, surface: scene.fieldSurface)
        }
        if resume {
            try FieldCheckpoint.load(trainer, from: checkpointFile)
            emit(.resumed(step: trainer.state.step, seconds: trainer.state.seconds))
        } else {
            // A checkpoint exists from step 0 on: an interrupt (or a divergence) at any moment
            // of training leaves a run that resumes.
            try FieldCheckpoint.save(trainer, to: checkpointFile)
        }
        emit(.message("\(trainRays.count) training rays from \(scene.train.count) views, \(model.parameterCount) parameters; "
                      + "budget \(String(format: "%.0f", configuration.seconds)) s or \(configuration.steps) steps"))
        let t0 = Date()
        let (end, taken, lastCheckpointStep) = train(trainer, scene: scene, options: options, emit: emit, shouldStop: shouldStop)
        emit(.trained)
        timings["training"] = (timings["training"] ?? 0) + Date().timeIntervalSince(t0)
        if case .diverged(let step, let loss) = end {
            // The weights are lost; the checkpoint on disk is the last good state. Keep the best
            // model validated so far, if any.
            if trainer.state.bestStep > 0 && options.writeOutputs {
                try FieldCheckpoint.saveModel(model, parameters: trainer.best, to: modelFile)
            }
            throw FieldError.diverged(directory: directory, step: step, loss: loss, learningRate: configuration.effectiveLearningRate,
                                      checkpointStep: lastCheckpointStep, bestStep: trainer.state.bestStep)
        }
        try FieldCheckpoint.save(trainer, to: checkpointFile)
        if end == .interrupted { return .interrupted(step: trainer.state.step, checkpoint: checkpointFile) }
        return .finished(try finish(model: model, trainer: trainer, scene: scene, meshPath: meshPath, texturePath: texPath,
                                    timings: timings, snapshots: taken, options: options))
    }

    private func fitMessage(_ path: String, _ mesh: Mesh, _ c: FieldConfiguration) -> String {
        "texfield fit: \(path) (\(mesh.vertexCount) vertices, \(mesh.triangleCount) triangles), \(c.encoding.rawValue)"
            + (c.encoding.usesEigenfunctions ? ", k = \(c.eigenfunctions)" : "")
            + (c.bands.map { " (bands \($0.map(\.description).joined(separator: ",")): \(c.inputs) inputs)" } ?? "")
    }

    /// The training loop with checkpoints every `checkpointInterval` seconds and test snapshots of
    /// the best model so far; returns whether the budget was spent, and the snapshots.
    private func train(_ trainer: Trainer, scene: FieldScene, options: Options, emit: @escaping (Event) -> Void,
                       shouldStop: () -> Bool) -> (TrainingEnd, [Snapshot], lastCheckpointStep: Int) {
        var savedStep = trainer.state.step
        let model = trainer.model
        var lastSave = Date()
        var pending = options.snapshots.sorted().filter { $0 > trainer.state.seconds }
        var pendingSteps = options.snapshotSteps.sorted().filter { $0 > trainer.state.step }
        var taken = [Snapshot]()
        let end = trainer.run(shouldStop: shouldStop) { p in
            var due = false
            while let next = pending.first, p.seconds >= next { pending.removeFirst(); due = true }
            while let next = pendingSteps.first, p.step >= next { pendingSteps.removeFirst(); due = true }
            if due {
                let current = model.parameterSnapshot
                // the kept model at this moment: the best validated so far
                model.restore(trainer.best)
                if let (r, _) = try? Evaluation.evaluate(model, scene: scene) {
                    var tex: Double? = nil
                    if options.snapshotTexture {
                        let (w, h) = atlasSize(scene.texture, model.configuration)
                        let b = Baker.bake(model, mesh: scene.mesh, width: w, height: h, reference: scene.texture, surface: scene.fieldSurface)
                        tex = b.psnr.isFinite ? b.psnr : nil
                    }
                    let last = trainer.state.history.last
                    let s = Snapshot(seconds: p.seconds, step: p.step, bestStep: trainer.state.bestStep,
                                     meanPSNR: r.meanPSNR, meanDSSIM100: r.meanDSSIM100, texturePSNR: tex,
                                     trainPSNR: last?.trainPSNR, validationPSNR: last?.validationPSNR)
                    taken.append(s)
                    emit(.snapshot(s))
                }
                model.restore(current)
            }
            emit(.training(p))
            if Date().timeIntervalSince(lastSave) > options.checkpointInterval {
                if (try? FieldCheckpoint.save(trainer, to: checkpointFile)) != nil { savedStep = trainer.state.step }
                lastSave = Date()
            }
        }
        return (end, taken, savedStep)
    }

    /// The kept model scored on the test views, baked, and (unless `writeOutputs` is off) written
    /// with the report.
    private func finish(model: FieldModel, trainer: Trainer, scene: FieldScene, meshPath: String, texturePath texPath: String,
                        timings: [String: Double], snapshots taken: [Snapshot], options: Options) throws -> FitMetrics {
        var timings = timings
        let mesh = scene.mesh, configuration = model.configuration
        let (atlasWidth, atlasHeight) = atlasSize(scene.texture, configuration)
        model.restore(trainer.best)
        var t = Date()
        let (result, predictions) = try Evaluation.evaluate(model, scene: scene)
        timings["evaluation"] = Date().timeIntervalSince(t)
        t = Date()
        let baked = try Self.checkFinite(Baker.bake(model, mesh: mesh, width: atlasWidth, height: atlasHeight, reference: scene.texture, surface: scene.fieldSurface),
                                         model: directory)
        timings["bake"] = Date().timeIntervalSince(t)
        var metrics = FitMetrics(
            mesh: meshPath, texture: texPath, vertices: mesh.vertexCount, triangles: mesh.triangleCount, configuration: configuration,
            parameters: model.parameterCount, steps: trainer.state.step, trainingSeconds: trainer.state.seconds,
            bestStep: trainer.state.bestStep, samplesPerSecond: Double(trainer.state.step * configuration.batch) / max(trainer.state.seconds, 1e-9),
            trainingRays: trainer.trainRays.count, timings: timings, test: result, texturePSNR: baked.psnr.isFinite ? baked.psnr : nil,
            history: trainer.state.history, texfieldVersion: texfieldVersion)
        metrics.snapshots = taken
        guard options.writeOutputs else { return metrics }
        t = Date()
        try baked.image.writePNG(path: textureFile)
        try FieldCheckpoint.saveModel(model, parameters: trainer.best, to: modelFile)
        metrics.timings["outputs"] = Date().timeIntervalSince(t)
        try FitReport.write(to: directory, metrics: metrics, scene: scene, predictions: predictions, textureImage: baked.image)
        if !options.keepCheckpoint { try? FileManager.default.removeItem(atPath: checkpointFile) }
        return metrics
    }


    /// The baked atlas's size: the texture's, or `atlasSize`² for a fit to photographs.
    func atlasSize(_ texture: Image?, _ c: FieldConfiguration) -> (Int, Int) {
        texture.map { ($0.width, $0.height) } ?? (c.atlasSize ?? 1024, c.atlasSize ?? 1024)
    }

    // MARK: the kept model

    /// The finished fit's mesh and texture, configuration and surface data (no views rendered).
    public func surface(configuration: FieldConfiguration? = nil) throws -> (FieldSurface, FieldConfiguration, Inputs) {
        let inputs = try inputs()
        try requireUnchangedInputs()
        let c = try configuration ?? modelConfiguration()
        let mesh = try Self.loadMesh(inputs.mesh)
        let texture = inputs.photos != nil ? nil
            : try Self.loadTexture(inputs.texture.isEmpty ? nil : inputs.texture, for: mesh, meshPath: inputs.mesh)
        return (try FieldSurface(mesh: mesh, texture: texture, configuration: c, meshName: inputs.mesh), c, inputs)
    }

    /// The kept model (`model.safetensors`) on `surface`.
    public func model(on surface: FieldSurface, configuration: FieldConfiguration) throws -> FieldModel {
        let m = FieldModel(configuration: configuration, surface: surface.data)
        try FieldCheckpoint.loadModel(m, from: modelFile)
        return m
    }

    /// Scores the kept model on the test views again (`testViews`: another count than fitted)
    /// and writes `eval.json`.
    public func evaluate(testViews: Int? = nil) throws -> EvaluationResult {
        _ = try inputs()
        var c = try modelConfiguration()
        let cameras = try givenCameras(c)
        if let t = testViews {
            guard cameras == nil else {
                throw FieldError.invalid("\(directory): the fit used given cameras (cameras.json); its test views cannot be redrawn")
            }
            c.testViews = t
        }
        let (surface, config, inputs) = try self.surface(configuration: c)
        let scene: FieldScene
        if let p = inputs.photos {
            scene = try FieldScene(surface: surface, photos: try PhotoSet.read(path: p, testEvery: inputs.testEvery ?? 8), meshName: inputs.mesh)
        } else {
            scene = try FieldScene(surface: surface, configuration: config, meshName: inputs.mesh, cameras: cameras)
        }
        let model = try model(on: surface, configuration: config)
        let (r, _) = try Evaluation.evaluate(model, scene: scene)
        try AtomicFile.write(try TexfieldJSON.encoder().encode(r), to: evaluationFile)
        return r
    }

    /// The kept model baked into the mesh's UV atlas at `width` × `height` (default: the input
    /// texture's size, and then also scored against it). Nothing is written.
    public func bake(width: Int? = nil, height: Int? = nil) throws -> BakedTexture {
        if let w = width, let h = height, !(2...16384).contains(w) || !(2...16384).contains(h) {
            throw FieldError.invalid("bake: a \(w) × \(h) atlas is outside 2...16384 on a side")
        }
        let (surface, config, _) = try self.surface()
        let (aw, ah) = atlasSize(surface.texture, config)
        let w = width ?? aw, h = height ?? ah
        guard (2...16384).contains(w), (2...16384).contains(h) else {
            throw FieldError.invalid("bake: a \(w) × \(h) atlas is outside 2...16384 on a side")
        }
        let model = try model(on: surface, configuration: config)
        let same = w == surface.texture?.width && h == surface.texture?.height
        return try Self.checkFinite(Baker.bake(model, mesh: surface.mesh, width: w, height: h, reference: same ? surface.texture : nil, surface: surface),
                                    model: modelFile)
    }

    /// Refuses a baked atlas with non-finite colours (instead of writing them as black).
    static func checkFinite(_ b: BakedTexture, model: String) throws -> BakedTexture {
        if let i = b.image.pixels.firstIndex(where: { !$0.isFinite }) {
            let c = b.image.channels
            throw FieldError.nonFinite("\(model): the model gives a non-finite colour (\(b.image.pixels[i])) at texel (\(i / c % b.image.width), \(i / c / b.image.width)); its weights are corrupted or diverged")
        }
        return b
    }
}
