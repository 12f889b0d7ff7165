import Support
import ArgumentParser
import Foundation
import Geometry
import Imaging
import Neural
import Render
import Spectral
import TextureField

#if canImport(Glibc)
import Glibc
#endif

let texfieldVersion = "0.3.0"

/// Set by SIGINT; the training loop stops at the next step and saves a checkpoint.
nonisolated(unsafe) var stopRequested: Int32 = 0

func installInterruptHandler() {
    signal(SIGINT) { _ in
        stopRequested = 1
        signal(SIGINT, SIG_DFL)  // a second Ctrl-C ends the process at once
    }
}

/// Where a fit's inputs came from (DIR/run.json), so that eval, bake and --resume find them.
struct RunInputs: Codable {
    var mesh: String
    var texture: String
}

/// Options shared by fit, demo and the encoding experiment.
struct FitOptions: ParsableArguments {
    @Option(name: .short, help: "Eigenfunctions (the constant one is dropped besides).") var k = 1023
    @Option(help: "Encoding: \(Encoding.allCases.map(\.rawValue).joined(separator: ", ")).") var encoding: Encoding = .eigen
    @Option(help: "Adam's (base) learning rate (the published one is 1e-4, constant).") var lr = 4e-3
    @Option(help: "Learning-rate schedule over the budget: cosine (to 1% at the end) or constant.") var schedule: LearningRateSchedule = .cosine
    @Option(help: "Training time budget in seconds (validation excluded; default 600).") var seconds: Double?
    @Option(help: "Step budget (default: none besides the time).") var steps: Int?
    @Option(help: "Rays per batch.") var batch = 4096
    @Option(help: "Seed of views, initialisation and shuffling.") var seed: UInt64 = 0
    @Option(help: "Side of the rendered views in pixels.") var size = 512
    @Option(help: "Training views.") var trainViews = 5
    @Option(help: "Test views.") var testViews = 20
    @Option(help: "Validate (and keep the best model) every this many steps.") var validateEvery = 500
    @Option(help: "Hidden units of SignNet's φ.") var signnetHidden = 8
    @Option(help: "Texture coordinates outside [0, 1]: wrap (tile), clamp or error (default: clamp within 0.1 of [0, 1] with a warning, else error).")
    var uvBorder: UVBorder?

    func validate() throws {
        guard k >= 1 else { throw ValidationError("-k must be at least 1") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard (seconds ?? 1) > 0, (steps ?? 1) > 0, batch > 0 else { throw ValidationError("--seconds, --steps and --batch must be positive") }
        guard (8...4096).contains(size) else { throw ValidationError("--size must be in 8...4096") }
        guard trainViews >= 1, testViews >= 1, validateEvery >= 1 else { throw ValidationError("view counts and --validate-every must be positive") }
        guard (1...64).contains(signnetHidden) else { throw ValidationError("--signnet-hidden must be in 1...64") }
    }

    var configuration: FieldConfiguration {
        var c = FieldConfiguration()
        c.encoding = encoding; c.eigenfunctions = k; c.learningRate = lr; c.schedule = schedule; c.seconds = seconds ?? 600; c.steps = steps ?? 1_000_000
        c.batch = batch; c.seed = seed; c.imageSize = size; c.trainViews = trainViews; c.testViews = testViews
        c.validateEvery = validateEvery; c.signnetHidden = signnetHidden; c.uvBorder = uvBorder
        return c
    }
}

extension Encoding: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension UVBorder: ExpressibleByArgument {}

/// The whole pipeline for one configuration; used by fit, demo and the experiment.
struct FitPipeline {
    var meshPath: String
    var texturePath: String?
    var out: String
    var configuration: FieldConfiguration
    var quiet: Bool
    var resume = false
    var writeOutputs = true
    /// Training times (s) at which the best model so far is scored on the test views.
    var snapshots: [Double] = []
    /// Keep checkpoint.safetensors after a finished run (the experiment drops it to save space).
    var keepCheckpoint = true

    /// Runs; returns the metrics, or nil when interrupted (a checkpoint is then in `out`).
    func run() throws -> FitMetrics? {
        let mesh = try loadMesh(meshPath)
        let texture = try loadTexture(texturePath, for: mesh, meshPath: meshPath)
        let texPath = texturePath ?? mesh.diffuseTexturePath ?? ""
        try makeOutputFolder(out)
        let fm = FileManager.default
        let abs = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
        try AtomicFile.write(try JSONEncoder().encode(RunInputs(mesh: abs(meshPath), texture: abs(texPath))), to: out + "/run.json")
        let say = { (s: String) in if !quiet { Terminal.error(s) } }
        let bar = Terminal.ProgressBar(label: "prepare", enabled: !quiet)
        say("texfield fit: \(meshPath) (\(mesh.vertexCount) vertices, \(mesh.triangleCount) triangles), \(configuration.encoding.rawValue)"
            + (configuration.encoding.usesEigenfunctions ? ", k = \(configuration.eigenfunctions)" : ""))
        let scene: FieldScene
        do {
            scene = try FieldScene(mesh: mesh, texture: texture, configuration: configuration, meshName: meshPath,
                                   progress: { _, f in bar.update(f) })
        } catch let e as FieldError { throw CommandError("\(e)") } catch let e as SpectralError { throw CommandError("\(meshPath): \(e)") }
        bar.finish()
        for w in scene.warnings { Terminal.error("warning: " + w) }
        var timings = scene.timings
        let model = FieldModel(configuration: configuration, surface: scene.surface)
        let trainRays = scene.rays(scene.train), valRays = scene.rays(scene.validation)
        let trainer = Trainer(model: model, train: trainRays, validation: valRays)
        let ckpt = out + "/checkpoint.safetensors"
        if resume {
            guard fm.fileExists(atPath: ckpt) else { throw CommandError("\(out): no checkpoint.safetensors to resume from") }
            do { try FieldCheckpoint.load(trainer, from: ckpt) } catch { throw CommandError("\(error)") }
            say("resuming at step \(trainer.state.step) (\(String(format: "%.0f", trainer.state.seconds)) s trained)")
        }
        say("\(trainRays.count) training rays from \(configuration.trainViews) views, \(model.parameterCount) parameters; "
            + "budget \(String(format: "%.0f", configuration.seconds)) s or \(configuration.steps) steps")
        installInterruptHandler()
        let tbar = Terminal.ProgressBar(label: "train", enabled: !quiet)
        var lastSave = Date()
        let t0 = Date()
        var pending = snapshots.sorted().filter { $0 > trainer.state.seconds }
        var taken = [Snapshot]()
        let completed = trainer.run(shouldStop: { stopRequested != 0 }) { p in
            if let next = pending.first, p.seconds >= next {
                pending.removeFirst()
                let current = model.parameterSnapshot
                // the kept model at this moment: the best validated so far
                model.restore(trainer.best)
                if let (r, _) = try? Evaluation.evaluate(model, scene: scene) {
                    taken.append(Snapshot(seconds: p.seconds, step: p.step, bestStep: trainer.state.bestStep,
                                          meanPSNR: r.meanPSNR, meanDSSIM100: r.meanDSSIM100))
                    say(String(format: "\nsnapshot at %.0f s (step %d, model from step %d): test PSNR %.2f dB, DSSIM×100 %.3f",
                               p.seconds, p.step, trainer.state.bestStep, r.meanPSNR, r.meanDSSIM100))
                }
                model.restore(current)
            }
            let detail = String(format: "step %d  loss %.4f  PSNR %.2f%@  %.0f rays/s", p.step, p.loss, p.trainPSNR,
                                p.bestValidationPSNR.map { String(format: "  val %.2f", $0) } ?? "", p.samplesPerSecond)
            tbar.update(p.fraction, detail: detail)
            if Date().timeIntervalSince(lastSave) > 60 {
                try? FieldCheckpoint.save(trainer, to: ckpt)
                lastSave = Date()
            }
        }
        tbar.finish()
        timings["training"] = (timings["training"] ?? 0) + Date().timeIntervalSince(t0)
        do { try FieldCheckpoint.save(trainer, to: ckpt) } catch { throw CommandError("\(error)") }
        if !completed {
            say("interrupted at step \(trainer.state.step); checkpoint in \(ckpt)\ncontinue with: texfield fit --resume \(out)")
            return nil
        }
        model.restore(trainer.best)
        var t = Date()
        let (result, predictions) = try Evaluation.evaluate(model, scene: scene)
        timings["evaluation"] = Date().timeIntervalSince(t)
        t = Date()
        let baked = Baker.bake(model, mesh: mesh, width: texture.width, height: texture.height, reference: texture)
        timings["bake"] = Date().timeIntervalSince(t)
        var metrics = FitMetrics(
            mesh: meshPath, texture: texPath, vertices: mesh.vertexCount, triangles: mesh.triangleCount, configuration: configuration,
            parameters: model.parameterCount, steps: trainer.state.step, trainingSeconds: trainer.state.seconds,
            bestStep: trainer.state.bestStep, samplesPerSecond: Double(trainer.state.step * configuration.batch) / max(trainer.state.seconds, 1e-9),
            trainingRays: trainRays.count, timings: timings, test: result, texturePSNR: baked.psnr.isFinite ? baked.psnr : nil,
            history: trainer.state.history, texfieldVersion: texfieldVersion)
        metrics.snapshots = taken
        if writeOutputs {
            t = Date()
            try baked.image.writePNG(path: out + "/texture.png")
            do { try FieldCheckpoint.saveModel(model, parameters: trainer.best, to: out + "/model.safetensors") } catch { throw CommandError("\(error)") }
            var m = metrics
            m.timings["outputs"] = Date().timeIntervalSince(t)
            try FitReport.write(to: out, metrics: m, scene: scene, predictions: predictions, textureImage: baked.image)
            if !keepCheckpoint { try? fm.removeItem(atPath: ckpt) }
            return m
        }
        return metrics
    }
}

func printSummary(_ m: FitMetrics, out: String) {
    print(String(format: "test PSNR %.2f dB, DSSIM×100 %.3f, SSIM (Gaussian) %.4f over %d views", m.test.meanPSNR, m.test.meanDSSIM100,
                 m.test.meanSSIMGaussian, m.test.views.count))
    if let t = m.texturePSNR { print(String(format: "texture-space PSNR %.2f dB", t)) }
    print(String(format: "%d steps in %.1f s (%.0f rays/s), %d parameters, model from step %d", m.steps, m.trainingSeconds,
                 m.samplesPerSecond, m.parameters, m.bestStep))
    print("report: \(out)/report.html")
}

/// `texfield fit MESH [TEXTURE]`: the intrinsic neural field of a textured mesh, end to end.
struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit an intrinsic neural field to a textured mesh and score it on held-out views.",
        discussion: """
        Computes the Laplace–Beltrami eigenfunctions, renders training, validation and test views,
        trains the field (Adam, L1) for the time or step budget, keeps the model with the best
        validation loss, and writes DIR/metrics.json, DIR/views/, DIR/texture.png,
        DIR/model.safetensors, DIR/curve.png and DIR/report.html. Ctrl-C saves a checkpoint;
        `texfield fit --resume DIR` continues it exactly.
        """)
    @Argument(help: "Mesh (OBJ) with texture coordinates.") var mesh: String?
    @Argument(help: "Texture (PNG); the OBJ's material texture when omitted.") var texture: String?
    @Option(name: .shortAndLong, help: "Output folder (default out/<mesh name>).") var out: String?
    @OptionGroup var options: FitOptions
    @Option(help: "Also score the best model so far on the test views at these training times (s), e.g. 120,300.")
    var snapshots: String?
    @Option(help: "Continue the interrupted fit in this folder (its configuration; --seconds and --steps may be raised).") var resume: String?
    @Flag(help: "No progress output.") var quiet = false

    func run() throws {
        if let dir = resume {
            guard let data = FileManager.default.contents(atPath: dir + "/run.json"),
                  let inputs = try? JSONDecoder().decode(RunInputs.self, from: data) else {
                throw CommandError("\(dir): no run.json; is this the folder of a texfield fit?")
            }
            var c: FieldConfiguration
            do { c = try FieldCheckpoint.configuration(at: dir + "/checkpoint.safetensors") } catch { throw CommandError("\(error)") }
            if let s = options.seconds { c.seconds = s }
            if let s = options.steps { c.steps = s }
            let p = FitPipeline(meshPath: inputs.mesh, texturePath: inputs.texture.isEmpty ? nil : inputs.texture, out: dir,
                                configuration: c, quiet: quiet, resume: true)
            guard let m = try p.run() else { throw ExitCode(130) }
            printSummary(m, out: dir)
            return
        }
        guard let mesh else { throw ValidationError("give a mesh (or --resume DIR)") }
        let dir = out ?? "out/" + ((mesh as NSString).lastPathComponent as NSString).deletingPathExtension
        var p = FitPipeline(meshPath: mesh, texturePath: texture, out: dir, configuration: options.configuration, quiet: quiet)
        p.snapshots = try (snapshots ?? "").split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("--snapshots: '\($0)' is not a positive number of seconds") }
            return v
        }
        guard let m = try p.run() else { throw ExitCode(130) }
        printSummary(m, out: dir)
    }
}

/// `texfield demo`: the whole pipeline on the embedded demo mesh with a small budget.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fit the demo mesh (meshes/torus.obj and its texture) in about two minutes and write a report.")
    @Option(name: .shortAndLong, help: "Output folder.") var out = "out/demo"
    @Option(help: "Training seconds.") var seconds: Double = 60
    @Option(help: "Folder of the demo meshes (written there first when missing).") var meshes = "meshes"
    @Flag(help: "No progress output.") var quiet = false

    func run() throws {
        let path = meshes + "/torus.obj"
        if !FileManager.default.fileExists(atPath: path) {
            try makeOutputFolder(meshes)
            try DemoMeshes.write(to: meshes)
        }
        var c = FieldConfiguration()
        c.seconds = seconds
        c.eigenfunctions = 1023
        let p = FitPipeline(meshPath: path, texturePath: nil, out: out, configuration: c, quiet: quiet)
        guard let m = try p.run() else { throw ExitCode(130) }
        printSummary(m, out: out)
    }
}
