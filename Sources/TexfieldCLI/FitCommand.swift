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

/// Set by SIGINT (Ctrl-C) or SIGTERM (Slurm's `scancel`, a job's time limit); the training loop
/// stops at the next step and saves a checkpoint.
nonisolated(unsafe) var stopRequested: Int32 = 0

func installInterruptHandler() {
    // A parent may have blocked the signals (some process launchers do): unblock them, or they
    // would stay pending until the run ends.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for sig in [SIGINT, SIGTERM] {
        signal(sig) { s in
            stopRequested = 1
            signal(s, SIG_DFL)  // a second signal ends the process at once
        }
    }
}

/// Options shared by fit, demo and the encoding experiment.
struct FitOptions: ParsableArguments {
    @Option(name: .short, help: "Eigenfunctions (the constant one is dropped besides).") var k = 1023
    @Option(help: "Encoding: \(Encoding.allCases.map(\.rawValue).joined(separator: ", ")).") var encoding: Encoding = .eigen
    @Option(help: "Adam's (base) learning rate (default: 4e-3 for a budget that ends within 10,000 steps or 450 s, 2e-3 for a longer one; the published rate is 1e-4, constant).") var lr: Double?
    @Option(help: "Learning-rate schedule over the budget: cosine (to 1% at the end) or constant.") var schedule = FieldConfiguration().schedule
    @Option(help: "Linear learning-rate warm-up over this many steps (default: none).") var warmup: Int?
    @Option(help: "Training time budget in seconds (validation excluded; default 600).") var seconds: Double?
    @Option(help: "Step budget (default: none besides the time).") var steps: Int?
    @Option(help: "Rays per batch.") var batch = 4096
    @Option(help: "Seed of views, initialisation and shuffling.") var seed: UInt64 = 0
    @Option(help: "Side of the rendered views in pixels.") var size = 512
    @Option(help: "Training views.") var trainViews = 5
    @Option(help: "Test views.") var testViews = 20
    @Option(help: "Validate (and keep the best model) every this many steps.") var validateEvery = 500
    @Option(help: "Hidden units of SignNet's φ.") var signnetHidden = 8
    @Option(help: ArgumentHelp("Eigenfunctions used, as bands of indices (0 = the first non-constant one), e.g. 0-255,1793-2303,3840-4095 (the intrinsic-neural-fields paper's, 1023 of 4096; 'published' for short); -k becomes at least the highest index + 1.", valueName: "bands"))
    var bands: String?
    @Option(help: "Texture coordinates outside [0, 1]: wrap (tile), clamp or error (default: clamp within 0.1 of [0, 1] with a warning, else error).")
    var uvBorder: UVBorder?
    @Option(help: "Laplacian of the eigenfunctions: cotan (the published protocol's), intrinsic-delaunay or robust (any triangle mesh: non-manifold, slivers).")
    var laplacian: LaplacianKind = .cotan
    @Option(help: "Eigenfunctions on a decimated proxy of N vertices (for large meshes); each point reads them at its closest point on the proxy.")
    var proxy: Int?
    @Flag(help: "The network also sees the viewing direction (16 spherical-harmonic features): for photographs whose colours change with the view. The baked texture is the colour seen along the surface normal.")
    var viewDependent = false

    func validate() throws {
        try OptionLimits.check("-k", k, 1...65_536)
        try OptionLimits.check("--lr", lr, OptionLimits.learningRate)
        try OptionLimits.check("--seconds", seconds, 1e-3...1e8)
        try OptionLimits.check("--steps", steps, OptionLimits.steps)
        try OptionLimits.check("--batch", batch, 1...(1 << 20))
        try OptionLimits.check("--train-views", trainViews, OptionLimits.views)
        try OptionLimits.check("--test-views", testViews, OptionLimits.views)
        try OptionLimits.check("--validate-every", validateEvery, OptionLimits.steps)
        try OptionLimits.checkRendered(views: trainViews + testViews + 3, size: size)
        guard (8...4096).contains(size) else { throw ValidationError("--size must be in 8...4096") }
        guard (1...64).contains(signnetHidden) else { throw ValidationError("--signnet-hidden must be in 1...64") }
        if let w = warmup, !(1...10_000_000).contains(w) { throw ValidationError("--warmup must be in 1...10000000") }
        try OptionLimits.check("--proxy", proxy, 100...10_000_000)
        if let b = bands {
            guard let parsed = parsedBands, parsed.allSatisfy({ (0...65_534).contains($0.lower) && $0.lower <= $0.upper && $0.upper <= 65_534 }),
                  zip(parsed, parsed.dropFirst()).allSatisfy({ $0.upper < $1.lower }) else {
                throw ValidationError("--bands \(b): expected ascending, disjoint ranges such as 0-255,1793-2303,3840-4095 (indices 0...65534)")
            }
        }
    }

    /// `--bands` parsed ("published": the paper's three bands).
    var parsedBands: [EigenBand]? { bands.flatMap { $0 == "published" ? EigenBand.published : EigenBand.parse($0) } }

    var configuration: FieldConfiguration {
        var c = FieldConfiguration()
        c.encoding = encoding; c.eigenfunctions = k; c.learningRate = lr; c.schedule = schedule; c.seconds = seconds ?? 600; c.steps = steps ?? 1_000_000
        c.batch = batch; c.seed = seed; c.imageSize = size; c.trainViews = trainViews; c.testViews = testViews
        c.validateEvery = validateEvery; c.signnetHidden = signnetHidden; c.uvBorder = uvBorder; c.warmupSteps = warmup
        if viewDependent { c.viewDependent = true }
        if laplacian != .cotan { c.laplacian = laplacian }
        c.proxyVertices = proxy
        if let b = parsedBands { c.bands = b; c.eigenfunctions = max(k, b.last!.upper + 1) }
        return c
    }
}


/// Runs a fit (or its resumption) with the progress bar and messages on stderr; returns the
/// metrics, or exits with 130 after an interrupt (the checkpoint is then written).
func runWithProgress(_ run: FieldRun, quiet: Bool, _ body: (FieldRun.Options, @escaping @Sendable (FieldRun.Event) -> Void, @escaping () -> Bool) throws -> FieldRun.Outcome,
                     options: FieldRun.Options = FieldRun.Options()) throws -> FitMetrics {
    let prepare = Terminal.ProgressBar(label: "prepare", enabled: !quiet)
    let train = Terminal.ProgressBar(label: "train", enabled: !quiet)
    let say: @Sendable (String) -> Void = { s in if !quiet { Terminal.error(s) } }
    let events: @Sendable (FieldRun.Event) -> Void = { e in
        switch e {
        case .message(let s): say(s)
        case .warning(let s): Terminal.error("warning: " + s)
        case .preparing(let f): prepare.update(f)
        case .prepared: prepare.finish()
        case .resumed(let step, let seconds): say("resuming at step \(step) (\(String(format: "%.0f", seconds)) s trained)")
        case .snapshot(let s):
            say(String(format: "\nsnapshot at %.0f s (step %d, model from step %d): test PSNR %.2f dB, DSSIM×100 %.3f",
                       s.seconds, s.step, s.bestStep, s.meanPSNR, s.meanDSSIM100))
        case .training(let p):
            let detail = String(format: "step %d  loss %.4f  PSNR %.2f%@  %.0f rays/s", p.step, p.loss, p.trainPSNR,
                                p.bestValidationPSNR.map { String(format: "  val %.2f", $0) } ?? "", p.samplesPerSecond)
            train.update(p.fraction, detail: detail)
        case .trained: train.finish()
        }
    }
    installInterruptHandler()
    switch try body(options, events, { stopRequested != 0 }) {
    case .finished(let m): return m
    case .interrupted(let step, let checkpoint):
        say("interrupted at step \(step); checkpoint in \(checkpoint)\ncontinue with: texfield fit --resume \(run.directory)")
        throw ExitCode(130)
    }
}

/// An experiment's fit into `dir`: continued from the checkpoint an interrupted attempt left
/// there (Ctrl-C, `scancel`, a time limit, a killed machine: one is written every minute) when
/// its configuration and inputs are this fit's, started afresh otherwise. Resuming gives the
/// numbers an uninterrupted fit gives. `label` prefixes the one-line message.
func fitOrResume(mesh: String, texture: String?, dir: String, configuration: FieldConfiguration, label: String, quiet: Bool,
                 options: FieldRun.Options = FieldRun.Options()) throws -> FitMetrics {
    let run = FieldRun(directory: dir)
    if FileManager.default.fileExists(atPath: run.checkpointFile), !FileManager.default.fileExists(atPath: run.metricsFile),
       var old = try? run.checkpointConfiguration(), let inputs = try? run.inputs(), (try? run.changedInputs())?.isEmpty == true {
        old.givenCameras = nil
        // A fit stores the learning rate it resolved from its budget; compare resolved rates.
        var wanted = configuration
        wanted.learningRate = wanted.effectiveLearningRate
        let abs = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
        let sameFiles = inputs.mesh == abs(mesh) && inputs.photos == nil && (texture == nil || inputs.texture == abs(texture!))
        if old == wanted && sameFiles {
            if !quiet { Terminal.error("\(label): resuming its interrupted fit") }
            return try runWithProgress(run, quiet: quiet, { o, e, stop in try run.resume(options: o, events: e, shouldStop: stop) },
                                       options: options)
        }
    }
    if !quiet { Terminal.error(label) }
    return try fitWithProgress(mesh: mesh, texture: texture, dir: dir, configuration: configuration, quiet: quiet, options: options)
}

/// Fits `mesh` into `dir` with the progress shown.
func fitWithProgress(mesh: String, texture: String?, dir: String, configuration: FieldConfiguration, quiet: Bool,
                     cameras: ProtocolViews? = nil, options: FieldRun.Options = FieldRun.Options()) throws -> FitMetrics {
    let run = FieldRun(directory: dir)
    return try runWithProgress(run, quiet: quiet, { o, e, stop in
        try run.fit(mesh: mesh, texture: texture, configuration: configuration, cameras: cameras, options: o, events: e, shouldStop: stop)
    }, options: options)
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
    var snapshots: CommaList<Double>?
    @Option(help: "Cameras to train, validate and test on (texfield's cameras.json or nerfstudio's transforms.json); ground truth is still rendered from the texture.")
    var cameras: String?
    @Option(help: "Fit to photographs instead of a texture: a nerfstudio/instant-ngp transforms.json whose frames name PNG images (RGBA: alpha marks the object; RGB: the mesh's silhouette does). The product is the baked texture.")
    var views: String?
    @Option(help: "Side of the baked texture when fitting to photographs.") var atlasSize = 1024
    @Option(help: "With --cameras or --views in nerfstudio's convention and frames without a split: frame i is a test view when i % N == 0, a validation view when i % N == 1.")
    var testEvery = 8
    @Option(help: "Continue the interrupted fit in this folder (its configuration; --seconds and --steps may be raised).") var resume: String?
    @Flag(help: "With --resume: go on (with a warning) when the mesh or texture changed since the fit.") var force = false
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        try snapshots?.check("--snapshots", in: 1e-9...1e9, "a positive number of seconds")
        guard (1...100_000).contains(testEvery) else { throw ValidationError("--test-every must be in 1...100000") }
        if resume != nil && (cameras != nil || views != nil) { throw ValidationError("--cameras and --views cannot change on --resume (the run keeps them)") }
        if views != nil && (cameras != nil || texture != nil) { throw ValidationError("--views fits photographs: give neither a TEXTURE nor --cameras") }
        guard (2...16384).contains(atlasSize) else { throw ValidationError("--atlas-size must be in 2...16384") }
    }

    func run() throws {
        if let dir = resume {
            var run = FieldRun(directory: dir)
            run.acceptChangedInputs = force
            let m = try runWithProgress(run, quiet: quiet) { o, e, stop in
                try run.resume(seconds: options.seconds, steps: options.steps, options: o, events: e, shouldStop: stop)
            }
            printSummary(m, out: dir)
            return
        }
        guard let mesh else { throw ValidationError("give a mesh (or --resume DIR)") }
        let dir = out ?? "out/" + ((mesh as NSString).lastPathComponent as NSString).deletingPathExtension
        var o = FieldRun.Options()
        o.snapshots = snapshots?.values ?? []
        if let photos = views {
            var c = options.configuration
            c.atlasSize = atlasSize
            let run = FieldRun(directory: dir)
            let m = try runWithProgress(run, quiet: quiet, { o, e, stop in
                try run.fit(mesh: mesh, photos: photos, testEvery: testEvery, configuration: c, options: o, events: e, shouldStop: stop)
            }, options: o)
            printSummary(m, out: dir)
            return
        }
        let given = try cameras.map { try CameraFile.read(path: $0, testEvery: testEvery) }
        let m = try fitWithProgress(mesh: mesh, texture: texture, dir: dir, configuration: options.configuration, quiet: quiet,
                                    cameras: given, options: o)
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
        let m = try fitWithProgress(mesh: path, texture: nil, dir: out, configuration: c, quiet: quiet)
        printSummary(m, out: out)
    }
}
