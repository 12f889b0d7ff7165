import Support
import Foundation
import Geometry
import Imaging

/// Test metrics at a moment of training.
public struct Snapshot: Codable, Sendable {
    public var seconds: Double
    public var step: Int
    public var bestStep: Int
    /// Mean test PSNR and DSSIM×100 of the best model so far.
    public var meanPSNR: Double
    public var meanDSSIM100: Double
    /// Texture-space PSNR of the best model so far (when `FieldRun.Options.snapshotTexture`).
    public var texturePSNR: Double?
    /// Training PSNR (mean over the batches since the last validation) and validation PSNR at the
    /// last validation: their difference is the train/validation gap.
    public var trainPSNR: Double?
    public var validationPSNR: Double?
    public init(seconds: Double, step: Int, bestStep: Int, meanPSNR: Double, meanDSSIM100: Double,
                texturePSNR: Double? = nil, trainPSNR: Double? = nil, validationPSNR: Double? = nil) {
        self.seconds = seconds; self.step = step; self.bestStep = bestStep; self.meanPSNR = meanPSNR; self.meanDSSIM100 = meanDSSIM100
        self.texturePSNR = texturePSNR; self.trainPSNR = trainPSNR; self.validationPSNR = validationPSNR
    }
}

/// Everything `DIR/metrics.json` holds.
public struct FitMetrics: Codable, Sendable {
    public var mesh: String
    public var texture: String
    public var vertices: Int
    public var triangles: Int
    public var configuration: FieldConfiguration
    public var parameters: Int
    public var steps: Int
    public var trainingSeconds: Double
    public var bestStep: Int
    public var samplesPerSecond: Double
    public var trainingRays: Int
    /// Seconds per stage: eigenfunctions, render, training, evaluation, bake, outputs.
    public var timings: [String: Double]
    public var test: EvaluationResult
    public var texturePSNR: Double?
    public var history: [HistoryPoint]
    public var texfieldVersion: String
    /// Test metrics of the best model so far at given training times (`--snapshots`).
    public var snapshots: [Snapshot] = []
    /// The base learning rate used (the configuration's, or the default for its budget).
    public var learningRate: Double? = nil

    public init(mesh: String, texture: String, vertices: Int, triangles: Int, configuration: FieldConfiguration,
                parameters: Int, steps: Int, trainingSeconds: Double, bestStep: Int, samplesPerSecond: Double,
                trainingRays: Int, timings: [String: Double], test: EvaluationResult, texturePSNR: Double?,
                history: [HistoryPoint], texfieldVersion: String) {
        self.mesh = mesh; self.texture = texture; self.vertices = vertices; self.triangles = triangles
        self.configuration = configuration; self.parameters = parameters; self.steps = steps
        self.trainingSeconds = trainingSeconds; self.bestStep = bestStep; self.samplesPerSecond = samplesPerSecond
        self.trainingRays = trainingRays; self.timings = timings; self.test = test; self.texturePSNR = texturePSNR
        self.history = history; self.texfieldVersion = texfieldVersion
        self.learningRate = configuration.effectiveLearningRate
    }
}

public enum FitReport {
    /// Writes views/, curve.png, report.html and, last, metrics.json into `dir` (texture.png and
    /// model.safetensors are written by the caller, before). Every file is written atomically.
    public static func write(to dir: String, metrics: FitMetrics, scene: FieldScene, predictions: [Image],
                             textureImage: Image?, viewsShown: Int = 4) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/views", withIntermediateDirectories: true)
        let enc = TexfieldJSON.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var shown = [Int]()
        // The views shown: the worst, the median and the best by PSNR, and the first.
        let order = metrics.test.views.filter { $0.objectPixels > 0 }.sorted { $0.psnr < $1.psnr }.map(\.view)
        if !order.isEmpty { shown = [order.first!, order[order.count / 2], order.last!] }
        if let first = order.sorted().first, !shown.contains(first) { shown.append(first) }
        shown = Array(NSOrderedSet(array: shown).array as! [Int]).prefix(viewsShown).map { $0 }
        for v in shown {
            let truth = scene.test[v].truth, pred = predictions[v]
            let heat = try Compositing.errorHeatMap(truth, pred, scale: 0.1)
            try Compositing.sideBySide([truth, pred, heat]).writePNG(path: "\(dir)/views/view_\(String(format: "%02d", v)).png")
        }
        let h = metrics.history
        if h.count >= 2 {
            let plot = Compositing.linePlot([h.map(\.trainPSNR), h.compactMap(\.validationPSNR)])
            try plot.writePNG(path: dir + "/curve.png")
        }
        // the interactive view (viewer.js beside the report); a failure there costs the section, not the fit
        var viewer: String?
        if let baked = textureImage, scene.mesh.hasTexcoords {
            do {
                let v = try ReportViewer.write(to: dir, mesh: scene.mesh, predicted: baked, truth: scene.texture, cameras: scene.test.map(\.camera))
                let note = v.decimatedFrom.map { String(format: "The mesh is shown decimated from %d to %d triangles (%.1f s).", $0, v.triangles, v.seconds) } ?? ""
                viewer = ReportViewer.html(hasTruth: scene.texture != nil, note: note)
            } catch {
                viewer = "<h2>Interactive view</h2><p>Not available: \(esc("\(error)"))</p>"
            }
        }
        try AtomicFile.write(Data(html(metrics, shown: shown, hasTexture: textureImage != nil, viewer: viewer).utf8), to: dir + "/report.html")
        // Last: experiments take metrics.json as the mark of a finished run (a job cancelled before
        // this line is redone whole, never skipped with half its files).
        try AtomicFile.write(try enc.encode(metrics), to: dir + "/metrics.json")
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func f(_ x: Double, _ digits: Int = 2) -> String { x.isFinite ? String(format: "%.\(digits)f", x) : "—" }

    /// An SVG chart of validation and training PSNR against training seconds, with axes.
    static func chart(_ h: [HistoryPoint]) -> String {
        guard h.count >= 1 else { return "<p>(no training history)</p>" }
        let W = 640.0, H = 300.0, L = 56.0, R = 16.0, T = 16.0, B = 40.0
        let xs = h.map(\.seconds), ys = h.map(\.trainPSNR) + h.compactMap(\.validationPSNR) + h.compactMap(\.texturePSNR)
        let x0 = 0.0, x1 = max(xs.max() ?? 1, 1e-9)
        let finite = ys.filter { $0.isFinite }
        var y0 = (finite.min() ?? 0).rounded(.down), y1 = (finite.max() ?? 1).rounded(.up)
        if y1 <= y0 { y1 = y0 + 1 }
        y0 = max(0, y0)
        func px(_ x: Double) -> Double { L + (x - x0) / (x1 - x0) * (W - L - R) }
        func py(_ y: Double) -> Double { T + (1 - (y - y0) / (y1 - y0)) * (H - T - B) }
        func path(_ pts: [(Double, Double)], _ color: String) -> String {
            let d = pts.filter { $0.1.isFinite }.enumerated().map { i, p in "\(i == 0 ? "M" : "L")\(f(px(p.0), 1)),\(f(py(p.1), 1))" }.joined(separator: " ")
            return "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>"
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" font-family=\"sans-serif\" font-size=\"12\">"
        s += "<rect x=\"\(L)\" y=\"\(T)\" width=\"\(W - L - R)\" height=\"\(H - T - B)\" fill=\"none\" stroke=\"#999\"/>"
        for i in 0...4 {
            let y = y0 + Double(i) / 4 * (y1 - y0), x = x0 + Double(i) / 4 * (x1 - x0)
            s += "<text x=\"\(L - 6)\" y=\"\(f(py(y) + 4, 1))\" text-anchor=\"end\">\(f(y, 1))</text>"
            s += "<text x=\"\(f(px(x), 1))\" y=\"\(H - B + 16)\" text-anchor=\"middle\">\(f(x, 0))</text>"
        }
        s += "<text x=\"\((L + W - R) / 2)\" y=\"\(H - 6)\" text-anchor=\"middle\">training time (s)</text>"
        s += "<text x=\"14\" y=\"\((T + H - B) / 2)\" transform=\"rotate(-90 14 \((T + H - B) / 2))\" text-anchor=\"middle\">PSNR (dB)</text>"
        s += path(h.map { ($0.seconds, $0.trainPSNR) }, "#2b6cb0")
        s += path(h.compactMap { p in p.validationPSNR.map { (p.seconds, $0) } }, "#c05621")
        s += path(h.compactMap { p in p.texturePSNR.map { (p.seconds, $0) } }, "#2f855a")
        s += "<text x=\"\(L + 10)\" y=\"\(T + 16)\" fill=\"#2b6cb0\">training batches</text>"
        s += "<text x=\"\(L + 10)\" y=\"\(T + 32)\" fill=\"#c05621\">validation views</text>"
        if h.contains(where: { $0.texturePSNR != nil }) {
            s += "<text x=\"\(L + 10)\" y=\"\(T + 48)\" fill=\"#2f855a\">texture space (131,072 texels sampled)</text>"
        }
        return s + "</svg>"
    }

    /// The train/validation gap (training PSNR − validation PSNR) and texture-space PSNR at up to
    /// eight validation points, evenly spread.
    static func gapTable(_ h: [HistoryPoint]) -> String {
        let pts = h.filter { $0.validationPSNR != nil }
        guard !pts.isEmpty else { return "" }
        let pick = Array(Set((0..<8).map { $0 * (pts.count - 1) / 7 })).sorted().map { pts[$0] }
        let rows = pick.map { p in
            "<tr><td>\(p.step)</td><td>\(f(p.seconds, 0))</td><td>\(f(p.trainPSNR))</td><td>\(f(p.validationPSNR ?? .nan))</td><td>\(f(p.trainPSNR - (p.validationPSNR ?? .nan)))</td><td>\(f(p.texturePSNR ?? .nan))</td></tr>"
        }.joined()
        return "<table><tr><th>step</th><th>training time (s)</th><th>training PSNR</th><th>validation PSNR</th><th>gap (dB)</th><th>texture-space PSNR</th></tr>\(rows)</table>"
    }

    static func html(_ m: FitMetrics, shown: [Int], hasTexture: Bool, viewer: String? = nil) -> String {
        let c = m.configuration
        var rows = ""
        for v in m.test.views {
            rows += "<tr><td>\(v.view)</td><td>\(v.objectPixels)</td><td>\(f(v.psnr))</td><td>\(f(v.dssim100, 3))</td><td>\(f(v.ssimGaussian, 4))</td></tr>\n"
        }
        let timing = m.timings.sorted { $0.key < $1.key }.map { "<tr><td>\(esc($0.key))</td><td>\(f($0.value, 1)) s</td></tr>" }.joined()
        let enc = TexfieldJSON.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let config = (try? enc.encode(c)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let views = shown.map { "<figure><img src=\"views/view_\(String(format: "%02d", $0)).png\" alt=\"test view \($0)\"><figcaption>test view \($0): ground truth · prediction · |error| (heat, full scale 0.1)</figcaption></figure>" }.joined(separator: "\n")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>texfield fit — \(esc(m.mesh))</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
        th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; } table.info td { text-align: left; }
        figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #ddd; } pre { background: #f6f6f6; padding: 1em; overflow: auto; }
        .big { font-size: 1.3em; }
        </style></head><body>
        <h1>texfield fit: \(esc((m.mesh as NSString).lastPathComponent))</h1>
        <p class="big">Test PSNR <b>\(f(m.test.meanPSNR)) dB</b> · DSSIM×100 <b>\(f(m.test.meanDSSIM100, 3))</b> · SSIM (Gaussian) \(f(m.test.meanSSIMGaussian, 4))\(m.texturePSNR.map { " · texture-space PSNR \(f($0)) dB" } ?? "")</p>
        <table class="info">
        <tr><th>mesh</th><td>\(esc(m.mesh)) (\(m.vertices) vertices, \(m.triangles) triangles)</td></tr>
        <tr><th>texture</th><td>\(esc(m.texture))</td></tr>
        <tr><th>encoding</th><td>\(c.encoding.rawValue)\(c.encoding.usesEigenfunctions ? ", k = \(c.eigenfunctions)" : "")\(c.bands.map { ", bands " + $0.map(\.description).joined(separator: ",") } ?? "")</td></tr>
        <tr><th>parameters</th><td>\(m.parameters)</td></tr>
        <tr><th>training</th><td>\(m.steps) steps of \(c.batch) rays in \(f(m.trainingSeconds, 1)) s (\(f(m.samplesPerSecond, 0)) rays/s), lr \(c.effectiveLearningRate); model kept from step \(m.bestStep)</td></tr>
        <tr><th>training rays</th><td>\(m.trainingRays)\(c.givenCameras == true ? " (given cameras)" : " (\(c.trainViews) views of \(c.imageSize)²)")</td></tr>
        </table>
        \(viewer ?? "")
        <h2>Training</h2>
        \(chart(m.history))
        \(gapTable(m.history))
        \(m.snapshots.isEmpty ? "" : "<table><tr><th>training time (s)</th><th>step</th><th>model from step</th><th>test PSNR (dB)</th><th>DSSIM×100</th></tr>" + m.snapshots.map { "<tr><td>\(f($0.seconds, 0))</td><td>\($0.step)</td><td>\($0.bestStep)</td><td>\(f($0.meanPSNR))</td><td>\(f($0.meanDSSIM100, 3))</td></tr>" }.joined() + "</table>")
        <h2>Test views</h2>
        \(views)
        <table><tr><th>view</th><th>object pixels</th><th>PSNR (dB)</th><th>DSSIM×100</th><th>SSIM (Gaussian)</th></tr>
        \(rows)<tr><th>mean</th><th></th><th>\(f(m.test.meanPSNR))</th><th>\(f(m.test.meanDSSIM100, 3))</th><th>\(f(m.test.meanSSIMGaussian, 4))</th></tr></table>
        \(hasTexture ? "<h2>Baked texture</h2><figure><img src=\"texture.png\" alt=\"baked texture\" style=\"max-width: 512px\"><figcaption>the field baked into the UV atlas (gaps dilated)\(m.texturePSNR.map { "; PSNR against the input over covered texels: \(f($0)) dB" } ?? "")</figcaption></figure>" : "")
        <h2>Time per stage</h2>
        <table>\(timing)</table>
        <h2>Configuration</h2>
        <pre>\(esc(config))</pre>
        <p>PSNR over the object mask; DSSIM = (1 − SSIM)/2 × 100 with scikit-image's defaults and data range 2 on the full image
        (white background), as Koestler et al. 2022; means are over views. texfield \(esc(m.texfieldVersion)).</p>
        </body></html>
        """
    }
}
