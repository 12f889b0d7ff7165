import Support
import ArgumentParser
import Foundation
import Geometry
import GraphLearning


/// `texfield graphs …`: graph-level SignNet and BasisNet (Lim et al. 2023, section 4).
struct GraphsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphs", abstract: "Graph-level SignNet/BasisNet experiments.",
        subcommands: [CSLCommand.self, CountCommand.self, PropertiesCommand.self, ZINCCommand.self])

    /// Options every experiment has.
    struct Common: ParsableArguments {
        @Option(help: "Seeds.") var seeds = 3
        @Option(name: .shortAndLong, help: "Eigenvectors (eigenspace slots for BasisNet).") var k = 8
        @Option(help: "Adam's learning rate (cosine decay to 0 unless --constant-lr); default 5e-4 for csl, 1e-3 otherwise.") var lr: Double?
        @Flag(help: "Keep the learning rate constant.") var constantLr = false
        @Option(help: "Minibatch size (graphs).") var batch = 32
        @Flag(help: "BasisNet with the full IGN 2→2 layer before 2→1.") var basisFull = false
        @Flag(help: "SignNet/BasisNet's ρ as DeepSets (sum over eigenvectors, then the MLP) instead of an MLP on their concatenation.") var deepSets = false

        /// The model options these flags set.
        func configure(_ c: inout GraphModelConfiguration) { c.basisNetFull = basisFull; c.deepSets = deepSets }
        @Flag(help: "Keep the runs already in OUT/results.json and do only the missing ones.") var resume = false

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

    /// Runs every (encoding, seed) pair not yet in OUT/results.json, writing the file after each run.
    static func runAll<R: Codable>(_ list: [PositionalEncoding], seeds: Int, out: String, resume: Bool,
                                   key: (R) -> (PositionalEncoding, UInt64), run: (PositionalEncoding, UInt64) -> R) throws -> [R] {
        try makeOutputFolder(out)
        let path = out + "/results.json"
        var results = [R]()
        if resume, let data = FileManager.default.contents(atPath: path) {
            do { results = try TexfieldJSON.decoder().decode([R].self, from: data) } catch { throw CommandError("\(path): cannot resume from it (\(describeDecodingError(error)))") }
            Terminal.error("resuming: \(results.count) runs already in \(path)")
        }
        let enc = TexfieldJSON.encoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        for e in list {
            for s in 0..<UInt64(seeds) where !results.contains(where: { key($0) == (e, s) }) {
                results.append(run(e, s))
                try AtomicFile.write(try enc.encode(results), to: path)
            }
        }
        return results.filter { r in list.contains(key(r).0) && key(r).1 < UInt64(seeds) }
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
            let results: [GraphRunResult] = try GraphsCommand.runAll(list, seeds: c.seeds, out: out, resume: c.resume, key: { ($0.encoding, $0.seed) }) { e, s in
                let r = GraphTraining.csl(encoding: e, seed: s, options: c.options(epochs: epochs, defaultLR: 5e-4), k: c.k) { c.configure(&$0) }
                Terminal.error(String(format: "%@ seed %d: test accuracy %.3f (train %.3f), %.3f s/epoch", e.rawValue, Int(s), r.testAccuracy, r.trainAccuracy, r.secondsPerEpoch))
                return r
            }
            var md = "| encoding | test accuracy | train accuracy | parameters | s / epoch |\n|---|---:|---:|---:|---:|\n"
            for e in list {
                let rs = results.filter { $0.encoding == e }
                guard !rs.isEmpty else { continue }
                let (m, sd) = meanAndDeviation(rs.map(\.testAccuracy))
                md += String(format: "| %@ | %.1f ± %.1f %% | %.1f %% | %d | %.3f |\n", e.rawValue, 100 * m, 100 * sd,
                             100 * meanAndDeviation(rs.map(\.trainAccuracy)).mean, rs[0].parameters,
                             meanAndDeviation(rs.map(\.secondsPerEpoch)).mean)
            }
            try GraphsCommand.writeTable(md, out: out)
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
        let results: [GraphRegressionResult] = try runAll(list, seeds: c.seeds, out: out, resume: c.resume, key: { ($0.encoding, $0.seed) }) { e, s in
            let r = GraphTraining.regression(train: train, test: testSet, names: names, encoding: e, seed: s, options: c.options(epochs: epochs), k: c.k) {
                $0.layers = layers; $0.hidden = 64; c.configure(&$0)
            }
            Terminal.error(String(format: "%@ seed %d: test MAE/σ %@, %.2f s/epoch", e.rawValue, Int(s),
                                  r.testNormalizedMAE.map { String(format: "%.3f", $0) }.joined(separator: " "), r.secondsPerEpoch))
            return r
        }
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
            let results: [GraphRegressionResult] = try GraphsCommand.runAll(list, seeds: c.seeds, out: out, resume: c.resume, key: { ($0.encoding, $0.seed) }) { e, s in
                let r = GraphTraining.zinc(graphs, encoding: e, seed: s, options: c.options(epochs: epochs), k: c.k, edgeFeatures: edges, layers: layers) { c.configure(&$0) }
                Terminal.error(String(format: "%@ seed %d: test MAE %.3f (train %.3f, median predictor %.3f), %.2f s/epoch", e.rawValue, Int(s),
                                      r.testMAE[0], r.trainMAE[0], r.baselineMAE[0], r.secondsPerEpoch))
                return r
            }
            try GraphsCommand.writeTable(GraphsCommand.regressionTable(results, list: list, names: ["score"], normalized: false), out: out)
        }
    }
}
