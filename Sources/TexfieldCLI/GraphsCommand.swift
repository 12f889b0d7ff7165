import Support
import ArgumentParser
import Foundation
import Geometry
import GraphLearning


/// `texfield graphs …`: graph-level SignNet and BasisNet (Lim et al. 2023, section 4).
struct GraphsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphs", abstract: "Graph-level SignNet/BasisNet experiments.",
        subcommands: [CSLCommand.self, CountCommand.self, PropertiesCommand.self, ZINCCommand.self, MergeCommand.self])

    /// Options every experiment has.
    struct Common: ParsableArguments {
        @Option(help: "Seeds.") var seeds = 3
        @Option(name: .shortAndLong, help: "Eigenvectors (eigenspace slots for BasisNet).") var k = 8
        @Option(help: "Adam's learning rate (cosine decay to 0 unless --constant-lr); default 5e-4 for csl, 1e-3 otherwise.") var lr: Double?
        @Flag(help: "Keep the learning rate constant.") var constantLr = false
        @Option(help: "Minibatch size (graphs).") var batch = 32
        @Flag(help: "BasisNet with the full IGN 2→2 layer before 2→1.") var basisFull = false
        @Flag(help: "SignNet/BasisNet's ρ as DeepSets (sum over eigenvectors, then the MLP) instead of an MLP on their concatenation.") var deepSets = false

        @Flag(help: "Give the eigenvalues to φ and ρ as well (SignNet: [±v, λ] per node; BasisNet: u·λ per eigenspace; ρ: the k eigenvalues).") var eigenvalues = false
        @Flag(help: "The architecture before 2026-11-30: a ReLU after ρ, a randomly initialised last layer and unit-norm eigenvectors as inputs (each can switch the network off for good: CSL seeds stalled at 10 %).") var legacyInit = false

        /// The model options these flags set.
        func configure(_ c: inout GraphModelConfiguration) {
            c.basisNetFull = basisFull; c.deepSets = deepSets; c.eigenvalues = eigenvalues
            if legacyInit { c.positionalReLU = true; c.zeroOutputLayer = false; c.scaledEigenvectors = false }
        }
        @Flag(help: "Keep the runs already in OUT (OUT/runs/*.json) and do only the missing ones.") var resume = false
        @Option(help: "Do only run i of every N (0-based, e.g. 2/8; or SLURM_ARRAY_TASK_ID/COUNT of a job array); finished runs are kept; then `texfield graphs merge OUT`.") var shard: String?

        func validate(epochs: Int) throws {
            try OptionLimits.check("--seeds", seeds, OptionLimits.seeds)
            try OptionLimits.check("--epochs", epochs, OptionLimits.epochs)
            try OptionLimits.check("-k", k, 1...1024)
            try OptionLimits.check("--lr", lr, OptionLimits.learningRate)
            try OptionLimits.check("--batch", batch, 1...100_000)
        }
        func options(epochs: Int, defaultLR: Double = 1e-3) -> GraphTrainingOptions {
            GraphTrainingOptions(epochs: epochs, learningRate: lr ?? defaultLR, batch: batch, cosine: !constantLr)
        }
    }

    /// What a results folder holds, so that `texfield graphs merge` can write its table.
    struct ExperimentInfo: Codable, Equatable {
        enum Kind: String, Codable { case csl, regression }
        var kind: Kind
        var encodings: [PositionalEncoding]
        var seeds: Int
        /// Regression targets, and whether the table divides errors by the target's deviation.
        var names: [String] = []
        var normalized = false
    }

    /// Runs the (encoding, seed) pairs of this shard (all without --shard or a Slurm array) that
    /// are not done. Each run is written on its own, atomically, as OUT/runs/<encoding>-seed<s>.json
    /// — that file is the run's "done" mark, so a cancelled array task resubmitted redoes exactly
    /// its unfinished runs — and, without shards, OUT/results.json (all runs) at the end.
    /// On --resume (implied with shards), every run kept must have the settings of the new ones
    /// (`settings`: all but encoding and seed); the first new run that differs stops the command
    /// before it is saved. Returns the runs, or nil for one shard of several (then `graphs merge`).
    static func runAll<R: Codable>(_ list: [PositionalEncoding], seeds: Int, out: String, resume: Bool, shard: String?, info: ExperimentInfo,
                                   key: (R) -> (PositionalEncoding, UInt64), settings: (R) -> String?,
                                   run: (PositionalEncoding, UInt64) -> R) throws -> [R]? {
        let sh = try ExperimentCommand.Shard.parse(shard)
        let sharded = sh.count > 1, keep = resume || sharded
        try makeOutputFolder(out + "/runs")
        let enc = TexfieldJSON.encoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(info), to: out + "/experiment.json")
        let fm = FileManager.default
        func runPath(_ e: PositionalEncoding, _ s: UInt64) -> String { "\(out)/runs/\(e.rawValue)-seed\(s).json" }
        var results = [R]()
        if keep {
            results = try loadRuns(out)
            // files written before per-run files existed
            if resume, let data = fm.contents(atPath: out + "/results.json") {
                let old: [R]
                do { old = try TexfieldJSON.decoder().decode([R].self, from: data) } catch { throw CommandError("\(out)/results.json: cannot resume from it (\(describeDecodingError(error)))") }
                for r in old where !results.contains(where: { key($0) == key(r) }) { results.append(r) }
            }
            if !results.isEmpty { Terminal.error("resuming: \(results.count) runs already in \(out)") }
        } else {
            for f in (try? fm.contentsOfDirectory(atPath: out + "/runs")) ?? [] where f.hasSuffix(".json") { try? fm.removeItem(atPath: "\(out)/runs/\(f)") }
        }
        var jobs = [(PositionalEncoding, UInt64)]()
        for e in list { for s in 0..<UInt64(seeds) { jobs.append((e, s)) } }
        let mine = jobs.enumerated().filter { $0.offset % sh.count == sh.index }.map(\.element)
        for (e, s) in mine where !results.contains(where: { key($0) == (e, s) }) {
            let r = run(e, s)
            if let new = settings(r), let old = results.lazy.compactMap(settings).first(where: { $0 != new }) {
                throw CommandError("\(out) holds runs made with other settings:\n  in the folder: \(old)\n  this run:      \(new)\nuse another --out, or drop --resume to start over")
            }
            results.append(r)
            try AtomicFile.write(try enc.encode(r), to: runPath(e, s))
        }
        func position(_ r: R) -> (Int, UInt64) { (list.firstIndex(of: key(r).0) ?? list.count, key(r).1) }
        results.sort { position($0) < position($1) }
        if !sharded { try AtomicFile.write(try enc.encode(results), to: out + "/results.json") }
        if sharded {
            Terminal.error("shard \(sh.index + 1) of \(sh.count) done (\(mine.count) runs); when all are, `texfield graphs merge \(out)` writes the table")
            return nil
        }
        return results.filter { r in list.contains(key(r).0) && key(r).1 < UInt64(seeds) }
    }

    /// The finished runs in OUT/runs, sorted by file name.
    static func loadRuns<R: Codable>(_ out: String) throws -> [R] {
        let fm = FileManager.default
        var results = [R]()
        for f in ((try? fm.contentsOfDirectory(atPath: out + "/runs")) ?? []).sorted() where f.hasSuffix(".json") {
            let path = "\(out)/runs/\(f)"
            guard let data = fm.contents(atPath: path) else { continue }
            do { results.append(try TexfieldJSON.decoder().decode(R.self, from: data)) } catch {
                throw CommandError("\(path): not a run of this experiment (\(describeDecodingError(error)))")
            }
        }
        return results
    }

    /// `texfield graphs merge DIR`: the table of a sharded experiment once its runs are done.
    struct MergeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge", abstract: "Collect a sharded graph experiment's runs (DIR/runs/*.json) into DIR/results.json and DIR/table.md.")
        @Argument(help: "The experiment's output folder.") var dir: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: dir + "/experiment.json") else {
                throw CommandError("\(dir)/experiment.json: missing — not the output folder of a `texfield graphs` experiment")
            }
            let info: ExperimentInfo
            do { info = try TexfieldJSON.decoder().decode(ExperimentInfo.self, from: data) } catch { throw CommandError("\(dir)/experiment.json: \(describeDecodingError(error))") }
            guard (1...OptionLimits.seeds.upperBound).contains(info.seeds), !info.encodings.isEmpty else {
                throw CommandError("\(dir)/experiment.json: \(info.seeds) seeds of \(info.encodings.count) encodings (seeds must be in 1...\(OptionLimits.seeds.upperBound))")
            }
            switch info.kind {
            case .csl:
                try merge(GraphRunResult.self, info, key: { ($0.encoding, $0.seed) }) { GraphsCommand.cslTable($0, list: info.encodings, seeds: info.seeds) }
            case .regression:
                try merge(GraphRegressionResult.self, info, key: { ($0.encoding, $0.seed) }) {
                    GraphsCommand.regressionTable($0, list: info.encodings, names: info.names, normalized: info.normalized)
                }
            }
        }

        /// Reads DIR/runs in the order of a serial run (encodings as listed, then seeds), warns about
        /// missing runs, writes results.json and the table.
        func merge<R: Codable>(_: R.Type, _ info: ExperimentInfo, key: (R) -> (PositionalEncoding, UInt64), table: ([R]) -> String) throws {
            func position(_ r: R) -> (Int, UInt64) { (info.encodings.firstIndex(of: key(r).0) ?? info.encodings.count, key(r).1) }
            let rs: [R] = try GraphsCommand.loadRuns(dir).sorted { position($0) < position($1) }
            let want = info.encodings.flatMap { e in (0..<UInt64(info.seeds)).map { (e, $0) } }
            let absent = want.filter { w in !rs.contains { key($0) == w } }
            if let first = absent.first {
                Terminal.error("warning: \(absent.count) of \(want.count) runs missing (first: \(first.0.rawValue) seed \(first.1)); the table has the rest")
            }
            guard !rs.isEmpty else { throw CommandError("\(dir)/runs: no finished runs") }
            let enc = TexfieldJSON.encoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(rs), to: dir + "/results.json")
            try GraphsCommand.writeTable(table(rs), out: dir)
        }
    }

    /// The CSL table: accuracy (mean ± deviation over seeds), how many seeds reach 95 %, the worst.
    static func cslTable(_ results: [GraphRunResult], list: [PositionalEncoding], seeds: Int) -> String {
        var md = "| encoding | test accuracy | train accuracy | seeds ≥ 95 % | worst seed | parameters | s / epoch |\n|---|---:|---:|---:|---:|---:|---:|\n"
        for e in list {
            let rs = results.filter { $0.encoding == e }
            guard !rs.isEmpty else { continue }
            let (m, sd) = meanAndDeviation(rs.map(\.testAccuracy))
            let worst = rs.min { $0.testAccuracy < $1.testAccuracy }!
            md += String(format: "| %@ | %.1f ± %.1f %% | %.1f %% | %d / %d | %.0f %% (seed %d) | %d | %.3f |\n", e.rawValue, 100 * m, 100 * sd,
                         100 * meanAndDeviation(rs.map(\.trainAccuracy)).mean, rs.filter { $0.testAccuracy >= 0.95 }.count, rs.count,
                         100 * worst.testAccuracy, Int(worst.seed), rs[0].parameters, meanAndDeviation(rs.map(\.secondsPerEpoch)).mean)
        }
        let kernels = Set(results.compactMap(\.blasKernel)).sorted()
        md += (seeds == 1 ? "\nSeed 0" : "\nSeeds 0–\(seeds - 1)") + "; OpenBLAS kernel family: \(kernels.isEmpty ? "not recorded" : kernels.joined(separator: ", ")); "
        md += (results.first?.settings).map { "settings: `\($0)`.\n" } ?? "\n"
        return md
    }

    static func writeTable(_ md: String, out: String) throws {
        try AtomicFile.write(Data(md.utf8), to: out + "/table.md")
        print(md, terminator: "")
        print("written: \(out)/results.json, \(out)/table.md")
    }

    struct CSLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csl",
            abstract: "Circular Skip Link classification (10 classes of 4-regular graphs 1-WL cannot separate): GIN with each positional encoding.")
        @Option(help: "Encodings, comma-separated.") var encodings = CommaList<PositionalEncoding>([.none, .eigen, .abs, .signflip, .signnet, .basisnet])
        @Option(help: "Epochs.") var epochs = 500
        @OptionGroup var common: Common
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/csl"

        func run() throws {
            let list = encodings.values
            try common.validate(epochs: epochs)
            let c = common
            guard let results: [GraphRunResult] = try GraphsCommand.runAll(list, seeds: c.seeds, out: out, resume: c.resume, shard: c.shard,
                info: ExperimentInfo(kind: .csl, encodings: list, seeds: c.seeds), key: { ($0.encoding, $0.seed) }, settings: { $0.settings }, run: { e, s in
                let r = GraphTraining.csl(encoding: e, seed: s, options: c.options(epochs: epochs, defaultLR: 5e-4), k: c.k) { c.configure(&$0) }
                Terminal.error(String(format: "%@ seed %d: test accuracy %.3f (train %.3f), %.3f s/epoch", e.rawValue, Int(s), r.testAccuracy, r.trainAccuracy, r.secondsPerEpoch))
                return r
            }) else { return }
            try GraphsCommand.writeTable(GraphsCommand.cslTable(results, list: list, seeds: c.seeds), out: out)
        }
    }

    /// Runs a regression experiment and writes its table: per target, test MAE / σ (mean ± deviation over seeds).
    static func regressionTable(_ results: [GraphRegressionResult], list: [PositionalEncoding], names: [String], normalized: Bool) -> String {
        let several = names.count > 1
        var md = "| encoding | " + names.map { normalized ? "\($0) (MAE/σ)" : "\($0) MAE" }.joined(separator: " | ")
            + (several ? " | mean | 1 − R² (mean)" : " | train MAE | 1 − R²") + " | parameters | s / epoch |\n|---|"
            + String(repeating: "---:|", count: names.count + 4) + "\n"
        for e in list {
            let rs = results.filter { $0.encoding == e }
            guard !rs.isEmpty else { continue }
            md += "| \(e.rawValue) |"
            let metric: (GraphRegressionResult) -> [Double] = { normalized ? $0.testNormalizedMAE : $0.testMAE }
            for j in names.indices {
                let (m, sd) = meanAndDeviation(rs.map { metric($0)[j] })
                md += String(format: " %.3f ± %.3f |", m, sd)
            }
            let avg = meanAndDeviation(rs.map { metric($0).reduce(0, +) / Double(names.count) })
            if several { md += String(format: " %.3f ± %.3f |", avg.mean, avg.deviation) } else {
                md += String(format: " %.3f |", meanAndDeviation(rs.map { $0.trainMAE[0] }).mean)  // in the target's units
            }
            md += String(format: " %.3f | %d | %.2f |\n", meanAndDeviation(rs.map { $0.testNormalizedMSE.reduce(0, +) / Double(names.count) }).mean,
                         rs[0].parameters, meanAndDeviation(rs.map(\.secondsPerEpoch)).mean)
        }
        if let r = results.first {
            md += "\nMedian predictor: " + zip(names, r.baselineMAE).map { String(format: "%@ MAE %.3f", $0, $1) }.joined(separator: ", ") + ".\n"
        }
        return md
    }

    /// Options of the experiments on generated graphs.
    struct Generated: ParsableArguments {
        @Option(help: "Encodings, comma-separated.") var encodings = CommaList<PositionalEncoding>([.none, .eigen, .signnet, .basisnet])
        @Option(help: "Graphs generated (the last --test of them are the test set).") var graphs = 2000
        @Option(help: "Test graphs.") var test = 500
        @Option(help: "Epochs.") var epochs = 200
        @Option(help: "Message-passing layers.") var layers = 4

        func validate() throws {
            try OptionLimits.check("--graphs", graphs, 2...1_000_000)
            try OptionLimits.check("--test", test, 1...(max(1, graphs - 1)))
            try OptionLimits.check("--epochs", epochs, OptionLimits.epochs)
            try OptionLimits.check("--layers", layers, 1...64)
        }
    }

    /// A regression experiment on generated graphs: the last `test` graphs are the test set; one
    /// model regresses all targets; the table gives test MAE over each target's deviation.
    static func synthetic(_ o: Generated, common c: Common, out: String, names: [String], generate: (Int) -> [Graph]) throws {
        let list = o.encodings.values
        let (epochs, layers) = (o.epochs, o.layers)
        try c.validate(epochs: epochs)
        guard o.test >= 1, o.graphs > o.test, layers >= 1 else { throw ValidationError("need --graphs > --test ≥ 1 and --layers ≥ 1") }
        let data = generate(o.graphs)
        let train = Array(data.prefix(o.graphs - o.test)), testSet = Array(data.suffix(o.test))
        guard let results: [GraphRegressionResult] = try runAll(list, seeds: c.seeds, out: out, resume: c.resume, shard: c.shard,
            info: ExperimentInfo(kind: .regression, encodings: list, seeds: c.seeds, names: names, normalized: true),
            key: { ($0.encoding, $0.seed) }, settings: { $0.settings }, run: { e, s in
            let r = GraphTraining.regression(train: train, test: testSet, names: names, encoding: e, seed: s, options: c.options(epochs: epochs), k: c.k) {
                $0.layers = layers; $0.hidden = 64; c.configure(&$0)
            }
            Terminal.error(String(format: "%@ seed %d: test MAE/σ %@, %.2f s/epoch", e.rawValue, Int(s),
                                  r.testNormalizedMAE.map { String(format: "%.3f", $0) }.joined(separator: " "), r.secondsPerEpoch))
            return r
        }) else { return }
        try writeTable(regressionTable(results, list: list, names: names, normalized: true), out: out)
    }

    struct CountCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "count",
            abstract: "Substructure counting on random graphs (Erdős–Rényi and random regular): triangles, tailed triangles, 3-stars, 4-cycles; test MAE over the target's standard deviation.")
        @OptionGroup var generated: Generated
        @Option(help: "Seed of the data set.") var dataSeed: UInt64 = 7
        @OptionGroup var common: Common
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/count"

        func run() throws {
            try GraphsCommand.synthetic(generated, common: common, out: out, names: GraphFamilies.substructureNames) {
                GraphFamilies.substructureDataset(count: $0, seed: dataSeed)
            }
        }
    }

    struct PropertiesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "properties",
            abstract: "Graph properties (connected, diameter, spectral radius) on a mixture of ten graph families; test MAE over the target's standard deviation.")
        @OptionGroup var generated: Generated
        @Option(help: "Seed of the data set.") var dataSeed: UInt64 = 11
        @OptionGroup var common: Common
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/properties"

        func run() throws {
            try GraphsCommand.synthetic(generated, common: common, out: out, names: GraphFamilies.propertyNames) {
                GraphFamilies.propertyDataset(count: $0, seed: dataSeed)
            }
        }
    }

    struct ZINCCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "zinc",
            abstract: "Molecular regression (score = logp − SA) on micro-ZINC: GINE (bond types) or GIN with each positional encoding, test MAE.")
        @Option(help: "CSV with SMILES and score columns.") var data = "../shared/data/zinc_micro/micro_ZINC.csv"
        @Option(help: "Encodings, comma-separated.") var encodings = CommaList<PositionalEncoding>([.none, .eigen, .signnet, .basisnet])
        @Option(help: "Epochs.") var epochs = 200
        @Option(help: "Message-passing layers.") var layers = 4
        @Flag(help: "Plain GIN: ignore bond types.") var noEdgeFeatures = false
        @OptionGroup var common: Common
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/zinc"

        func run() throws {
            let list = encodings.values
            try common.validate(epochs: epochs)
            let graphs: [Graph]
            graphs = try SMILES.readCSV(path: data)
            guard graphs.count >= 5 else { throw CommandError("\(data): \(graphs.count) molecules; the split needs at least 5") }
            let c = common, edges = !noEdgeFeatures, layers = layers
            guard let results: [GraphRegressionResult] = try GraphsCommand.runAll(list, seeds: c.seeds, out: out, resume: c.resume, shard: c.shard,
                info: ExperimentInfo(kind: .regression, encodings: list, seeds: c.seeds, names: ["score"], normalized: false),
                key: { ($0.encoding, $0.seed) }, settings: { $0.settings }, run: { e, s in
                let r = GraphTraining.zinc(graphs, encoding: e, seed: s, options: c.options(epochs: epochs), k: c.k, edgeFeatures: edges, layers: layers) { c.configure(&$0) }
                Terminal.error(String(format: "%@ seed %d: test MAE %.3f (train %.3f, median predictor %.3f), %.2f s/epoch", e.rawValue, Int(s),
                                      r.testMAE[0], r.trainMAE[0], r.baselineMAE[0], r.secondsPerEpoch))
                return r
            }) else { return }
            try GraphsCommand.writeTable(GraphsCommand.regressionTable(results, list: list, names: ["score"], normalized: false), out: out)
        }
    }
}
