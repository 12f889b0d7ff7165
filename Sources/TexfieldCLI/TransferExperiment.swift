import ArgumentParser
import Foundation
import Geometry
import Imaging
import Render
import Spectral
import Support
import TextureField

/// The targets of `experiment transfer`, made from the source mesh.
enum TransferTarget: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// The source mesh itself.
    case control
    /// Quadric-error decimation to half the vertices (UV seams kept).
    case decimate
    /// Isotropic remeshing at the source's mean edge length.
    case remesh
    /// Subdivided once, each vertex then moved along the surface by up to 0.3 of the local edge
    /// length in a random tangent direction (seed 0) and projected back onto the source.
    case subdivide
    /// Area-uniform points (seed 0), 100,000 by default (--cloud-points).
    case cloud
    /// ARAP poses (`mesh deform --pose bend|twist`, default angles).
    case bend, twist

    var deformed: Bool { self == .bend || self == .twist }

    /// The alignments worth running for an encoding on this target.
    func alignments(for e: Encoding) -> [TransferAlignment] {
        if self == .control { return [.none] }
        switch e {
        case .xyzRFF: return [.none]
        case .projector: return deformed ? [.none, .zoomout] : [.none]
        case .abs, .signnet, .signnetLambda: return self == .cloud ? [.none, .fmap] : [.none, .fmap, .zoomout]
        case .eigen, .signflip: return self == .cloud ? [.none, .sign, .fmap] : [.none, .sign, .fmap, .zoomout]
        }
    }
}

extension ExperimentCommand {
    struct Transfer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "transfer",
            abstract: "Fit encodings on a mesh and evaluate each fit on other discretizations and poses of the surface.",
            discussion: """
            Targets (DIR/targets/, made once): control (the mesh itself), decimate (QEM to half the vertices), \
            remesh (isotropic, the mean edge length), subdivide (once, then jittered along the surface), cloud \
            (area-uniform points; robust point-cloud Laplacian; scored by the point metric only), bend and twist \
            (ARAP poses). Each (encoding, seed) fit goes to DIR/runs/<encoding>-seed<s>/ and each transfer to \
            .../transfer/<target>-<align>/transfer.json; finished files are skipped, so an interrupted run \
            continues. Alignments: none, sign, fmap (closest points; on the poses the true vertex map), zoomout \
            (no correspondence), as meaningful per encoding (xyz-rff: none; projector: none, and zoomout on poses; \
            sign-invariant encodings: no sign). ZoomOut maps are kept in DIR/targets/ and shared by all runs. \
            Shards with --shard i/N (or a SLURM array), then --merge.
            """)
        @Argument(help: "Mesh (OBJ) with texture coordinates.") var mesh: String?
        @Argument(help: "Texture (PNG); the OBJ's material texture when omitted.") var texture: String?
        @Option(name: .shortAndLong, help: "Output folder.") var out = "out/transfer"
        @Option(help: "Encodings, comma-separated (default: all).") var encodings: CommaList<Encoding>?
        @Option(help: "Targets, comma-separated (default: all).") var targets: CommaList<TransferTarget>?
        @Option(help: "Seeds per encoding.") var seeds = 1
        @Option(help: "Points of the cloud target.") var cloudPoints = 100_000
        @Option(help: "Run i of N (0-based), e.g. 2/8.") var shard: String?
        @Flag(help: "Only merge DIR/runs/*/transfer/*/transfer.json into DIR/table.md.") var merge = false
        @OptionGroup var options: FitOptions
        @Flag(help: "No progress output.") var quiet = false

        func validate() throws {
            try OptionLimits.check("--seeds", seeds, OptionLimits.seeds)
            try OptionLimits.check("--cloud-points", cloudPoints, 1000...10_000_000)
        }

        func run() throws {
            if merge { try Self.merge(out); return }
            guard let mesh else { throw ValidationError("give the mesh (or --merge DIR)") }
            let encs = encodings?.values ?? Encoding.allCases
            let tgts = targets?.values ?? TransferTarget.allCases
            let sh = try Shard.parse(shard)
            try makeOutputFolder(out + "/targets")
            let paths = try Self.makeTargets(tgts, from: mesh, in: out + "/targets", cloudPoints: cloudPoints, quiet: quiet)
            var jobs = [(Encoding, Int)]()
            for s in 0..<seeds { for e in encs { jobs.append((e, s)) } }
            let mine = jobs.enumerated().filter { $0.offset % sh.count == sh.index }.map(\.element)
            let source = try Mesh.read(path: mesh)
            for (n, (e, s)) in mine.enumerated() {
                let dir = "\(out)/runs/\(e.rawValue)-seed\(s)"
                if !FileManager.default.fileExists(atPath: dir + "/metrics.json") {
                    var c = options.configuration
                    c.encoding = e
                    c.seed = UInt64(s)
                    var o = FieldRun.Options()
                    o.keepCheckpoint = false
                    _ = try fitOrResume(mesh: mesh, texture: texture, dir: dir, configuration: c,
                                        label: "[\(n + 1)/\(mine.count)] fit \(e.rawValue) seed \(s)", quiet: quiet, options: o)
                }
                let run = FieldRun(directory: dir)
                for t in tgts {
                    for a in t.alignments(for: e) {
                        let o = "\(dir)/transfer/\(t.rawValue)-\(a.rawValue)"
                        if FileManager.default.fileExists(atPath: o + "/transfer.json") { continue }
                        // On the poses the vertex map is known: fmap and sign use it.
                        let truth: [Int]? = t.deformed && (a == .fmap || a == .sign) ? Array(0..<source.vertexCount) : nil
                        let r = try run.transfer(to: paths[t]!, alignment: a, output: o, correspondence: truth,
                                                 zoomOutMapFile: "\(out)/targets/\(t.rawValue).zoomout.txt")
                        if !quiet {
                            Terminal.error(String(format: "    %@ %@: %@point PSNR %.2f dB", t.rawValue, a.rawValue,
                                                  r.test.map { String(format: "test PSNR %.2f dB, ", $0.meanPSNR) } ?? "", r.pointPSNR))
                        }
                    }
                }
            }
            if sh.count == 1 { try Self.merge(out) }
        }

        /// The target files (made when missing, atomically), by target.
        static func makeTargets(_ list: [TransferTarget], from path: String, in dir: String, cloudPoints: Int, quiet: Bool) throws
            -> [TransferTarget: String] {
            let m = try Mesh.read(path: path)
            var out = [TransferTarget: String]()
            for t in list {
                if t == .control { out[t] = path; continue }
                let file = "\(dir)/\(t.rawValue).\(t == .cloud ? "xyz" : "obj")"
                out[t] = file
                if FileManager.default.fileExists(atPath: file) { continue }
                // Written atomically (shards of an array may make the same target at once: each
                // writes the same file whole, and the last rename wins).
                switch t {
                case .control: break
                case .decimate:
                    try m.decimated(toVertices: max(4, m.vertexCount / 2)).0.writeOBJ(path: file)
                case .remesh:
                    let projection = try SurfaceProjection(m)
                    try m.remeshed(edgeLength: m.meanEdgeLength(), project: projection.project).writeOBJ(path: file)
                case .subdivide:
                    try jittered(m.subdivided(), onto: m).writeOBJ(path: file)
                case .cloud:
                    let s = try m.sample(count: cloudPoints, seed: 0)
                    var text = ""
                    text.reserveCapacity(s.count * 60)
                    for i in 0..<s.count { text += "\(s.points[3 * i]) \(s.points[3 * i + 1]) \(s.points[3 * i + 2])\n" }
                    try AtomicFile.write(Data(text.utf8), to: file)
                case .bend, .twist:
                    let (h, targets) = (t == .bend ? DeformationPose.bend : .twist).handles(on: m)
                    try ARAP.deform(m, handles: h, targets: targets).mesh.writeOBJ(path: file)
                }
                if !quiet { Terminal.error("target \(t.rawValue): \(file)") }
            }
            return out
        }

        /// Every vertex moved by up to 0.3 × the mean edge length in a random tangent direction
        /// (seed 0), then projected onto `surface`.
        static func jittered(_ m: Mesh, onto surface: Mesh) throws -> Mesh {
            var rng = SplitMix64(seed: 0)
            let h = 0.3 * m.meanEdgeLength()
            let normals = SurfaceData.vertexNormals(m)
            var moved = [SIMD3<Double>]()
            for i in 0..<m.vertexCount {
                let n = SIMD3(Double(normals[3 * i]), Double(normals[3 * i + 1]), Double(normals[3 * i + 2]))
                var d = SIMD3<Double>(Double.random(in: -1...1, using: &rng), Double.random(in: -1...1, using: &rng), Double.random(in: -1...1, using: &rng))
                d -= n * (d * n).sum()
                moved.append(m.position(i) + d * h * Double.random(in: 0...1, using: &rng))
            }
            let projected = try SurfaceProjection(surface).project(moved)
            var out = m
            out.positions = projected.flatMap { [$0.x, $0.y, $0.z] }
            return out
        }

        /// DIR/table.md and DIR/results.json: mean test PSNR (the point PSNR for the cloud) over seeds.
        static func merge(_ dir: String) throws {
            let fm = FileManager.default
            let dec = TexfieldJSON.decoder()
            var cells = [String: [String: [Double]]]()  // encoding -> "target-align" -> values
            var points = [String: [String: [Double]]]()
            for run in ((try? fm.contentsOfDirectory(atPath: dir + "/runs")) ?? []).sorted() {
                guard let enc = run.components(separatedBy: "-seed").first else { continue }
                for t in ((try? fm.contentsOfDirectory(atPath: "\(dir)/runs/\(run)/transfer")) ?? []).sorted() {
                    guard let data = fm.contents(atPath: "\(dir)/runs/\(run)/transfer/\(t)/transfer.json") else { continue }
                    let r: TransferResult
                    do { r = try dec.decode(TransferResult.self, from: data) } catch { throw CommandError("\(dir)/runs/\(run)/transfer/\(t)/transfer.json: \(error)") }
                    cells[enc, default: [:]][t, default: []].append(r.test?.meanPSNR ?? r.pointPSNR)
                    points[enc, default: [:]][t, default: []].append(r.pointPSNR)
                }
            }
            guard !cells.isEmpty else { throw CommandError("\(dir)/runs: no finished transfers to merge") }
            var columns = [String]()
            for t in TransferTarget.allCases { for a in TransferAlignment.allCases {
                let key = "\(t.rawValue)-\(a.rawValue)"
                if cells.values.contains(where: { $0[key] != nil }) { columns.append(key) }
            } }
            func table(_ values: [String: [String: [Double]]]) -> String {
                var md = "| encoding | " + columns.joined(separator: " | ") + " |\n|---|" + String(repeating: "---:|", count: columns.count) + "\n"
                for e in Encoding.allCases.map(\.rawValue) where values[e] != nil {
                    md += "| \(e) | " + columns.map { c in
                        guard let v = values[e]?[c], !v.isEmpty else { return "" }
                        let (m, s) = meanAndDeviation(v)
                        return v.count > 1 ? String(format: "%.2f ± %.2f", m, s) : String(format: "%.2f", m)
                    }.joined(separator: " | ") + " |\n"
                }
                return md
            }
            var md = "Test PSNR (dB) over the run's test views rendered on each target (cloud: the point PSNR); mean ± std over seeds.\n\n"
            md += table(cells)
            md += "\nPoint PSNR (dB): the field at every target vertex or point against the source texture at its source point.\n\n"
            md += table(points)
            // A picture grid: the first test view of the first run of `eigen` (else the first
            // encoding) on every mesh target; rows: the truth, then each alignment.
            if let run = ((try? fm.contentsOfDirectory(atPath: dir + "/runs")) ?? []).sorted().first(where: { $0.hasPrefix("eigen-") })
                ?? ((try? fm.contentsOfDirectory(atPath: dir + "/runs")) ?? []).sorted().first {
                let base = "\(dir)/runs/\(run)/transfer"
                let mesh = TransferTarget.allCases.filter { $0 != .cloud }.filter { t in
                    TransferAlignment.allCases.contains { fm.fileExists(atPath: "\(base)/\(t.rawValue)-\($0.rawValue)/views/truth_00.png") }
                }
                func view(_ t: TransferTarget, _ a: TransferAlignment?, _ name: String) -> Image? {
                    let cands = a.map { [$0] } ?? TransferAlignment.allCases
                    for x in cands { if let img = try? Image.readPNG(path: "\(base)/\(t.rawValue)-\(x.rawValue)/views/\(name)") { return img } }
                    return nil
                }
                var rows = [mesh.map { view($0, nil, "truth_00.png") }]
                for a in TransferAlignment.allCases { rows.append(mesh.map { view($0, a, "prediction_00.png") }) }
                if !mesh.isEmpty {
                    try Compositing.grid(rows).writePNG(path: dir + "/grid.png")
                    md += "\n`grid.png` (\(run), the first test view): columns \(mesh.map(\.rawValue).joined(separator: ", ")); rows: the truth, then "
                        + TransferAlignment.allCases.map(\.rawValue).joined(separator: ", ") + " (blank where not run).\n"
                }
            }
            try AtomicFile.write(Data(md.utf8), to: dir + "/table.md")
            let enc = TexfieldJSON.encoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(["testPSNR": cells, "pointPSNR": points]), to: dir + "/results.json")
            print(md, terminator: "")
            print("written: \(dir)/table.md, \(dir)/results.json")
        }
    }
}
