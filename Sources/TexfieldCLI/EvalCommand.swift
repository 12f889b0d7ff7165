import Support
import ArgumentParser
import Foundation
import Geometry
import Imaging
import Neural
import TextureField

/// `texfield eval DIR`: scores a fitted model on its test views again.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Score the model of a fit (DIR/model.safetensors) on its test views; writes DIR/eval.json.")
    @Argument(help: "Folder of a finished fit.") var dir: String
    @Option(help: "Test views (default: as fitted).") var testViews: Int?
    @Flag(help: "Go on (with a warning) when the mesh or texture changed since the fit.") var force = false

    func validate() throws {
        try OptionLimits.check("--test-views", testViews, OptionLimits.views)
    }

    func run() throws {
        let r = try openRun(dir, force: force).evaluate(testViews: testViews)
        for v in r.views {
            print(String(format: "view %2d  %7d px  PSNR %6.2f dB  DSSIM×100 %.3f  SSIM %.4f", v.view, v.objectPixels, v.psnr, v.dssim100, v.ssimGaussian))
        }
        print(String(format: "mean     PSNR %.2f dB  DSSIM×100 %.3f  SSIM %.4f  (written to %@/eval.json)", r.meanPSNR, r.meanDSSIM100,
                     r.meanSSIMGaussian, dir))
    }
}

/// `texfield bake DIR`: the fitted field baked into the mesh's texture atlas.
struct BakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bake", abstract: "Bake a fitted field into the mesh's UV atlas (default: the input texture's size).")
    @Argument(help: "Folder of a finished fit.") var dir: String
    @Option(help: "Atlas width (default: the input texture's).") var width: Int?
    @Option(help: "Atlas height (default: the input texture's).") var height: Int?
    @Option(name: .shortAndLong, help: "Output PNG (default DIR/texture.png).") var out: String?
    @Flag(help: "Go on (with a warning) when the mesh or texture changed since the fit.") var force = false

    func validate() throws {
        for v in [width, height].compactMap({ $0 }) where !(2...16384).contains(v) {
            throw ValidationError("--width and --height must be in 2...16384")
        }
    }

    func run() throws {
        let baked = try openRun(dir, force: force).bake(width: width, height: height)
        let path = out ?? dir + "/texture.png"
        try baked.image.writePNG(path: path)
        print("\(path): \(baked.image.width)×\(baked.image.height), \(baked.covered.filter { $0 }.count) texels covered"
              + (baked.psnr.isFinite ? String(format: ", PSNR %.2f dB against the input", baked.psnr) : ""))
    }
}

/// The fit in `dir`; with `force`, changed inputs are accepted with a warning on stderr.
func openRun(_ dir: String, force: Bool) throws -> FieldRun {
    var run = FieldRun(directory: dir)
    if force {
        run.acceptChangedInputs = true
        let changed = try run.changedInputs()
        if !changed.isEmpty { Terminal.error("warning: \(changed.joined(separator: ", ")) changed since the fit; going on (--force)") }
    }
    return run
}
