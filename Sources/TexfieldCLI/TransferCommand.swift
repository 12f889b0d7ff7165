import ArgumentParser
import Foundation
import Spectral
import Support
import TextureField

extension TransferAlignment: ExpressibleByArgument {}

/// `texfield transfer RUN TARGET`: a finished fit evaluated on another discretization.
struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Evaluate a finished fit on another discretization of the same surface.",
        discussion: """
            Computes TARGET's eigenpairs (the run's Laplacian and k), aligns them to the run's through \\
            closest-point correspondence (--align none: as the solver returns them; sign: per-eigenfunction \\
            signs; fmap: a functional map, which also undoes rotations inside eigenspaces; zoomout: no \\
            correspondence at all, a vertex map found by ZoomOut from the two eigenbases, started from a search \\
            over the first eigenfunctions' signs that keeps the orientation, then as fmap: the mode for deformed \\
            targets, e.g. from mesh deform), renders the run's test cameras on TARGET and scores them against the \\
            run's texture carried to TARGET. A TARGET with the run's triangles and UVs (a deformed copy) takes its \\
            truth from its own UVs, and the cameras move and scale with its bounding box. Writes \\
            DIR/transfer.json, DIR/views/ and, for zoomout, DIR/zoomout_map.txt.
            """)

    @Argument(help: "A finished fit's folder.") var runFolder: String
    @Argument(help: "Another mesh of the same surface (OBJ or PLY), e.g. from mesh remesh, decimate or deform, or a point cloud (.xyz, PLY/OBJ without faces).") var target: String
    @Option(help: "Alignment: none, sign, fmap or zoomout.") var align: TransferAlignment = .fmap
    @Option(help: "zoomout: the basis size ZoomOut ends at (at most the run's k + 1).") var zoomoutSize = 256
    @Flag(help: "zoomout: map target vertices to points on the source's triangles, not to its vertices (helps remeshes, not decimations or poses; docs/TRANSFER.md).")
    var zoomoutPoints = false
    @Option(name: .shortAndLong, help: "Output folder (default: RUN/transfer-ALIGN).") var out: String?
    @Option(help: "A vertex map instead of closest points: for each TARGET vertex the 0-based index of its source vertex, one integer per line (text) or a .npy array.")
    var correspondence: String?

    func validate() throws { try OptionLimits.check("--zoomout-size", zoomoutSize, 2...4097) }

    func run() throws {
        let r = FieldRun(directory: runFolder)
        let dir = out ?? runFolder + "/transfer-\(align.rawValue)"
        let map = try correspondence.map { try TransferCommand.readMap($0) }
        let result = try r.transfer(to: target, alignment: align, output: dir, correspondence: map, zoomOutSize: zoomoutSize, zoomOutPoints: zoomoutPoints)
        let views = result.test.map { String(format: "test PSNR %.2f dB, DSSIM×100 %.3f over %d views; ", $0.meanPSNR, $0.meanDSSIM100, $0.views.count) } ?? ""
        print(String(format: "%@ on %@ (%d %@, --align %@): ", runFolder, target, result.vertices, result.test == nil ? "points" : "vertices", align.rawValue)
              + views + String(format: "point PSNR %.2f dB", result.pointPSNR)
              + (result.sourceTestPSNR.map { String(format: "; on its own mesh %.2f dB", $0) } ?? "")
              + (result.mapError.map { String(format: "; ZoomOut map error %.2f %% of the diagonal", 100 * $0) } ?? ""))
        print("written: \(dir)/transfer.json, \(dir)/views/")
    }

    /// A vertex map: a .npy array or one integer per line; every entry an integer in Int32 range.
    static func readMap(_ path: String) throws -> [Int] {
        var values = [Double]()
        if path.hasSuffix(".npy") {
            values = try NPY.read(path: path).values
        } else {
            for (n, line) in try InputFile.readText(path).split(whereSeparator: \.isNewline).enumerated() {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty || t.hasPrefix("#") { continue }
                guard let v = Double(t) else { throw CommandError("\(path):\(n + 1): '\(excerpt(t))' is not an integer") }
                values.append(v)
            }
        }
        return try values.enumerated().map { i, v in
            guard v.isFinite, v == v.rounded(), abs(v) < 2_147_483_647 else { throw CommandError("\(path): entry \(i) = \(v) is not a vertex index") }
            return Int(v)
        }
    }
}
