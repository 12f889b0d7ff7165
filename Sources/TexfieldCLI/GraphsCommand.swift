import ArgumentParser
import Foundation
import Geometry
import GraphLearning

extension PositionalEncoding: ExpressibleByArgument {}

/// `texfield graphs …`: graph-level SignNet and BasisNet (Lim et al. 2023, section 4).
struct GraphsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphs", abstract: "Graph-level SignNet/BasisNet experiments.",
        subcommands: [CSLCommand.self, ZINCCommand.self])

    struct CSLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csl",
            abstract: "Circular Skip Link classification (10 classes of 4-regular graphs 1-WL cannot separate): GIN with each positional encoding.")
        @Option(help: "Encodings, comma-separated.") var encodings = "none,eigen,abs,signflip,signnet,basisnet"
        @Option(help: "Seeds.") var seeds = 3
        @Option(help: "Epochs.") var epochs = 60
        @Option(help: "Eigenvectors (eigenspace slots for BasisNet).") var k = 8
        @Option(help: "Adam's learning rate.") var lr = 1e-3
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/csl"

        func run() throws {
            let list: [PositionalEncoding] = try parseList(encodings, option: "--encodings")
            guard seeds >= 1, epochs >= 1, k >= 1, lr > 0 else { throw ValidationError("--seeds, --epochs and -k must be positive") }
            try makeOutputFolder(out)
            var results = [GraphRunResult]()
            for e in list {
                for s in 0..<seeds {
                    let r = GraphTraining.csl(encoding: e, seed: UInt64(s), epochs: epochs, k: k, learningRate: lr)
                    Terminal.error(String(format: "%@ seed %d: test accuracy %.3f (train %.3f), %.2f s/epoch", e.rawValue, s, r.testAccuracy, r.trainAccuracy, r.secondsPerEpoch))
                    results.append(r)
                }
            }
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(results), to: out + "/results.json")
            var md = "| encoding | test accuracy | train accuracy | parameters | s / epoch |\n|---|---:|---:|---:|---:|\n"
            for e in list {
                let rs = results.filter { $0.encoding == e }
                let (m, sd) = meanAndDeviation(rs.map(\.testAccuracy))
                md += String(format: "| %@ | %.1f ± %.1f %% | %.1f %% | %d | %.2f |\n", e.rawValue, 100 * m, 100 * sd,
                             100 * meanAndDeviation(rs.map(\.trainAccuracy)).mean, rs[0].parameters,
                             meanAndDeviation(rs.map(\.secondsPerEpoch)).mean)
            }
            try AtomicFile.write(Data(md.utf8), to: out + "/table.md")
            print(md, terminator: "")
            print("written: \(out)/results.json, \(out)/table.md")
        }
    }

    struct ZINCCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "zinc",
            abstract: "Molecular regression (score = logp − SA) on micro-ZINC: GIN with each positional encoding, test MAE.")
        @Option(help: "CSV with SMILES and score columns.") var data = "../shared/data/zinc_micro/micro_ZINC.csv"
        @Option(help: "Encodings, comma-separated.") var encodings = "none,signnet"
        @Option(help: "Seeds.") var seeds = 3
        @Option(help: "Epochs.") var epochs = 30
        @Option(help: "Eigenvectors.") var k = 8
        @Option(help: "Adam's learning rate.") var lr = 1e-3
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/zinc"

        func run() throws {
            let list: [PositionalEncoding] = try parseList(encodings, option: "--encodings")
            guard seeds >= 1, epochs >= 1, k >= 1, lr > 0 else { throw ValidationError("--seeds, --epochs, -k and --lr must be positive") }
            let graphs: [Graph]
            do { graphs = try SMILES.readCSV(path: data) } catch { throw CommandError("\(error)") }
            try makeOutputFolder(out)
            var results = [GraphRegressionResult]()
            for e in list {
                for s in 0..<seeds {
                    let r = GraphTraining.zinc(graphs, encoding: e, seed: UInt64(s), epochs: epochs, k: k, learningRate: lr)
                    Terminal.error(String(format: "%@ seed %d: test MAE %.3f (train %.3f, median predictor %.3f), %.2f s/epoch", e.rawValue, s,
                                          r.testMAE, r.trainMAE, r.baselineMAE, r.secondsPerEpoch))
                    results.append(r)
                }
            }
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(results), to: out + "/results.json")
            var md = "| encoding | test MAE | train MAE | median predictor | parameters | s / epoch |\n|---|---:|---:|---:|---:|---:|\n"
            for e in list {
                let rs = results.filter { $0.encoding == e }
                let (m, sd) = meanAndDeviation(rs.map(\.testMAE))
                md += String(format: "| %@ | %.3f ± %.3f | %.3f | %.3f | %d | %.2f |\n", e.rawValue, m, sd,
                             meanAndDeviation(rs.map(\.trainMAE)).mean, rs[0].baselineMAE, rs[0].parameters,
                             meanAndDeviation(rs.map(\.secondsPerEpoch)).mean)
            }
            try AtomicFile.write(Data(md.utf8), to: out + "/table.md")
            print(md, terminator: "")
            print("written: \(out)/results.json, \(out)/table.md")
        }
    }
}
