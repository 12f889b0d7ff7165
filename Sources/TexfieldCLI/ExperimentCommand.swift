import Support
import ArgumentParser
import Foundation
import Geometry
import TextureField

/// `texfield experiment …`: the comparisons of the papers, on our meshes.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "Run the papers' comparisons: encodings (SignNet Table 3).",
        subcommands: [Encodings.self, Merge.self])

    /// A slice of a job list: `--shard i/N` (0 ≤ i < N), or SLURM's array variables.
    struct Shard {
        let index: Int, count: Int
        static func parse(_ s: String?) throws -> Shard {
            let env = ProcessInfo.processInfo.environment
            if let s {
                let parts = s.split(separator: "/")
                guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else {
                    throw ValidationError("--shard must be i/N with 0 ≤ i < N, got '\(s)'")
                }
                return Shard(index: i, count: n)
            }
            if let i = env["SLURM_ARRAY_TASK_ID"].flatMap(Int.init), let n = env["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init), n >= 1 {
                let lo = env["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
                guard (0..<n).contains(i - lo) else { throw ValidationError("SLURM_ARRAY_TASK_ID \(i) is outside 0..<\(n) (after subtracting SLURM_ARRAY_TASK_MIN \(lo))") }
                return Shard(index: i - lo, count: n)
            }
            return Shard(index: 0, count: 1)
        }
    }

    struct Encodings: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "encodings",
            abstract: "Train every encoding with equal step budgets over several seeds; write a Markdown table.",
            discussion: """
            Each (encoding, seed) run writes DIR/runs/<encoding>-seed<s>/metrics.json and is skipped when that file
            exists, so an interrupted experiment continues where it stopped. On a cluster, run shards
            (--shard i/N, or SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT of a job array) and then
            `texfield experiment merge DIR`; without shards the table is written at the end.
            """)
        @Argument(help: "Mesh (OBJ) with texture coordinates.") var mesh: String
        @Argument(help: "Texture (PNG); the OBJ's material texture when omitted.") var texture: String?
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/encodings"
        @Option(help: "Encodings, comma-separated (default: all).") var encodings: CommaList<Encoding>?
        @Option(help: "Seeds per encoding.") var seeds = 3
        @Option(help: "Run i of N (0-based), e.g. 2/8.") var shard: String?
        @OptionGroup var options: FitOptions
        @Flag(help: "No progress output.") var quiet = false

        func run() throws {
            let list = encodings?.values ?? Encoding.allCases
            guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
            let sh = try Shard.parse(shard)
            var jobs = [(Encoding, Int)]()
            for s in 0..<seeds { for e in list { jobs.append((e, s)) } }
            let mine = jobs.enumerated().filter { $0.offset % sh.count == sh.index }.map(\.element)
            try makeOutputFolder(out + "/runs")
            for (n, (e, s)) in mine.enumerated() {
                let dir = "\(out)/runs/\(e.rawValue)-seed\(s)"
                if FileManager.default.fileExists(atPath: dir + "/metrics.json") {
                    if !quiet { Terminal.error("[\(n + 1)/\(mine.count)] \(e.rawValue) seed \(s): done before, skipped") }
                    continue
                }
                var c = options.configuration
                c.encoding = e
                c.seed = UInt64(s)
                if !quiet { Terminal.error("[\(n + 1)/\(mine.count)] \(e.rawValue) seed \(s)") }
                var o = FieldRun.Options()
                o.keepCheckpoint = false
                let m = try fitWithProgress(mesh: mesh, texture: texture, dir: dir, configuration: c, quiet: quiet, options: o)
                if !quiet {
                    Terminal.error(String(format: "    PSNR %.2f dB, DSSIM×100 %.3f, %d parameters, %.0f s", m.test.meanPSNR, m.test.meanDSSIM100,
                                          m.parameters, m.trainingSeconds))
                }
            }
            if sh.count == 1 { try Merge.merge(out) }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect DIR/runs/*/metrics.json into DIR/table.md and DIR/results.json.")
        @Argument(help: "The experiment's folder.") var dir: String

        func run() throws { try Merge.merge(dir) }

        struct Row: Codable {
            var encoding: String
            var runs: Int
            var psnrMean: Double, psnrStd: Double
            var dssim100Mean: Double, dssim100Std: Double
            var parameters: Int
            var secondsMean: Double
            var steps: Int
        }

        static func merge(_ dir: String) throws {
            let fm = FileManager.default
            let runs = (try? fm.contentsOfDirectory(atPath: dir + "/runs")) ?? []
            var byEncoding = [String: [FitMetrics]]()
            let dec = JSONDecoder()
            dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            for r in runs.sorted() {
                guard let data = fm.contents(atPath: "\(dir)/runs/\(r)/metrics.json") else { continue }
                do {
                    let m = try dec.decode(FitMetrics.self, from: data)
                    byEncoding[m.configuration.encoding.rawValue, default: []].append(m)
                } catch { throw CommandError("\(dir)/runs/\(r)/metrics.json: \(error)") }
            }
            guard !byEncoding.isEmpty else { throw CommandError("\(dir)/runs: no finished runs to merge") }
            let stats = meanAndDeviation
            var rows = [Row]()
            for e in Encoding.allCases.map(\.rawValue) {
                guard let ms = byEncoding[e] else { continue }
                let (pm, ps) = stats(ms.map(\.test.meanPSNR)), (dm, ds) = stats(ms.map(\.test.meanDSSIM100))
                rows.append(Row(encoding: e, runs: ms.count, psnrMean: pm, psnrStd: ps, dssim100Mean: dm, dssim100Std: ds,
                                parameters: ms[0].parameters, secondsMean: stats(ms.map(\.trainingSeconds)).0, steps: ms[0].steps))
            }
            let any = byEncoding.values.first![0]
            var md = "Mesh `\(any.mesh)` (\(any.vertices) vertices), k = \(any.configuration.eigenfunctions), \(any.configuration.trainViews) training views of \(any.configuration.imageSize)², "
            md += "\(any.configuration.testViews) test views, lr \(any.configuration.learningRate) (\(any.configuration.schedule.rawValue)), batch \(any.configuration.batch); mean ± std over seeds.\n\n"
            md += "| encoding | runs | test PSNR (dB) | DSSIM×100 | parameters | steps | training s |\n|---|---:|---:|---:|---:|---:|---:|\n"
            for r in rows {
                md += String(format: "| %@ | %d | %.2f ± %.2f | %.3f ± %.3f | %d | %d | %.0f |\n", r.encoding, r.runs, r.psnrMean, r.psnrStd,
                             r.dssim100Mean, r.dssim100Std, r.parameters, r.steps, r.secondsMean)
            }
            try AtomicFile.write(Data(md.utf8), to: dir + "/table.md")
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(rows), to: dir + "/results.json")
            print(md, terminator: "")
            print("written: \(dir)/table.md, \(dir)/results.json")
        }
    }
}
