import Support
import ArgumentParser
import Dynamics
import Foundation
import Geometry
import Imaging

extension Objective: ExpressibleByArgument {}
extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}

/// Messages collected from concurrent work.
final class Failures: @unchecked Sendable {
    private var items = [String]()
    private let lock = NSLock()
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return items.first }
    var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
}

/// `texfield dynamics …`: (S)GD as a dynamical system (Chandramoorthy et al. 2022).
struct DynamicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dynamics",
        abstract: "Training dynamics: GD maps (bifurcations, Lyapunov exponents), non-convergent training, time averages, stability.",
        subcommands: [MapCommand.self, TrainCommand.self, SweepCommand.self, MergeCommand.self])

    struct MapCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "map", abstract: "Sweep GD's step size on a small objective: bifurcation diagram, Lyapunov exponent, period.")
        @Option(help: "Objective: \(Objective.allCases.map(\.rawValue).joined(separator: ", ")).") var objective: Objective = .doubleWell
        @Option(help: "Step sizes as from:to:count.") var eta = "0.05:1.6:400"
        @Option(help: "Iterations discarded before measuring.") var burnIn = 2000
        @Option(help: "Iterations measured.") var window = 300
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/map"

        func validate() throws {
            try OptionLimits.check("--burn-in", burnIn, 0...100_000_000)
            try OptionLimits.check("--window", window, 1...1_000_000)
        }

        func run() throws {
            let parts = eta.split(separator: ":").compactMap { Double($0) }
            guard parts.count == 3, parts.allSatisfy(\.isFinite), parts[0] > 0, parts[1] > parts[0], let count = Int(exactly: parts[2]),
                  (2...100_000).contains(count) else {
                throw ValidationError("--eta must be from:to:count with 0 < from < to (finite) and an integer count in 2...100000")
            }
            guard count * window <= 100_000_000 else { throw ValidationError("--eta count × --window = \(count * window) exceeds 100000000 recorded iterations") }
            let values = (0..<count).map { parts[0] + (parts[1] - parts[0]) * Double($0) / Double(count - 1) }
            let o = objective
            let sweep = OrbitAnalysis.sweep(values, start: o.start, burnIn: burnIn, window: window) { o.gradientDescent(eta: $0) }
            try makeOutputFolder(out)
            var points = [(Double, Double)]()
            for (e, s) in sweep where !s.diverged { for x in s.samples { points.append((e, x)) } }
            try Plot.scatter([points], alpha: 0.35).writePNG(path: out + "/bifurcation.png")
            let lyap = sweep.filter { !$0.1.diverged }.map { ($0.0, max(-3, $0.1.lyapunov)) }
            try Plot.scatter([lyap], height: 300, alpha: 1, radius: 1).writePNG(path: out + "/lyapunov.png")
            struct Row: Codable { var eta: Double; var period: Int; var lyapunov: Double?; var diverged: Bool; var xMin: Double?; var xMax: Double? }
            let rows = sweep.map { e, s in Row(eta: e, period: s.period, lyapunov: s.diverged ? nil : s.lyapunov, diverged: s.diverged,
                                                xMin: s.samples.min(), xMax: s.samples.max()) }
            let enc = TexfieldJSON.encoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(rows), to: out + "/map.json")
            // Where the behaviour changes.
            var last: String? = nil
            print("objective \(o.rawValue), GD from \(o.start), η in [\(parts[0]), \(parts[1])]")
            for r in rows {
                let kind = r.diverged ? "diverges" : (r.period == 1 ? "converges" : (r.period > 1 ? "period \(r.period)" : "no period ≤ 64 (chaotic or long)"))
                if kind != last { print(String(format: "  from η = %.4f: %@%@", r.eta, kind, r.lyapunov.map { String(format: "  (λ = %.3f)", $0) } ?? "")) }
                last = kind
            }
            print("written: \(out)/bifurcation.png (x after burn-in against η), \(out)/lyapunov.png, \(out)/map.json")
        }
    }

    /// Options for training on a data set.
    struct DataOptions: ParsableArguments {
        @Option(help: "CSV data (label column 'label' or last); default: a built-in synthetic set.") var data: String?
        @Option(help: "Training samples.") var trainCount = 1000
        @Option(help: "Test samples.") var testCount = 500
        @Option(help: "Optimiser: sgd or adam.") var optimizer: TrainingConfiguration.OptimizerKind = .sgd
        @Option(help: "Constant step size.") var lr = 0.1
        @Option(help: "Momentum (SGD).") var momentum = 0.0
        @Option(help: "Weight decay.") var weightDecay = 0.0
        @Flag(help: "BatchNorm after each hidden layer.") var batchNorm = false
        @Option(help: "Hidden width.") var hidden = 64
        @Option(help: "Batch size.") var batch = 32
        @Option(help: "Epochs.") var epochs = 200
        @Option(help: "Epochs left out of the time averages.") var burnIn = 50
        @Option(help: "Seed (weights and batch order).") var seed: UInt64 = 0

        func validate() throws {
            try OptionLimits.check("--train-count", trainCount, 1...10_000_000)
            try OptionLimits.check("--test-count", testCount, 1...10_000_000)
            try OptionLimits.check("--lr", lr, OptionLimits.learningRate)
            try OptionLimits.check("--momentum", momentum, 0...0.999_999)
            try OptionLimits.check("--weight-decay", weightDecay, 0...1e3)
            try OptionLimits.check("--hidden", hidden, 1...4096)
            try OptionLimits.check("--batch", batch, 1...1_000_000)
            try OptionLimits.check("--epochs", epochs, OptionLimits.epochs)
            try OptionLimits.check("--burn-in", burnIn, 0...(max(0, epochs - 1)))
            guard trainCount.multipliedReportingOverflow(by: epochs).partialValue <= 200_000_000 else {
                throw ValidationError("--train-count × --epochs exceeds 2·10⁸ recorded per-sample losses")
            }
        }

        func split() throws -> DataSplit {
            let d: Dataset
            d = try data.map { try Dataset.csv(path: $0) } ?? Dataset.synthetic()
            return try DataSplit(d, trainCount: trainCount, testCount: testCount, seed: 99)
        }

        var configuration: TrainingConfiguration {
            var c = TrainingConfiguration()
            c.optimizer = optimizer; c.learningRate = lr; c.momentum = momentum; c.weightDecay = weightDecay; c.batchNorm = batchNorm
            c.hidden = hidden; c.batch = batch; c.epochs = epochs; c.burnIn = burnIn; c.seed = seed
            return c
        }
    }

    struct TrainCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train", abstract: "Train with a constant step, recording every sample's loss every epoch.")
        @OptionGroup var data: DataOptions
        @Option(help: "Fraction of training labels replaced by another class.") var labelNoise = 0.0
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/dynamics-train"

        func validate() throws { try OptionLimits.check("--label-noise", labelNoise, 0...0.999_999) }

        func run() throws {
            let split = try data.split()
            let point = SweepPoint(labelNoise: labelNoise, training: data.configuration, perturbations: 0)
            let (train, _) = point.trainingSet(split, run: 0)
            try makeOutputFolder(out)
            let r: TrainingRecord
            // out/checkpoint.json after every epoch: an interrupted run continues where it stopped.
            r = try Trainer.train(train, test: split.test, configuration: data.configuration, checkpoint: out + "/checkpoint.json")
            let enc = TexfieldJSON.encoder()
            try AtomicFile.write(try enc.encode(r), to: out + "/record.json")
            try Plot.lines([r.meanTrainLoss, r.meanTestLoss]).writePNG(path: out + "/loss.png")
            let s = RunSummary(r, replaced: -1)
            print(String(format: "final accuracy: train %.3f, test %.3f; weight norm %.2f, last step distance %.4f",
                         s.trainAccuracy, s.testAccuracy, r.weightNorm.last ?? 0, r.stepDistance.last ?? 0))
            print(String(format: "time averages after epoch %d: empirical risk %.4f, test risk %.4f, gap %.4f; mixing time %@ epochs",
                         data.burnIn, s.empiricalRisk, s.testRisk, s.testRisk - s.empiricalRisk,
                         SeriesStatistics.mixingTime(s.autocorrelation).map { String(format: "%.1f", $0) } ?? "> 40"))
            print("written: \(out)/record.json (every sample's loss every epoch), \(out)/loss.png (mean train/test loss per epoch)")
        }
    }

    struct SweepCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep",
            abstract: "Label noise × step size: β̂, generalisation gap and mixing time per point (shards, resumable).",
            discussion: "Each (point, run) writes DIR/runs/<point>/run<r>.json and is skipped when it exists. Run shards with --shard i/N (or SLURM_ARRAY_TASK_ID/COUNT), then `texfield dynamics merge DIR`.")
        @OptionGroup var data: DataOptions
        @Option(help: "Label-noise fractions, comma-separated.") var noise = CommaList<Double>([0, 0.1, 0.25, 0.5])
        @Option(help: "Step sizes, comma-separated.") var lrs = CommaList<Double>([0.1])
        @Option(help: "Runs on S^(i) per point (one training sample replaced).") var perturbations = 4
        @Option(help: "Seeds per point (initial weights, batch order, which samples are replaced).") var seeds = 1
        @Option(help: "Run i of N (0-based).") var shard: String?
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/dynamics-sweep"

        func run() throws {
            try noise.check("--noise", in: 0...0.999_999, "a fraction in [0, 1)")
            try lrs.check("--lrs", in: 1e-12...1e6, "a positive step")
            let ns = noise.values, ls = lrs.values
            try OptionLimits.check("--perturbations", perturbations, 1...1000)
            try OptionLimits.check("--seeds", seeds, OptionLimits.seeds)
            guard ns.count <= 1000, ls.count <= 1000 else { throw ValidationError("--noise and --lrs: at most 1000 values each") }
            let sh = try ExperimentCommand.Shard.parse(shard)
            let split = try data.split()
            var jobs = [(SweepPoint, Int)]()
            guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
            for seed in 0..<seeds { for l in ls { for n in ns {
                var c = data.configuration; c.learningRate = l; c.seed = data.seed &+ UInt64(seed)
                let p = SweepPoint(labelNoise: n, training: c, perturbations: perturbations)
                for r in 0...perturbations { jobs.append((p, r)) }
            } } }
            let mine = jobs.enumerated().filter { $0.offset % sh.count == sh.index }.map(\.element)
            // Runs are independent: as many at a time as there are cores, each single-threaded.
            let todo = mine.filter { !FileManager.default.fileExists(atPath: "\(out)/runs/\($0.0.name)/run\($0.1).json") }
            for p in Set(todo.map { $0.0.name }) {
                let point = todo.first { $0.0.name == p }!.0
                try makeOutputFolder("\(out)/runs/\(p)")
                try AtomicFile.write(try TexfieldJSON.encoder().encode(point), to: "\(out)/runs/\(p)/point.json")
            }
            let failures = Failures()
            let counter = Failures()
            let o = out, total = todo.count
            DispatchQueue.concurrentPerform(iterations: todo.count) { k in
                let (p, r) = todo[k]
                let (train, replaced) = p.trainingSet(split, run: r)
                let t = Date()
                do {
                    let rec = try Trainer.train(train, test: split.test, configuration: p.training)
                    try AtomicFile.write(try TexfieldJSON.encoder().encode(RunSummary(rec, replaced: replaced)), to: "\(o)/runs/\(p.name)/run\(r).json")
                    counter.add("")
                    Terminal.error(String(format: "[%d/%d] %@ run %d: %.1f s", counter.count, total, p.name, r, Date().timeIntervalSince(t)))
                } catch { failures.add("\(p.name) run \(r): \(error)") }
            }
            if let f = failures.first { throw CommandError(f) }
            if sh.count == 1 { try MergeCommand.merge(out) }
        }
    }

    /// With two or more seeds at some point: per (label noise, step, optimiser) the mean and 95 %
    /// confidence interval (Student's t) over seeds, and, per seed, Spearman's rank correlation
    /// across the points between the mixing time and β̂ (the paper: faster mixing, better
    /// stability — a positive correlation). Empty with one seed per point.
    static func seedSummary(_ rows: [(SweepPoint, StabilityEstimate, RunSummary)]) -> String {
        struct Key: Hashable { var noise: Double; var lr: Double; var adam: Bool }
        func key(_ p: SweepPoint) -> Key { Key(noise: p.labelNoise, lr: p.training.learningRate, adam: p.training.optimizer == .adam) }
        let groups = Dictionary(grouping: rows, by: { key($0.0) })
        guard groups.values.contains(where: { $0.count >= 2 }) else { return "" }
        func cell(_ x: [Double], _ f: String) -> String {
            guard !x.isEmpty else { return "–" }
            let m = meanAndDeviation(x).mean
            guard let h = confidenceHalfWidth95(x) else { return String(format: f, m) }
            return String(format: f + " ± " + f, m, h)
        }
        var md = "\nOver seeds (mean ± half-width of the 95 % confidence interval, Student's t):\n\n"
        md += "| label noise | step | seeds | test acc | gap | β̂ mean | β̂ sup | mixing (epochs) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for k in groups.keys.sorted(by: { ($0.adam ? 1 : 0, $0.lr, $0.noise) < ($1.adam ? 1 : 0, $1.lr, $1.noise) }) {
            let g = groups[k]!
            let mixing = g.compactMap { $0.1.mixingTime }
            md += String(format: "| %.0f%% | %g%@ | %d | %@ | %@ | %@ | %@ | %@%@ |\n", k.noise * 100, k.lr, k.adam ? " (Adam)" : "", g.count,
                         cell(g.map(\.2.testAccuracy), "%.3f"), cell(g.map(\.1.gap), "%.3f"), cell(g.map(\.1.betaMean), "%.4f"),
                         cell(g.map(\.1.betaSup), "%.3f"), cell(mixing, "%.1f"), mixing.count < g.count ? " (\(g.count - mixing.count) > 40)" : "")
        }
        // per seed: rank correlation across points of mixing time and β̂ mean
        let bySeed = Dictionary(grouping: rows, by: { $0.0.training.seed })
        var rhos = [Double]()
        for seed in bySeed.keys.sorted() {
            let g = bySeed[seed]!
            let pairs = g.compactMap { r in r.1.mixingTime.map { ($0, r.1.betaMean) } }
            if let r = spearman(pairs.map(\.0), pairs.map(\.1)) { rhos.append(r) }
        }
        if !rhos.isEmpty {
            md += String(format: "\nSpearman's ρ between mixing time and β̂ mean across the points, per seed: %@ (mean %@). Positive: slower mixing goes with worse stability (the paper); negative: faster mixing with worse stability.\n",
                         rhos.map { String(format: "%.2f", $0) }.joined(separator: ", "), cell(rhos, "%.2f"))
        }
        return md
    }

    struct MergeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge", abstract: "Collect a sweep's runs: DIR/table.md, DIR/results.json and plots.")
        @Argument(help: "The sweep's folder.") var dir: String
        func run() throws { try MergeCommand.merge(dir) }

        static func merge(_ dir: String) throws {
            let fm = FileManager.default
            let dec = TexfieldJSON.decoder()
            var rows = [(SweepPoint, StabilityEstimate, RunSummary)]()
            for name in ((try? fm.contentsOfDirectory(atPath: dir + "/runs")) ?? []).sorted() {
                let d = "\(dir)/runs/\(name)"
                guard let pd = fm.contents(atPath: d + "/point.json"), let p = try? dec.decode(SweepPoint.self, from: pd),
                      let bd = fm.contents(atPath: d + "/run0.json") else { continue }
                let base = try dec.decode(RunSummary.self, from: bd)
                let pert = try (1...max(1, p.perturbations)).compactMap { r -> RunSummary? in
                    guard let data = fm.contents(atPath: "\(d)/run\(r).json") else { return nil }
                    return try dec.decode(RunSummary.self, from: data)
                }
                guard !pert.isEmpty else { continue }
                rows.append((p, StabilityEstimate.estimate(base: base, perturbed: pert), base))
            }
            guard !rows.isEmpty else { throw CommandError("\(dir)/runs: no finished points to merge") }
            rows.sort { ($0.0.training.seed, $0.0.training.learningRate, $0.0.labelNoise) < ($1.0.training.seed, $1.0.training.learningRate, $1.0.labelNoise) }
            var md = "| label noise | step | seed | train acc | test acc | R̂ (time-avg) | R (time-avg) | gap | β̂ mean | β̂ sup | bound | mixing (epochs) | pairs |\n"
            md += "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            for (p, e, b) in rows {
                md += String(format: "| %.0f%% | %g | %d | %.3f | %.3f | %.4f | %.4f | %.4f | %.4f | %.4f | %.2f | %@ | %d |\n",
                             p.labelNoise * 100, p.training.learningRate, Int(p.training.seed), b.trainAccuracy, b.testAccuracy, e.empiricalRisk, e.testRisk, e.gap,
                             e.betaMean, e.betaSup, e.bound, e.mixingTime.map { String(format: "%.1f", $0) } ?? "> 40", e.pairs)
            }
            md += seedSummary(rows.map { ($0.0, $0.1, $0.2) })
            try AtomicFile.write(Data(md.utf8), to: dir + "/table.md")
            let enc = TexfieldJSON.encoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            try AtomicFile.write(try enc.encode(rows.map { [$0.0.name: $0.1] }), to: dir + "/results.json")
            try Plot.lines(rows.map { $0.2.meanTestLoss }).writePNG(path: dir + "/test_loss.png")
            try Plot.lines(rows.map { $0.2.meanTrainLoss }).writePNG(path: dir + "/train_loss.png")
            try Plot.lines(rows.map { $0.2.autocorrelation }).writePNG(path: dir + "/autocorrelation.png")
            try Plot.scatter([rows.map { ($0.1.betaMean, $0.1.gap) }], height: 400, alpha: 1, radius: 3).writePNG(path: dir + "/beta_vs_gap.png")
            print(md, terminator: "")
            print("series in order: " + rows.map { $0.0.name }.joined(separator: ", "))
            print("written: \(dir)/table.md, results.json, test_loss.png, train_loss.png, autocorrelation.png, beta_vs_gap.png")
        }
    }
}
