import ArgumentParser
import Foundation
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
            signs; fmap: a functional map, which also undoes rotations inside eigenspaces), renders the run's \\
            test cameras on TARGET and scores them against the run's texture carried to TARGET. Writes \\
            DIR/transfer.json and DIR/views/.
            """)

    @Argument(help: "A finished fit's folder.") var runFolder: String
    @Argument(help: "Another mesh of the same surface (OBJ or PLY), e.g. from mesh remesh or mesh decimate.") var target: String
    @Option(help: "Alignment: none, sign or fmap.") var align: TransferAlignment = .fmap
    @Option(name: .shortAndLong, help: "Output folder (default: RUN/transfer-ALIGN).") var out: String?

    func run() throws {
        let r = FieldRun(directory: runFolder)
        let dir = out ?? runFolder + "/transfer-\(align.rawValue)"
        let result = try r.transfer(to: target, alignment: align, output: dir)
        print(String(format: "%@ on %@ (%d vertices, --align %@): test PSNR %.2f dB, DSSIM×100 %.3f over %d views",
                     runFolder, target, result.vertices, align.rawValue, result.test.meanPSNR, result.test.meanDSSIM100, result.test.views.count)
              + (result.sourceTestPSNR.map { String(format: "; on its own mesh %.2f dB", $0) } ?? ""))
        print("written: \(dir)/transfer.json, \(dir)/views/")
    }
}
