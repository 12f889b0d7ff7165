import Support
import ArgumentParser
import Foundation
import Geometry
import Imaging
import Neural
import TextureField

/// The model and inputs of a finished fit.
struct FittedRun {
    let inputs: RunInputs
    let configuration: FieldConfiguration
    let mesh: Mesh
    let texture: Image

    init(_ dir: String) throws {
        guard let data = FileManager.default.contents(atPath: dir + "/run.json"),
              let inputs = try? JSONDecoder().decode(RunInputs.self, from: data) else {
            throw CommandError("\(dir): no run.json; is this the folder of a texfield fit?")
        }
        self.inputs = inputs
        let model = dir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: model) else { throw CommandError("\(dir): no model.safetensors (the fit did not finish)") }
        do {
            let (_, meta) = try Safetensors.read(path: model)
            guard let s = meta["texfield.config"] else { throw CommandError("\(model): no texfield configuration in its metadata") }
            configuration = try JSONDecoder().decode(FieldConfiguration.self, from: Data(s.utf8))
        } catch let e as CommandError { throw e } catch { throw CommandError("\(error)") }
        mesh = try loadMesh(inputs.mesh)
        texture = try loadTexture(inputs.texture.isEmpty ? nil : inputs.texture, for: mesh, meshPath: inputs.mesh)
    }

    func model(surface: SurfaceData, dir: String) throws -> FieldModel {
        let m = FieldModel(configuration: configuration, surface: surface)
        do { try FieldCheckpoint.loadModel(m, from: dir + "/model.safetensors") } catch { throw CommandError("\(error)") }
        return m
    }
}

/// `texfield eval DIR`: scores a fitted model on its test views again.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Score the model of a fit (DIR/model.safetensors) on its test views; writes DIR/eval.json.")
    @Argument(help: "Folder of a finished fit.") var dir: String
    @Option(help: "Test views (default: as fitted).") var testViews: Int?

    func run() throws {
        let run = try FittedRun(dir)
        var c = run.configuration
        if let t = testViews { guard t >= 1 else { throw ValidationError("--test-views must be positive") }; c.testViews = t }
        let scene: FieldScene
        do { scene = try FieldScene(mesh: run.mesh, texture: run.texture, configuration: c, meshName: run.inputs.mesh) } catch {
            throw CommandError("\(error)")
        }
        let model = try run.model(surface: scene.surface, dir: dir)
        let (r, _) = try Evaluation.evaluate(model, scene: scene)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try enc.encode(r), to: dir + "/eval.json")
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

    func run() throws {
        let run = try FittedRun(dir)
        let w = width ?? run.texture.width, h = height ?? run.texture.height
        guard (2...16384).contains(w), (2...16384).contains(h) else { throw ValidationError("--width and --height must be in 2...16384") }
        var c = run.configuration
        c.trainViews = 1; c.validationViews = 1; c.testViews = 1; c.imageSize = 8  // no views needed
        let scene: FieldScene
        do { scene = try FieldScene(mesh: run.mesh, texture: run.texture, configuration: c, meshName: run.inputs.mesh) } catch {
            throw CommandError("\(error)")
        }
        let model = try run.model(surface: scene.surface, dir: dir)
        let same = w == run.texture.width && h == run.texture.height
        let baked = Baker.bake(model, mesh: run.mesh, width: w, height: h, reference: same ? run.texture : nil)
        let path = out ?? dir + "/texture.png"
        try baked.image.writePNG(path: path)
        print("\(path): \(w)×\(h), \(baked.covered.filter { $0 }.count) texels covered" + (baked.psnr.isFinite ? String(format: ", PSNR %.2f dB against the input", baked.psnr) : ""))
    }
}
