import Support
import ArgumentParser
import Foundation
import Geometry
import TextureField

/// `texfield experiment …`: the comparisons of the papers, on our meshes.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "Run the papers' comparisons (encodings: SignNet Table 3) and the study of the fit defaults.",
        subcommands: [Encodings.self, Merge.self, Defaults.self, Transfer.self])

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

        func validate() throws { try OptionLimits.check("--seeds", seeds, OptionLimits.seeds) }

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
                var o = FieldRun.Options()
                o.keepCheckpoint = false
                let m = try fitOrResume(mesh: mesh, texture: texture, dir: dir, configuration: c,
                                        label: "[\(n + 1)/\(mine.count)] \(e.rawValue) seed \(s)", quiet: quiet, options: o)
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
            let dec = TexfieldJSON.decoder()
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
            md += "\(any.configuration.testViews) test views, lr \(any.configuration.effectiveLearningRate) (\(any.configuration.schedule.rawValue)), batch \(any.configuration.batch); mean ± std over seeds.\n\n"
            md += "| encoding | runs | test PSNR (dB) | DSSIM×100 | parameters | steps | training s |\n|---|---:|---:|---:|---:|---:|---:|\n"
            for r in rows {
                md += String(format: "| %@ | %d | %.2f ± %.2f | %.3f ± %.3f | %d | %d | %.0f |\n", r.encoding, r.runs, r.psnrMean, r.psnrStd,
                             r.dssim100Mean, r.dssim100Std, r.parameters, r.steps, r.secondsMean)
            }
            try AtomicFile.write(Data(md.utf8), to: dir + "/table.md")
            let enc = TexfieldJSON.encoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(rows), to: dir + "/results.json")
            print(md, terminator: "")
            print("written: \(dir)/table.md, \(dir)/results.json")
        }
    }

    /// A learning-rate setting of the defaults study: `default` (FieldConfiguration's), `reference`
    /// (the published 1e-4, constant), or `SCHEDULE-LR[-wSTEPS]` (e.g. `cosine-1e-3`, `constant-5e-4`,
    /// `cosine-4e-3-w500` with a linear warm-up over 500 steps).
    struct Setting: ExpressibleByArgument, Sendable, CustomStringConvertible {
        let name: String
        init?(argument: String) {
            name = argument
            if argument != "default" && argument != "reference" && Self.parse(argument) == nil { return nil }
        }
        var description: String { name }

        static func parse(_ s: String) -> (LearningRateSchedule, Double, Int?)? {
            guard let dash = s.firstIndex(of: "-"), let schedule = LearningRateSchedule(rawValue: String(s[..<dash])) else { return nil }
            var rest = String(s[s.index(after: dash)...]), warmup: Int? = nil
            if let w = rest.range(of: "-w") {
                guard let n = Int(rest[w.upperBound...]), (1...1_000_000).contains(n) else { return nil }
                warmup = n; rest = String(rest[..<w.lowerBound])
            }
            guard let lr = Double(rest), lr > 0, lr.isFinite, lr <= 1 else { return nil }
            return (schedule, lr, warmup)
        }

        func apply(to c: inout FieldConfiguration) {
            if name == "default" { return }
            if name == "reference" { c.learningRate = 1e-4; c.schedule = .constant; c.warmupSteps = nil; return }
            let (schedule, lr, warmup) = Self.parse(name)!
            c.schedule = schedule; c.learningRate = lr; c.warmupSteps = warmup
        }
    }

    struct Defaults: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "defaults",
            abstract: "The study behind the fit defaults: learning-rate settings on a set of textured meshes, texture-space and test PSNR and the train/validation gap at step snapshots.",
            discussion: """
            Cases (BenchmarkSet): torus-demo, torus-print, knot-edges, knot-print, ring-gradient, and spot and
            spot-print when --spot MESH (with its texture beside it, spot_texture.png) is given. Every setting of a
            case uses the same cameras (the same seed). Each run writes DIR/runs/<case>/<setting>/ and is skipped
            when its metrics.json exists; DIR/table.md and DIR/results.json collect them (also with --shard, after
            `texfield experiment defaults --merge-only`).
            """)
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/defaults"
        @Option(help: "Cases, comma-separated (default: all available).") var cases: CommaList<String>?
        @Option(help: "Settings, comma-separated.") var settings = CommaList<Setting>([Setting(argument: "default")!, Setting(argument: "reference")!])
        @Option(help: "Step budget of every run.") var steps = 7500
        @Option(help: "Steps at which the best model so far is scored (test and texture PSNR).") var snapshotSteps = CommaList<Int>([3000, 7500])
        @Option(help: "spot's OBJ (its texture: spot_texture.png beside it); default ../shared/meshes/spot/spot.obj when present.")
        var spot: String?
        @Option(help: "Run i of N (0-based), e.g. 2/8.") var shard: String?
        @Option(help: "Seed (views, initialisation, order).") var seed: UInt64 = 0
        @Flag(help: "Only collect the finished runs into the table.") var mergeOnly = false
        @Flag(help: "No progress output.") var quiet = false

        func validate() throws {
            guard (1...10_000_000).contains(steps) else { throw ValidationError("--steps must be in 1...10000000") }
            guard snapshotSteps.values.count <= 1000 else { throw ValidationError("--snapshot-steps: at most 1000 values") }
            guard snapshotSteps.values.allSatisfy({ (1...steps).contains($0) }) else { throw ValidationError("--snapshot-steps must lie in 1...--steps") }
        }

        func run() throws {
            let spotPath = spot ?? (FileManager.default.fileExists(atPath: "../shared/meshes/spot/spot.obj") ? "../shared/meshes/spot/spot.obj" : nil)
            let spotPair = spotPath.map { ($0, (($0 as NSString).deletingLastPathComponent as NSString).appendingPathComponent("spot_texture.png")) }
            let all = try BenchmarkSet.cases(spot: spotPair)
            let chosen = try cases.map { names in
                try names.values.map { n in
                    guard let c = all.first(where: { $0.name == n }) else {
                        throw ValidationError("--cases: unknown case '\(n)'; available: \(all.map(\.name).joined(separator: ", "))")
                    }
                    return c
                }
            } ?? all
            if !mergeOnly {
                try makeOutputFolder(out + "/meshes")
                for c in chosen where !FileManager.default.fileExists(atPath: "\(out)/meshes/\(c.name).png") {
                    try c.mesh.writeOBJ(path: "\(out)/meshes/\(c.name).obj")
                    try c.texture.writePNG(path: "\(out)/meshes/\(c.name).png")
                }
                let sh = try Shard.parse(shard)
                var jobs = [(BenchmarkSet.Case, Setting)]()
                for c in chosen { for st in settings.values { jobs.append((c, st)) } }
                let mine = jobs.enumerated().filter { $0.offset % sh.count == sh.index }.map(\.element)
                for (n, (c, st)) in mine.enumerated() {
                    let dir = "\(out)/runs/\(c.name)/\(st.name)"
                    if FileManager.default.fileExists(atPath: dir + "/metrics.json") { continue }
                    if !quiet { Terminal.error("[\(n + 1)/\(mine.count)] \(c.name) \(st.name)") }
                    var cfg = FieldConfiguration()
                    cfg.steps = steps; cfg.seconds = 1e9; cfg.seed = seed
                    st.apply(to: &cfg)
                    var o = FieldRun.Options()
                    o.snapshotSteps = snapshotSteps.values; o.snapshotTexture = true; o.keepCheckpoint = false
                    let m = try fitWithProgress(mesh: "\(out)/meshes/\(c.name).obj", texture: "\(out)/meshes/\(c.name).png", dir: dir,
                                                configuration: cfg, quiet: quiet, options: o)
                    if !quiet {
                        Terminal.error(String(format: "    test PSNR %.2f dB, texture PSNR %.2f dB, %.0f s", m.test.meanPSNR, m.texturePSNR ?? .nan, m.trainingSeconds))
                    }
                }
                if sh.count > 1 { return }
            }
            try DefaultsTable.write(out, cases: chosen.map { ($0.name, $0.what) })
        }
    }
}

/// The defaults study's table: per case and setting, texture-space and test PSNR at each snapshot,
/// the train/validation gap at the last one, and how far each setting is from the best one of its
/// case at each snapshot.
enum DefaultsTable {
    struct Row: Codable {
        var caseName: String
        var setting: String
        var steps: [Int]
        var texturePSNR: [Double?]
        var testPSNR: [Double]
        var trainPSNR: Double?
        var validationPSNR: Double?
        var secondsPerStep: Double
    }

    static func write(_ dir: String, cases: [(String, String)]) throws {
        let dec = TexfieldJSON.decoder()
        var rows = [Row]()
        for (name, _) in cases {
            let base = "\(dir)/runs/\(name)"
            for setting in ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).sorted() {
                guard let data = FileManager.default.contents(atPath: "\(base)/\(setting)/metrics.json") else { continue }
                let m: FitMetrics
                do { m = try dec.decode(FitMetrics.self, from: data) } catch { throw CommandError("\(base)/\(setting)/metrics.json: \(describeDecodingError(error))") }
                var snaps = m.snapshots
                if snaps.last?.step != m.steps {
                    // the end of the run is the last point
                    let last = m.history.last
                    snaps.append(Snapshot(seconds: m.trainingSeconds, step: m.steps, bestStep: m.bestStep, meanPSNR: m.test.meanPSNR,
                                          meanDSSIM100: m.test.meanDSSIM100, texturePSNR: m.texturePSNR,
                                          trainPSNR: last?.trainPSNR, validationPSNR: last?.validationPSNR))
                }
                rows.append(Row(caseName: name, setting: setting, steps: snaps.map(\.step), texturePSNR: snaps.map(\.texturePSNR),
                                testPSNR: snaps.map(\.meanPSNR), trainPSNR: snaps.last?.trainPSNR, validationPSNR: snaps.last?.validationPSNR,
                                secondsPerStep: m.trainingSeconds / Double(max(1, m.steps))))
            }
        }
        guard !rows.isEmpty else { throw CommandError("\(dir)/runs: no finished runs") }
        func f(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.2f", $0) : "—" } ?? "—" }
        var md = "Texture-space PSNR / test PSNR (dB) of the best model so far at each snapshot (steps); Δ = dB below the best setting of the case at that snapshot (texture / test); gap = training − validation PSNR at the end.\n\n"
        for (name, what) in cases {
            let rs = rows.filter { $0.caseName == name }
            guard let first = rs.first else { continue }
            md += "**\(name)** — \(what)\n\n| setting | " + first.steps.map { "step \($0)" }.joined(separator: " | ") + " | Δ at the last | gap | ms/step |\n"
            md += "|---|" + first.steps.map { _ in "---:|" }.joined() + "---:|---:|---:|\n"
            let n = first.steps.count
            let bestTex = (0..<n).map { i in rs.compactMap { i < $0.texturePSNR.count ? $0.texturePSNR[i] : nil }.max() ?? .nan }
            let bestTest = (0..<n).map { i in rs.compactMap { i < $0.testPSNR.count ? $0.testPSNR[i] : nil }.max() ?? .nan }
            for r in rs {
                let cells = (0..<min(n, r.testPSNR.count)).map { i in "\(f(r.texturePSNR[i])) / \(f(r.testPSNR[i]))" }
                let li = min(n, r.testPSNR.count) - 1
                let dTex = (r.texturePSNR[li]).map { bestTex[li] - $0 }, dTest = bestTest[li] - r.testPSNR[li]
                let gap = r.trainPSNR.flatMap { t in r.validationPSNR.map { t - $0 } }
                md += "| \(r.setting) | " + cells.joined(separator: " | ") + " | \(f(dTex)) / \(f(dTest)) | \(f(gap)) | \(String(format: "%.1f", 1000 * r.secondsPerStep)) |\n"
            }
            md += "\n"
        }
        try AtomicFile.write(Data(md.utf8), to: dir + "/table.md")
        try AtomicFile.write(try TexfieldJSON.encoder().encode(rows), to: dir + "/results.json")
        print(md, terminator: "")
        print("written: \(dir)/table.md, \(dir)/results.json")
    }
}
