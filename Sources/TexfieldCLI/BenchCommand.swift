import Support
import ArgumentParser
import Foundation
import Geometry
import Imaging
import Neural
import Render

/// `texfield bench …`: timings of texfield's kernels, printed in a form the comparison
/// scripts in bench/ read.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time texfield's kernels (see bench/ for the comparisons with the Python stack).",
        subcommands: [SSIMBench.self, TrainBench.self, RenderBench.self])

    struct SSIMBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ssim", abstract: "Median time of SSIM on two RGB images (PNG files or random ones).")
        @Option(help: "First image; random when omitted.") var first: String?
        @Option(help: "Second image; random when omitted.") var second: String?
        @Option(help: "Side of the random images.") var size = 512
        @Option(name: .customLong("repeat"), help: "Repetitions.") var repetitions = 21
        @Option(help: "SSIM convention.") var ssim: SSIMConvention = .gaussian

        func validate() throws { try OptionLimits.check("--size", size, 8...8192); try OptionLimits.check("--repeat", repetitions, 1...10_000) }

        func run() throws {
            let a: Image, b: Image
            if let f = first, let s = second {
                a = try Image.readPNG(path: f); b = try Image.readPNG(path: s)
            } else {
                var rng = SystemRandomNumberGenerator()
                a = Image(width: size, height: size, channels: 3, pixels: (0..<(size * size * 3)).map { _ in Float.random(in: 0...1, using: &rng) })
                b = Image(width: size, height: size, channels: 3, pixels: a.pixels.map { min(1, max(0, $0 + Float.random(in: -0.1...0.1, using: &rng))) })
            }
            var times = [Double]()
            var value = 0.0
            for _ in 0..<max(1, repetitions) {
                let t = Date()
                value = try Metrics.ssim(a, b, convention: ssim)
                times.append(Date().timeIntervalSince(t))
            }
            times.sort()
            print(String(format: "ssim %@ %dx%d: median %.2f ms, min %.2f ms (value %.9f)", ssim.rawValue, a.width, a.height,
                         times[times.count / 2] * 1000, times[0] * 1000, value))
        }
    }
}

/// `texfield bench train`: one training step of the reference texture MLP (forward, backward,
/// Adam) at the reference scale, with the machine's sgemm rate measured in the same run.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time the reference MLP's training step (1023 inputs, batch 4096) against the sgemm peak.")
    @Option(help: "Network inputs.") var inputs = 1023
    @Option(help: "Batch size.") var batch = 4096
    @Option(help: "Timed steps.") var steps = 20
    @Option(help: "Write the trained weights and Adam state here (safetensors).") var save: String?

    func validate() throws { try OptionLimits.check("--inputs", inputs, 1...65_536); try OptionLimits.check("--batch", batch, 1...(1 << 20)); try OptionLimits.check("--steps", steps, 1...1_000_000) }

    func run() throws {
        let peak = sgemmPeak()
        var rng = SplitMix64(seed: 1)
        let net = FieldMLP(inputs: inputs, batch: batch, using: &rng)
        var adam = Adam(parameterCount: net.parameterCount, learningRate: 1e-4)
        let x = (0..<(batch * inputs)).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
        let y = (0..<(batch * 3)).map { _ in Float.random(in: 0...1, using: &rng) }
        var times = [Double](), optimiser = [Double]()
        for s in 0..<(steps + 2) {
            let t = Date()
            _ = x.withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { yp in net.lossAndGradients(xp.baseAddress!, target: yp.baseAddress!, rows: batch) }
            }
            let t1 = Date()
            adam.update(&net.parameters, gradients: net.gradients)
            if s >= 2 { times.append(Date().timeIntervalSince(t)); optimiser.append(Date().timeIntervalSince(t1)) }
        }
        times.sort(); optimiser.sort()
        let median = times[times.count / 2]
        let flops = 6 * Double(net.parameterCount) * Double(batch)
        print(String(format: "parameters %d, batch %d: median step %.1f ms (Adam %.2f ms of it), fastest %.1f ms",
                     net.parameterCount, batch, median * 1000, optimiser[optimiser.count / 2] * 1000, times[0] * 1000))
        print(String(format: "%.0f samples/s", Double(batch) / median))
        print(String(format: "%.1f GFLOP/s (6·params·batch per step)", flops / median / 1e9))
        // What the step really multiplies: no gradient is taken with respect to the input, so the
        // maps that read it cost 4·weights·batch, the rest 6·params·batch.
        let inputWeights = 2 * 128 * inputs
        let work = (4 * Double(inputWeights) + 6 * Double(net.parameterCount - inputWeights)) * Double(batch)
        print(String(format: "%.1f GFLOP/s counting the products actually computed (%.2f GFLOP per step)", work / median / 1e9, work / 1e9))
        print(String(format: "sgemm peak %.1f GFLOP/s (2048³, same run): %.0f%% of it", peak, flops / median / 1e9 / peak * 100))
        if let path = save {
            let (opt, meta) = adam.stored()
            do {
                try Safetensors.write(path: path, tensors: net.namedParameters().merging(opt) { $1 }, metadata: meta)
            } catch let e as CheckpointError { throw CommandError(e.description) }
            print("checkpoint written to \(path)")
        }
    }

    /// Best of five 2048³ sgemm calls, in GFLOP/s.
    func sgemmPeak() -> Double {
        let n = 2048
        let a = [Float](repeating: 0.5, count: n * n), b = a
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let t = Date()
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                Float.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: ap.baseAddress!, lda: n,
                           b: bp.baseAddress!, ldb: n, beta: 0, c: cp.baseAddress!, ldc: n)
            } } }
            best = min(best, Date().timeIntervalSince(t))
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}

/// `texfield bench render`: BVH build and first-hit G-buffers of 512² views; writes the cameras
/// so that bench/render_vs_embree.py casts the same rays with Embree.
struct RenderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Time BVH construction and G-buffer ray casting of a mesh's views.")
    @Argument(help: "Mesh (OBJ).") var mesh: String
    @Option(help: "Views (spread over the sphere).") var views = 8
    @Option(help: "Image side in pixels.") var size = 512
    @Option(name: .customLong("repeat"), help: "Passes over the views.") var repetitions = 3
    @Option(help: "Write the cameras (JSON: K, camera-to-world R, centre) here.") var camerasOut: String?

    func validate() throws {
        try OptionLimits.check("--views", views, OptionLimits.views); try OptionLimits.check("--size", size, 8...8192); try OptionLimits.check("--repeat", repetitions, 1...10_000)
        try OptionLimits.checkRendered(views: 1, size: size)
    }

    func run() throws {
        let m = try Mesh.readOBJ(path: mesh)
        let t0 = Date()
        let bvh = try BVH(m)
        let build = Date().timeIntervalSince(t0)
        let cams = ViewSet.cameras(for: m, directions: ViewSet.spread(count: views, seed: 7), width: size, height: size)
        var times = [Double](), hits = 0
        for r in 0..<max(1, repetitions) {
            for c in cams {
                let t = Date()
                let g = RayCaster.gbuffer(bvh, camera: c)
                times.append(Date().timeIntervalSince(t))
                if r == 0 { hits += g.hitCount }
            }
        }
        times.sort()
        let median = times[times.count / 2]
        print(String(format: "mesh %d triangles: BVH %d nodes, depth %d, built in %.1f ms", m.triangleCount, bvh.nodeCount, bvh.depth, build * 1000))
        print(String(format: "gbuffer %dx%d: median %.2f ms per view, %.2f M rays/s (%d object pixels over %d views)",
                     size, size, median * 1000, Double(size * size) / median / 1e6, hits, views))
        if let path = camerasOut {
            let data = try TexfieldJSON.encoder().encode(cams)
            try AtomicFile.write(data, to: path)
        }
    }
}
